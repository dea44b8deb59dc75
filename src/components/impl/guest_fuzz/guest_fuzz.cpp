// guest_fuzz: a VMM that runs random guest programs (program.hpp: random
// bytes, or random valid encodings from a template table) in real,
// protected and long mode with random register, flag, segment, control-
// register and descriptor-table state, one after another, against the empty
// PC of vmtest (every exit answered as a PC with no devices would). Each
// program runs until it halts or shuts down, or for at most `max_exits`
// exits / `program_us` microseconds. Every program gets a fresh vCPU; every
// `vm_every` programs the VM is torn down and rebuilt (vmtest::Sandbox,
// which checks that its memory came back), and every `verify_every`
// programs the canary component (fuzz_canary) checks its memory and
// capabilities.
//
// Program i of a run is generated from vmtest::Rng::for_item(seed, i) only,
// so `first` + `programs` reproduce any program on its own. A failure —
// a vcpu_run or handler error other than a refused state (bad_guest_state),
// a VM whose memory did not come back, a changed or dead canary — prints
// `guest_fuzz: FAIL program N ...` and the command that reproduces it. The
// last line is `guest_fuzz: N programs, seed S, E exits, F failures: passed`
// (or `FAILED`).
//
// Params (composition_scripts/guest_fuzz.toml): seed, programs, first,
// max_exits, program_us, vm_every, verify_every, progress, trace.
#include "fmt/format.hpp"
#include "guest_fuzz/program.hpp"
#include "runtime/cos.hpp"
#include "vmtest/pc.hpp"
#include "vmtest/run.hpp"
#include "vmtest/sandbox.hpp"

