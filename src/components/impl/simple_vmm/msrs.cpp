#include "simple_vmm/msrs.hpp"

#include "runtime/cos.hpp"

namespace cos::simple_vmm {
namespace {

using vmrt::Cr;
using vmrt::Seg;
using vmrt::SyscallMsr;

bool syscall_msr(uint32_t index, SyscallMsr& m) {
  switch (index) {
    case msr::star: m = SyscallMsr::star; return true;
    case msr::lstar: m = SyscallMsr::lstar; return true;
    case msr::cstar: m = SyscallMsr::cstar; return true;
    case msr::sfmask: m = SyscallMsr::sfmask; return true;
    case msr::kernel_gs_base: m = SyscallMsr::kernel_gs_base; return true;
    case msr::sysenter_cs: m = SyscallMsr::sysenter_cs; return true;
    case msr::sysenter_esp: m = SyscallMsr::sysenter_esp; return true;
    case msr::sysenter_eip: m = SyscallMsr::sysenter_eip; return true;
    default: return false;
  }
}

bool is_apic(uint32_t index) {
  return index == msr::apic_base || index == msr::tsc_deadline ||
         (index >= msr::x2apic_first && index <= msr::x2apic_last);
}

// EFER bits a guest may set: SCE, LME, LMA (read-only in hardware), NXE.
constexpr uint64_t kEferWritable = (1ull << 0) | (1ull << 8) | (1ull << 10) | (1ull << 11);

}  // namespace

MsrResult Msrs::read(vmrt::VcpuState& cpu, uint32_t index, uint64_t& value) {
  SyscallMsr m;
  if (is_apic(index)) return MsrResult::apic;
  if (syscall_msr(index, m)) {
    value = cpu.get(m);
    return MsrResult::done;
  }
  switch (index) {
    case msr::efer: value = cpu.get(Cr::efer); return MsrResult::done;
    case msr::fs_base: value = cpu.segment(Seg::fs).base; return MsrResult::done;
    case msr::gs_base: value = cpu.segment(Seg::gs).base; return MsrResult::done;
    case msr::tsc: value = ::cos::tsc(); return MsrResult::done;
    case msr::pat: value = pat_; return MsrResult::done;
    case msr::tsc_aux: value = tsc_aux_; return MsrResult::done;
    case msr::bios_sign_id:  // no microcode update loaded
    case msr::mtrr_cap:      // no MTRRs (hidden in CPUID too)
    case msr::mtrr_def_type:
    case msr::mcg_cap:       // no machine-check banks
    case msr::mcg_status:
    case msr::amd_hwcr:
      value = 0;
      return MsrResult::done;
    case msr::misc_enable: value = 1; return MsrResult::done;  // fast strings
    default: return MsrResult::gp;
  }
}

MsrResult Msrs::write(vmrt::VcpuState& cpu, uint32_t index, uint64_t value) {
  SyscallMsr m;
  if (is_apic(index)) return MsrResult::apic;
  if (syscall_msr(index, m)) {
    cpu.set(m, value);
    return MsrResult::done;
  }
  switch (index) {
    case msr::efer: {
      if (value & ~kEferWritable) return MsrResult::gp;
      // LMA follows LME once paging is on (Intel SDM Vol. 3A, 10.8.5).
      uint64_t lma = (value & (1ull << 8)) && (cpu.cr0() & (1ull << 31)) ? (1ull << 10) : 0;
      cpu.set(Cr::efer, (value & ~(1ull << 10)) | lma);
      return MsrResult::done;
    }
    case msr::fs_base:
    case msr::gs_base: {
      Seg s = index == msr::fs_base ? Seg::fs : Seg::gs;
      vm::Segment seg = cpu.segment(s);
      seg.base = value;
      cpu.set_segment(s, seg);
      return MsrResult::done;
    }
    case msr::pat: pat_ = value; return MsrResult::done;
    case msr::tsc_aux: tsc_aux_ = value & 0xffffffffu; return MsrResult::done;
    case msr::tsc:           // the guest sees the host TSC; writes are ignored
    case msr::bios_sign_id:  // Linux writes 0 before reading the microcode revision
    case msr::misc_enable:
    case msr::mcg_status:
    case msr::mtrr_def_type:
      return MsrResult::done;
    default: return MsrResult::gp;
  }
}

}  // namespace cos::simple_vmm
