// VMX architectural constants: capability MSRs, VM-execution / VM-exit /
// VM-entry control bits, basic exit reasons and the event-information format
// (Intel SDM Vol. 3C, chapters 25 "Virtual Machine Control Structures",
// 26 "VMX Non-Root Operation" and appendices A "VMX Capability Reporting
// Facility" and C "VMX Basic Exit Reasons"). Pure constants: host-compilable.
//
// Section numbers in the vmx/ sources follow the SDM editions since 2022
// (Vol. 3C chapters 24-31; older editions number them one lower).
#pragma once
#include <stdint.h>

#include "x86_64/arch.hpp"

namespace cos::vmx {

// --- VMX MSRs (SDM Vol. 4, table 2-2; Vol. 3C, appendix A); the architectural
// ones (EFER, STAR, ...) are x86::Msr ----------------------------------------
namespace Msr {
inline constexpr uint32_t feature_control = 0x3a;
inline constexpr uint32_t vmx_basic = 0x480;
inline constexpr uint32_t vmx_pinbased_ctls = 0x481;
inline constexpr uint32_t vmx_procbased_ctls = 0x482;
inline constexpr uint32_t vmx_exit_ctls = 0x483;
inline constexpr uint32_t vmx_entry_ctls = 0x484;
inline constexpr uint32_t vmx_misc = 0x485;
inline constexpr uint32_t vmx_cr0_fixed0 = 0x486;
inline constexpr uint32_t vmx_cr0_fixed1 = 0x487;
inline constexpr uint32_t vmx_cr4_fixed0 = 0x488;
inline constexpr uint32_t vmx_cr4_fixed1 = 0x489;
inline constexpr uint32_t vmx_procbased_ctls2 = 0x48b;
inline constexpr uint32_t vmx_ept_vpid_cap = 0x48c;
inline constexpr uint32_t vmx_true_pinbased_ctls = 0x48d;
inline constexpr uint32_t vmx_true_procbased_ctls = 0x48e;
inline constexpr uint32_t vmx_true_exit_ctls = 0x48f;
inline constexpr uint32_t vmx_true_entry_ctls = 0x490;
}  // namespace Msr

/// IA32_FEATURE_CONTROL (SDM Vol. 3C, 24.7 "Enabling and Entering VMX Operation").
namespace FeatureControl {
inline constexpr uint64_t lock = 1ull << 0;
inline constexpr uint64_t vmxon_in_smx = 1ull << 1;
inline constexpr uint64_t vmxon_outside_smx = 1ull << 2;
}  // namespace FeatureControl

/// IA32_VMX_BASIC (appendix A.1).
namespace Basic {
constexpr uint32_t revision(uint64_t v) { return static_cast<uint32_t>(v & 0x7fffffff); }
constexpr uint32_t vmcs_size(uint64_t v) { return static_cast<uint32_t>((v >> 32) & 0x1fff); }
constexpr uint32_t memory_type(uint64_t v) { return static_cast<uint32_t>((v >> 50) & 0xf); }
inline constexpr uint64_t true_controls = 1ull << 55;
}  // namespace Basic

/// IA32_VMX_MISC (appendix A.6).
namespace Misc {
/// The VMX-preemption timer counts down once every 2^rate TSC ticks.
constexpr unsigned preemption_timer_rate(uint64_t v) { return static_cast<unsigned>(v & 0x1f); }
inline constexpr uint64_t store_lma = 1ull << 5;             ///< exits save EFER.LMA into "IA-32e mode guest"
inline constexpr uint64_t zero_length_injection = 1ull << 30;///< software events may be injected with length 0
}  // namespace Misc

/// IA32_VMX_EPT_VPID_CAP (appendix A.10).
namespace EptCap {
inline constexpr uint64_t execute_only = 1ull << 0;
inline constexpr uint64_t walk_length_4 = 1ull << 6;
inline constexpr uint64_t memtype_wb = 1ull << 14;
inline constexpr uint64_t pde_2m = 1ull << 16;  ///< EPT PDEs may map 2 MiB pages
inline constexpr uint64_t invept = 1ull << 20;
inline constexpr uint64_t invept_single = 1ull << 25;
inline constexpr uint64_t invept_all = 1ull << 26;
inline constexpr uint64_t invvpid = 1ull << 32;
inline constexpr uint64_t invvpid_single = 1ull << 41;
inline constexpr uint64_t invvpid_all = 1ull << 42;
}  // namespace EptCap

/// INVEPT / INVVPID types (SDM Vol. 3C, 31.3 "INVEPT", "INVVPID").
enum class InvType : uint64_t { individual = 0, single = 1, all = 2 };

// --- VM-execution controls (SDM Vol. 3C, 25.6) -------------------------------
/// Pin-based VM-execution controls.
namespace Pin {
inline constexpr uint32_t external_interrupt_exiting = 1u << 0;
inline constexpr uint32_t nmi_exiting = 1u << 3;
inline constexpr uint32_t virtual_nmis = 1u << 5;
inline constexpr uint32_t preemption_timer = 1u << 6;
}  // namespace Pin

/// Primary processor-based VM-execution controls.
namespace Cpu1 {
inline constexpr uint32_t interrupt_window_exiting = 1u << 2;
inline constexpr uint32_t tsc_offsetting = 1u << 3;
inline constexpr uint32_t hlt_exiting = 1u << 7;
inline constexpr uint32_t invlpg_exiting = 1u << 9;
inline constexpr uint32_t mwait_exiting = 1u << 10;
inline constexpr uint32_t rdpmc_exiting = 1u << 11;
inline constexpr uint32_t rdtsc_exiting = 1u << 12;
inline constexpr uint32_t cr3_load_exiting = 1u << 15;
inline constexpr uint32_t cr3_store_exiting = 1u << 16;
inline constexpr uint32_t cr8_load_exiting = 1u << 19;
inline constexpr uint32_t cr8_store_exiting = 1u << 20;
inline constexpr uint32_t use_tpr_shadow = 1u << 21;
inline constexpr uint32_t nmi_window_exiting = 1u << 22;
inline constexpr uint32_t mov_dr_exiting = 1u << 23;
inline constexpr uint32_t unconditional_io_exiting = 1u << 24;
inline constexpr uint32_t use_io_bitmaps = 1u << 25;
inline constexpr uint32_t monitor_trap_flag = 1u << 27;
inline constexpr uint32_t use_msr_bitmaps = 1u << 28;
inline constexpr uint32_t monitor_exiting = 1u << 29;
inline constexpr uint32_t pause_exiting = 1u << 30;
inline constexpr uint32_t secondary_controls = 1u << 31;
}  // namespace Cpu1

/// Secondary processor-based VM-execution controls.
namespace Cpu2 {
inline constexpr uint32_t virtualize_apic_accesses = 1u << 0;
inline constexpr uint32_t enable_ept = 1u << 1;
inline constexpr uint32_t descriptor_table_exiting = 1u << 2;
inline constexpr uint32_t enable_rdtscp = 1u << 3;
inline constexpr uint32_t enable_vpid = 1u << 5;
inline constexpr uint32_t wbinvd_exiting = 1u << 6;
inline constexpr uint32_t unrestricted_guest = 1u << 7;
inline constexpr uint32_t enable_invpcid = 1u << 12;
inline constexpr uint32_t enable_xsaves = 1u << 20;
}  // namespace Cpu2

/// VM-exit controls (SDM Vol. 3C, 25.7.1).
namespace ExitCtl {
inline constexpr uint32_t save_debug_controls = 1u << 2;
inline constexpr uint32_t host_address_space_size = 1u << 9;
inline constexpr uint32_t load_perf_global_ctrl = 1u << 12;
inline constexpr uint32_t ack_interrupt_on_exit = 1u << 15;
inline constexpr uint32_t save_pat = 1u << 18;
inline constexpr uint32_t load_pat = 1u << 19;
inline constexpr uint32_t save_efer = 1u << 20;
inline constexpr uint32_t load_efer = 1u << 21;
}  // namespace ExitCtl

/// VM-entry controls (SDM Vol. 3C, 25.8.1).
namespace EntryCtl {
inline constexpr uint32_t load_debug_controls = 1u << 2;
inline constexpr uint32_t ia32e_mode_guest = 1u << 9;
inline constexpr uint32_t entry_to_smm = 1u << 10;
inline constexpr uint32_t load_perf_global_ctrl = 1u << 13;
inline constexpr uint32_t load_pat = 1u << 14;
inline constexpr uint32_t load_efer = 1u << 15;
}  // namespace EntryCtl

// --- Basic exit reasons (appendix C) -------------------------------------------
enum class Reason : uint32_t {
  exception_nmi = 0,
  external_interrupt = 1,
  triple_fault = 2,
  init_signal = 3,
  sipi = 4,
  io_smi = 5,
  other_smi = 6,
  interrupt_window = 7,
  nmi_window = 8,
  task_switch = 9,
  cpuid = 10,
  getsec = 11,
  hlt = 12,
  invd = 13,
  invlpg = 14,
  rdpmc = 15,
  rdtsc = 16,
  rsm = 17,
  vmcall = 18,
  vmclear = 19,
  vmlaunch = 20,
  vmptrld = 21,
  vmptrst = 22,
  vmread = 23,
  vmresume = 24,
  vmwrite = 25,
  vmxoff = 26,
  vmxon = 27,
  cr_access = 28,
  mov_dr = 29,
  io = 30,
  rdmsr = 31,
  wrmsr = 32,
  entry_fail_guest_state = 33,
  entry_fail_msr_load = 34,
  mwait = 36,
  monitor_trap_flag = 37,
  monitor = 39,
  pause = 40,
  entry_fail_machine_check = 41,
  tpr_below_threshold = 43,
  apic_access = 44,
  virtualized_eoi = 45,
  gdtr_idtr_access = 46,
  ldtr_tr_access = 47,
  ept_violation = 48,
  ept_misconfig = 49,
  invept = 50,
  rdtscp = 51,
  preemption_timer = 52,
  invvpid = 53,
  wbinvd = 54,
  xsetbv = 55,
  apic_write = 56,
  rdrand = 57,
  invpcid = 58,
  vmfunc = 59,
  encls = 60,
  rdseed = 61,
  pml_full = 62,
  xsaves = 63,
  xrstors = 64,
};

/// Exit-reason field: bit 31 "VM-entry failure" (SDM Vol. 3C, 25.9.1).
inline constexpr uint32_t kExitReasonEntryFailure = 1u << 31;

// --- Event information (SDM Vol. 3C, 25.8.3 and 25.9.2) -------------------------
/// VM-entry interruption information, VM-exit interruption information and
/// IDT-vectoring information share this layout.
namespace IntrInfo {
inline constexpr uint32_t vector_mask = 0xff;
inline constexpr unsigned type_shift = 8;
inline constexpr uint32_t type_mask = 7u << type_shift;
inline constexpr uint32_t deliver_error_code = 1u << 11;
inline constexpr uint32_t nmi_unblocking = 1u << 12;  ///< exit info only
inline constexpr uint32_t valid = 1u << 31;
}  // namespace IntrInfo

/// Interruption types.
enum class IntrType : uint32_t {
  external_interrupt = 0,
  nmi = 2,
  hardware_exception = 3,
  software_interrupt = 4,
  privileged_software_exception = 5,
  software_exception = 6,
  other_event = 7,
};

/// Guest interruptibility state.
namespace Interruptibility {
inline constexpr uint32_t blocking_by_sti = 1u << 0;
inline constexpr uint32_t blocking_by_mov_ss = 1u << 1;
inline constexpr uint32_t blocking_by_smi = 1u << 2;
inline constexpr uint32_t blocking_by_nmi = 1u << 3;
}  // namespace Interruptibility

/// VM-instruction error numbers worth naming (SDM Vol. 3C, 31.4).
namespace InsnError {
inline constexpr uint32_t invalid_control_field = 7;
inline constexpr uint32_t invalid_host_state = 8;
}  // namespace InsnError

// --- Architectural register bits (shared with SVM: x86_64/arch.hpp) ---------
namespace Cr0 = x86::Cr0;
namespace Cr4 = x86::Cr4;
namespace Rflags = x86::Rflags;
namespace Efer {
using namespace x86::Efer;
/// The EFER bits a guest may have on Intel (everything else is reserved).
inline constexpr uint64_t kValid = sce | lme | lma | nxe;
}  // namespace Efer

}  // namespace cos::vmx
