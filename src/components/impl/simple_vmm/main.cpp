// simple_vmm: loads the guest bootloader (guest.img), a stock bzImage and an
// initramfs into guest RAM, starts one vCPU in real mode at the bootloader
// and emulates the PC around it until the guest powers off, reboots or dies.
#include "runtime/cos.hpp"
#include "cos/guest_boot.hpp"
#include "cos/exit_status.hpp"
#include "simple_vmm/guest_loader.hpp"
#include "simple_vmm/multiboot_loader.hpp"
#include "multiboot/multiboot.hpp"
#include "simple_vmm/vmm.hpp"
#include "devices/local_apic.hpp"
#include "simple_vmm/channel_backends.hpp"
#include "devices/virtio/guest_memory.hpp"
#include "fmt/format.hpp"

namespace cos::simple_vmm {

Vmm g_vmm;

namespace {


// Guest console output, flushed at newlines and before the VMM waits.
char g_out[256];
size_t g_out_len;

void note_console_line(const char* line, size_t len);

// The current guest console line (its start, for note_console_line), kept
// apart from g_out, which is flushed at other times too.
char g_line[160];
size_t g_line_len;

// Param `console_prefix`: put before every guest console line, so that the
// lines of several VMs on one console tell whose they are ("a| ").
const char* g_prefix = "";
bool g_at_line_start = true;
uint64_t g_partial_since_ns;  // when the unflushed part of the current line began

void out_byte(char c) {
  g_out[g_out_len++] = c;
  if (g_out_len == sizeof(g_out)) flush_console();
}

void console_out(uint8_t b) {
  if (g_out_len == 0) g_partial_since_ns = now_ns();
  if (g_at_line_start)
    for (const char* p = g_prefix; *p; ++p) out_byte(*p);
  g_at_line_start = b == '\n';
  g_out[g_out_len++] = static_cast<char>(b);
  if (b == '\n') {
    note_console_line(g_line, g_line_len);
    g_line_len = 0;
  } else if (g_line_len < sizeof(g_line)) {
    g_line[g_line_len++] = static_cast<char>(b);
  }
  if (b == '\n' || g_out_len == sizeof(g_out)) flush_console();
}

uint8_t bcd(uint8_t v) { return static_cast<uint8_t>((v >> 4) * 10 + (v & 0xf)); }

// The host's date from its CMOS RTC (MC146818), if the ports were granted.
void host_date(uint64_t rtc_slot, Platform::Config& cfg) {
  cfg.year = 2026, cfg.month = 1, cfg.day = 1, cfg.hour = 0, cfg.minute = 0, cfg.second = 0;
  if (!rtc_slot) return;
  auto reg = [&](uint8_t r) {
    cos::sys::ioport_out(rtc_slot, 0x70, 1, r);
    return static_cast<uint8_t>(cos::sys::ioport_in(rtc_slot, 0x71, 1));
  };
  for (int i = 0; i < 1000 && (reg(0x0a) & 0x80); ++i) {
  }
  bool binary = reg(0x0b) & 0x04;
  auto val = [&](uint8_t r) { uint8_t v = reg(r); return binary ? v : bcd(v); };
  cfg.second = val(0x00), cfg.minute = val(0x02), cfg.hour = val(0x04) & 0x3f, cfg.day = val(0x07),
  cfg.month = val(0x08), cfg.year = 2000 + val(0x09);
}

// Seconds since 1970 for a civil date (proleptic Gregorian, days-from-civil).
uint64_t epoch_of(const Platform::Config& c) {
  int64_t y = static_cast<int64_t>(c.year) - (c.month <= 2);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t mp = (static_cast<int64_t>(c.month) + 9) % 12;
  int64_t doy = (153 * mp + 2) / 5 + static_cast<int64_t>(c.day) - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  return static_cast<uint64_t>(days * 86400 + c.hour * 3600 + c.minute * 60 + c.second);
}

// The TSC frequency, measured against kernel time over 10 ms.
uint64_t measure_tsc_hz() {
  uint64_t t0 = cos::sys::time_now(), c0 = cos::tsc();
  while (static_cast<uint64_t>(cos::sys::time_now()) < t0 + 10000) {
  }
  uint64_t t1 = cos::sys::time_now(), c1 = cos::tsc();
  return (c1 - c0) * 1000000 / (t1 - t0 ? t1 - t0 : 1);
}

const boot::CompInfo::Blob* blob(const char* suffix) {
  const boot::CompInfo& info = cos::self();
  for (uint32_t i = 0; i < info.blob_count; ++i) {
    const char* n = info.blobs[i].name;
    size_t ln = 0, ls = 0;
    while (n[ln]) ++ln;
    while (suffix[ls]) ++ls;
    if (ln >= ls && __builtin_memcmp(n + ln - ls, suffix, ls) == 0) return &info.blobs[i];
  }
  return nullptr;
}

// Woken without an exit (a deadline, host input, an IPI or the VM's end).
vmrt::Action on_wakeup(vmrt::Vcpu&, void* ctx) {
  VcpuSlot& me = *static_cast<VcpuSlot*>(ctx);
  enter(me);
  if (g_vmm.end == End::running) {
    service_platform(me);
    handle_startup(me);
  }
  vmrt::Action a = g_vmm.end == End::running ? vmrt::Action::resume : vmrt::Action::stop;
  leave(me);
  return a;
}

// The VMM cannot build or run its VM: ends the component (and, as it is
// essential by default, the run) with cos::exit_status::kFailed.
[[noreturn]] void fail(const char* what, const vmrt::Error& e) {
  char buf[128];
  e.format(buf, sizeof(buf));
  cos::printf("simple_vmm: %s: %s\n", what, buf);
  cos::exit(cos::exit_status::kFailed, "%s: %s", what, buf);
}

// Linux's panic line ("Kernel panic - not syncing: ..."), remembered so the
// VM's end is reported as a guest panic.
void note_console_line(const char* line, size_t len) {
  static const char kPanic[] = "Kernel panic - not syncing";
  const size_t n = sizeof(kPanic) - 1;
  if (g_vmm.panic_line[0]) return;
  for (size_t i = 0; i + n <= len; ++i) {
    if (__builtin_memcmp(line + i, kPanic, n) != 0) continue;
    size_t k = 0;
    for (; i + k < len && k + 1 < sizeof(g_vmm.panic_line); ++k) {
      char c = line[i + k];
      if (c == '\r' || c == '\n') break;
      g_vmm.panic_line[k] = c;
    }
    g_vmm.panic_line[k] = '\0';
    return;
  }
}

// The VM ended: the VMM's exit (docs/simple_vmm.md, "End"; the statuses of
// cos/exit_status.hpp). Power-off and an unmapped debug exit return 0.
int finish() {
  using namespace cos::exit_status;
  const char* reason = g_vmm.end_reason;
  if (g_vmm.panic_line[0] && (g_vmm.end == End::reboot || g_vmm.end == End::poweroff))
    cos::exit(kGuestPanic, "guest kernel panic (%s): %s", g_vmm.panic_line, reason);
  switch (g_vmm.end) {
    case End::poweroff: return 0;
    case End::reboot: cos::exit(kGuestReset, "guest reset: %s", reason);
    case End::triple_fault: cos::exit(kGuestTripleFault, "guest triple fault: %s", reason);
    case End::debug_exit:
      if (!(cos::self().guest_flags & cos::boot::kGuestFlagDebugExit)) return 0;
      cos::exit(debug_exit(g_vmm.debug_exit_value), "%s", reason);
    case End::failed: cos::exit(kFailed, "%s", reason);
    case End::running: break;
  }
  cos::exit(kFailed, "the vCPU stopped running (%s)", reason[0] ? reason : "no reason");
}

}  // namespace

uint64_t now_ns() { return static_cast<uint64_t>(cos::sys::time_now()) * 1000; }

void flush_console() {
  if (g_out_len) cos::sys::print(g_out, g_out_len);
  g_out_len = 0;
}

void poll_host_console() {
  if (!g_vmm.console_slot) return;
  // One byte at a time while the guest UART's input queue has room: the
  // rest stays queued in the kernel (and in the host UART behind it).
  for (int i = 0; i < 64 && g_vmm.pc.host_input_room(); ++i) {
    uint8_t byte;
    if (cos::sys::console_read(g_vmm.console_slot, g_vmm.vcpus[0].cpu.wakeup_endpoint(), &byte, 1) != 1) break;
    g_vmm.pc.host_input(byte);
  }
}

bool service_platform(VcpuSlot& me) {
  if (me.index == 0) {  // host input and the network notify vCPU 0's endpoint
    poll_host_console();
    g_vmm.pc.poll_net();
  }
  return deliver_interrupts(me);
}

bool deliver_interrupts(VcpuSlot& me) {
  if (g_vmm.notified && me.index == 0) {
    g_vmm.notified = false;
    poll_host_console();
    g_vmm.pc.poll_net();
  }
  g_vmm.pc.pump_input();
  uint64_t now = now_ns();
  g_vmm.pc.advance(me.index, now);
  dev::LocalApic& apic = g_vmm.pc.lapic(me.index);
  // An NMI the vCPU cannot take yet (one is queued in the kernel) stays
  // pending in the APIC model.
  if (apic.nmi_pending() && me.cpu.inject_nmi()) apic.take_nmi();
  // The kernel holds at most one external interrupt for the vCPU; if one is
  // still queued, vcpu_inject refuses and the vector stays in the APIC's IRR.
  uint8_t vector;
  bool pending = g_vmm.pc.pending_vector(me.index, vector);
  if (pending && me.cpu.inject_interrupt(vector)) g_vmm.pc.acknowledge(me.index, vector);
  // A partial line goes out now (a shell prompt must show), except with a
  // prefix (several VMs on one console): then only once it has waited 50 ms
  // for its newline, so that lines of different VMs rarely cut each other.
  if (!*g_prefix || now - g_partial_since_ns >= 50'000'000) flush_console();
  uint64_t next = g_vmm.pc.next_deadline_ns(me.index);
  if (next == ~0ull) me.wait_us = 0;
  else me.wait_us = next > now ? (next - now + 999) / 1000 : 1;
  return pending;
}

bool VmmLock::lock(unsigned who, uint64_t sleep_rcv, uint64_t wake_snd) {
  bool slept = false;
  for (unsigned tries = 0; __atomic_exchange_n(&held_, true, __ATOMIC_ACQUIRE); ++tries) {
    // The holder was preempted (or waits for another component): let it run.
    // The holder may run on another CPU: a short spin first.
    for (unsigned spin = 0; spin < kSpins && __atomic_load_n(&held_, __ATOMIC_RELAXED); ++spin) __builtin_ia32_pause();
    if (!__atomic_load_n(&held_, __ATOMIC_RELAXED)) continue;
    if (tries < kSpinYields || !sleep_rcv) {
      cos::sys::thd_yield();
    } else {
      // A notification consumed here only makes the thread look at its
      // vCPU's devices once it holds the lock, which it does anyway.
      // Registered before the last look at the lock: an unlock after it
      // notifies (the endpoint counts the notification), none is lost.
      if (wake_snd && who < kMaxSleepers) {
        wake_[who] = wake_snd;
        __atomic_or_fetch(&sleepers_, 1u << who, __ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&held_, __ATOMIC_SEQ_CST)) continue;
      }
      cos::sys::rcv(sleep_rcv, 1000, 0);
      slept = true;
      tries = 0;
    }
  }
  return slept;
}

