// Virtualization objects: a VM (guest-physical address space) and a vCPU
// (hardware control block + a schedulable thread that runs the guest).
#pragma once
#include <stdint.h>

#include "cos/vm.hpp"
#include "kernel/object.hpp"

namespace cos {

struct Thread;
struct RcvEndpoint;

struct Vm : KObject {
  uint64_t root;        ///< physical address of the EPT PML4 / NPT PML4
  uint32_t tag;         ///< VPID (VMX) / ASID (SVM) shared by the VM's vCPUs
  bool flush_pending;   ///< a mapping was removed: invalidate before the next entry
  uint32_t vcpus;       ///< live vCPUs of this VM
};

/// An event queued for injection (vcpu_inject or the state page).
struct PendingEvent {
  bool valid;
  uint8_t vector;
  vm::EventType type;
  bool has_error_code;
  uint32_t error_code;
};

enum class VcpuRun : uint8_t {
  stopped,  ///< created, or an exit was delivered and the VMM has not answered
  runnable, ///< may enter the guest when its thread is scheduled
};

struct Vcpu : KObject {
  Vm* vm;                      ///< referenced
  Thread* thread;              ///< the schedulable context that runs the guest (owned)
  RcvEndpoint* exit_ep;        ///< notified on every forwarded exit (referenced)
  vm::StatePage* state;        ///< kernel view of the state page
  uint64_t state_pa;           ///< the state frame page (kept mapped: its frame is referenced)
  uint64_t control_pa;         ///< VMCS (VMX) or VMCB (SVM) page
  VcpuRun run;
  bool launched;               ///< VMX: VMLAUNCH done, VMRESUME next
  uint32_t id;
  PendingEvent pending_irq;    ///< external interrupt
  PendingEvent pending_exc;    ///< exception / NMI / software interrupt
  bool window_requested_by_vmm;
  /// Guest general-purpose registers the hardware does not keep in the
  /// control block, in vm::Regs order (rax .. r15); the backend decides which
  /// it uses.
  uint64_t gpr[16];
  uint64_t guest_xcr0;
};

}  // namespace cos
