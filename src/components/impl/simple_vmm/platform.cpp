#include "simple_vmm/platform.hpp"

#include <new>

#include "runtime/cos.hpp"
#include "devices/devices.hpp"

namespace cos::simple_vmm {
namespace {

using namespace cos::dev;

constexpr uint64_t kLapicBase = 0xfee00000, kIoApicBase = 0xfec00000;

// Kernel time as the devices' clock; the guest sees the host TSC.
struct KernelClock final : Clock, TscSource {
  uint64_t now_ns() const override { return static_cast<uint64_t>(cos::sys::time_now()) * 1000; }
  uint64_t guest_tsc() const override {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<uint64_t>(hi) << 32) | lo;
  }
};

// All devices of the PC, built once in init() (placement into static storage:
// they hold references to each other).
struct Devices {
  KernelClock clock;
  Pic8259Pair pic;
  ApicBus bus;
  IoApic ioapic;
  IsaIrqRouter isa;
  // One local APIC per vCPU (APIC ID = index), on `bus`.
  alignas(LocalApic) unsigned char lapic_storage[Platform::kMaxVcpus][sizeof(LocalApic)];
  LocalApic* lapics[Platform::kMaxVcpus] = {};
  unsigned vcpus = 1;
  Pit8254 pit;
  Uart8250 com1;
  CmosRtc rtc;
  PciHost pci;
  Port80 port80;
  I8042 i8042;
  AcpiPm pm;
  DebugExit debug_exit;
  FwCfg fw_cfg;
  PortBus ports;
  MmioBus mmio;
  TimerSet timers;
  bool reset = false;
  bool poweroff = false;

  Devices(const Platform::Config& cfg, const RtcDate& date, const LocalApic::Config& lc)
      : ioapic(&bus, 1),
        isa(&pic, &ioapic),
        pit(clock, &isa),
        com1(clock, &isa, Uart8250::Config{}),
        rtc(clock, &isa, date),
        i8042(&isa),
        pm(clock),
        fw_cfg(FwCfg::Config{cfg.ram_bytes, static_cast<uint16_t>(cfg.vcpus), cfg.cmdline}) {
    vcpus = cfg.vcpus;
    for (unsigned i = 0; i < vcpus; ++i) {
      LocalApic::Config c = lc;
      c.apic_id = i;
      c.bsp = i == 0;
      lapics[i] = new (lapic_storage[i]) LocalApic(clock, c, &clock);
      bus.add(*lapics[i]);
    }
  }
};

alignas(Devices) unsigned char g_storage[sizeof(Devices)];
Devices* g_dev;

// The virtio devices, built only when the composition asks for them.
struct Virtio {
  ApicMsiSink msi;
  alignas(VirtioBlk) unsigned char blk_storage[sizeof(VirtioBlk)];
  alignas(VirtioPci) unsigned char blk_fn_storage[sizeof(VirtioPci)];
  alignas(VirtioNet) unsigned char net_storage[sizeof(VirtioNet)];
  alignas(VirtioPci) unsigned char net_fn_storage[sizeof(VirtioPci)];
  VirtioBlk* blk = nullptr;
  VirtioNet* net = nullptr;
  explicit Virtio(ApicBus& bus) : msi(bus) {}
};
alignas(Virtio) unsigned char g_virtio_storage[sizeof(Virtio)];
Virtio* g_virtio;

// A guest that breaks a virtio rule stops that device only (it sets
// DEVICE_NEEDS_RESET); the VM and the other devices go on.
void on_virtio_error(void* what, const VirtioError& e) {
  cos::printf("simple_vmm: %s: the guest broke the virtio rules (%s, queue %u, value %#lx); device stopped until the guest resets it\n",
              static_cast<const char*>(what), virtio_errc_name(e.code), e.queue, static_cast<unsigned long>(e.value));
}

bool add_virtio(Devices& d, const Platform::Config& cfg) {
  if (!cfg.disk && !cfg.net) return true;
  if (!cfg.dma) return false;
  g_virtio = new (g_virtio_storage) Virtio(d.bus);
  Virtio& v = *g_virtio;
  d.pci.set_interrupt_targets(&v.msi, &d.ioapic);
  if (cfg.disk) {
    v.blk = new (v.blk_storage) VirtioBlk(*cfg.dma, *cfg.disk, cfg.disk_serial);
    v.blk->set_error_callback(on_virtio_error, const_cast<char*>("virtio-blk"));
    if (!d.pci.attach(1, *new (v.blk_fn_storage) VirtioPci(*v.blk))) return false;
  }
  if (cfg.net) {
    v.net = new (v.net_storage) VirtioNet(*cfg.dma, *cfg.net, cfg.mac);
    v.net->set_error_callback(on_virtio_error, const_cast<char*>("virtio-net"));
    if (!d.pci.attach(2, *new (v.net_fn_storage) VirtioPci(*v.net))) return false;
  }
  return d.mmio.add(Platform::kPciMmioBase, Platform::kPciMmioBytes, d.pci);
}
void (*g_console_out)(uint8_t);

// Host console input waiting for room in the guest UART's receive FIFO.
uint8_t g_input[4096];
size_t g_input_head, g_input_len;
// When the guest enabled the receive interrupt (0: not yet). Linux's 8250
// start-up reads and discards the receive register right around enabling it,
// so input waits a little longer (kInputSettleNs) before it is fed.
uint64_t g_rx_enabled_at;
constexpr uint64_t kInputSettleNs = 50'000'000;

void log_unknown_port(void*, uint16_t port, bool write, unsigned size, uint32_t value) {
  if (write)
    cos::printf("simple_vmm: guest wrote %#x to unknown port %#x (%u bytes); ignored\n", value, port, size);
  else
    cos::printf("simple_vmm: guest read unknown port %#x (%u bytes); answered all-ones\n", port, size);
}

}  // namespace

