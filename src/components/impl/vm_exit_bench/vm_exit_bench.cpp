// vm_exit_bench: VM-exit round-trip costs (composition_scripts/vm_exit_bench.toml,
// `./cos bench vmexit`). A benchmark, not a test.
//
// The guest (guest.S, 64-bit long mode set up by vmrt) runs three loops of
// warmup + iterations + 1 exits each: port I/O (OUT to 0x510), CPUID and
// hypercall 1. Every exit goes guest -> kernel -> this component's handler
// (through vmrt's run loop) -> back into the guest. With own_thread = 0 (the
// default) the vCPU is synchronous: vcpu_run enters the guest on the VMM's
// thread and returns at the next exit; with own_thread = 1 the vCPU has its
// own thread at vcpu_priority and each exit is answered with vcpu_resume
// and waited for on the exit endpoint (two thread switches per exit). For each kind the VMM takes a
// timestamp (rdtsc, and the kernel's time_now) at exit number warmup + 1 and
// at the last one, so the span covers exactly `iterations` round trips:
//
//   mean cycles per round trip = TSC delta / iterations
//   exits per second           = iterations / time_now delta
//
// The save mask is 0 (only the registers are transferred), the cheapest
// exit vmrt offers. Under QEMU with -icount shift=0 both clocks follow the
// instruction count (deterministic); under Bochs they are emulated time.
//
// Around each timed span the VMM prints `vm_exit_bench: <kind> timing starts`
// and `... timing ends` (outside the span), so the host can time it too
// (`./cos bench vmexit --host-time`).
//
// Output: one line per kind,
//   vm_exit_bench: pio: 10000 round trips, mean 5123 cycles, 195198 exits/s
// and one machine-readable line `vm_exit_bench: json {...}`.
//
// Parameters: iterations (10000), warmup (100), own_thread (0), vcpu_priority (100, own_thread only).
#include <initializer_list>

#include "runtime/cos.hpp"
#include "fmt/format.hpp"
#include "vmrt/vmrt.hpp"

extern "C" const uint8_t vm_exit_bench_guest_start[], vm_exit_bench_guest_end[];
extern "C" const uint8_t vm_exit_bench_guest_hc_loop[], vm_exit_bench_guest_hc_done[];

namespace {

namespace vm = cos::vm;
using vmrt::Action;
using vmrt::Reg;
using vmrt::VcpuState;

// Guest-physical layout (all in one 2 MiB RAM region at 0).
constexpr uint64_t kRamBytes = 2 << 20;
constexpr uint64_t kGdtGpa = 0x9000;
constexpr uint64_t kTablesGpa = 0x10000, kTablesBytes = 0x4000;
constexpr uint64_t kStackTop = 0x80000;
constexpr uint64_t kCodeGpa = 0x100000;
constexpr uint16_t kBenchPort = 0x510;

struct Kind {
  const char* name;
  uint64_t count = 0;
  uint64_t t0 = 0, t1 = 0, us0 = 0, us1 = 0;
};
Kind g_kinds[3] = {{"pio"}, {"cpuid"}, {"hypercall"}};
enum { kPio, kCpuid, kHypercall };
uint64_t g_warmup, g_iters;
bool g_unexpected;

void tick(Kind& k) {
  uint64_t n = ++k.count;
  if (n == g_warmup + 1) {
    cos::printf("vm_exit_bench: %s timing starts\n", k.name);
    k.us0 = static_cast<uint64_t>(cos::sys::time_now());
    k.t0 = cos::tsc_fenced();
  } else if (n == g_warmup + g_iters + 1) {
    k.t1 = cos::tsc_fenced();
    k.us1 = static_cast<uint64_t>(cos::sys::time_now());
    cos::printf("vm_exit_bench: %s timing ends\n", k.name);
  }
}

Action on_io(VcpuState& v, void*) {
  if (v.exit().io.port != kBenchPort) g_unexpected = true;
  tick(g_kinds[kPio]);
  return Action::skip;
}

Action on_cpuid(VcpuState& v, void*) {
  vm::Regs& r = v.regs_mut();
  r.rax = r.rbx = r.rcx = r.rdx = 0;
  tick(g_kinds[kCpuid]);
  return Action::skip;
}

Action on_hypercall(VcpuState& v, void*) {
  if ((v.get(Reg::rax) & 0xffffffff) == 0) return Action::stop;
  tick(g_kinds[kHypercall]);
  return Action::skip;
}

void report(const char* step, const vmrt::Error& e) {
  char buf[160];
  e.format(buf, sizeof(buf));
  cos::printf("vm_exit_bench: %s: %s\n", step, buf);
}

}  // namespace

