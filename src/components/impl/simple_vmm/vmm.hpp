// simple_vmm: boots a stock Linux bzImage with an initramfs on 1..8 vCPUs
// (parameter `vcpus`), each run by a thread of its own.
// main.cpp sets the VM up and runs the vCPU threads; exits.cpp holds the
// exit handlers; the emulated PC is Platform (platform.hpp).
//
// Locking: the vCPU threads share the devices, g_vmm and the console. They
// run on one host CPU today, but the kernel preempts a thread at the end of
// its quantum (10 ms) or for a higher-priority thread anywhere in user mode,
// so two vCPU threads can interleave inside device code. Every exit handler
// and wake-up handler therefore runs under Vmm::lock (VmmLock), released
// only while the thread sleeps (HLT, wait-for-SIPI) and while it runs the
// guest.
#pragma once
#include <stdint.h>

#include "simple_vmm/cpuid_policy.hpp"
#include "simple_vmm/kvmclock.hpp"
#include "simple_vmm/msrs.hpp"
#include "simple_vmm/platform.hpp"
#include "devices/vcpu_startup.hpp"
#include "vmrt/vmrt.hpp"

namespace cos::simple_vmm {

/// How the guest ended; main() turns it into the VMM's exit status
/// (cos/exit_status.hpp, docs/simple_vmm.md "End").
enum class End {
  running,
  poweroff,      ///< ACPI S5, or HLT with interrupts off: status 0
  reboot,        ///< i8042 / port 0xcf9 reset: kGuestReset
  triple_fault,  ///< the vCPU shut down: kGuestTripleFault
  failed,        ///< the VMM cannot go on (emulation error, refused entry, bootloader error): kFailed
  debug_exit,    ///< a write to isa-debug-exit (port 0xf4): debug_exit(value) if the script says so, else 0
};

/// The VMM's lock (see the top of this file): a test-and-set lock whose
/// waiters spin briefly (a holder on another CPU), give the CPU away
/// (thd_yield), and after kSpinYields failed tries sleep on their wake-up
/// endpoint until unlock notifies them (or 1 ms passes, when they have no
/// asnd to it: then a lower-priority thread the holder waits for can run).
class VmmLock {
 public:
  static constexpr unsigned kSpinYields = 16;
  /// PAUSE iterations before each yield: a holder on another CPU usually
  /// leaves within a few microseconds (one exit's handling).
  static constexpr unsigned kSpins = 2000;
  static constexpr unsigned kMaxSleepers = 8;
  /// `who` (< kMaxSleepers): the caller's vCPU index. `sleep_rcv`: an
  /// endpoint the caller may sleep on (its wake-up endpoint); `wake_snd`:
  /// an asnd to it (0: none). Returns true if it slept: notifications for
  /// the caller's vCPU may have been consumed, so it must look at its
  /// devices (deliver_interrupts).
  bool lock(unsigned who, uint64_t sleep_rcv, uint64_t wake_snd);
  /// Releases the lock and notifies the threads that went to sleep on it.
  void unlock();