bool Platform::init(const Config& cfg, uint8_t* tables, uint32_t tables_gpa, uint32_t tables_size) {
  RtcDate date;
  date.year = static_cast<uint16_t>(cfg.year);
  date.month = static_cast<uint8_t>(cfg.month);
  date.day = static_cast<uint8_t>(cfg.day);
  date.hour = static_cast<uint8_t>(cfg.hour);
  date.minute = static_cast<uint8_t>(cfg.minute);
  date.second = static_cast<uint8_t>(cfg.second);
  LocalApic::Config lc;
  lc.tsc_hz = cfg.tsc_hz;
  if (cfg.vcpus < 1 || cfg.vcpus > kMaxVcpus) return false;
  g_dev = new (g_storage) Devices(cfg, date, lc);
  Devices& d = *g_dev;
  g_console_out = cfg.console_out;
  // The 8259A pair reaches the BSP's LINT0 only (virtual wire mode, MP spec
  // §3.6.2.2); every APIC's level-triggered EOIs go to the I/O APIC.
  d.lapics[0]->set_ext_int_source(&d.pic);
  for (unsigned i = 0; i < d.vcpus; ++i) d.lapics[i]->set_eoi_listener(&d.ioapic);
  d.bus.set_wakeup(cfg.wakeup, cfg.wakeup_ctx);
  d.com1.set_output([](void*, uint8_t b) { g_console_out(b); }, nullptr);
  d.i8042.set_reset_callback([](void*) { g_dev->reset = true; }, nullptr);
  d.pci.set_reset_callback([](void*) { g_dev->reset = true; }, nullptr);
  d.pm.set_poweroff_callback([](void*) { g_dev->poweroff = true; }, nullptr);
  d.ports.set_unknown_port_log(log_unknown_port, nullptr);
  bool ok = d.ports.add(0x20, 2, d.pic) && d.ports.add(0xa0, 2, d.pic) && d.ports.add(0x4d0, 2, d.pic) &&
            d.ports.add(0x40, 4, d.pit) && d.ports.add(0x61, 1, d.pit) && d.ports.add(0x60, 1, d.i8042) &&
            d.ports.add(0x64, 1, d.i8042) && d.ports.add(0x70, 2, d.rtc) && d.ports.add(0x80, 1, d.port80) &&
            d.ports.add(0x3f8, 8, d.com1) && d.ports.add(0xcf8, 8, d.pci, 4) && d.ports.add(0x600, 12, d.pm, 4) &&
            d.ports.add(DebugExit::kBase, DebugExit::kPorts, d.debug_exit, 4) &&
            d.ports.add(FwCfg::kSelectorPort, 2, d.fw_cfg, 4);
  ok = ok && (!cfg.e820 || d.fw_cfg.add_file("etc/e820", cfg.e820, cfg.e820_bytes) != 0);
  // The local APIC pages are per vCPU (mmio_read/mmio_write pick the asking
  // vCPU's APIC); the bus holds the shared devices only.
  ok = ok && d.mmio.add(kIoApicBase, 0x1000, d.ioapic);
  ok = ok && d.timers.add(d.pit) && d.timers.add(d.com1) && d.timers.add(d.rtc);
  if (!ok || !add_virtio(d, cfg)) return false;
  // ACPI tables (the Debian cloud kernel has no MP-table support) in the
  // first half of the area, MP tables for other kernels in the second.
  uint32_t half = tables_size / 2;
  AcpiTables::Config acpi;
  acpi.cpus = static_cast<uint8_t>(d.vcpus);
  MpTable::Config mp;
  mp.cpus = static_cast<uint8_t>(d.vcpus);
  acpi.pci.present = g_virtio != nullptr;
  acpi.pci.mmio_base = static_cast<uint32_t>(kPciMmioBase);
  acpi.pci.mmio_size = static_cast<uint32_t>(kPciMmioBytes);
  return AcpiTables::build(tables, half, tables_gpa, acpi) != 0 &&
         MpTable::build(tables + half, tables_size - half, tables_gpa + half, mp) != 0;
}