void VmmLock::unlock() {
  __atomic_store_n(&held_, false, __ATOMIC_SEQ_CST);
  for (uint32_t sleepers = __atomic_exchange_n(&sleepers_, 0, __ATOMIC_SEQ_CST); sleepers; sleepers &= sleepers - 1)
    cos::sys::asnd(wake_[__builtin_ctz(sleepers)]);
}

void enter(VcpuSlot& v) {
  if (g_vmm.lock.lock(v.index, v.cpu.wakeup_endpoint(), v.kick)) v.recheck = true;
  g_vmm.current = v.index;
}

void leave(VcpuSlot&) {
  bool yield = g_vmm.yield_after;
  g_vmm.yield_after = false;
  g_vmm.lock.unlock();
  if (yield) cos::sys::thd_yield();  // the vCPU just woken (an IPI's target) runs now
}

void kick_all() {
  for (unsigned i = 0; i < g_vmm.vcpu_count; ++i)
    if (g_vmm.vcpus[i].kick) cos::sys::asnd(g_vmm.vcpus[i].kick);
}

bool handle_startup(VcpuSlot& me) {
  dev::LocalApic& apic = g_vmm.pc.lapic(me.index);
  bool replaced = false;
  for (;;) {
    if (apic.take_init()) {
      me.startup.init();
      replaced = true;
    }
    uint8_t vector;
    dev::SipiEntry entry;
    if (apic.take_sipi(vector) && me.startup.sipi(vector, entry)) {
      vmrt::setup_real_mode(me.cpu, {.cs = entry.cs_selector, .ip = entry.ip});
      me.run_state = VcpuRunState::running;
      replaced = true;
      deliver_interrupts(me);  // its wait until the next deadline
    }
    if (me.startup.running() || g_vmm.end != End::running) return replaced;
    me.run_state = VcpuRunState::wait_sipi;
    leave(me);
    cos::sys::rcv(me.cpu.wakeup_endpoint(), 0, 0);
    enter(me);
  }
}

}  // namespace cos::simple_vmm