 private:
  bool held_ = false;
  uint32_t sleepers_ = 0;  ///< bit i: vCPU i sleeps until notified through wake_[i]
  uint64_t wake_[kMaxSleepers] = {};
};

/// How far a vCPU is from running (for the power-off rule of on_hlt).
enum class VcpuRunState : uint8_t {
  running,    ///< in the guest or handling an exit
  halted,     ///< HLT with interrupts on: wakes on an interrupt
  stopped,    ///< HLT with interrupts off: only NMI, INIT or SIPI wake it
  wait_sipi,  ///< wait-for-SIPI (an AP before its start-up, or after INIT)
};

/// One vCPU: its vmrt::Vcpu, thread and per-CPU state.
struct VcpuSlot {
  unsigned index = 0;         ///< vCPU number = APIC ID
  vmrt::Vcpu cpu;
  Msrs msrs;                  ///< per-CPU MSRs (PAT, TSC_AUX, ...)
  dev::VcpuStartup startup{false};
  VcpuRunState run_state = VcpuRunState::running;
  uint64_t kick = 0;          ///< asnd to cpu.wakeup_endpoint(): wakes this vCPU's thread
  uint64_t thread = 0;        ///< its thread capability
  uint64_t wait_us = 0;       ///< run loop's next wait (until its next device deadline)
  bool recheck = false;       ///< enter() slept on the wake-up endpoint (VmmLock::lock)
};

inline constexpr unsigned kMaxVcpus = Platform::kMaxVcpus;

struct Vmm {
  vmrt::Vm vm;
  VcpuSlot vcpus[kMaxVcpus];
  unsigned vcpu_count = 1;
  Platform pc;
  KvmClock clock;
  VmmLock lock;
  /// The vCPU whose thread holds the lock (device callbacks run for it).
  unsigned current = 0;
  /// A device call woke another vCPU's thread: the holder yields after
  /// unlocking so the woken vCPU runs soon (IPIs are usually waited for).
  bool yield_after = false;
  uint64_t done_rcv = 0, done_snd = 0;  ///< vCPU threads report their end here
  End end = End::running;
  char end_reason[160] = {};    ///< why the VM stopped (one line)
  uint32_t debug_exit_value = 0;  ///< End::debug_exit: the value written
  /// Linux's "Kernel panic - not syncing: ..." console line, once seen (the
  /// end is then reported as a guest panic).
  char panic_line[128] = {};
  uint64_t console_slot = 0;  ///< console input (hardware.console), 0 if not granted
  uint64_t exits_by_reason[32] = {};
  uint64_t trace_every = 0;   ///< parameter `trace`: print every Nth exit (0: off)
  /// The notification endpoint was consumed outside the run loop (a device
  /// backend waited on it): look at the console and the network again.
  bool notified = false;
};

extern Vmm g_vmm;

/// Registers every exit handler on the vCPU (each runs under g_vmm.lock).
void install_exit_handlers(VcpuSlot& vcpu);
/// Takes / releases g_vmm.lock for `vcpu`'s thread (release yields if the
/// holder woke another vCPU).
void enter(VcpuSlot& vcpu);
void leave(VcpuSlot& vcpu);
/// INIT and SIPI for `vcpu` (under the lock): applies them to its
/// VcpuStartup, puts it in real mode at the SIPI's entry, and while it is in
/// wait-for-SIPI sleeps (lock released) until a SIPI or the VM's end.
/// Returns true if its state was replaced (the exit must not advance rip).
bool handle_startup(VcpuSlot& vcpu);
/// Wakes every vCPU thread (the VM ended).
void kick_all();
/// Ends the VM: records `how` and the reason (printf-style), prints
/// `simple_vmm: <reason>; VM stopped` and returns vmrt::Action::stop.
vmrt::Action end_vm(End how, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
/// The CPUID instruction executed by the VMM (the host's answers).
CpuidRegs host_cpuid(uint32_t leaf, uint32_t subleaf);
/// Device time, interrupt delivery and console work after every exit or
/// wake-up: brings timers up to date, hands the highest pending vector to
/// the kernel (vcpu_inject) when none is queued there, reads host input,
/// flushes console output and computes the next wait. Returns true if an
/// interrupt is on its way to the guest (handed to the kernel now, or the
/// kernel still holds an earlier one).
bool service_platform(VcpuSlot& vcpu);
/// The part of service_platform() that runs after every exit that touched a
/// device: timers, interrupt delivery to `vcpu` (NMI and external
/// interrupt), console flush, its next wait.
bool deliver_interrupts(VcpuSlot& vcpu);
/// Reads bytes typed on the host console (host COM1) into the guest's UART.
void poll_host_console();
/// Flushes buffered guest console output.
void flush_console();
/// Kernel time in nanoseconds.
uint64_t now_ns();

}  // namespace cos::simple_vmm
