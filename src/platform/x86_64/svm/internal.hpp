// What the SVM backend's files share: the features found at boot, the
// per-vCPU state the VMCB does not hold, and the backend's operations.
#pragma once
#include <stdint.h>

#include "kernel/platform.hpp"
#include "kernel/vcpu.hpp"
#include "x86_64/guest_policy.hpp"
#include "x86_64/svm/guest_memory.hpp"
#include "x86_64/svm/guest_state.hpp"
#include "x86_64/svm/vmcb.hpp"

namespace cos::svm {

/// Found by probe(): what the CPU's SVM offers.
struct Caps {
  uint32_t asids;     ///< ASIDs the CPU offers (ASID 0 is the host's), at most 256 used
  bool nrip_save;     ///< the VMCB's nRIP is written on instruction exits
  bool decode_assists;  ///< EXITINFO1 names the register of an intercepted MOV CRn
  bool flush_by_asid;   ///< TLB_CONTROL can flush one ASID's translations
  /// The CPU has PKU: guest CR4 writes are intercepted (and emulated by the
  /// kernel unless the VMM intercepts CR writes) to keep CR4.PKE clear.
  bool cr4_write_intercept;
  uint64_t iopm_pa;   ///< the shared I/O permission map: every port intercepted
  uint64_t msrpm_pa;  ///< the shared MSR permission map: every MSR intercepted
  /// What the guest-state checks depend on (CPUID).
  GuestLimits limits;
};
extern Caps g_caps;

/// Per-vCPU state the VMCB does not hold. Lives in Vcpu::backend_state.
struct VcpuState {
  uint32_t vmm_exceptions;   ///< exception intercepts requested by the VMM
  uint32_t intercept_flags;  ///< vm::Intercept bits requested by the VMM
  /// The VMM loaded state since the last successful VMRUN: keep a copy of
  /// the save area for the next entry, which may refuse it (VMEXIT_INVALID
  /// can leave host values in the save area, which must not reach the VMM).
  bool snapshot_due;
  /// The guest has used DR0-DR3: their accesses no longer exit, and dr[] is
  /// loaded before and saved after every run (DR6 and DR7 are in the VMCB).
  bool dr_live;
  uint64_t dr[4];
  /// Translations for fetching exiting instructions (without NRIP save).
  NptCache npt_cache;
  /// The last CR-write exit's bytes were not the instruction the exit
  /// names: the guest's TLB was flushed and the instruction runs again
  /// (exit.cpp).
  bool cr_refetched;
};
static_assert(sizeof(VcpuState) <= kVcpuBackendStateBytes);

/// The SVM state of `v`.
inline VcpuState& vcpu_state(Vcpu* v) { return *reinterpret_cast<VcpuState*>(v->backend_state); }
/// The VMCB of `v`.
inline Vmcb& vmcb(Vcpu* v) { return *static_cast<Vmcb*>(platform::phys_to_kernel(v->control_pa)); }

/// This CPU's VMSAVE area of the host's FS/GS/TR/LDTR, KERNEL_GS_BASE,
/// STAR/LSTAR/CSTAR/SFMASK and SYSENTER MSRs, saved once when SVM was
/// enabled here (constant in the kernel: user code cannot change them) and
/// reloaded with VMLOAD after every exit (svm.cpp).
uint64_t host_vmsave_pa();

/// Flushes this CPU's TLB before the next VMRUN of `vm` if one of its
/// mappings was removed or another VM used its ASID here since (svm.cpp).
/// Sets TLB_CONTROL.
void prepare_tlb(Vm* vm, Vmcb& c);

// The backend's operations (platform::VirtBackend; svm.cpp puts them in the
// table): VMs and NPT entries in svm.cpp, vCPU set-up and state transfer in
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

}  // namespace cos::svm

extern "C" {
/// entry.S: VMLOAD guest, loads the guest GPRs from gpr[16] (rax and rsp live
/// in the VMCB), VMRUN, and at #VMEXIT stores them back, VMSAVE guest and
/// VMLOAD host (from host_save_pa). Returns with GIF = 1 and IF = 0.
void svm_run(uint64_t vmcb_pa, uint64_t* gpr, uint64_t host_save_pa);
}