using namespace cos::simple_vmm;

namespace {

// Each vCPU, with the MSR checks of the CPU the guest sees (vendor, address
// width, features), its handlers and the asnd that wakes its thread. vCPU 0
// wakes on the channels' notification endpoint (backends and console input
// notify it); the others get endpoints of their own.
void create_vcpus() {
  vmrt::Env* env = g_vmm.vm.env();
  for (unsigned i = 0; i < g_vmm.vcpu_count; ++i) {
    VcpuSlot& v = g_vmm.vcpus[i];
    v.index = i;
    v.startup = cos::dev::VcpuStartup(i == 0);
    v.run_state = i == 0 ? VcpuRunState::running : VcpuRunState::wait_sipi;
    v.msrs.init(vmrt::GuestCpu::from_cpuid(
        [](void* ctx, uint32_t leaf, uint32_t subleaf, uint32_t* r) {
          CpuidRegs c = guest_cpuid(host_cpuid, leaf, subleaf,
                                    CpuTopology{static_cast<VcpuSlot*>(ctx)->index, g_vmm.vcpu_count});
          r[0] = c.eax, r[1] = c.ebx, r[2] = c.ecx, r[3] = c.edx;
        },
        &v));
    vmrt::VcpuConfig vc;
    if (i == 0) vc.wake_rcv_slot = cos::chan::notify_endpoint();
    vc.save_mask = cos::vm::Load::cr | cos::vm::Load::segments | cos::vm::Load::syscall_msrs |
                   cos::vm::Load::interruptibility;
    if (auto s = v.cpu.create(g_vmm.vm, vc); !s) fail("creating a vCPU", s.error());
    install_exit_handlers(v);
    // Only another vCPU's IPI uses the kick (wake_vcpu): one vCPU needs none,
    // and its wake-up endpoint (the channels' notify endpoint) may not allow
    // deriving an asnd (two_vms).
    if (g_vmm.vcpu_count == 1) continue;
    auto slot = env->slots.alloc();
    if (!slot) fail("a slot for a vCPU's wake-up asnd", slot.error());
    int64_t r = cos::sys::asnd_create(env->untyped, slot.value(), v.cpu.wakeup_endpoint());
    if (r < 0) fail("creating a vCPU's wake-up asnd", vmrt::sys_error("asnd_create", r));
    v.kick = slot.value();
  }
}

// The bus woke vCPU `index`'s APIC: wake its thread unless it is the one
// running (which looks at its APIC after this exit anyway).
void wake_vcpu(void*, unsigned index) {
  if (index >= g_vmm.vcpu_count || index == g_vmm.current) return;
  cos::sys::asnd(g_vmm.vcpus[index].kick);
  g_vmm.yield_after = true;
}

// Linux: guest.img in real mode at 0000:8000, which starts the bzImage.
void start_linux(uint64_t ram) {
  const cos::boot::CompInfo& info = cos::self();
  const auto* loader = blob(".bootloader");
  const auto* kernel = blob(".kernel");
  const auto* initrd = blob(".initramfs");
  if (!loader || !kernel)
    cos::exit(cos::exit_status::kFailed, "no guest bootloader or kernel among my boot files (composition [component.guest])");
  cos::printf("simple_vmm: guest RAM %lu MiB, kernel %lu KiB, initramfs %lu KiB\n",
              static_cast<unsigned long>(ram >> 20), static_cast<unsigned long>(kernel->size >> 10),
              static_cast<unsigned long>(initrd ? initrd->size >> 10 : 0));
  cos::printf("simple_vmm: command line: %s\n", info.guest_cmdline);
  GuestImages img{reinterpret_cast<const uint8_t*>(loader->vaddr), loader->size,
                  reinterpret_cast<const uint8_t*>(kernel->vaddr), kernel->size,
                  initrd ? reinterpret_cast<const uint8_t*>(initrd->vaddr) : nullptr, initrd ? initrd->size : 0,
                  info.guest_cmdline};
  GuestLayout layout;
  if (auto s = load_guest(g_vmm.vm, ram, img, layout); !s) fail("loading the guest", s.error());
  create_vcpus();
  vmrt::Vcpu& bsp = g_vmm.vcpus[0].cpu;
  // The bootloader is assembled with VMCALL (0f 01 c1); every occurrence
  // becomes the backend's hypercall instruction.
  if (auto code = g_vmm.vm.gpa_to_hva(cos::guest::kBootloaderGpa, loader->size)) {
    uint8_t* p = code.value();
    for (size_t i = 0; i + 3 <= loader->size; ++i)
      if (p[i] == 0x0f && p[i + 1] == 0x01 && p[i + 2] == 0xc1)
        if (auto s = vmrt::write_hypercall(g_vmm.vm.memory(), cos::guest::kBootloaderGpa + i, bsp.backend()); !s)
          fail("patching the bootloader's hypercall", s.error());
  }
  vmrt::setup_real_mode(bsp, {.cs = 0, .ip = static_cast<uint16_t>(cos::guest::kBootloaderGpa)});
  cos::printf("simple_vmm: starting the vCPU (%s) in real mode at 0000:%04x\n",
              bsp.backend() == cos::vm::kBackendSvm ? "AMD SVM" : "Intel VMX", cos::guest::kBootloaderGpa);
  if (g_vmm.vcpu_count > 1)
    cos::printf("simple_vmm: %u vCPUs; vCPUs 1-%u wait for the guest's INIT-SIPI-SIPI\n", g_vmm.vcpu_count,
                g_vmm.vcpu_count - 1);
}

// Multiboot: the kernel and its modules loaded here, the vCPU in 32-bit
// protected mode at the kernel's entry (multiboot_loader.hpp).
void start_multiboot(uint64_t ram) {
  const cos::boot::CompInfo& info = cos::self();
  const auto* kernel = blob(".kernel");
  const auto* modules = blob(".modules");
  if (!kernel) cos::exit(cos::exit_status::kFailed, "no guest kernel among my boot files (composition [component.guest])");
  MultibootImages img{reinterpret_cast<const uint8_t*>(kernel->vaddr), kernel->size,
                      modules ? reinterpret_cast<const uint8_t*>(modules->vaddr) : nullptr, modules ? modules->size : 0,
                      info.guest_cmdline};
  MultibootEntry mb;
  if (auto s = load_multiboot(g_vmm.vm, ram, img, mb); !s) fail("loading the Multiboot kernel", s.error());
  cos::printf("simple_vmm: guest RAM %lu MiB, Multiboot kernel %#lx-%#lx, %u modules up to %#lx\n",
              static_cast<unsigned long>(ram >> 20), static_cast<unsigned long>(mb.kernel_start),
              static_cast<unsigned long>(mb.kernel_end), mb.module_count, static_cast<unsigned long>(mb.modules_end));
  cos::printf("simple_vmm: command line: %s\n", info.guest_cmdline);
  create_vcpus();
  vmrt::Vcpu& bsp = g_vmm.vcpus[0].cpu;
  vmrt::ProtectedModeConfig pm;
  pm.entry = mb.entry;
  pm.stack = kMultibootStackTop;
  pm.gdt_gpa = kMultibootGdtGpa;
  if (auto s = vmrt::setup_protected_mode(bsp, g_vmm.vm.memory(), pm); !s) fail("entering protected mode", s.error());
  bsp.set(vmrt::Reg::rax, cos::multiboot::kBootloaderMagic);
  bsp.set(vmrt::Reg::rbx, mb.info_gpa);
  cos::printf("simple_vmm: starting the vCPU (%s) in protected mode at %#x (Multiboot, info at %#x)\n",
              bsp.backend() == cos::vm::kBackendSvm ? "AMD SVM" : "Intel VMX", mb.entry, mb.info_gpa);
}

// Guest RAM as the virtio devices see it (DMA): a gpa range -> the VMM's mapping.
struct VmDma final : cos::dev::GuestMemory {
  uint8_t* span(uint64_t gpa, uint64_t len, uint64_t& n) override {
    const vmrt::Region* r = len ? g_vmm.vm.memory().find(gpa) : nullptr;
    if (!r) {
      n = 0;
      return nullptr;
    }
    uint64_t room = r->gpa + r->size - gpa;
    n = len < room ? len : room;
    return r->host + (gpa - r->gpa);
  }
};
VmDma g_dma;
ChannelDisk g_disk;
ChannelNet g_net;
char g_disk_serial[24];

// A MAC address "52:54:00:xx:xx:xx"; false if malformed.
bool parse_mac(const char* s, uint8_t (&mac)[6]) {
  for (int i = 0; i < 6; ++i) {
    unsigned v = 0;
    for (int k = 0; k < 2; ++k, ++s) {
      char c = *s;
      unsigned d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 16;
      if (d == 16) return false;
      v = v * 16 + d;
    }
    mac[i] = static_cast<uint8_t>(v);
    if (i < 5 && *s++ != ':') return false;
  }
  return *s == '\0' && !(mac[0] & 1);  // a unicast address
}

// Params `disk` and `net` name channels to a block and a switch component:
// the guest gets virtio-blk / virtio-net devices served by them.
void connect_backends(Platform::Config& cfg) {
  char why[128];
  if (const char* name = cos::param("disk")) {
    uint64_t timeout_ms = cos::param_u64("disk_timeout_ms", 5000);
    if (!g_disk.open(name, timeout_ms * 1000, why, sizeof(why))) cos::exit(cos::exit_status::kFailed, "disk: %s", why);
    cos::fmt::snformat(g_disk_serial, sizeof(g_disk_serial), "cos-%s", name);
    cfg.disk = &g_disk;
    cfg.disk_serial = g_disk_serial;
    cos::printf("simple_vmm: virtio-blk on channel '%s': %lu KiB%s\n", name,
                static_cast<unsigned long>(g_disk.capacity_sectors() / 2), g_disk.read_only() ? ", read-only" : "");
  }
  if (const char* name = cos::param("net")) {
    if (!g_net.open(name, why, sizeof(why))) cos::exit(cos::exit_status::kFailed, "net: %s", why);
    uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, static_cast<uint8_t>(0x10 + cos::self().id)};
    if (const char* m = cos::param("mac"); m && !parse_mac(m, mac))
      cos::exit(cos::exit_status::kFailed, "param mac = \"%s\" is not a unicast MAC address (52:54:00:12:34:56)", m);
    __builtin_memcpy(cfg.mac, mac, 6);
    cfg.net = &g_net;
    cos::printf("simple_vmm: virtio-net on channel '%s', MAC %02x:%02x:%02x:%02x:%02x:%02x\n", name, mac[0], mac[1],
                mac[2], mac[3], mac[4], mac[5]);
  }
  cfg.dma = &g_dma;
}