int main() {
  g_iters = cos::param_u64("iterations", 10000);
  g_warmup = cos::param_u64("warmup", 100);
  if (g_iters == 0) g_iters = 1;
  const bool own_thread = cos::param_u64("own_thread", 0) != 0;
  uint32_t prio = static_cast<uint32_t>(cos::param_u64("vcpu_priority", 100));

  vmrt::Vm vm;
  if (auto r = vm.create(); !r) return report("creating the VM", r.error()), 1;
  if (auto r = vm.add_ram(0, kRamBytes); !r) return report("adding guest RAM", r.error()), 1;
  const uint64_t code_len = static_cast<uint64_t>(vm_exit_bench_guest_end - vm_exit_bench_guest_start);
  if (auto r = vm.copy_to_guest(kCodeGpa, vm_exit_bench_guest_start, code_len); !r)
    return report("copying the guest code", r.error()), 1;
  auto cr3 = vmrt::build_identity_map(vm.memory(), kTablesGpa, kTablesBytes, 1ull << 30);
  if (!cr3) return report("building the guest page tables", cr3.error()), 1;

  vmrt::Vcpu cpu;
  vmrt::VcpuConfig cfg;
  cfg.own_thread = own_thread;
  cfg.priority = prio;
  cfg.save_mask = 0;  // registers only: the cheapest exit
  if (auto r = cpu.create(vm, cfg); !r) return report("creating the vCPU", r.error()), 1;
  for (const uint8_t* hc : {vm_exit_bench_guest_hc_loop, vm_exit_bench_guest_hc_done}) {
    if (auto r = vmrt::write_hypercall(vm.memory(), kCodeGpa + static_cast<uint64_t>(hc - vm_exit_bench_guest_start),
                                       cpu.backend());
        !r)
      return report("patching the hypercall instruction", r.error()), 1;
  }
  vmrt::LongModeConfig lm;
  lm.entry = kCodeGpa;
  lm.stack = kStackTop;
  lm.gdt_gpa = kGdtGpa;
  lm.cr3 = cr3.value();
  if (auto r = vmrt::setup_long_mode(cpu, vm.memory(), lm); !r) return report("entering long mode", r.error()), 1;
  cpu.set(Reg::r12, g_warmup + g_iters + 1);
  cpu.on(vm::ExitReason::io, on_io);
  cpu.on(vm::ExitReason::cpuid, on_cpuid);
  cpu.on(vm::ExitReason::hypercall, on_hypercall);

  const char* backend = vmrt::backend_name(cpu.backend());
  const char* mode = own_thread ? "own_thread" : "sync";
  cos::printf("vm_exit_bench: backend %s, %s vCPU, %lu round trips per kind after %lu warm-up, save mask 0, "
              "rdtsc with lfence\n",
              backend, mode, static_cast<unsigned long>(g_iters), static_cast<unsigned long>(g_warmup));
  uint64_t exits_before = cpu.exit_count();
  auto r = cpu.run();
  if (!r) return report("running the guest", r.error()), 1;
  uint64_t exits = cpu.exit_count() - exits_before;

  char json[1024];
  size_t n = 0;
  auto add = [&](const char* fmt, auto... a) {
    n += cos::fmt::snformat(json + n, sizeof(json) - n, fmt, a...);
    if (n >= sizeof(json)) n = sizeof(json) - 1;
  };
  add("{\"backend\":\"%s\",\"mode\":\"%s\",\"unit\":\"tsc_cycles\",\"iterations\":%lu,\"warmup\":%lu,\"save_mask\":0,"
      "\"total_exits\":%lu,\"results\":{",
      backend, mode, static_cast<unsigned long>(g_iters), static_cast<unsigned long>(g_warmup),
      static_cast<unsigned long>(exits));
  bool ok = !g_unexpected;
  for (int i = 0; i < 3; ++i) {
    const Kind& k = g_kinds[i];
    if (k.count != g_warmup + g_iters + 1) {
      cos::printf("vm_exit_bench: %s: %lu exits seen, expected %lu\n", k.name, static_cast<unsigned long>(k.count),
                  static_cast<unsigned long>(g_warmup + g_iters + 1));
      ok = false;
      continue;
    }
    uint64_t cycles = k.t1 - k.t0, us = k.us1 - k.us0;
    uint64_t mean = cycles / g_iters;
    uint64_t rate = us ? g_iters * 1000000 / us : 0;
    cos::printf("vm_exit_bench: %s: %lu round trips, mean %lu cycles, %lu exits/s (%lu us)\n", k.name,
                static_cast<unsigned long>(g_iters), static_cast<unsigned long>(mean), static_cast<unsigned long>(rate),
                static_cast<unsigned long>(us));
    add("%s\"%s\":{\"round_trips\":%lu,\"cycles\":%lu,\"mean_cycles\":%lu,\"elapsed_us\":%lu,\"exits_per_second\":%lu}",
        i ? "," : "", k.name, static_cast<unsigned long>(g_iters), static_cast<unsigned long>(cycles),
        static_cast<unsigned long>(mean), static_cast<unsigned long>(us), static_cast<unsigned long>(rate));
  }
  add("}}");
  if (g_unexpected) cos::printf("vm_exit_bench: the guest wrote to an unexpected port\n");
  cos::printf("vm_exit_bench: json %s\n", json);
  cos::printf("vm_exit_bench: done%s\n", ok ? "" : " (with errors)");
  (void)cpu.destroy();
  (void)vm.destroy();
  return ok ? 0 : 1;
}
