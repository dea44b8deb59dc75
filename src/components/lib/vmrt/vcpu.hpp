// vmrt: a vCPU and its run loop (component only: these make system calls).
//
//   vmrt::Vm vm;                       VMRT_TRY(vm.create());
//   VMRT_TRY(vm.add_ram(0, 1 << 20));  VMRT_TRY(vm.copy_to_guest(0x1000, code, len));
//   vmrt::Vcpu cpu;                    VMRT_TRY(cpu.create(vm));
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
  /// false (the default, and the fast path): a synchronous vCPU. run() enters
  /// the guest on the calling thread (vcpu_run) and the call returns at the
  /// next exit; the thread's priority applies. true: the vCPU gets its own
  /// thread at `priority`; run() answers each exit with vcpu_resume and
  /// waits for the next one on the wake-up endpoint (for VMMs whose handler
  /// thread must not run the guest).
  bool own_thread = false;
  /// Scheduling priority of the vCPU's own thread (0 highest .. 255); only
  /// with own_thread.
  uint32_t priority = 128;
  /// Groups the kernel writes on every exit besides the registers
  /// (vm::Load bits); cr and segments let handlers translate addresses and
  /// know the mode. Fewer groups make exits cheaper.
  uint64_t save_mask = Load::cr | Load::segments;
  /// 0 (the default): create() makes the vCPU's own wake-up receive
  /// endpoint. Otherwise an endpoint the VMM already holds (read and write),
  /// e.g. its channels' notification endpoint (cos::chan::notify_endpoint),
  /// so that a backend's notification wakes the vCPU's thread; destroy()
  /// leaves it alone.
  uint64_t wake_rcv_slot = 0;
};

class Vcpu;
/// Called by Vcpu::run when it is woken without an exit: the wait timed out,
/// or the wake-up endpoint was notified (an IRQ, a timer or an asnd the VMM
/// bound to it, see Vcpu::wakeup_endpoint). The state page is current. Return
/// Action::resume to go on running the guest, Action::stop to leave run().
using WakeupHandler = Action (*)(Vcpu& vcpu, void* ctx);

struct RunOptions {
  /// Microseconds to run before a wake-up (0: forever).
  uint64_t timeout_us = 0;
  /// When set, read before every run instead of timeout_us (0: forever), so
  /// a VMM can wake exactly at its next device deadline.
  const uint64_t* dynamic_timeout_us = nullptr;
  /// Called on every wake-up without an exit; without it a timeout ends
  /// run() with Errc::timeout and notifications are ignored.
  WakeupHandler on_wakeup = nullptr;
  void* wakeup_ctx = nullptr;
  /// Leave run() with Action::stop semantics after this many exits (0: no limit).
  uint64_t max_exits = 0;
  /// Do not print the message for an unhandled exit.
  bool quiet = false;
};

class Vcpu : public VcpuState {
 public:
  Vcpu() = default;

  /// Creates the vCPU of `vm`: a state frame (mapped in the VMM window),
  /// the wake-up receive endpoint and the vCPU object, which starts
  /// stopped. Then set its state (setup_real_mode & co.) and run(). The
  /// vCPU's handlers see the VM's guest memory. Errors: not_created (vm),
  /// out_of_slots, window_full, syscall (retype, pgtbl_map, vcpu_create:
  /// no_virtualization), bad_state_page.
  Status create(Vm& vm, const VcpuConfig& cfg = {});
  bool created() const { return slot_ != 0; }
  /// The receive endpoint whose notifications wake run() without an exit
  /// (bind IRQs and timers to it); with own_thread the exits notify it too.
  uint64_t wakeup_endpoint() const { return rcv_; }

  /// Runs the guest: loads the dirty groups, runs the guest until its next
  /// exit, dispatches it to the handler table, repeats until a handler
  /// returns Action::stop.
  /// Returns the reason of the exit whose handler stopped. Errors:
  /// unhandled_exit (after printing "vmrt: vcpu N: unhandled exit ..."
  /// unless opts.quiet), no_instruction_length, timeout, syscall
  /// (vcpu_run: bad_guest_state leaves the vCPU stopped and the groups
  /// still dirty, so fix the state and call run() again).
  Result<vm::ExitReason> run(const RunOptions& opts = {});
  /// One round: load, run until one exit (no dispatch). Returns the exit's
  /// reason, or vm::ExitReason::none when woken without an exit. Errors:
  /// as run().
  Result<vm::ExitReason> step(uint64_t timeout_us = 0);
  /// True for a vCPU with its own thread (VcpuConfig::own_thread).
  bool own_thread() const { return own_thread_; }

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
  /// One round trip: load `load`, run until an exit or a wake-up. Returns the
  /// kernel's result: an exit reason (> 0), 0 (woken by a notification),
  /// timeout, or another error (then `load` is dirty again).
  int64_t round(uint64_t load, uint64_t timeout_us);

  Vm* vm_ = nullptr;
  uint64_t slot_ = 0, rcv_ = 0, frame_ = 0, hva_ = 0;
  bool own_thread_ = false;
  bool own_rcv_ = true;  ///< create() made rcv_ (destroy() deletes it)
};

}  // namespace vmrt
