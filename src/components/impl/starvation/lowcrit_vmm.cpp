// starvation/lowcrit_vmm: the low-criticality VMM of
// composition_scripts/starvation.toml. Its guest disables interrupts and
// spins (`cli; jmp $`) for `run_ms`, run by the VMM's own thread at its
// priority, the highest its ceiling allows. It first checks that the
// kernel refuses it anything above that ceiling (a vCPU thread at priority
// 0), then runs the guest until vcpu_run's timeout, and prints how many
// times the kernel took the CPU back (exits and preemptions are invisible
// to the guest; only the run's end is).
#include "runtime/cos.hpp"
#include "vmrt/vmrt.hpp"

namespace {

namespace sys = cos::sys;
constexpr uint64_t kCodeGpa = 0x1000;
constexpr uint8_t kSpin[] = {0xfa, 0xeb, 0xfe};  // cli; jmp $

void report(const char* step, const vmrt::Error& e) {
  char buf[160];
  e.format(buf, sizeof(buf));
  cos::printf("lowcrit_vmm: FAIL %s: %s\n", step, buf);
}

}  // namespace

int main() {
  const uint64_t run_us = cos::param_u64("run_ms", 2000) * 1000;
  const uint64_t prio = cos::param_u64("priority", 20);
  vmrt::Vm vm;
  if (auto r = vm.create(); !r) {
    if (r.error().code == vmrt::Errc::syscall &&
        r.error().sys == static_cast<int64_t>(cos::abi::Error::no_virtualization)) {
      cos::printf("lowcrit_vmm: FAIL no hardware virtualization\n");
      return 1;
    }
    return report("creating the VM", r.error()), 1;
  }
  if (auto r = vm.add_ram(0, 1 << 20); !r) return report("adding guest RAM", r.error()), 1;
  if (auto r = vm.copy_to_guest(kCodeGpa, kSpin, sizeof(kSpin)); !r) return report("copying the guest", r.error()), 1;

  // Above the ceiling: refused.
  vmrt::Vcpu greedy;
  vmrt::VcpuConfig hi;
  hi.own_thread = true;
  hi.priority = prio > 0 ? prio - 1 : 0;
  auto g = greedy.create(vm, hi);
  const bool refused = !g && g.error().code == vmrt::Errc::syscall &&
                       g.error().sys == static_cast<int64_t>(cos::abi::Error::above_ceiling);
  cos::printf("lowcrit_vmm: a vCPU thread at priority %lu (above the ceiling %lu): %s\n",
              static_cast<unsigned long>(hi.priority), static_cast<unsigned long>(prio),
              refused ? "PASS refused (above_ceiling)" : "FAIL not refused");
  if (g) (void)greedy.destroy();

  vmrt::Vcpu cpu;
  if (auto r = cpu.create(vm); !r) return report("creating the vCPU", r.error()), 1;
  vmrt::RealModeConfig rm;
  rm.cs = 0;
  rm.ip = kCodeGpa;
  rm.sp = 0x8000;
  vmrt::setup_real_mode(cpu, rm);
  vmrt::RunOptions opts;
  opts.timeout_us = run_us;
  const uint64_t t0 = static_cast<uint64_t>(sys::time_now());
  auto r = cpu.run(opts);
  const uint64_t ran = static_cast<uint64_t>(sys::time_now()) - t0;
  if (r || r.error().code != vmrt::Errc::timeout) {
    if (!r) report("running the guest", r.error());
    else cos::printf("lowcrit_vmm: FAIL the spinning guest exited (reason %u)\n", static_cast<unsigned>(r.value()));
    return 1;
  }
  cos::printf("lowcrit_vmm: guest spun with IF=0 for %lu us at priority %lu (%lu VM exits, host interrupts the kernel took)\n",
              static_cast<unsigned long>(ran), static_cast<unsigned long>(prio),
              static_cast<unsigned long>(cpu.exit_count()));
  (void)cpu.destroy();
  (void)vm.destroy();
  return 0;
}