// vCPU threads: each runs one vCPU's exit loop (vmrt::Vcpu::run) and
// reports its end on g_vmm.done_snd.
constexpr uint64_t kVcpuStackPages = 32;  // 128 KiB

void run_vcpu(VcpuSlot& me) {
  enter(me);
  if (g_vmm.end == End::running) handle_startup(me);  // an AP waits for its SIPI here
  if (g_vmm.end == End::running) service_platform(me);
  leave(me);
  vmrt::RunOptions opts;
  opts.dynamic_timeout_us = &me.wait_us;
  opts.on_wakeup = on_wakeup;
  opts.wakeup_ctx = &me;
  while (g_vmm.end == End::running) {
    auto r = me.cpu.run(opts);
    if (g_vmm.end != End::running) break;
    if (!r) {
      char buf[120];
      r.error().format(buf, sizeof(buf));
      enter(me);
      if (g_vmm.end == End::running) end_vm(End::failed, "running vCPU %u failed: %s", me.index, buf);
      leave(me);
      break;
    }
  }
}

}  // namespace

extern "C" [[noreturn]] void simple_vmm_vcpu_main(uint64_t index) {
  run_vcpu(g_vmm.vcpus[index]);
  cos::sys::asnd(g_vmm.done_snd);
  cos::sys::thd_exit();
  __builtin_unreachable();
}

