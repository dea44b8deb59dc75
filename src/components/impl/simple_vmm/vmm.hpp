// simple_vmm: boots a stock Linux bzImage with an initramfs in one vCPU.
// main.cpp sets the VM up; exits.cpp holds the exit handlers; the emulated
// PC is Platform (platform.hpp).
#pragma once
#include <stdint.h>

#include "simple_vmm/cpuid_policy.hpp"
#include "simple_vmm/kvmclock.hpp"
#include "simple_vmm/msrs.hpp"
#include "simple_vmm/platform.hpp"
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

struct Vmm {
  vmrt::Vm vm;
  vmrt::Vcpu cpu;
  Platform pc;
  Msrs msrs;
  KvmClock clock;
  End end = End::running;
  char end_reason[160] = {};    ///< why the VM stopped (one line)
  uint32_t debug_exit_value = 0;  ///< End::debug_exit: the value written
  /// Linux's "Kernel panic - not syncing: ..." console line, once seen (the
  /// end is then reported as a guest panic).
  char panic_line[128] = {};
  uint64_t console_slot = 0;  ///< console input (hardware.console), 0 if not granted
  uint64_t wait_us = 0;       ///< run loop's next wait (until the next device deadline)
  uint64_t exits_by_reason[32] = {};
  uint64_t trace_every = 0;   ///< parameter `trace`: print every Nth exit (0: off)
  /// The notification endpoint was consumed outside the run loop (a device
  /// backend waited on it): look at the console and the network again.
  bool notified = false;
};

extern Vmm g_vmm;

/// Registers every exit handler on g_vmm.cpu.
void install_exit_handlers();
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
bool service_platform();
/// The part of service_platform() that runs after every exit that touched a
/// device: timers, interrupt delivery, console flush, next wait.
bool deliver_interrupts();
/// Reads bytes typed on the host console (host COM1) into the guest's UART.
void poll_host_console();
/// Flushes buffered guest console output.
void flush_console();
/// Kernel time in nanoseconds.
uint64_t now_ns();

}  // namespace cos::simple_vmm
