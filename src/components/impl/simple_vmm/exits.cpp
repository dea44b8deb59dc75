// The VM-exit handlers of simple_vmm.
#include <stdarg.h>

#include "fmt/format.hpp"
#include "runtime/cos.hpp"
#include "cos/guest_boot.hpp"
#include "simple_vmm/cpuid_policy.hpp"
#include "simple_vmm/hypercalls.hpp"
#include "simple_vmm/vmm.hpp"
#include "devices/local_apic.hpp"

namespace cos::simple_vmm {
namespace {

using vmrt::Action;
using vmrt::Reg;
using vmrt::VcpuState;
using vm::ExitReason;

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

void inject_gp(VcpuState& c) { c.queue_event(13, vm::EventType::exception, true, 0); }

VcpuSlot& slot(void* ctx) { return *static_cast<VcpuSlot*>(ctx); }

// The port and memory sides of I/O and MMIO emulation: the PC's devices.
uint32_t port_in(void*, uint16_t port, unsigned size) { return g_vmm.pc.io_in(port, size); }
void port_out(void*, uint16_t port, unsigned size, uint32_t value) { g_vmm.pc.io_out(port, size, value); }

// Accesses to guest-physical memory that is neither RAM nor a device: the
// empty bus of a PC (reads all ones, writes ignored), logged once per page.
vmrt::PageLogFilter g_unassigned_log;
void note_unassigned(uint64_t gpa, bool write, unsigned size) {
  switch (g_unassigned_log.check(gpa)) {
    case vmrt::PageLogFilter::Verdict::log:
      flush_console();
      cos::printf("simple_vmm: guest %s unassigned guest-physical address %#lx (%u bytes); %s (once per page)\n",
                  write ? "wrote to" : "read from", static_cast<unsigned long>(gpa), size,
                  write ? "ignored" : "answered all-ones");
      break;
    case vmrt::PageLogFilter::Verdict::overflow:
      cos::printf("simple_vmm: more unassigned guest-physical pages accessed; no longer logged\n");
      break;
    case vmrt::PageLogFilter::Verdict::quiet: break;
  }
}
bool bus_read(void* ctx, uint64_t gpa, unsigned size, uint64_t& value) {
  if (g_vmm.pc.mmio_read(slot(ctx).index, gpa, size, value)) return true;
  note_unassigned(gpa, false, size);
  return false;
}
bool bus_write(void* ctx, uint64_t gpa, unsigned size, uint64_t value) {
  if (g_vmm.pc.mmio_write(slot(ctx).index, gpa, size, value)) return true;
  note_unassigned(gpa, true, size);
  return false;
}
const vmrt::PortIo kPorts{nullptr, port_in, port_out};
// The MMIO side for one vCPU (its own local APIC page).
vmrt::PhysBus bus_of(void* ctx) { return vmrt::PhysBus{ctx, bus_read, bus_write}; }

// Instructions the VMM cannot perform for the guest get an exception; each
// code page where that happens is reported once.
vmrt::PageLogFilter g_emulation_log;

Action emulation_error(VcpuState& c, const char* what, const vmrt::Error& e) {
  char buf[120];
  e.format(buf, sizeof(buf));
  return end_vm(End::failed, "%s at rip %#lx failed: %s", what, static_cast<unsigned long>(c.rip()), buf);
}

// IN/OUT and INS/OUTS: every element reaches the port devices; a REP string
// instruction moves at most vmrt::kStringIoMaxElements per exit and the
// guest re-executes it for the rest, with interrupt delivery in between.
Action on_io(VcpuState& c, void* ctx) {
  note(c);
  const vmrt::PhysBus bus = bus_of(ctx);
  auto r = vmrt::emulate_io(c, kPorts, &bus);
  if (!r) return emulation_error(c, "port I/O emulation", r.error());
  if (g_vmm.pc.poweroff_requested()) return end_vm(End::poweroff, "the guest powered off (ACPI S5)");
  if (g_vmm.pc.reset_requested()) return end_vm(End::reboot, "the guest reset the machine (i8042 or port 0xcf9)");
  uint32_t value;
  if (g_vmm.pc.debug_exit_requested(value)) {
    g_vmm.debug_exit_value = value;
    return end_vm(End::debug_exit, "the guest wrote %#x to isa-debug-exit (port 0xf4)", value);
  }
  deliver_interrupts(slot(ctx));
  return vmrt::io_action(r.value().outcome);
}

// An access to a page that is not guest RAM: the local APIC, the I/O APIC,
// or nothing (the empty bus). vmrt::emulate_mmio performs the instruction or
// gives the guest the exception listed in vmrt/mmio.hpp.
Action on_gpa_fault(VcpuState& c, void* ctx) {
  note(c);
  const vmrt::PhysBus bus = bus_of(ctx);
  auto r = vmrt::emulate_mmio(c, &bus);
  if (!r) return emulation_error(c, "MMIO emulation", r.error());
  const vmrt::MmioResult& m = r.value();
  if (m.outcome == vmrt::MmioOutcome::fault && g_emulation_log.check(c.rip()) == vmrt::PageLogFilter::Verdict::log) {
    flush_console();
    cos::printf("simple_vmm: guest instruction at rip %#lx (", static_cast<unsigned long>(c.rip()));
    for (unsigned i = 0; i < m.length && i < 8; ++i) cos::printf(i ? " %02x" : "%02x", m.bytes[i]);
    cos::printf(") touching guest-physical %#lx: %s; the guest gets %s (once per code page)\n",
                static_cast<unsigned long>(c.exit().gpa.gpa), m.why, vmrt::fault_name(m.fault));
  }
  deliver_interrupts(slot(ctx));
  return Action::resume;
}

Action on_cpuid(VcpuState& c, void* ctx) {
  note(c);
  const uint32_t leaf = static_cast<uint32_t>(c.get(Reg::rax));
  const uint32_t subleaf = static_cast<uint32_t>(c.get(Reg::rcx));
  CpuidRegs r = guest_cpuid(host_cpuid, leaf, subleaf, CpuTopology{slot(ctx).index, g_vmm.vcpu_count});
  if (leaf == kExitCountersLeaf) {  // cpuid_policy.hpp: the exit counters
    uint64_t n = subleaf == 0 ? c.exit_count() : subleaf <= 32 ? g_vmm.exits_by_reason[subleaf - 1] : 0;
    r = CpuidRegs{static_cast<uint32_t>(n), 0, 0, static_cast<uint32_t>(n >> 32)};
  }
  c.set(Reg::rax, r.eax);
  c.set(Reg::rbx, r.ebx);
  c.set(Reg::rcx, r.ecx);
  c.set(Reg::rdx, r.edx);
  return Action::skip;
}

Action on_msr(VcpuState& c, void* ctx) {
  note(c);
  VcpuSlot& me = slot(ctx);
  const vm::Exit& e = c.exit();
  uint32_t index = e.msr.index;
  if (g_vmm.clock.handles(index)) {
    if (e.reason == ExitReason::msr_read) {
      uint64_t v = g_vmm.clock.read(me.index, index);
      c.set(Reg::rax, v & 0xffffffffu);
      c.set(Reg::rdx, v >> 32);
      return Action::skip;
    }
    uint64_t v = (c.get(Reg::rdx) << 32) | (c.get(Reg::rax) & 0xffffffffu);
    if (!g_vmm.clock.write(g_vmm.vm, me.index, index, v)) {
      inject_gp(c);
      return Action::resume;
    }
    return Action::skip;
  }
  if (e.reason == ExitReason::msr_read) {
    uint64_t v = 0;
    MsrResult r = me.msrs.read(c, index, v);
    if (r == MsrResult::apic) r = g_vmm.pc.apic_msr_read(me.index, index, v);
    if (r == MsrResult::gp) {
      inject_gp(c);
      return Action::resume;
    }
    c.set(Reg::rax, v & 0xffffffffu);
    c.set(Reg::rdx, v >> 32);
    return Action::skip;
  }
  uint64_t v = (c.get(Reg::rdx) << 32) | (c.get(Reg::rax) & 0xffffffffu);
  MsrResult r = me.msrs.write(c, index, v);
  if (r == MsrResult::apic) r = g_vmm.pc.apic_msr_write(me.index, index, v);
  if (r == MsrResult::gp) {
    inject_gp(c);
    return Action::resume;
  }
  deliver_interrupts(me);  // an EOI, an IPI or a timer write may make a vector deliverable
  return Action::skip;
}

// True when no vCPU but `me` can ever run again without an NMI, INIT or
// SIPI: all others are stopped (HLT with interrupts off) or wait for a SIPI.
bool others_stopped(const VcpuSlot& me) {
  for (unsigned i = 0; i < g_vmm.vcpu_count; ++i) {
    const VcpuSlot& v = g_vmm.vcpus[i];
    if (&v != &me && v.run_state != VcpuRunState::stopped && v.run_state != VcpuRunState::wait_sipi) return false;
  }
  return true;
}

// Sleeps (lock released) on the vCPU's wake-up endpoint for at most
// `timeout_us` (0: until woken).
void sleep_unlocked(VcpuSlot& me, uint64_t timeout_us) {
  leave(me);
  cos::sys::rcv(me.cpu.wakeup_endpoint(), timeout_us, 0);
  enter(me);
}

// HLT: the vCPU stays stopped until an interrupt can wake it; its thread
// sleeps in rcv until its next device deadline, host input or an IPI (no
// busy loop), the other vCPUs run meanwhile. HLT with interrupts off: the
// machine is off once every vCPU is like that (or waits for a SIPI), e.g.
// after Linux stopped the other CPUs; until then this vCPU sleeps until an
// NMI, INIT or SIPI.
Action on_hlt(VcpuState& c, void* ctx) {
  note(c);
  VcpuSlot& me = slot(ctx);
  dev::LocalApic& apic = g_vmm.pc.lapic(me.index);
  if (!(c.get(Reg::rflags) & (1u << 9))) {
    if (others_stopped(me)) return end_vm(End::poweroff, "the guest halted with interrupts disabled (powered off)");
    (void)c.advance_rip();
    me.run_state = VcpuRunState::stopped;
    while (g_vmm.end == End::running && !apic.nmi_pending() && !apic.startup_pending()) sleep_unlocked(me, 0);
    me.run_state = VcpuRunState::running;
    deliver_interrupts(me);  // the NMI
    return Action::resume;
  }
  (void)c.advance_rip();
  if (c.page().irq_pending) return Action::resume;  // the kernel injects it at entry
  me.run_state = VcpuRunState::halted;
  for (;;) {
    if (service_platform(me) || g_vmm.end != End::running || apic.startup_pending()) break;
    sleep_unlocked(me, me.wait_us);
  }
  me.run_state = VcpuRunState::running;
  return Action::resume;
}

Action on_hypercall(VcpuState& c, void*) {
  note(c);
  uint64_t nr = c.get(Reg::rax) & 0xffffffffu;
  if (nr == guest::kHypercallBootError)
    return end_vm(End::failed, "the guest bootloader failed (error %lu, see its message above)",
                  static_cast<unsigned long>(c.get(Reg::rbx)));
  route_hypercall(c, static_cast<uint32_t>(nr));  // hypercalls.hpp: a service, or -1000
  return Action::skip;
}

Action on_shutdown(VcpuState& c, void*) {
  note(c);
  return end_vm(End::triple_fault, "the guest triple-faulted (shutdown) at rip %#lx",
                static_cast<unsigned long>(c.rip()));
}

Action on_entry_failure(VcpuState& c, void*) {
  note(c);
  return end_vm(End::failed, "the hardware refused to enter the guest (reason %#lx) at rip %#lx",
                static_cast<unsigned long>(c.exit().entry.reason), static_cast<unsigned long>(c.rip()));
}

Action on_skip(VcpuState& c, void*) {
  note(c);
  return Action::skip;
}  // INVD, WBINVD
// PAUSE (a spin-wait loop, if the kernel forwards it): with several vCPUs
// the one it waits for may be preempted on the same host CPU; give it the
// CPU (after the handler, see locked()).
Action on_pause(VcpuState& c, void*) {
  note(c);
  if (g_vmm.vcpu_count > 1) g_vmm.yield_after = true;
  return Action::skip;
}
Action on_window(VcpuState& c, void*) {
  note(c);
  return Action::resume;
}

Action on_xsetbv(VcpuState& c, void*) {
  note(c);
  inject_gp(c);  // XSAVE is hidden in CPUID: XSETBV is not available
  return Action::resume;
}

// Every handler runs under the VMM's lock; after it, INIT/SIPI (which
// replace the vCPU's state) and the VM's end are looked at.
template <vmrt::ExitHandler F>
Action locked(VcpuState& c, void* ctx) {
  VcpuSlot& me = slot(ctx);
  enter(me);
  Action a = F(c, ctx);
  if (me.recheck && g_vmm.end == End::running) {  // the lock's sleep may have eaten a wake-up
    me.recheck = false;
    deliver_interrupts(me);
  }
  if (a != Action::stop && g_vmm.end == End::running && handle_startup(me)) a = Action::resume;
  if (g_vmm.end != End::running) a = Action::stop;
  leave(me);
  return a;
}

}  // namespace

Action end_vm(End how, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cos::fmt::vsnformat(g_vmm.end_reason, sizeof(g_vmm.end_reason), fmt, ap);
  va_end(ap);
  g_vmm.end = how;
  flush_console();
  cos::printf("simple_vmm: %s; VM stopped\n", g_vmm.end_reason);
  kick_all();
  return Action::stop;
}

CpuidRegs host_cpuid(uint32_t leaf, uint32_t sub) {
  CpuidRegs r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(sub));
  return r;
}

