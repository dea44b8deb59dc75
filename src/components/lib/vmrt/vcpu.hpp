// vmrt: a vCPU and its run loop (component only: these make system calls).
//
//   vmrt::Vm vm;                       VMRT_TRY(vm.create());
//   VMRT_TRY(vm.add_ram(0, 1 << 20));  VMRT_TRY(vm.copy_to_guest(0x1000, code, len));
//   vmrt::Vcpu cpu;                    VMRT_TRY(cpu.create(vm, {.priority = 100}));
//   vmrt::setup_real_mode(cpu, {.cs = 0, .ip = 0x1000});
//   cpu.on(vm::ExitReason::hlt, [](vmrt::VcpuState&, void*) { return vmrt::Action::stop; });
//   auto r = cpu.run();                // until a handler says stop
//
// Vcpu is a VcpuState (typed state-page access, the handler table,
// guest-virtual translation) plus the kernel objects: the vCPU capability,
// its state frame mapped in the VMM window and the receive endpoint its
// exits notify.
#pragma once
#include <stdint.h>

#include "vmrt/error.hpp"
#include "vmrt/vcpu_state.hpp"
#include "vmrt/vm.hpp"

namespace vmrt {

struct VcpuConfig {
  /// Scheduling priority of the vCPU (0 highest .. 255), like a thread's.
  uint32_t priority = 128;
  /// Groups the kernel writes on every exit besides the registers
  /// (vm::Load bits); cr and segments let handlers translate addresses and
  /// know the mode. Fewer groups make exits cheaper.
  uint64_t save_mask = Load::cr | Load::segments;
};

class Vcpu;
/// Called by Vcpu::run when the wait for an exit timed out (the vCPU is still
/// running). Return Action::resume to keep waiting, Action::stop to leave
/// run() (the vCPU keeps running until its next exit).
using TimeoutHandler = Action (*)(Vcpu& vcpu, void* ctx);

struct RunOptions {
  /// Microseconds to wait for each exit (0: forever).
  uint64_t timeout_us = 0;
  /// When set, read before every wait instead of timeout_us (0: forever), so a
  /// VMM can sleep exactly until its next device deadline.
  const uint64_t* dynamic_timeout_us = nullptr;
  /// Called on a timeout and whenever the exit endpoint is notified without
  /// an exit (an IRQ or timer the VMM bound to it, see Vcpu::exit_endpoint);
  /// without it a timeout ends run() with Errc::timeout and other
  /// notifications are ignored.
  TimeoutHandler on_timeout = nullptr;
  void* timeout_ctx = nullptr;
  /// Leave run() with Action::stop semantics after this many exits (0: no limit).
  uint64_t max_exits = 0;
  /// Do not print the message for an unhandled exit.
  bool quiet = false;
};

class Vcpu : public VcpuState {
 public:
  Vcpu() = default;

  /// Creates the vCPU of `vm`: a state frame (mapped in the VMM window),
  /// a receive endpoint for its exits and the vCPU object, which starts
  /// stopped. Then set its state (setup_real_mode & co.) and run(). The
  /// vCPU's handlers see the VM's guest memory. Errors: not_created (vm),
  /// out_of_slots, window_full, syscall (retype, pgtbl_map, vcpu_create:
  /// no_virtualization), bad_state_page.
  Status create(Vm& vm, const VcpuConfig& cfg = {});
  bool created() const { return slot_ != 0; }
  /// The receive endpoint exits notify (to bind an IRQ or timer to it too).
  uint64_t exit_endpoint() const { return rcv_; }

  /// Runs the guest: loads the dirty groups, waits for an exit, dispatches
  /// it to the handler table, repeats until a handler returns Action::stop.
  /// Returns the reason of the exit whose handler stopped. Errors:
  /// unhandled_exit (after printing "vmrt: vcpu N: unhandled exit ..."
  /// unless opts.quiet), no_instruction_length, timeout, syscall
  /// (vcpu_run: bad_guest_state leaves the vCPU stopped and the groups
  /// still dirty, so fix the state and call run() again).
  Result<vm::ExitReason> run(const RunOptions& opts = {});
  /// One round: load, enter, wait for one exit (no dispatch). Returns the
  /// exit's reason. Errors: as run().
  Result<vm::ExitReason> step(uint64_t timeout_us = 0);

  /// Queues an external interrupt (vcpu_inject), injected when the guest
  /// can take it (interrupt-window exits are requested by the kernel).
  /// Callable from any thread. Errors: syscall (event_pending when one is
  /// already queued).
  Status inject_interrupt(uint8_t vector);
  /// Queues a hardware exception; error_code is used for vectors that have one.
  Status inject_exception(uint8_t vector, uint32_t error_code = 0);
  /// Queues an NMI.
  Status inject_nmi();

  /// Deletes the vCPU, its receive endpoint and state frame (unmapped from
  /// the VMM first). Errors: not_created, syscall (cap_delete).
  Status destroy();

  uint64_t slot() const { return slot_; }
  uint64_t rcv_slot() const { return rcv_; }
  Vm* vm() const { return vm_; }

 private:
  static uint64_t wait_us(const RunOptions& opts);
  Result<vm::ExitReason> wait(int64_t r, uint64_t timeout_us, uint64_t load);

  Vm* vm_ = nullptr;
  uint64_t slot_ = 0, rcv_ = 0, frame_ = 0, hva_ = 0;
};

}  // namespace vmrt
