// vmtest run loop with a deadline, and the canary client (run.hpp).
#include "vmtest/run.hpp"

#include "fuzz_canary/canary.hpp"
#include "runtime/cos.hpp"

namespace vmtest {
namespace {

namespace sys = cos::sys;

}  // namespace

const char* run_end_name(RunEnd e) {
  switch (e) {
    case RunEnd::stopped: return "stopped";
    case RunEnd::timeout: return "timeout";
    case RunEnd::exit_limit: return "exit limit";
    case RunEnd::error: return "error";
  }
  return "?";
}

RunResult run_guest(vmrt::Vcpu& cpu, const RunLimits& limits) {
  RunResult res;
  const uint64_t start = static_cast<uint64_t>(sys::time_now());
  const uint64_t deadline = start + limits.time_us;
  const uint64_t kernel_start = cpu.exit_count();
  for (;;) {
    const uint64_t now = static_cast<uint64_t>(sys::time_now());
    if (now >= deadline) {
      res.end = RunEnd::timeout;
      break;
    }
    auto r = cpu.step(deadline - now);
    if (!r) {
      res.end = r.error().code == vmrt::Errc::timeout ? RunEnd::timeout : RunEnd::error;
      res.error = r.error();
      break;
    }
    if (r.value() == vm::ExitReason::none) continue;  // a wake-up without an exit
    ++res.exits;
    auto a = cpu.dispatch();
    if (!a) {
      res.end = RunEnd::error;
      res.error = a.error();
      res.reason = r.value();
      break;
    }
    if (a.value() == vmrt::Action::stop) {
      res.end = RunEnd::stopped;
      res.reason = r.value();
      break;
    }
    if (limits.max_exits && res.exits >= limits.max_exits) {
      res.end = RunEnd::exit_limit;
      res.reason = r.value();
      break;
    }
  }
  res.kernel_exits = cpu.exit_count() - kernel_start;
  res.elapsed_us = static_cast<uint64_t>(sys::time_now()) - start;
  return res;
}

bool canary_ready(uint64_t gate) {
  for (int i = 0; i < 1000; ++i) {
    sys::SinvResult r = cos::invoke(gate, canary::kOpReady);
    if (r.r0 == 1) return true;
    sys::thd_yield();
  }
  return false;
}

int64_t canary_verify(uint64_t gate, bool quiet) {
  sys::SinvResult r = cos::invoke(gate, quiet ? canary::kOpVerifyQuiet : canary::kOpVerify);
  if (r.r0 < 0) return -1;
  return r.r0 + r.r1;
}

}  // namespace vmtest
