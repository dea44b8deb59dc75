// vmtest run loop with a deadline, and the canary client (run.hpp).
#include "vmtest/run.hpp"

#include "fuzz_canary/canary.hpp"
#include "runtime/cos.hpp"
#include "vmrt/modes.hpp"

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

vmrt::Status forget_guest_breakpoints(vmrt::Vcpu& cpu) {
  if ((cpu.get(vmrt::Cr::dr7) & 0xff) == 0 || !cpu.vm()) return {};
  static const uint8_t kCode[] = {
      0x66, 0xb8, 0x00, 0x04, 0x01, 0x00,  // mov $0x10400, %eax  (R/W0 = 01, no enables)
      0x0f, 0x23, 0xf8,                    // mov %eax, %dr7
      0x66, 0xb8, 0x00, 0x04, 0x00, 0x00,  // mov $0x400, %eax
      0x0f, 0x23, 0xf8,                    // mov %eax, %dr7
      0xf4,                                // hlt
  };
  vmrt::Vm& vm = *cpu.vm();
  VMRT_TRY(vm.copy_to_guest(0, kCode, sizeof(kCode)));
  vmrt::Vcpu tmp;
  VMRT_TRY(tmp.create(vm));
  vmrt::setup_real_mode(tmp, vmrt::RealModeConfig{});
  auto r = tmp.step(1'000'000);
  vmrt::Status result;
  if (!r) result = r.error();
  else if (r.value() != vm::ExitReason::hlt)
    result = vmrt::make_error(vmrt::Errc::unhandled_exit, "forget_guest_breakpoints: no HLT", tmp.rip(),
                              static_cast<uint32_t>(r.value()));
  auto d = tmp.destroy();
  if (result && !d) result = d;
  return result;
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