namespace {

namespace sys = cos::sys;
namespace vm = cos::vm;
using guest_fuzz::CodeKind;
using vmtest::Mode;
using vmtest::RunEnd;
namespace layout = vmtest::layout;

constexpr uint64_t kRamBytes = 128 * 1024;
constexpr unsigned kCodeCap = 1024;
constexpr unsigned kMaxFailuresShown = 20;

struct Params {
  uint64_t seed = 1, programs = 1000, first = 0;
  uint64_t max_exits = 64, program_us = 2000;
  uint64_t vm_every = 64, verify_every = 1000, progress = 10000;
  uint64_t trace = 0;  ///< 1: a line per program before it runs; 2: and its code in hex; 3: and its state
};
Params g_p;

vmrt::Env g_parent;
vmtest::Sandbox g_box;
vmtest::EmptyPc g_pc;
uint64_t g_canary;
bool g_qemu;  ///< the CPU is QEMU's TCG: avoid the instruction bytes it aborts on

/// Run statistics.
struct Stats {
  uint64_t programs = 0, exits = 0, kernel_exits = 0;
  uint64_t by_mode[3] = {}, by_kind[2] = {};
  uint64_t hlt = 0, shutdown = 0, entry_failure = 0, timeout = 0, exit_limit = 0, bad_state = 0, other_stop = 0;
  uint64_t reason[vmrt::kExitReasonSlots] = {};
  uint64_t vms = 0, verifications = 0, failures = 0;
  uint64_t entry_failure_first = 0;  ///< at the first entry: the VMM's state, which the kernel accepted
  uint64_t first_entry_failures[4] = {};
  unsigned entry_failures_kept = 0;
};
Stats g_s;

vmtest::CpuidRegs host_cpuid(uint32_t leaf, uint32_t subleaf) {
  vmtest::CpuidRegs r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
  return r;
}


void fail(uint64_t index, Mode mode, CodeKind kind, const char* why) {
  ++g_s.failures;
  if (g_s.failures > kMaxFailuresShown) return;
  cos::printf("guest_fuzz: FAIL program %lu (seed %lu, %s mode, %s): %s\n", static_cast<unsigned long>(index),
              static_cast<unsigned long>(g_p.seed), vmtest::mode_name(mode), guest_fuzz::code_kind_name(kind), why);
  cos::printf("guest_fuzz: reproduce: ./cos bench guestfuzz --seed %lu --programs 1 --set guest_fuzz.params.first=%lu\n",
              static_cast<unsigned long>(g_p.seed), static_cast<unsigned long>(index));
}

void fail_error(uint64_t index, Mode mode, CodeKind kind, const char* what, const vmrt::Error& e) {
  char err[160], buf[224];
  e.format(err, sizeof(err));
  cos::fmt::snformat(buf, sizeof(buf), "%s: %s", what, err);
  fail(index, mode, kind, buf);
}

/// A fresh VM (the previous one torn down; its memory must have come back).
bool renew_vm(uint64_t index) {
  if (g_box.is_open()) {
    if (auto r = g_box.close(); !r) {
      fail_error(index, Mode::real, CodeKind::random_bytes, "taking the VM's memory back", r.error());
      return false;
    }
  }
  vmtest::SandboxConfig cfg;
  cfg.ram_bytes = kRamBytes;
  cfg.untyped_pages = kRamBytes / 4096 + 32;
  cfg.vcpu.save_mask = vm::Load::cr | vm::Load::segments | vm::Load::dtables | vm::Load::syscall_msrs |
                       vm::Load::interruptibility;
  if (auto r = g_box.open(g_parent, cfg); !r) {
    fail_error(index, Mode::real, CodeKind::random_bytes, "creating a VM", r.error());
    return false;
  }
  ++g_s.vms;
  return true;
}

/// A fresh vCPU of the current VM (none of the last program's pending
/// events or state carries over).
vmrt::Status renew_cpu() {
  vmrt::Vcpu& cpu = g_box.cpu();
  if (cpu.created()) VMRT_TRY(cpu.destroy());
  vmrt::VcpuConfig cfg;
  cfg.save_mask = vm::Load::cr | vm::Load::segments | vm::Load::dtables | vm::Load::syscall_msrs |
                  vm::Load::interruptibility;
  return cpu.create(g_box.vm(), cfg);
}

/// Runs program `index`; false if it failed.
bool run_program(uint64_t index) {
  vmtest::Rng rng = vmtest::Rng::for_item(g_p.seed, index);
  const Mode mode = static_cast<Mode>(rng.below(3));
  const CodeKind kind = rng.chance(50) ? CodeKind::random_bytes : CodeKind::encodings;
  ++g_s.by_mode[static_cast<unsigned>(mode)];
  ++g_s.by_kind[static_cast<unsigned>(kind)];

  if (auto r = renew_cpu(); !r) {
    fail_error(index, mode, kind, "a fresh vCPU", r.error());
    return false;
  }
  vmrt::Vm& vm = g_box.vm();
  vmrt::Vcpu& cpu = g_box.cpu();
  // Memory: random data everywhere, then the layout's tables, stubs and code.
  static uint8_t ram[kRamBytes];
  guest_fuzz::random_bytes(rng, ram, sizeof(ram));
  if (g_qemu) guest_fuzz::avoid_qemu_crashers(ram, sizeof(ram));
  if (!vm.copy_to_guest(0, ram, sizeof(ram))) return fail(index, mode, kind, "writing guest RAM"), false;
  vmtest::Entry e;
  e.mode = mode;
  e.map_bytes = 4ull << 30;
  e.stubs_gpa = layout::kHandlers;
  e.stub_stride = mode == Mode::real ? 8 : 16;
  uint8_t stubs[32 * 16];
  guest_fuzz::handler_stubs(mode, rng.chance(30), stubs, e.stub_stride, 32);
  if (!vm.copy_to_guest(layout::kHandlers, stubs, 32ull * e.stub_stride))
    return fail(index, mode, kind, "writing the handlers"), false;
  if (auto r = vmtest::enter(cpu, vm.memory(), e); !r) {
    fail_error(index, mode, kind, "entering the mode", r.error());
    return false;
  }
  uint8_t code[kCodeCap];
  unsigned len;
  if (kind == CodeKind::random_bytes) {
    len = 16 + static_cast<unsigned>(rng.below(kCodeCap - 16));
    guest_fuzz::random_bytes(rng, code, len);
  } else {
    unsigned count = 0;
    len = guest_fuzz::random_encodings(rng, mode, code, 16 + static_cast<unsigned>(rng.below(kCodeCap - 16)), count);
  }
  if (g_qemu) guest_fuzz::avoid_qemu_crashers(code, len);
  if (!vm.copy_to_guest(layout::kCode, code, len)) return fail(index, mode, kind, "writing the code"), false;
  if (g_p.trace) {
    cos::printf("guest_fuzz: program %lu: %s mode, %s, %u bytes\n", static_cast<unsigned long>(index),
                vmtest::mode_name(mode), guest_fuzz::code_kind_name(kind), len);
    if (g_p.trace > 1) {
      for (unsigned i = 0; i < len; ++i) cos::printf("%02x%s", code[i], (i % 32 == 31 || i + 1 == len) ? "\n" : " ");
    }
  }
  guest_fuzz::randomize_state(rng, mode, cpu, kRamBytes);
  if (g_p.trace > 2) {
    cos::printf("guest_fuzz: program %lu state: rip %#lx rflags %#lx cr0 %#lx cr3 %#lx cr4 %#lx efer %#lx\n",
                static_cast<unsigned long>(index), static_cast<unsigned long>(cpu.get(vmrt::Reg::rip)),
                static_cast<unsigned long>(cpu.get(vmrt::Reg::rflags)), static_cast<unsigned long>(cpu.cr0()),
                static_cast<unsigned long>(cpu.cr3()), static_cast<unsigned long>(cpu.cr4()),
                static_cast<unsigned long>(cpu.efer()));
    static const char* const kNames[] = {"es", "cs", "ss", "ds", "fs", "gs", "tr", "ldtr"};
    const vmrt::Seg segs[] = {vmrt::Seg::es, vmrt::Seg::cs, vmrt::Seg::ss, vmrt::Seg::ds,
                              vmrt::Seg::fs, vmrt::Seg::gs, vmrt::Seg::tr, vmrt::Seg::ldtr};
    for (unsigned i = 0; i < 8; ++i) {
      const vm::Segment& sg = cpu.segment(segs[i]);
      cos::printf("guest_fuzz:   %s sel %#x attr %#x limit %#x base %#lx\n", kNames[i], sg.selector, sg.attr, sg.limit,
                  static_cast<unsigned long>(sg.base));
    }
  }

  g_pc.reset_stats();
  g_pc.attach(cpu);
  vmtest::RunLimits lim;
  lim.time_us = g_p.program_us;
  lim.max_exits = g_p.max_exits;
  vmtest::RunResult r = vmtest::run_guest(cpu, lim);
  g_s.exits += r.exits;
  g_s.kernel_exits += r.kernel_exits;
  for (unsigned i = 0; i < vmrt::kExitReasonSlots; ++i) g_s.reason[i] += g_pc.stats.by_reason[i];
  switch (r.end) {
    case RunEnd::stopped:
      if (r.reason == vm::ExitReason::hlt) ++g_s.hlt;
      else if (r.reason == vm::ExitReason::shutdown) ++g_s.shutdown;
      else if (r.reason == vm::ExitReason::entry_failure) {
        ++g_s.entry_failure;
        if (g_p.trace)
          cos::printf("guest_fuzz: program %lu: entry failure (vendor reason %#lx): cr0 %#lx cr3 %#lx cr4 %#lx efer %#lx "
                      "dr7 %#lx cs %#x/%#x tr %#x rflags %#lx; injected %u type %u\n",
                      static_cast<unsigned long>(index), static_cast<unsigned long>(cpu.exit().entry.reason),
                      static_cast<unsigned long>(cpu.cr0()), static_cast<unsigned long>(cpu.cr3()),
                      static_cast<unsigned long>(cpu.cr4()), static_cast<unsigned long>(cpu.efer()),
                      static_cast<unsigned long>(cpu.get(vmrt::Cr::dr7)), cpu.segment(vmrt::Seg::cs).selector,
                      cpu.segment(vmrt::Seg::cs).attr, cpu.segment(vmrt::Seg::tr).attr,
                      static_cast<unsigned long>(cpu.get(vmrt::Reg::rflags)), cpu.page().inject.vector,
                      static_cast<unsigned>(cpu.page().inject.type));
        if (r.kernel_exits == 1) {
          ++g_s.entry_failure_first;
          if (g_s.entry_failures_kept < 4) g_s.first_entry_failures[g_s.entry_failures_kept++] = index;
        }
      } else {
        ++g_s.other_stop;
      }
      return true;
    case RunEnd::timeout: ++g_s.timeout; return true;
    case RunEnd::exit_limit: ++g_s.exit_limit; return true;
    case RunEnd::error:
      if (r.error.code == vmrt::Errc::syscall && r.error.sys == static_cast<int64_t>(cos::abi::Error::bad_guest_state)) {
        ++g_s.bad_state;  // the kernel refused the random state: fine
        return true;
      }
      fail_error(index, mode, kind, "running the guest", r.error);
      return false;
  }
  return true;
}

bool verify_canary(uint64_t index) {
  if (!g_canary) return true;
  ++g_s.verifications;
  const int64_t diffs = vmtest::canary_verify(g_canary);
  if (diffs == 0) return true;
  fail(index, Mode::real, CodeKind::random_bytes,
       diffs < 0 ? "the canary component does not answer" : "the canary's memory or capabilities changed");
  return false;
}

void progress(uint64_t done) {
  cos::printf("guest_fuzz: %lu/%lu programs, %lu exits; ends: hlt %lu, shutdown %lu, timeout %lu, exit limit %lu, "
              "refused state %lu, entry failure %lu, other %lu; %lu failures\n",
              static_cast<unsigned long>(done), static_cast<unsigned long>(g_p.programs),
              static_cast<unsigned long>(g_s.exits), static_cast<unsigned long>(g_s.hlt),
              static_cast<unsigned long>(g_s.shutdown), static_cast<unsigned long>(g_s.timeout),
              static_cast<unsigned long>(g_s.exit_limit), static_cast<unsigned long>(g_s.bad_state),
              static_cast<unsigned long>(g_s.entry_failure), static_cast<unsigned long>(g_s.other_stop),
              static_cast<unsigned long>(g_s.failures));
}

}  // namespace

