// hostile_guests: the per-case sandbox, mailbox and after-case checks (harness.hpp).
#include "hostile_guests/harness.hpp"

#include "fmt/format.hpp"
#include "runtime/cos.hpp"
#include "vmrt/modes.hpp"

namespace hg {

Params g_params;

HG_SNIPPET(handlers16)
HG_SNIPPET(handlers32)
HG_SNIPPET(handlers64)

namespace {

vmrt::Env g_parent;
vmtest::Sandbox g_box;
vmtest::EmptyPc g_pc;

}  // namespace

vmrt::Vcpu& cpu() { return g_box.cpu(); }
vmrt::Vm& guest() { return g_box.vm(); }
vmtest::EmptyPc& pc() { return g_pc; }

vmtest::CpuidRegs host_cpuid(uint32_t leaf, uint32_t subleaf) {
  vmtest::CpuidRegs r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
  return r;
}

bool cpu_is_qemu() {
  char brand[49] = {};
  for (uint32_t i = 0; i < 3; ++i) {
    vmtest::CpuidRegs r = host_cpuid(0x80000002u + i, 0);
    __builtin_memcpy(brand + 16 * i, &r, 16);
  }
  for (const char* p = brand; *p; ++p)
    if (p[0] == 'Q' && p[1] == 'E' && p[2] == 'M' && p[3] == 'U') return true;
  return false;
}

/// Called once by main: the component's own capability environment, split
/// between the harness (a few slots) and the sandboxes (the rest).
bool init_harness() {
  const cos::boot::CompInfo& me = cos::self();
  if (!me.untyped_slot || !me.pgtbl_slot) return false;
  g_parent.untyped = me.untyped_slot;
  g_parent.pgtbl = me.pgtbl_slot;
  g_parent.slots.init(me.first_free_slot, me.first_free_slot + 8);
  g_box.init_slots(me.first_free_slot + 8, 256);
  g_pc.init(host_cpuid);
  return true;
}

vmrt::Status start(const Snippet& prog, const Start& s) {
  if (g_box.is_open()) VMRT_TRY(g_box.close());
  vmtest::SandboxConfig cfg;
  cfg.ram_bytes = s.ram_bytes;
  cfg.untyped_pages = s.ram_bytes / 4096 + 32;
  cfg.vcpu.save_mask = vm::Load::cr | vm::Load::segments | vm::Load::dtables | vm::Load::syscall_msrs |
                       vm::Load::interruptibility;
  VMRT_TRY(g_box.open(g_parent, cfg));
  if (prog.size() > layout::kCodeBytes) return vmrt::make_error(vmrt::Errc::bad_argument, "program too big");
  VMRT_TRY(guest().memory().fill(layout::kCode, 0xf4, layout::kCodeBytes));  // hlt everywhere
  VMRT_TRY(guest().copy_to_guest(layout::kCode, prog.start, prog.size()));
  VMRT_TRY(guest().memory().fill(MB_BASE, 0, 0x1000));
  vmtest::Entry e;
  e.mode = s.mode;
  e.map_bytes = s.map_bytes;
  if (s.handlers) {
    const Snippet& h = s.mode == Mode::real ? k_handlers16 : s.mode == Mode::protected32 ? k_handlers32 : k_handlers64;
    VMRT_TRY(guest().copy_to_guest(layout::kHandlers, h.start, h.size()));
    e.stubs_gpa = layout::kHandlers;
    e.stub_stride = s.mode == Mode::real ? 8 : 16;
  }
  VMRT_TRY(vmtest::enter(cpu(), guest().memory(), e));
  if (s.handlers && s.ist && s.mode == Mode::long64)
    for (unsigned v = 0; v < 32; ++v)
      VMRT_TRY(vmtest::set_gate(guest().memory(), s.mode, layout::kIdt, v, layout::kHandlers + 16ull * v,
                                vmrt::gdt::kCode64, vmtest::gate::kInterrupt64, s.ist));
  g_pc.reset_stats();
  g_pc.observer = nullptr;
  g_pc.max_elements = vmrt::kStringIoMaxElements;
  g_pc.attach(cpu());
  return {};
}

bool finish() {
  if (!g_box.is_open()) return true;
  auto r = g_box.close();
  if (!r) {
    vmtest::fail_err("taking the VM's memory back", __FILE__, __LINE__, r.error());
    return false;
  }
  return true;
}

vmtest::RunResult run(uint64_t time_us, uint64_t max_exits) {
  vmtest::RunLimits lim;
  lim.time_us = time_us ? time_us : g_params.run_us;
  lim.max_exits = max_exits;
  return vmtest::run_guest(cpu(), lim);
}

uint64_t mb64(uint64_t gpa) {
  uint64_t v = 0;
  (void)guest().copy_from_guest(&v, gpa, sizeof(v));
  return v;
}
uint32_t mb32(uint64_t gpa) {
  uint32_t v = 0;
  (void)guest().copy_from_guest(&v, gpa, sizeof(v));
  return v;
}
void set_mb64(uint64_t gpa, uint64_t value) { (void)guest().copy_to_guest(gpa, &value, sizeof(value)); }
uint32_t probe(unsigned i) { return mb32(MB_PROBES + 4ull * i); }
uint32_t faults(unsigned vector) { return mb32(MB_COUNTS + 4ull * vector); }

bool set_entries(const uint64_t (*entries)[3], unsigned n) {
  if (n > MB_MAX_ENTRIES) return false;
  if (!guest().copy_to_guest(MB_ENTRIES, entries, 24ull * n)) return false;
  set_mb64(MB_ARG0, n);
  return true;
}

bool set_handler(Mode mode, unsigned vector, uint64_t handler, uint16_t selector, uint8_t ist) {
  if (!selector) selector = mode == Mode::long64 ? vmrt::gdt::kCode64 : vmrt::gdt::kCode32;
  return vmtest::set_gate(guest().memory(), mode, layout::kIdt, vector, handler, selector, vmtest::gate::kInterrupt64, ist)
      .ok();
}

const char* describe(const vmtest::RunResult& r, const char* expected) {
  static char buf[320];
  char err[128] = "";
  if (r.end == vmtest::RunEnd::error) r.error.format(err, sizeof(err));
  const vmtest::PcStats& s = g_pc.stats;
  cos::fmt::snformat(buf, sizeof(buf),
                     "expected %s; got %s%s%s after %lu exits (%lu with the kernel's own) at rip %#lx%s%s, "
                     "last fault vector %u at %#lx, %lu unexpected exits",
                     expected, vmtest::run_end_name(r.end), r.end == vmtest::RunEnd::stopped ? " by " : "",
                     r.end == vmtest::RunEnd::stopped ? vmrt::exit_reason_name(r.reason) : "",
                     static_cast<unsigned long>(r.exits), static_cast<unsigned long>(r.kernel_exits),
                     static_cast<unsigned long>(cpu().rip()), *err ? ": " : "", err, mb32(MB_LAST_VECTOR),
                     static_cast<unsigned long>(mb64(MB_LAST_IP)), static_cast<unsigned long>(s.unexpected));
  return buf;
}

}  // namespace hg
