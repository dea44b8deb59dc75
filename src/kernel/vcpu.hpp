// Virtualization objects: a VM (guest-physical address space) and a vCPU
// (hardware control block, guest registers and FPU state). A synchronous vCPU
// is run by whichever VMM thread calls vcpu_run; an asynchronous one has its
// own thread and reports exits to an endpoint (kernel/vcpu_run.cpp).
#pragma once
#include <stdint.h>

#include "cos/abi.hpp"
#include "cos/vm.hpp"
#include "kernel/object.hpp"

namespace cos {

struct Thread;
struct RcvEndpoint;

struct Vm : KObject {
  static constexpr abi::ObjType kType = abi::ObjType::vm;
  uint64_t root;        ///< physical address of the EPT PML4 / NPT PML4
  uint32_t tag;         ///< VPID (VMX) / ASID (SVM) shared by the VM's vCPUs
  /// CPUs (bit n: CPU n) that must invalidate the VM's cached translations
  /// before their next entry: a mapping was removed, or the guest changed
  /// what its TLB may hold. Each CPU clears its own bit (take_flush).
  uint32_t flush_cpus;
  /// Mappings removed so far (vm_unmap): a backend that remembers
  /// guest-physical translations keeps them only while this is unchanged.
  uint64_t unmaps;
  uint32_t vcpus;       ///< live vCPUs of this VM
};

/// Every CPU invalidates `vm`'s translations before it next enters one of its
/// vCPUs (the TLB is per CPU; vCPUs of one VM may run on several).
inline void request_flush(Vm* vm) { vm->flush_cpus = ~0u; }
/// Whether CPU `cpu` must invalidate `vm`'s translations now; clears the request.
inline bool take_flush(Vm* vm, unsigned cpu) {
  const uint32_t bit = 1u << cpu;
  if (!(vm->flush_cpus & bit)) return false;
  vm->flush_cpus &= ~bit;
  return true;
}

/// An event queued for injection (vcpu_inject or the state page).
struct PendingEvent {
  bool valid;
  uint8_t vector;
  vm::EventType type;
  bool has_error_code;
  uint32_t error_code;
};

/// Asynchronous vCPUs: whether the VMM has answered the last exit.
enum class VcpuRun : uint8_t {
  stopped,  ///< created, or an exit was delivered and the VMM has not answered
  runnable, ///< may enter the guest when its thread is scheduled
};

/// Bytes of vendor state a backend keeps in each vCPU (registers its
/// control block does not hold, the VMM's requests); each backend checks its
/// state fits with a static_assert.
inline constexpr unsigned kVcpuBackendStateBytes = 192;

struct Vcpu : KObject {
  static constexpr abi::ObjType kType = abi::ObjType::vcpu;
  Vm* vm;                      ///< referenced
  Thread* thread;              ///< asynchronous vCPUs: the thread that runs the guest (owned); else nullptr
  RcvEndpoint* exit_ep;        ///< asynchronous vCPUs: notified on every forwarded exit (referenced)
  Thread* runner;              ///< the thread running the guest now (vcpu_run), or nullptr
  vm::StatePage* state;        ///< kernel view of the state page
  uint64_t state_pa;           ///< the state frame page (kept mapped: its frame is referenced)
  uint64_t control_pa;         ///< VMCS (VMX) or VMCB (SVM) page
  VcpuRun run;
  bool dead;                   ///< thd_kill of a synchronous vCPU: vcpu_run refuses it (comp_dead)
  uint32_t id;
  PendingEvent pending_irq;    ///< external interrupt
  PendingEvent pending_exc;    ///< exception / NMI / software interrupt
  bool window_requested_by_vmm;
  /// Guest general-purpose registers the hardware does not keep in the
  /// control block, in vm::Regs order (rax .. r15); the backend decides which
  /// it uses.
  uint64_t gpr[16];
  /// The guest's FPU/SSE state (FXSAVE image), live while the guest runs.
  alignas(16) uint8_t fpu[512];
  /// Vendor state (vmx::VcpuState / svm::VcpuState).
  alignas(16) uint8_t backend_state[kVcpuBackendStateBytes];
};
static_assert(sizeof(Vcpu) <= 4096);

}  // namespace cos