uint32_t Platform::io_in(uint16_t port, unsigned size) { return g_dev->ports.read(port, size); }
void Platform::io_out(uint16_t port, unsigned size, uint32_t value) { g_dev->ports.write(port, size, value); }

bool Platform::is_mmio(uint64_t gpa) const {
  // Never a probing read: reading a virtio ISR register clears it.
  return g_dev->mmio.contains(gpa) || (gpa & ~0xfffull) == kLapicBase || (gpa & ~0xfffull) == kIoApicBase;
}
LocalApic& Platform::lapic(unsigned cpu) { return *g_dev->lapics[cpu < g_dev->vcpus ? cpu : 0]; }

// The asking vCPU's APIC page (wherever IA32_APIC_BASE put it; all ones
// while it is in x2APIC mode or disabled), else the shared MMIO bus.
bool Platform::mmio_read(unsigned cpu, uint64_t gpa, unsigned size, uint64_t& value) {
  LocalApic& a = lapic(cpu);
  if ((gpa & ~0xfffull) == a.base()) {
    value = a.read(gpa & 0xfff, size);
    return true;
  }
  return g_dev->mmio.read(gpa, size, value);
}
bool Platform::mmio_write(unsigned cpu, uint64_t gpa, unsigned size, uint64_t value) {
  LocalApic& a = lapic(cpu);
  if ((gpa & ~0xfffull) == a.base()) {
    a.write(gpa & 0xfff, size, value);
    return true;
  }
  return g_dev->mmio.write(gpa, size, value);
}

MsrResult Platform::apic_msr_read(unsigned cpu, uint32_t index, uint64_t& value) {
  return lapic(cpu).read_msr(index, value) ? MsrResult::done : MsrResult::gp;
}
MsrResult Platform::apic_msr_write(unsigned cpu, uint32_t index, uint64_t value) {
  return lapic(cpu).write_msr(index, value) ? MsrResult::done : MsrResult::gp;
}

