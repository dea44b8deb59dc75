// VMCS field encodings (Intel SDM Vol. 3C, appendix B "Field Encoding in
// VMCS"), grouped like the manual: 16-, 64-, 32-bit and natural-width fields,
// each split into control, read-only data, guest-state and host-state fields;
// plus the VMX instructions as thin wrappers.
#pragma once
#include <stdint.h>

#include "x86_64/vmx/arch.hpp"

namespace cos::vmx {

enum class Vmcs : uint32_t {
  // B.1.1 16-bit control fields
  vpid = 0x0000,
  // B.1.2 16-bit guest-state fields
  guest_es_sel = 0x0800,
  guest_cs_sel = 0x0802,
  guest_ss_sel = 0x0804,
  guest_ds_sel = 0x0806,
  guest_fs_sel = 0x0808,
  guest_gs_sel = 0x080a,
  guest_ldtr_sel = 0x080c,
  guest_tr_sel = 0x080e,
  // B.1.3 16-bit host-state fields
  host_es_sel = 0x0c00,
  host_cs_sel = 0x0c02,
  host_ss_sel = 0x0c04,
  host_ds_sel = 0x0c06,
  host_fs_sel = 0x0c08,
  host_gs_sel = 0x0c0a,
  host_tr_sel = 0x0c0c,

  // B.2.1 64-bit control fields
  io_bitmap_a = 0x2000,
  io_bitmap_b = 0x2002,
  msr_bitmap = 0x2004,
  exit_msr_store_addr = 0x2006,
  exit_msr_load_addr = 0x2008,
  entry_msr_load_addr = 0x200a,
  tsc_offset = 0x2010,
  ept_pointer = 0x201a,
  // B.2.2 64-bit read-only data fields
  guest_physical_address = 0x2400,
  // B.2.3 64-bit guest-state fields
  vmcs_link_pointer = 0x2800,
  guest_debugctl = 0x2802,
  guest_pat = 0x2804,
  guest_efer = 0x2806,
  guest_pdpte0 = 0x280a,
  guest_pdpte1 = 0x280c,
  guest_pdpte2 = 0x280e,
  guest_pdpte3 = 0x2810,
  // B.2.4 64-bit host-state fields
  host_pat = 0x2c00,
  host_efer = 0x2c02,

  // B.3.1 32-bit control fields
  pin_controls = 0x4000,
  cpu_controls = 0x4002,
  exception_bitmap = 0x4004,
  pf_error_code_mask = 0x4006,
  pf_error_code_match = 0x4008,
  cr3_target_count = 0x400a,
  exit_controls = 0x400c,
  exit_msr_store_count = 0x400e,
  exit_msr_load_count = 0x4010,
  entry_controls = 0x4012,
  entry_msr_load_count = 0x4014,
  entry_intr_info = 0x4016,
  entry_exception_error_code = 0x4018,
  entry_instruction_length = 0x401a,
  tpr_threshold = 0x401c,
  cpu_controls2 = 0x401e,
  // B.3.2 32-bit read-only data fields
  vm_instruction_error = 0x4400,
  exit_reason = 0x4402,
  exit_intr_info = 0x4404,
  exit_intr_error_code = 0x4406,
  idt_vectoring_info = 0x4408,
  idt_vectoring_error_code = 0x440a,
  exit_instruction_length = 0x440c,
  exit_instruction_info = 0x440e,
  // B.3.3 32-bit guest-state fields
  guest_es_limit = 0x4800,
  guest_cs_limit = 0x4802,
  guest_ss_limit = 0x4804,
  guest_ds_limit = 0x4806,
  guest_fs_limit = 0x4808,
  guest_gs_limit = 0x480a,
  guest_ldtr_limit = 0x480c,
  guest_tr_limit = 0x480e,
  guest_gdtr_limit = 0x4810,
  guest_idtr_limit = 0x4812,
  guest_es_ar = 0x4814,
  guest_cs_ar = 0x4816,
  guest_ss_ar = 0x4818,
  guest_ds_ar = 0x481a,
  guest_fs_ar = 0x481c,
  guest_gs_ar = 0x481e,
  guest_ldtr_ar = 0x4820,
  guest_tr_ar = 0x4822,
  guest_interruptibility = 0x4824,
  guest_activity_state = 0x4826,
  guest_sysenter_cs = 0x482a,
  guest_preemption_timer = 0x482e,
  // B.3.4 32-bit host-state field
  host_sysenter_cs = 0x4c00,