// The threads' entry: a 16-byte aligned stack, then simple_vmm_vcpu_main(rdi).
extern "C" void simple_vmm_vcpu_entry();
asm(".text\n"
    ".global simple_vmm_vcpu_entry\n"
    ".type simple_vmm_vcpu_entry, @function\n"
    "simple_vmm_vcpu_entry:\n"
    "  and $-16, %rsp\n"
    "  xor %ebp, %ebp\n"
    "  call simple_vmm_vcpu_main\n"
    "  ud2\n"
    ".size simple_vmm_vcpu_entry, . - simple_vmm_vcpu_entry\n");

namespace {

// The CPU vCPU `index` runs on: the index-th number of param `vcpu_cpus`
// (a comma-separated list, e.g. "1,0"), else index % CPUs online (spread).
uint64_t vcpu_cpu(unsigned index) {
  if (const char* p = cos::param("vcpu_cpus")) {
    for (unsigned i = 0;; ++i) {
      uint64_t cpu = 0;
      bool digits = false;
      for (; *p >= '0' && *p <= '9'; ++p, digits = true) cpu = cpu * 10 + static_cast<uint64_t>(*p - '0');
      if (!digits || (*p != ',' && *p != 0))
        cos::exit(cos::exit_status::kFailed, "param vcpu_cpus = \"%s\": give one CPU number per vCPU, e.g. \"0,1\"",
                  cos::param("vcpu_cpus"));
      if (i == index) return cpu;
      if (*p == 0)
        cos::exit(cos::exit_status::kFailed, "param vcpu_cpus = \"%s\" names fewer CPUs than the %u vCPUs",
                  cos::param("vcpu_cpus"), g_vmm.vcpu_count);
      ++p;
    }
  }
  const int64_t n = cos::sys::cpu_count();
  return n > 0 ? index % static_cast<uint64_t>(n) : 0;
}

// Puts vCPU `v`'s new thread on its CPU (vcpu_cpu); a CPU that is not
// online stops the VMM.
void place_vcpu_thread(VcpuSlot& v, uint64_t thd) {
  const uint64_t cpu = vcpu_cpu(v.index);
  if (cpu == 0) return;
  const int64_t r = cos::sys::thd_cpu(thd, cpu);
  if (r == static_cast<int64_t>(cos::abi::Error::bad_argument)) {
    cos::exit(cos::exit_status::kFailed, "vCPU %u: CPU %lu is not online (%ld CPUs; [system] cpus)", v.index,
              static_cast<unsigned long>(cpu), static_cast<long>(cos::sys::cpu_count()));
  } else if (r < 0) {
    fail("placing a vCPU thread", vmrt::sys_error("thd_cpu", r));
  } else {
    cos::printf("simple_vmm: vCPU %u on CPU %lu\n", v.index, static_cast<unsigned long>(cpu));
  }
}

// Starts vCPU i's thread on a stack in the VMM window, at the highest
// priority the component may give (its ceiling, which is its priority
// unless the script says otherwise): thd_start refuses with above_ceiling
// any higher one, so the first priority it takes is the ceiling.
void start_vcpu_thread(VcpuSlot& v) {
  vmrt::Env* env = g_vmm.vm.env();
  const cos::boot::CompInfo& info = cos::self();
  if (!info.comp_slot) cos::exit(cos::exit_status::kFailed, "vCPU threads need caps = [\"comp\"] in the composition script");
  auto frame = env->slots.alloc();
  auto thd = env->slots.alloc();
  if (!frame || !thd) fail("slots for a vCPU thread", (!frame ? frame : thd).error());
  int64_t r = cos::sys::retype(env->untyped, frame.value(), cos::abi::ObjType::frame, kVcpuStackPages);
  if (r < 0) fail("a vCPU thread's stack", vmrt::sys_error("retype(frame)", r));
  auto hva = env->reserve_window(kVcpuStackPages * 4096);
  if (!hva) fail("a vCPU thread's stack", hva.error());
  if (auto m = env->map_into_window(hva.value(), frame.value(), 0, kVcpuStackPages); !m)
    fail("a vCPU thread's stack", m.error());
  r = cos::sys::thd_create(env->untyped, thd.value(), info.comp_slot,
                           reinterpret_cast<uint64_t>(&simple_vmm_vcpu_entry), v.index);
  if (r < 0) fail("a vCPU thread", vmrt::sys_error("thd_create", r));
  place_vcpu_thread(v, thd.value());
  const uint64_t top = hva.value() + kVcpuStackPages * 4096;
  for (uint64_t prio = 0; prio <= 255; ++prio) {
    r = cos::sys::thd_start(thd.value(), top, prio);
    if (r != static_cast<int64_t>(cos::abi::Error::above_ceiling)) break;
  }
  if (r < 0) fail("starting a vCPU thread", vmrt::sys_error("thd_start", r));
  v.thread = thd.value();
}

}  // namespace