int main() {
  g_p.seed = cos::param_u64("seed", 1);
  g_p.programs = cos::param_u64("programs", 1000);
  g_p.first = cos::param_u64("first", 0);
  g_p.max_exits = cos::param_u64("max_exits", 64);
  g_p.program_us = cos::param_u64("program_us", 2000);
  g_p.vm_every = cos::param_u64("vm_every", 64);
  g_p.verify_every = cos::param_u64("verify_every", 1000);
  g_p.progress = cos::param_u64("progress", 10000);
  g_p.trace = cos::param_u64("trace", 0);
  if (!g_p.vm_every) g_p.vm_every = 1;

  const cos::boot::CompInfo& me = cos::self();
  if (!me.untyped_slot || !me.pgtbl_slot) {
    cos::printf("guest_fuzz: needs untyped memory and caps = [\"pgtbl\"]\n");
    return 1;
  }
  g_parent.untyped = me.untyped_slot;
  g_parent.pgtbl = me.pgtbl_slot;
  g_parent.slots.init(me.first_free_slot, me.first_free_slot + 8);
  g_box.init_slots(me.first_free_slot + 8, 256);
  g_pc.init(host_cpuid);
  {
    char brand[49] = {};
    for (uint32_t i = 0; i < 3; ++i) {
      vmtest::CpuidRegs r = host_cpuid(0x80000002u + i, 0);
      __builtin_memcpy(brand + 16 * i, &r, 16);
    }
    for (const char* p = brand; *p; ++p) g_qemu |= p[0] == 'Q' && p[1] == 'E' && p[2] == 'M' && p[3] == 'U';
  }
  g_canary = cos::dep("canary");
  if (!g_canary) cos::printf("guest_fuzz: no canary (dependency 'canary' missing)\n");
  else if (!vmtest::canary_ready(g_canary)) cos::printf("guest_fuzz: the canary never got ready\n");

  if (!renew_vm(g_p.first)) {
    cos::printf("guest_fuzz: 0 programs, seed %lu: FAILED (no VM)\n", static_cast<unsigned long>(g_p.seed));
    return 1;
  }
  if (auto r = renew_cpu(); !r) {
    char buf[160];
    r.error().format(buf, sizeof(buf));
    cos::printf("guest_fuzz: creating a vCPU: %s\n", buf);
    return 1;
  }
  cos::printf("guest_fuzz: seed %lu, %lu programs from %lu, backend %s; each at most %lu exits or %lu us; "
              "a new VM every %lu programs, the canary checked every %lu%s\n",
              static_cast<unsigned long>(g_p.seed), static_cast<unsigned long>(g_p.programs),
              static_cast<unsigned long>(g_p.first), vmrt::backend_name(g_box.cpu().backend()),
              static_cast<unsigned long>(g_p.max_exits), static_cast<unsigned long>(g_p.program_us),
              static_cast<unsigned long>(g_p.vm_every), static_cast<unsigned long>(g_p.verify_every),
              g_qemu ? "; QEMU: code free of the bytes its TCG aborts on" : "");
  const uint64_t start = static_cast<uint64_t>(sys::time_now());
  for (uint64_t n = 0; n < g_p.programs; ++n) {
    const uint64_t index = g_p.first + n;
    if (n && n % g_p.vm_every == 0 && !renew_vm(index)) break;
    run_program(index);
    ++g_s.programs;
    if (g_p.verify_every && (n + 1) % g_p.verify_every == 0) verify_canary(index);
    if (g_p.progress && (n + 1) % g_p.progress == 0) progress(n + 1);
  }
  const uint64_t elapsed_ms = (static_cast<uint64_t>(sys::time_now()) - start) / 1000;
  // The last VM must give its memory back too; then the canary, once more.
  if (g_box.is_open()) {
    if (auto r = g_box.close(); !r)
      fail_error(g_p.first + g_s.programs, Mode::real, CodeKind::random_bytes, "taking the VM's memory back",
                 r.error());
  }
  const bool canary_ok = verify_canary(g_p.first + g_s.programs);
  if (!g_p.progress || g_s.programs % g_p.progress) progress(g_s.programs);
  cos::printf("guest_fuzz: modes real %lu, protected %lu, long %lu; code: random bytes %lu, encodings %lu; %lu VMs\n",
              static_cast<unsigned long>(g_s.by_mode[0]), static_cast<unsigned long>(g_s.by_mode[1]),
              static_cast<unsigned long>(g_s.by_mode[2]), static_cast<unsigned long>(g_s.by_kind[0]),
              static_cast<unsigned long>(g_s.by_kind[1]), static_cast<unsigned long>(g_s.vms));
  cos::printf("guest_fuzz: exits by reason:");
  for (unsigned i = 0; i < vmrt::kExitReasonSlots; ++i) {
    if (!g_s.reason[i]) continue;
    const vm::ExitReason reason =
        i == vmrt::kExitReasonSlots - 1 ? vm::ExitReason::vendor : static_cast<vm::ExitReason>(i);
    cos::printf(" %s=%lu", vmrt::exit_reason_name(reason), static_cast<unsigned long>(g_s.reason[i]));
  }
  cos::printf("; %lu exits with the kernel's own\n", static_cast<unsigned long>(g_s.kernel_exits));
  if (g_s.entry_failure) {
    cos::printf("guest_fuzz: %lu entry failures, %lu of them at the first entry (the CPU refused the VMM's state, "
                "which the kernel had accepted)",
                static_cast<unsigned long>(g_s.entry_failure), static_cast<unsigned long>(g_s.entry_failure_first));
    if (g_s.entry_failure_first) {
      cos::printf(": programs");
      for (unsigned i = 0; i < g_s.entry_failures_kept; ++i)
        cos::printf(" %lu", static_cast<unsigned long>(g_s.first_entry_failures[i]));
      cos::printf("%s", g_s.entry_failure_first > g_s.entry_failures_kept ? " ..." : "");
    }
    cos::printf("\n");
  }
  if (canary_ok && g_canary) cos::printf("guest_fuzz: canary memory and capabilities intact\n");
  cos::printf("guest_fuzz: %lu programs in %lu ms\n", static_cast<unsigned long>(g_s.programs),
              static_cast<unsigned long>(elapsed_ms));
  const bool passed = g_s.failures == 0 && g_s.programs == g_p.programs;
  cos::printf("guest_fuzz: %lu programs, seed %lu, %lu exits, %lu failures: %s\n",
              static_cast<unsigned long>(g_s.programs), static_cast<unsigned long>(g_p.seed),
              static_cast<unsigned long>(g_s.exits), static_cast<unsigned long>(g_s.failures),
              passed ? "passed" : "FAILED");
  return passed ? 0 : 1;
}