  // B.4.1 natural-width control fields
  cr0_guest_host_mask = 0x6000,
  cr4_guest_host_mask = 0x6002,
  cr0_read_shadow = 0x6004,
  cr4_read_shadow = 0x6006,
  // B.4.2 natural-width read-only data fields
  exit_qualification = 0x6400,
  guest_linear_address = 0x640a,
  // B.4.3 natural-width guest-state fields
  guest_cr0 = 0x6800,
  guest_cr3 = 0x6802,
  guest_cr4 = 0x6804,
  guest_es_base = 0x6806,
  guest_cs_base = 0x6808,
  guest_ss_base = 0x680a,
  guest_ds_base = 0x680c,
  guest_fs_base = 0x680e,
  guest_gs_base = 0x6810,
  guest_ldtr_base = 0x6812,
  guest_tr_base = 0x6814,
  guest_gdtr_base = 0x6816,
  guest_idtr_base = 0x6818,
  guest_dr7 = 0x681a,
  guest_rsp = 0x681c,
  guest_rip = 0x681e,
  guest_rflags = 0x6820,
  guest_pending_debug = 0x6822,
  guest_sysenter_esp = 0x6824,
  guest_sysenter_eip = 0x6826,
  // B.4.4 natural-width host-state fields
  host_cr0 = 0x6c00,
  host_cr3 = 0x6c02,
  host_cr4 = 0x6c04,
  host_fs_base = 0x6c06,
  host_gs_base = 0x6c08,
  host_tr_base = 0x6c0a,
  host_gdtr_base = 0x6c0c,
  host_idtr_base = 0x6c0e,
  host_sysenter_esp = 0x6c10,
  host_sysenter_eip = 0x6c12,
  host_rsp = 0x6c14,
  host_rip = 0x6c16,
};

/// The guest segment registers in the order of their encodings (ES, CS, SS,
/// DS, FS, GS, LDTR, TR): field = base field + 2 * index.
enum class Seg : unsigned { es = 0, cs, ss, ds, fs, gs, ldtr, tr };
inline constexpr unsigned kSegCount = 8;
constexpr Vmcs seg_sel(Seg s) { return Vmcs(uint32_t(Vmcs::guest_es_sel) + 2 * unsigned(s)); }
constexpr Vmcs seg_limit(Seg s) { return Vmcs(uint32_t(Vmcs::guest_es_limit) + 2 * unsigned(s)); }
constexpr Vmcs seg_ar(Seg s) { return Vmcs(uint32_t(Vmcs::guest_es_ar) + 2 * unsigned(s)); }
constexpr Vmcs seg_base(Seg s) { return Vmcs(uint32_t(Vmcs::guest_es_base) + 2 * unsigned(s)); }

// --- VMX instructions (SDM Vol. 3C, 31.3) -----------------
// Each returns false on VMfailInvalid (CF) or VMfailValid (ZF).

inline uint64_t vmread(Vmcs field) {
  uint64_t v;
  asm volatile("vmread %1, %0" : "=r"(v) : "r"(static_cast<uint64_t>(field)) : "cc");
  return v;
}
inline bool vmwrite(Vmcs field, uint64_t value) {
  bool ok;
  asm volatile("vmwrite %2, %1" : "=@cca"(ok) : "r"(static_cast<uint64_t>(field)), "rm"(value) : "cc");
  return ok;
}
inline bool vmxon(uint64_t pa) {
  bool ok;
  asm volatile("vmxon %1" : "=@cca"(ok) : "m"(pa) : "cc", "memory");
  return ok;
}
inline bool vmclear(uint64_t pa) {
  bool ok;
  asm volatile("vmclear %1" : "=@cca"(ok) : "m"(pa) : "cc", "memory");
  return ok;
}
inline bool vmptrld(uint64_t pa) {
  bool ok;
  asm volatile("vmptrld %1" : "=@cca"(ok) : "m"(pa) : "cc", "memory");
  return ok;
}
inline bool invept(InvType type, uint64_t eptp) {
  struct { uint64_t eptp, reserved; } desc{eptp, 0};
  bool ok;
  asm volatile("invept %1, %2" : "=@cca"(ok) : "m"(desc), "r"(static_cast<uint64_t>(type)) : "cc", "memory");
  return ok;
}
inline bool invvpid(InvType type, uint16_t vpid, uint64_t la = 0) {
  struct { uint64_t vpid, la; } desc{vpid, la};
  bool ok;
  asm volatile("invvpid %1, %2" : "=@cca"(ok) : "m"(desc), "r"(static_cast<uint64_t>(type)) : "cc", "memory");
  return ok;
}

}  // namespace cos::vmx