void install_exit_handlers(VcpuSlot& v) {
  vmrt::Vcpu& cpu = v.cpu;
  cpu.on(ExitReason::io, locked<on_io>, &v);
  cpu.on(ExitReason::gpa_fault, locked<on_gpa_fault>, &v);
  cpu.on(ExitReason::cpuid, locked<on_cpuid>, &v);
  cpu.on(ExitReason::msr_read, locked<on_msr>, &v);
  cpu.on(ExitReason::msr_write, locked<on_msr>, &v);
  cpu.on(ExitReason::hlt, locked<on_hlt>, &v);
  cpu.on(ExitReason::hypercall, locked<on_hypercall>, &v);
  cpu.on(ExitReason::shutdown, locked<on_shutdown>, &v);
  cpu.on(ExitReason::entry_failure, locked<on_entry_failure>, &v);
  cpu.on(ExitReason::invd, locked<on_skip>, &v);
  cpu.on(ExitReason::wbinvd, locked<on_skip>, &v);
  cpu.on(ExitReason::pause, locked<on_pause>, &v);
  cpu.on(ExitReason::interrupt_window, locked<on_window>, &v);
  cpu.on(ExitReason::xsetbv, locked<on_xsetbv>, &v);
  if (v.index == 0) setup_hypercall_routes();
}

}  // namespace cos::simple_vmm
