// vmtest: running a test guest to its end under a time and exit budget, and
// the canary component's check (component code: system calls).
#pragma once
#include <stdint.h>

#include "cos/vm.hpp"
#include "vmrt/error.hpp"
#include "vmrt/vcpu.hpp"

namespace vmtest {

namespace vm = cos::vm;

/// What ends a run besides a handler that stops it.
struct RunLimits {
  /// Guest time budget in microseconds (the kernel's clock, time_now): the
  /// VMM's own deadline. A guest that never exits is stopped by vcpu_run's
  /// timeout, one that exits all the time by the check after every exit.
  uint64_t time_us = 500'000;
  /// Exits dispatched at most (0: no limit).
  uint64_t max_exits = 0;
};

enum class RunEnd : uint8_t {
  stopped,     ///< a handler returned Action::stop (hlt, shutdown, ...): RunResult::reason
  timeout,     ///< the time budget ran out
  exit_limit,  ///< max_exits exits were dispatched
  error,       ///< vcpu_run or a handler failed: RunResult::error
};
const char* run_end_name(RunEnd e);

struct RunResult {
  RunEnd end = RunEnd::error;
  vm::ExitReason reason = vm::ExitReason::none;  ///< the exit that stopped the run
  vmrt::Error error{};
  uint64_t exits = 0;          ///< exits dispatched to the VMM
  uint64_t kernel_exits = 0;   ///< every exit, the kernel's own included (StatePage::exits)
  uint64_t elapsed_us = 0;
};

/// Runs the vCPU with its handler table until a handler stops it or a
/// limit is reached. The state page is current afterwards in every case.
RunResult run_guest(vmrt::Vcpu& cpu, const RunLimits& limits);

/// The canary component (fuzz_canary, dependency "canary"): waits until it
/// has set itself up. False if it never answers ready.
bool canary_ready(uint64_t gate);
/// Asks the canary to check its memory and capabilities; returns the
/// number of differences (memory words + capabilities), or -1 if the call
/// failed (the canary is dead). Quiet: the canary prints only differences.
int64_t canary_verify(uint64_t gate, bool quiet = true);

}  // namespace vmtest
