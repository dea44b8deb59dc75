// The VM-exit handlers of simple_vmm.
#include "runtime/cos.hpp"
#include "cos/guest_boot.hpp"
#include "simple_vmm/cpuid_policy.hpp"
#include "simple_vmm/vmm.hpp"
#include "x86decode/x86decode.hpp"

namespace cos::simple_vmm {
namespace {

using vmrt::Action;
using vmrt::Reg;
using vmrt::VcpuState;
using vm::ExitReason;

CpuidRegs host_cpuid(uint32_t leaf, uint32_t sub) {
  CpuidRegs r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(sub));
  return r;
}

// Counts exits by reason and, with the `trace` parameter, prints them.
void note(VcpuState& c) {
  const vm::Exit& e = c.exit();
  unsigned r = static_cast<unsigned>(e.reason);
  ++g_vmm.exits_by_reason[r < 32 ? r : 31];
  if (!g_vmm.trace_every || c.exit_count() % g_vmm.trace_every) return;
  cos::printf("simple_vmm: exit %lu: %s at rip %#lx (vendor %#lx, qual %#lx, gpa/port %#lx)\n",
              static_cast<unsigned long>(c.exit_count()), vmrt::exit_reason_name(e.reason),
              static_cast<unsigned long>(c.rip()), static_cast<unsigned long>(e.vendor_code),
              static_cast<unsigned long>(e.vendor_qualification),
              static_cast<unsigned long>(e.reason == ExitReason::io ? e.io.port : e.gpa.gpa));
}

Action stop(End how) {
  g_vmm.end = how;
  flush_console();
  return Action::stop;
}

void inject_gp(VcpuState& c) { c.queue_event(13, vm::EventType::exception, true, 0); }

// Merges an IN result into rax (8/16-bit writes keep the upper bytes; 32-bit
// writes zero the upper half, as MOV to EAX would).
void set_in_result(VcpuState& c, unsigned size, uint32_t v) {
  uint64_t rax = c.get(Reg::rax);
  if (size == 1) rax = (rax & ~0xffull) | (v & 0xff);
  else if (size == 2) rax = (rax & ~0xffffull) | (v & 0xffff);
  else rax = v;
  c.set(Reg::rax, rax);
}

Action on_io(VcpuState& c, void*) {
  note(c);
  const vm::Exit& e = c.exit();
  if (e.io.string) {
    cos::printf("simple_vmm: string I/O (%s) on port %#x at rip %#lx is not emulated; VM stopped\n",
                e.io.in ? "INS" : "OUTS", e.io.port, static_cast<unsigned long>(c.rip()));
    return stop(End::crash);
  }
  if (e.io.in) set_in_result(c, e.io.size, g_vmm.pc.io_in(e.io.port, e.io.size));
  else g_vmm.pc.io_out(e.io.port, e.io.size, e.io.data);
  if (g_vmm.pc.poweroff_requested()) {
    flush_console();
    cos::printf("simple_vmm: the guest powered off (ACPI S5); VM stopped\n");
    return stop(End::poweroff);
  }
  if (g_vmm.pc.reset_requested()) {
    flush_console();
    cos::printf("simple_vmm: the guest reset the machine (i8042); VM stopped\n");
    return stop(End::reboot);
  }
  deliver_interrupts();
  return Action::skip;
}

x86dec::Mode cpu_mode(const VcpuState& c) {
  uint16_t cs = c.segment(vmrt::Seg::cs).attr;
  return x86dec::mode_for(c.cr0() & 1, c.efer() & (1u << 10), cs & (1u << 9), cs & (1u << 10));
}

Action on_gpa_fault(VcpuState& c, void*) {
  note(c);
  const vm::Exit& e = c.exit();
  uint64_t gpa = e.gpa.gpa;
  if (!g_vmm.pc.is_mmio(gpa)) {
    cos::printf("simple_vmm: the guest %s unmapped guest-physical address %#lx at rip %#lx; VM stopped\n",
                e.gpa.access == vm::kAccessWrite ? "wrote to" : e.gpa.access == vm::kAccessExec ? "executed at" : "read from",
                static_cast<unsigned long>(gpa), static_cast<unsigned long>(c.rip()));
    return stop(End::crash);
  }
  // Fetch the instruction and emulate it against the device.
  uint8_t bytes[15];
  size_t n = 0;
  auto lin = c.linear(vmrt::Seg::cs, c.rip());
  if (lin) {
    for (; n < sizeof(bytes); ++n) {
      auto t = c.translate(lin.value() + n, vm::kAccessExec);
      if (!t) break;
      auto p = g_vmm.vm.gpa_to_hva(t.value().gpa);
      if (!p) break;
      bytes[n] = *p.value();
    }
  }
  x86dec::Instruction insn;
  x86dec::Status st = x86dec::decode(bytes, n, cpu_mode(c), insn);
  if (st != x86dec::Status::ok) {
    cos::printf("simple_vmm: cannot emulate the MMIO instruction at rip %#lx (", static_cast<unsigned long>(c.rip()));
    for (size_t i = 0; i < n && i < 8; ++i) cos::printf("%02x ", bytes[i]);
    cos::printf("): %s; VM stopped\n", x86dec::status_name(st));
    return stop(End::crash);
  }
  uint64_t regs[16];
  for (unsigned i = 0; i < 16; ++i) regs[i] = c.get(static_cast<Reg>(i));
  uint64_t rflags = c.get(Reg::rflags);
  auto res = x86dec::emulate(
      insn, regs, rflags,
      [gpa](unsigned size) {
        uint64_t v = ~0ull;
        g_vmm.pc.mmio_read(gpa, size, v);
        return v;
      },
      [gpa](unsigned size, uint64_t v) { g_vmm.pc.mmio_write(gpa, size, v); });
  if (!res.ok()) {
    cos::printf("simple_vmm: MMIO emulation failed at rip %#lx: %s; VM stopped\n", static_cast<unsigned long>(c.rip()),
                x86dec::status_name(res.status));
    return stop(End::crash);
  }
  for (unsigned i = 0; i < 16; ++i)
    if (regs[i] != c.get(static_cast<Reg>(i))) c.set(static_cast<Reg>(i), regs[i]);
  if (rflags != c.get(Reg::rflags)) c.set(Reg::rflags, rflags);
  c.set_rip(c.rip() + res.rip_delta);
  deliver_interrupts();
  return Action::resume;
}

Action on_cpuid(VcpuState& c, void*) {
  note(c);
  CpuidRegs r = guest_cpuid(host_cpuid, static_cast<uint32_t>(c.get(Reg::rax)), static_cast<uint32_t>(c.get(Reg::rcx)));
  c.set(Reg::rax, r.eax);
  c.set(Reg::rbx, r.ebx);
  c.set(Reg::rcx, r.ecx);
  c.set(Reg::rdx, r.edx);
  return Action::skip;
}

Action on_msr(VcpuState& c, void*) {
  note(c);
  const vm::Exit& e = c.exit();
  uint32_t index = e.msr.index;
  if (g_vmm.clock.handles(index)) {
    if (e.reason == ExitReason::msr_read) {
      uint64_t v = g_vmm.clock.read(index);
      c.set(Reg::rax, v & 0xffffffffu);
      c.set(Reg::rdx, v >> 32);
      return Action::skip;
    }
    uint64_t v = (c.get(Reg::rdx) << 32) | (c.get(Reg::rax) & 0xffffffffu);
    if (!g_vmm.clock.write(g_vmm.vm, index, v)) {
      inject_gp(c);
      return Action::resume;
    }
    return Action::skip;
  }
  if (e.reason == ExitReason::msr_read) {
    uint64_t v = 0;
    MsrResult r = g_vmm.msrs.read(c, index, v);
    if (r == MsrResult::apic) r = g_vmm.pc.apic_msr_read(index, v);
    if (r == MsrResult::gp) {
      inject_gp(c);
      return Action::resume;
    }
    c.set(Reg::rax, v & 0xffffffffu);
    c.set(Reg::rdx, v >> 32);
    return Action::skip;
  }
  uint64_t v = (c.get(Reg::rdx) << 32) | (c.get(Reg::rax) & 0xffffffffu);
  MsrResult r = g_vmm.msrs.write(c, index, v);
  if (r == MsrResult::apic) r = g_vmm.pc.apic_msr_write(index, v);
  if (r == MsrResult::gp) {
    inject_gp(c);
    return Action::resume;
  }
  deliver_interrupts();  // an EOI or a timer write may make a vector deliverable
  return Action::skip;
}

// HLT: the vCPU stays stopped until an interrupt can wake it; the VMM
// sleeps in rcv until the next device deadline or host input (no busy loop).
Action on_hlt(VcpuState& c, void*) {
  note(c);
  if (!(c.get(Reg::rflags) & (1u << 9))) {
    flush_console();
    cos::printf("simple_vmm: the guest halted with interrupts disabled (powered off); VM stopped\n");
    return stop(End::poweroff);
  }
  (void)c.advance_rip();
  if (c.page().irq_pending) return Action::resume;  // the kernel injects it at entry
  for (;;) {
    if (service_platform() || g_vmm.end != End::running) return Action::resume;
    cos::sys::rcv(g_vmm.cpu.wakeup_endpoint(), g_vmm.wait_us, 0);
  }
}

Action on_hypercall(VcpuState& c, void*) {
  note(c);
  uint64_t nr = c.get(Reg::rax) & 0xffffffffu;
  if (nr == guest::kHypercallBootError) {
    flush_console();
    cos::printf("simple_vmm: the guest bootloader failed (error %lu, see its message above); VM stopped\n",
                static_cast<unsigned long>(c.get(Reg::rbx)));
    return stop(End::crash);
  }
  c.set(Reg::rax, ~0ull);  // unknown hypercall
  return Action::skip;
}

Action on_shutdown(VcpuState& c, void*) {
  note(c);
  flush_console();
  cos::printf("simple_vmm: the guest triple-faulted (shutdown) at rip %#lx; VM stopped\n",
              static_cast<unsigned long>(c.rip()));
  return stop(End::crash);
}

Action on_entry_failure(VcpuState& c, void*) {
  note(c);
  flush_console();
  cos::printf("simple_vmm: the hardware refused to enter the guest (reason %#lx) at rip %#lx; VM stopped\n",
              static_cast<unsigned long>(c.exit().entry.reason), static_cast<unsigned long>(c.rip()));
  return stop(End::crash);
}

Action on_skip(VcpuState& c, void*) {
  note(c);
  return Action::skip;
}  // INVD, WBINVD, PAUSE
Action on_window(VcpuState& c, void*) {
  note(c);
  return Action::resume;
}

Action on_xsetbv(VcpuState& c, void*) {
  note(c);
  inject_gp(c);  // XSAVE is hidden in CPUID: XSETBV is not available
  return Action::resume;
}

}  // namespace

void install_exit_handlers() {
  vmrt::Vcpu& cpu = g_vmm.cpu;
  cpu.on(ExitReason::io, on_io);
  cpu.on(ExitReason::gpa_fault, on_gpa_fault);
  cpu.on(ExitReason::cpuid, on_cpuid);
  cpu.on(ExitReason::msr_read, on_msr);
  cpu.on(ExitReason::msr_write, on_msr);
  cpu.on(ExitReason::hlt, on_hlt);
  cpu.on(ExitReason::hypercall, on_hypercall);
  cpu.on(ExitReason::shutdown, on_shutdown);
  cpu.on(ExitReason::entry_failure, on_entry_failure);
  cpu.on(ExitReason::invd, on_skip);
  cpu.on(ExitReason::wbinvd, on_skip);
  cpu.on(ExitReason::pause, on_skip);
  cpu.on(ExitReason::interrupt_window, on_window);
  cpu.on(ExitReason::xsetbv, on_xsetbv);
}

}  // namespace cos::simple_vmm