int main() {
  const cos::boot::CompInfo& info = cos::self();
  uint64_t ram = info.guest_ram_bytes ? info.guest_ram_bytes : 256ull << 20;
  uint64_t rtc_slot = 0;
  g_vmm.console_slot = info.console_slot;
  for (uint32_t i = 0; i < info.ioport_count; ++i) {
    if (info.ioports[i].first <= 0x70 && 0x72 <= info.ioports[i].first + info.ioports[i].count)
      rtc_slot = info.ioports[i].slot;
  }

  // Param `vcpus` (1..8; the composer checks it too).
  const uint64_t vcpus = cos::param_u64("vcpus", 1);
  if (vcpus < 1 || vcpus > kMaxVcpus)
    cos::exit(cos::exit_status::kFailed, "param vcpus = %lu: a guest has 1 to %u vCPUs", static_cast<unsigned long>(vcpus),
              kMaxVcpus);
  g_vmm.vcpu_count = static_cast<unsigned>(vcpus);
  if (vcpus > 1 && (cos::param("disk") || cos::param("net")))
    cos::exit(cos::exit_status::kFailed,
              "vcpus > 1 with a disk or net channel is not supported yet (the backends wait on vCPU 0's endpoint)");
  if (auto s = g_vmm.vm.create(); !s) fail("creating the VM", s.error());
  g_vmm.vm.set_large_pages(cos::param_u64("large_pages", 1) != 0);
  // RAM below the 32-bit MMIO hole, and the rest from 4 GiB (pc_memory_map).
  if (auto s = g_vmm.vm.add_ram(0, cos_limits::guest_low_ram(ram)); !s) fail("allocating guest RAM", s.error());
  if (const uint64_t high = cos_limits::guest_high_ram(ram); high != 0)
    if (auto s = g_vmm.vm.add_ram(cos_limits::kGuestHighRamBase, high); !s) fail("allocating guest RAM", s.error());
  cos::printf("simple_vmm: guest RAM mapped with %lu 2 MiB and %lu 4 KiB guest pages\n", g_vmm.vm.large_mappings(),
              g_vmm.vm.small_mappings());
  if (info.guest_kind == cos::boot::kGuestMultiboot)
    start_multiboot(ram);
  else
    start_linux(ram);

  // fw_cfg's "etc/e820": the memory map as QEMU gives it (20-byte entries).
  static uint8_t e820_file[20 * cos::guest::kMaxE820];
  cos::guest::E820Entry map[cos::guest::kMaxE820];
  const unsigned entries = pc_memory_map(ram, map);
  for (unsigned i = 0; i < entries; ++i) {
    __builtin_memcpy(e820_file + 20 * i, &map[i].addr, 8);
    __builtin_memcpy(e820_file + 20 * i + 8, &map[i].size, 8);
    __builtin_memcpy(e820_file + 20 * i + 16, &map[i].type, 4);
  }
  Platform::Config cfg{};
  cfg.tsc_hz = measure_tsc_hz();
  cfg.console_out = console_out;
  if (const char* p = cos::param("console_prefix")) g_prefix = p;
  cfg.ram_bytes = ram;
  cfg.cmdline = info.guest_cmdline;
  cfg.e820 = e820_file;
  cfg.e820_bytes = 20 * entries;
  cfg.vcpus = g_vmm.vcpu_count;
  cfg.wakeup = wake_vcpu;
  host_date(rtc_slot, cfg);
  connect_backends(cfg);
  g_vmm.clock.init(cfg.tsc_hz, epoch_of(cfg), now_ns());
  auto tables = g_vmm.vm.gpa_to_hva(kTablesGpa, kTablesSize);
  if (!tables || !g_vmm.pc.init(cfg, tables.value(), kTablesGpa, kTablesSize))
    cos::exit(cos::exit_status::kFailed, "setting up the devices failed");

  if (const char* t = cos::param("trace")) {
    for (; *t >= '0' && *t <= '9'; ++t) g_vmm.trace_every = g_vmm.trace_every * 10 + static_cast<uint64_t>(*t - '0');
  }

  // Console input (hardware.console): the kernel queues what is typed on its
  // console for the vCPU's wake-up endpoint, whose notification ends the
  // run (or the HLT sleep) so the bytes reach the guest's UART.
  if (g_vmm.console_slot) {
    int64_t r = cos::sys::console_bind(g_vmm.console_slot, g_vmm.vcpus[0].cpu.wakeup_endpoint(), 1);
    if (r < 0) {
      cos::printf("simple_vmm: binding console input failed: %s\n", cos::abi::error_name(r));
    } else {
      // `./cos run` holds piped input until this line (docs/running.md).
      cos::printf("cos: console input ready\n");
    }
  }

  // One thread per vCPU; this thread waits until they have all ended.
  {
    vmrt::Env* env = g_vmm.vm.env();
    auto rcv = env->slots.alloc();
    auto snd = env->slots.alloc();
    if (!rcv || !snd) fail("slots for the vCPU threads' end", (!rcv ? rcv : snd).error());
    int64_t r = cos::sys::retype(env->untyped, rcv.value(), cos::abi::ObjType::rcv, 1);
    if (r == 0) r = cos::sys::asnd_create(env->untyped, snd.value(), rcv.value());
    if (r < 0) fail("the vCPU threads' end endpoint", vmrt::sys_error("retype/asnd_create", r));
    g_vmm.done_rcv = rcv.value();
    g_vmm.done_snd = snd.value();
  }
  for (unsigned i = 0; i < g_vmm.vcpu_count; ++i) start_vcpu_thread(g_vmm.vcpus[i]);
  for (unsigned ended = 0; ended < g_vmm.vcpu_count;) {
    int64_t n = cos::sys::rcv(g_vmm.done_rcv, 0, 0);
    if (n > 0) ended += static_cast<unsigned>(n);
  }
  flush_console();
  const char* how = g_vmm.end == End::poweroff       ? "powered off"
                    : g_vmm.end == End::reboot       ? "rebooted"
                    : g_vmm.end == End::triple_fault ? "triple-faulted"
                    : g_vmm.end == End::debug_exit   ? "exited through isa-debug-exit"
                                                     : "stopped";
  uint64_t exits = 0;
  for (unsigned i = 0; i < g_vmm.vcpu_count; ++i) exits += g_vmm.vcpus[i].cpu.exit_count();
  cos::printf("simple_vmm: guest %s after %lu exits\n", how, static_cast<unsigned long>(exits));
  // Exits the VMM handled, by reason (host interrupts the kernel kept are
  // only in the total above).
  cos::printf("simple_vmm: exits by reason:");
  for (unsigned r = 0; r < 32; ++r)
    if (g_vmm.exits_by_reason[r])
      cos::printf(" %s=%lu", vmrt::exit_reason_name(static_cast<cos::vm::ExitReason>(r)),
                  static_cast<unsigned long>(g_vmm.exits_by_reason[r]));
  cos::printf("\n");
  g_vmm.pc.print_device_stats();
  return finish();
}