void Platform::advance(unsigned cpu, uint64_t now_ns) {
  g_dev->timers.advance(now_ns);
  lapic(cpu).advance(now_ns);
}
uint64_t Platform::next_deadline_ns(unsigned cpu) const {
  uint64_t t = g_dev->lapics[cpu < g_dev->vcpus ? cpu : 0]->next_deadline_ns();
  if (cpu != 0) return t;
  uint64_t s = g_dev->timers.next_deadline_ns();
  if (s < t) t = s;
  if (g_input_len && g_rx_enabled_at && g_rx_enabled_at + kInputSettleNs < t) t = g_rx_enabled_at + kInputSettleNs;
  return t;
}

bool Platform::pending_vector(unsigned cpu, uint8_t& vector) {
  int v = lapic(cpu).highest_pending();
  if (v < 0) return false;
  vector = static_cast<uint8_t>(v);
  return true;
}

void Platform::acknowledge(unsigned cpu, uint8_t) { lapic(cpu).ack(); }

void Platform::host_input(uint8_t byte) {
  if (g_input_len == sizeof(g_input)) return;
  g_input[(g_input_head + g_input_len++) % sizeof(g_input)] = byte;
  pump_input();
}

bool Platform::host_input_room() const { return g_input_len < sizeof(g_input); }

void Platform::pump_input() {
  // Until the guest reads the console (its driver enables the receive
  // interrupt when the shell opens the tty), input stays queued: the boot-time
  // driver would discard it, and scripted sessions type ahead.
  if (!g_dev->com1.rx_interrupt_enabled()) {
    g_rx_enabled_at = 0;
    return;
  }
  uint64_t now = g_dev->clock.now_ns();
  if (!g_rx_enabled_at) g_rx_enabled_at = now;
  if (now - g_rx_enabled_at < kInputSettleNs) return;
  bool pushed = false;
  while (g_input_len && g_dev->com1.rx_room()) {
    g_dev->com1.push_input(g_input[g_input_head]);
    g_input_head = (g_input_head + 1) % sizeof(g_input);
    --g_input_len;
    pushed = true;
  }
  // Host input arrives far slower than the line rate: by the time the guest
  // looks, the receiver has been idle for more than four character times,
  // so the character-timeout interrupt is due now (PC16550D) rather than
  // waiting for the FIFO trigger level.
  if (pushed) g_dev->com1.advance(now + 1'000'000'000ull);
}
void Platform::poll_net() {
  if (g_virtio && g_virtio->net) g_virtio->net->poll_rx();
}
void Platform::print_device_stats() const {
  if (!g_virtio) return;
  if (const VirtioNet* n = g_virtio->net) {
    const VirtioNet::Stats& s = n->stats();
    cos::printf("simple_vmm: virtio-net: sent %lu frames (%lu bytes, %lu dropped, %lu bad), received %lu frames (%lu bytes, %lu dropped)\n",
                static_cast<unsigned long>(s.tx_frames), static_cast<unsigned long>(s.tx_bytes),
                static_cast<unsigned long>(s.tx_dropped), static_cast<unsigned long>(s.tx_errors),
                static_cast<unsigned long>(s.rx_frames), static_cast<unsigned long>(s.rx_bytes),
                static_cast<unsigned long>(s.rx_dropped));
  }
  if (const VirtioBlk* b = g_virtio->blk) {
    const VirtioBlk::Stats& s = b->stats();
    cos::printf("simple_vmm: virtio-blk: %lu requests ok, %lu I/O errors, %lu unsupported; %lu sectors read, %lu written\n",
                static_cast<unsigned long>(s.ok), static_cast<unsigned long>(s.io_errors),
                static_cast<unsigned long>(s.unsupported), static_cast<unsigned long>(s.sectors_read),
                static_cast<unsigned long>(s.sectors_written));
  }
}
bool Platform::reset_requested() const { return g_dev->reset; }
bool Platform::poweroff_requested() const { return g_dev->poweroff; }
bool Platform::debug_exit_requested(uint32_t& value) const { return g_dev->debug_exit.exited(value); }

}  // namespace cos::simple_vmm
