// What the VMX backend's files share: the capabilities found at boot, the
// per-vCPU state the VMCS does not hold, and helpers over the current VMCS.
#pragma once
#include <stdint.h>

#include "x86_64/vmx/guest_state.hpp"
#include "kernel/platform.hpp"
#include "kernel/vcpu.hpp"
#include "x86_64/guest_policy.hpp"
#include "x86_64/vmx/vmcs.hpp"

namespace cos::vmx {

/// Found by init(): the control settings every VMCS starts with (allowed-0
/// bits forced on) and what the CPU offers beyond them.
struct Caps {
  uint32_t revision;
  uint32_t pin, cpu1, cpu2, exit, entry;  ///< base values of the controls
  uint32_t cpu1_allowed1;                 ///< primary controls that may be 1
  uint32_t cpu1_allowed0;                 ///< primary controls that must be 1
  GuestLimits limits;
  bool virtual_nmis;
  bool execute_only;
  bool ept_2m;  ///< EPT PDEs may map 2 MiB pages (IA32_VMX_EPT_VPID_CAP bit 16)
  bool invept_single;
  bool invept_all;      ///< INVEPT all-context (VMXON on each CPU clears everything)
  bool invvpid_all;     ///< INVVPID all-context
  bool invvpid_single;
  bool lma_store;          ///< exits update "IA-32e mode guest" (IA32_VMX_MISC bit 5)
  bool zero_length_inject; ///< IA32_VMX_MISC bit 30
  /// An injected #CP may deliver an error code: the CPU has CET
  /// (CPUID.(7,0):ECX[7] or EDX[20]) or IA32_VMX_BASIC bit 56 (no error-code
  /// consistency checks) is set.
  bool cp_error_code;
  /// VMX-preemption timer value per entry (0: not used). A guest never runs
  /// longer than this without an exit, even where an interrupt fails to
  /// cause one (Bochs 2.7 does not exit for host interrupts while a guest
  /// that was entered with RFLAGS.IF = 0 keeps IF clear).
  uint32_t preemption_ticks;
  uint64_t msr_bitmap_pa;
};
extern Caps g_caps;

/// Per-vCPU state the VMCS does not hold: registers VMX does not switch
/// (CR2 and the SYSCALL MSRs), what the VMM asked for and whether the VMCS
/// is launched. Lives in Vcpu::backend_state.
struct VcpuState {
  uint64_t cr2;
  uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
  uint32_t vmm_exceptions;   ///< exception bitmap requested by the VMM
  uint32_t intercept_flags;  ///< vm::Intercept bits requested by the VMM
  uint32_t cpu1;             ///< current primary processor-based controls
  bool launched;             ///< VMLAUNCH done: VMRESUME next
  /// The CPU (+ 1) on which the VMCS is active (VMPTRLD done, no VMCLEAR
  /// since): 0 when clear. Intel SDM Vol. 3C, 25.11.1: a VMCS may be
  /// active on one CPU only; another CPU first has it VMCLEARed there.
  uint8_t active_cpu;
  /// The guest has used its debug registers: MOV DR no longer exits, and
  /// dr[] and dr6 are loaded before and saved after every run.
  bool dr_live;
  uint64_t dr[4];            ///< DR0-DR3
  uint64_t dr6;
};
static_assert(sizeof(VcpuState) <= kVcpuBackendStateBytes);

/// The VMX state of `v`.
inline VcpuState& vcpu_state(Vcpu* v) { return *reinterpret_cast<VcpuState*>(v->backend_state); }

// The backend's operations (platform::VirtBackend; vmx.cpp puts them in the
// table): VMs and EPT entries in vmx.cpp, vCPU set-up and state transfer in
// vcpu.cpp, vcpu_enter in exit.cpp.
abi::Error vm_init(Vm* vm);
void vm_destroy(Vm* vm);
uint64_t gpt_table_entry(uint64_t table_pa);
uint64_t gpt_leaf_entry(uint64_t hpa, uint64_t rights, unsigned level);
bool gpt_present(uint64_t entry);
abi::Error vcpu_init(Vcpu* v);
void vcpu_destroy(Vcpu* v);
abi::Error vcpu_load(Vcpu* v, const vm::StatePage& s, uint64_t mask);
void vcpu_save(Vcpu* v, vm::StatePage& s, uint64_t mask);
platform::ExitAction vcpu_enter(Vcpu* v, vm::Exit& exit);

/// INVEPT for the VM on this CPU if a mapping was removed since this CPU
/// last entered one of its vCPUs (Vm::flush_cpus).
void flush_if_pending(Vm* vm);

/// Makes v's VMCS the current VMCS of this CPU (VMPTRLD when it is not).
/// A VMCS active on another CPU is VMCLEARed there first (cpu_call), and
/// then launched again (VMLAUNCH) with this CPU's host GDTR/IDTR/TR bases.
void make_current(Vcpu* v);
/// VMCLEARs v's VMCS on the CPU where it is active, if any (vCPU teardown).
void release_vmcs(Vcpu* v);
/// Writes this CPU's GDTR, IDTR and TR bases into the current VMCS's host
/// state (each CPU has its own GDT and TSS). False if a VMWRITE failed.
bool write_host_tables();


/// Exceptions the kernel always intercepts (x86_64/guest_policy.hpp).
using x86::kForcedExceptions;

/// The guest/host masks for CR0 and CR4: bits VMX forces, CR4.PKE
/// (x86_64/guest_policy.hpp) and, with Intercept::cr_writes, all bits
/// belong to the host, and guest writes that change them exit.
uint64_t cr0_mask(uint32_t intercept_flags);
uint64_t cr4_mask(uint32_t intercept_flags);

/// Reads the current VMCS guest state.
void read_guest_state(GuestState& g);
/// Reads guest-physical memory through the VM's EPT (false if unmapped).
bool read_guest_phys(Vm* vm, uint64_t gpa, void* dst, unsigned len);
/// Loads the PAE PDPTEs of the guest's CR3 into the VMCS; false if they are
/// unreadable or invalid.
bool load_pdptes(Vm* vm, uint64_t cr3);
/// Flushes the linear and combined mappings of the VM's VPID.
void flush_vpid(Vm* vm);

/// Queues a hardware exception for the next entry (used by the in-kernel
/// emulation of guest CR writes and the reflection of forced exceptions).
void inject_exception_now(unsigned vector, bool has_error_code, uint32_t error_code);

/// Emulates a guest control-register access the VMM did not ask to see
/// (MOV to CR0/CR3/CR4, MOV from CR3, CLTS, LMSW). Returns false if the
/// access is one for the VMM. A refused value raises #GP(0) in the guest,
/// or, when the VMM intercepts #GP, sets `gp_for_vmm` (nothing changed: the
/// caller reports the #GP as the exit).
bool emulate_cr_access(Vcpu* v, uint64_t qualification, uint32_t instruction_length, bool& gp_for_vmm);

}  // namespace cos::vmx

extern "C" {
/// entry.S: loads the guest GPRs from gpr[16], enters the guest with
/// VMLAUNCH (launched == 0) or VMRESUME, and at the next VM exit stores them
/// back. Returns 0 after a VM exit, 1 for VMfailInvalid, 2 for VMfailValid.
uint64_t vmx_enter_guest(uint64_t* gpr, uint64_t launched);
/// The host RIP of every VMCS.
void vmx_exit_stub();
}
