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

vmrt::Action on_wakeup(vmrt::Vcpu&, void*) {
  service_platform();
  return g_vmm.end == End::running ? vmrt::Action::resume : vmrt::Action::stop;
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
    if (cos::sys::console_read(g_vmm.console_slot, g_vmm.cpu.wakeup_endpoint(), &byte, 1) != 1) break;
    g_vmm.pc.host_input(byte);
  }
}

bool service_platform() {
  poll_host_console();
  g_vmm.pc.poll_net();
  return deliver_interrupts();
}

bool deliver_interrupts() {
  if (g_vmm.notified) {
    g_vmm.notified = false;
    poll_host_console();
    g_vmm.pc.poll_net();
  }
  g_vmm.pc.pump_input();
  uint64_t now = now_ns();
  g_vmm.pc.advance(now);
  // The kernel holds at most one external interrupt for the vCPU; if one is
  // still queued, vcpu_inject refuses and the vector stays in the APIC's IRR.
  uint8_t vector;
  bool pending = g_vmm.pc.pending_vector(vector);
  if (pending && g_vmm.cpu.inject_interrupt(vector)) g_vmm.pc.acknowledge(vector);
  // A partial line goes out now (a shell prompt must show), except with a
  // prefix (several VMs on one console): then only once it has waited 50 ms
  // for its newline, so that lines of different VMs rarely cut each other.
  if (!*g_prefix || now - g_partial_since_ns >= 50'000'000) flush_console();
  uint64_t next = g_vmm.pc.next_deadline_ns();
  if (next == ~0ull) g_vmm.wait_us = 0;
  else g_vmm.wait_us = next > now ? (next - now + 999) / 1000 : 1;
  return pending;
}

}  // namespace cos::simple_vmm

using namespace cos::simple_vmm;

namespace {

// The vCPU, with the MSR checks of the CPU the guest sees (vendor, address
// width, features).
void create_vcpu() {
  g_vmm.msrs.init(vmrt::GuestCpu::from_cpuid(
      [](void*, uint32_t leaf, uint32_t subleaf, uint32_t* r) {
        CpuidRegs c = guest_cpuid(host_cpuid, leaf, subleaf);
        r[0] = c.eax, r[1] = c.ebx, r[2] = c.ecx, r[3] = c.edx;
      },
      nullptr));
  vmrt::VcpuConfig vc;
  // With channels, backends notify one endpoint; the vCPU wakes on it.
  vc.wake_rcv_slot = cos::chan::notify_endpoint();
  vc.save_mask = cos::vm::Load::cr | cos::vm::Load::segments | cos::vm::Load::syscall_msrs |
                 cos::vm::Load::interruptibility;
  if (auto s = g_vmm.cpu.create(g_vmm.vm, vc); !s) fail("creating the vCPU", s.error());
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
  create_vcpu();
  // The bootloader is assembled with VMCALL (0f 01 c1); every occurrence
  // becomes the backend's hypercall instruction.
  if (auto code = g_vmm.vm.gpa_to_hva(cos::guest::kBootloaderGpa, loader->size)) {
    uint8_t* p = code.value();
    for (size_t i = 0; i + 3 <= loader->size; ++i)
      if (p[i] == 0x0f && p[i + 1] == 0x01 && p[i + 2] == 0xc1)
        if (auto s = vmrt::write_hypercall(g_vmm.vm.memory(), cos::guest::kBootloaderGpa + i, g_vmm.cpu.backend()); !s)
          fail("patching the bootloader's hypercall", s.error());
  }
  vmrt::setup_real_mode(g_vmm.cpu, {.cs = 0, .ip = static_cast<uint16_t>(cos::guest::kBootloaderGpa)});
  cos::printf("simple_vmm: starting the vCPU (%s) in real mode at 0000:%04x\n",
              g_vmm.cpu.backend() == cos::vm::kBackendSvm ? "AMD SVM" : "Intel VMX", cos::guest::kBootloaderGpa);
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
  create_vcpu();
  vmrt::ProtectedModeConfig pm;
  pm.entry = mb.entry;
  pm.stack = kMultibootStackTop;
  pm.gdt_gpa = kMultibootGdtGpa;
  if (auto s = vmrt::setup_protected_mode(g_vmm.cpu, g_vmm.vm.memory(), pm); !s) fail("entering protected mode", s.error());
  g_vmm.cpu.set(vmrt::Reg::rax, cos::multiboot::kBootloaderMagic);
  g_vmm.cpu.set(vmrt::Reg::rbx, mb.info_gpa);
  cos::printf("simple_vmm: starting the vCPU (%s) in protected mode at %#x (Multiboot, info at %#x)\n",
              g_vmm.cpu.backend() == cos::vm::kBackendSvm ? "AMD SVM" : "Intel VMX", mb.entry, mb.info_gpa);
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
  host_date(rtc_slot, cfg);
  connect_backends(cfg);
  g_vmm.clock.init(cfg.tsc_hz, epoch_of(cfg), now_ns());
  auto tables = g_vmm.vm.gpa_to_hva(kTablesGpa, kTablesSize);
  if (!tables || !g_vmm.pc.init(cfg, tables.value(), kTablesGpa, kTablesSize))
    cos::exit(cos::exit_status::kFailed, "setting up the devices failed");

  install_exit_handlers();
  if (const char* t = cos::param("trace")) {
    for (; *t >= '0' && *t <= '9'; ++t) g_vmm.trace_every = g_vmm.trace_every * 10 + static_cast<uint64_t>(*t - '0');
  }

  // Console input (hardware.console): the kernel queues what is typed on its
  // console for the vCPU's wake-up endpoint, whose notification ends the
  // run (or the HLT sleep) so the bytes reach the guest's UART.
  if (g_vmm.console_slot) {
    int64_t r = cos::sys::console_bind(g_vmm.console_slot, g_vmm.cpu.wakeup_endpoint(), 1);
    if (r < 0) {
      cos::printf("simple_vmm: binding console input failed: %s\n", cos::abi::error_name(r));
    } else {
      // `./cos run` holds piped input until this line (docs/running.md).
      cos::printf("cos: console input ready\n");
    }
  }

  service_platform();
  vmrt::RunOptions opts;
  opts.dynamic_timeout_us = &g_vmm.wait_us;
  opts.on_wakeup = on_wakeup;
  for (;;) {
    auto r = g_vmm.cpu.run(opts);
    if (g_vmm.end != End::running) break;
    if (!r) {
      char buf[120];
      r.error().format(buf, sizeof(buf));
      end_vm(End::failed, "running the vCPU failed: %s", buf);
      break;
    }
  }
  flush_console();
  const char* how = g_vmm.end == End::poweroff       ? "powered off"
                    : g_vmm.end == End::reboot       ? "rebooted"
                    : g_vmm.end == End::triple_fault ? "triple-faulted"
                    : g_vmm.end == End::debug_exit   ? "exited through isa-debug-exit"
                                                     : "stopped";
  cos::printf("simple_vmm: guest %s after %lu exits\n", how, static_cast<unsigned long>(g_vmm.cpu.exit_count()));
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
