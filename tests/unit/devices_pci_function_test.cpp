// cos::dev::PciFunction, MsixTable, decode_msi and PciHost with endpoint
// functions: the configuration header, BAR size probing the way Linux's
// __pci_read_base does it, capability list walking, command register
// decode enables, MSI-X table/PBA programming and masking, INTx, BAR
// assignment in the MMIO window and routing of guest accesses.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "unit/devices_test_util.hpp"
#include "devices/msi.hpp"
#include "devices/pci_function.hpp"
#include "devices/pci_host.hpp"
#include "devices/port_bus.hpp"

using namespace cos::dev;
using namespace devtest;

namespace {

// A function with a 4 KiB register BAR0 (plain storage), an 8 KiB BAR2
// holding the MSI-X table at 0x1000 and the PBA at 0x1800, and one vendor
// capability.
struct TestFunction final : PciFunction {
  static constexpr Identity kId{0x1234, 0x5678, 0x1af4, 0x0042, 3, 0x020000};
  uint8_t regs[4096] = {};
  uint8_t vendor_cap = 0, msix_cap = 0;
  TestFunction() : PciFunction(kId) {
    EXPECT_TRUE(define_bar(0, 4096));
    EXPECT_TRUE(define_bar(2, 8192));
    msix_cap = add_msix(5, 2, 0x1000, 2, 0x1800);
    vendor_cap = add_capability(kCapVendor, 7);
    config_bytes()[vendor_cap + 2] = 7;
  }
  uint64_t bar_read(unsigned bar, uint64_t off, unsigned size) override {
    uint64_t v = 0;
    if (bar == 0) std::memcpy(&v, regs + off, size);
    return v;
  }
  void bar_write(unsigned bar, uint64_t off, unsigned size, uint64_t v) override {
    if (bar == 0) std::memcpy(regs + off, &v, size);
  }
  bool try_define(unsigned i, uint32_t size) { return define_bar(i, size); }
};

struct MsiRecorder final : MsiSink {
  struct Msg {
    uint64_t address;
    uint32_t data;
  };
  std::vector<Msg> messages;
  bool accept = true;
  bool send_msi(uint64_t a, uint32_t d) override {
    messages.push_back({a, d});
    return accept;
  }
};

uint32_t cfg_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg) {
  return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

struct PciFunctionTest : ::testing::Test {
  PciHost pci;
  PortBus ports;
  TestFunction fn;
  MsiRecorder msi;
  IrqRecorder irq;
  static constexpr unsigned kSlot = 3;

  void SetUp() override {
    ASSERT_TRUE(ports.add(0xcf8, 8, pci, 4));
    pci.set_interrupt_targets(&msi, &irq);
    ASSERT_TRUE(pci.attach(kSlot, fn));
  }
  // Configuration cycles through the ports, as the guest makes them.
  uint32_t cfg_read(unsigned reg, unsigned size) {
    ports.write(0xcf8, 4, cfg_addr(0, kSlot, 0, reg));
    return ports.read(static_cast<uint16_t>(0xcfc + (reg & 3)), size);
  }
  void cfg_write(unsigned reg, unsigned size, uint32_t v) {
    ports.write(0xcf8, 4, cfg_addr(0, kSlot, 0, reg));
    ports.write(static_cast<uint16_t>(0xcfc + (reg & 3)), size, v);
  }
  // Guest MMIO into the window (MmioBus would pass offsets from mmio_base).
  uint64_t mmio_read(uint64_t gpa, unsigned size) { return pci.read(gpa - pci.config().mmio_base, size); }
  void mmio_write(uint64_t gpa, unsigned size, uint64_t v) { pci.write(gpa - pci.config().mmio_base, size, v); }
  void enable(uint16_t bits) { cfg_write(PciFunction::kCommand, 2, cfg_read(PciFunction::kCommand, 2) | bits); }

  // Linux's __pci_read_base for a 32-bit memory BAR: save, write all ones,
  // read the mask, restore; the size is ~(mask & ~0xf) + 1.
  uint32_t probe_bar_size(unsigned i) {
    unsigned reg = PciFunction::kBar0 + 4 * i;
    uint16_t cmd = static_cast<uint16_t>(cfg_read(PciFunction::kCommand, 2));
    cfg_write(PciFunction::kCommand, 2, cmd & ~(PciFunction::kCmdMemory | PciFunction::kCmdIo));
    uint32_t saved = cfg_read(reg, 4);
    cfg_write(reg, 4, 0xffffffff);
    uint32_t mask = cfg_read(reg, 4);
    cfg_write(reg, 4, saved);
    cfg_write(PciFunction::kCommand, 2, cmd);
    if (!mask) return 0;
    return ~(mask & ~0xfu) + 1;
  }
};

TEST_F(PciFunctionTest, HeaderIdentity) {
  EXPECT_EQ(cfg_read(0x00, 4), 0x56781234u);
  EXPECT_EQ(cfg_read(0x08, 4), 0x02000003u);  // class 02/00/00, revision 3
  EXPECT_EQ(cfg_read(0x0e, 1), 0x00u);        // header type 0, single function
  EXPECT_EQ(cfg_read(0x2c, 4), 0x00421af4u);  // subsystem
  EXPECT_EQ(cfg_read(0x3d, 1), 1u);           // INTA#
  EXPECT_EQ(cfg_read(0x3c, 1), pci.intx_gsi(kSlot));
  EXPECT_EQ(cfg_read(0x06, 2) & PciFunction::kStatusCapList, PciFunction::kStatusCapList);
  EXPECT_EQ(cfg_read(0x30, 4), 0u);  // no expansion ROM
  cfg_write(0x30, 4, 0xfffff800);
  EXPECT_EQ(cfg_read(0x30, 4), 0u);
  cfg_write(0x00, 4, 0);  // read-only
  EXPECT_EQ(cfg_read(0x00, 4), 0x56781234u);
  // Other functions of the slot and the slot next to it are absent.
  ports.write(0xcf8, 4, cfg_addr(0, kSlot, 1, 0));
  EXPECT_EQ(ports.read(0xcfc, 4), 0xffffffffu);
  ports.write(0xcf8, 4, cfg_addr(0, kSlot + 1, 0, 0));
  EXPECT_EQ(ports.read(0xcfc, 4), 0xffffffffu);
}

TEST_F(PciFunctionTest, BarSizeProbing) {
  EXPECT_EQ(probe_bar_size(0), 4096u);
  EXPECT_EQ(probe_bar_size(2), 8192u);
  for (unsigned i : {1u, 3u, 4u, 5u}) {
    EXPECT_EQ(probe_bar_size(i), 0u) << i;  // not implemented: reads 0
    EXPECT_EQ(cfg_read(PciFunction::kBar0 + 4 * i, 4), 0u);
  }
  // The saved base was restored, type bits (memory, 32-bit, not prefetchable) 0.
  EXPECT_EQ(cfg_read(PciFunction::kBar0, 4), fn.bar_base(0));
  EXPECT_EQ(fn.bar_base(0) & 0xfffu, 0u);
}

TEST_F(PciFunctionTest, BarsAreNaturallyAlignedInTheWindow) {
  const auto& c = pci.config();
  for (unsigned i : {0u, 2u}) {
    uint32_t base = fn.bar_base(i), size = fn.bar_size(i);
    EXPECT_EQ(base % size, 0u) << i;
    EXPECT_GE(base, c.mmio_base);
    EXPECT_LE(uint64_t(base) + size, uint64_t(c.mmio_base) + c.mmio_size);
  }
  EXPECT_NE(fn.bar_base(0), fn.bar_base(2));
  // Byte-wise BAR writes (the low bits below the size stay 0).
  cfg_write(PciFunction::kBar0 + 1, 1, 0xff);
  EXPECT_EQ(cfg_read(PciFunction::kBar0, 4) & 0xfff, 0u);
}

TEST_F(PciFunctionTest, DefineBarRejectsBadSizes) {
  EXPECT_FALSE(fn.try_define(1, 8));       // below 16
  EXPECT_FALSE(fn.try_define(1, 0x3000));  // not a power of two
  EXPECT_FALSE(fn.try_define(6, 4096));    // no such BAR
}

TEST_F(PciFunctionTest, CapabilityListWalk) {
  // Walk as pci_find_capability does: from 0x34, 4-byte aligned pointers,
  // bounded (48 hops in Linux), ending at 0.
  std::vector<std::pair<uint8_t, uint8_t>> caps;
  uint8_t pos = static_cast<uint8_t>(cfg_read(PciFunction::kCapabilitiesPtr, 1));
  for (int ttl = 48; pos && ttl; --ttl) {
    ASSERT_GE(pos, 0x40);
    ASSERT_EQ(pos % 4, 0);
    caps.push_back({static_cast<uint8_t>(cfg_read(pos, 1)), pos});
    pos = static_cast<uint8_t>(cfg_read(pos + 1, 1));
  }
  ASSERT_EQ(caps.size(), 2u);
  EXPECT_EQ(caps[0].first, PciFunction::kCapMsix);
  EXPECT_EQ(caps[0].second, fn.msix_cap);
  EXPECT_EQ(caps[1].first, PciFunction::kCapVendor);
  EXPECT_EQ(caps[1].second, fn.vendor_cap);
  EXPECT_EQ(cfg_read(fn.vendor_cap + 2, 1), 7u);
  // Capability bytes are read-only.
  cfg_write(fn.vendor_cap, 4, 0xffffffff);
  EXPECT_EQ(cfg_read(fn.vendor_cap, 1), PciFunction::kCapVendor);
}

TEST_F(PciFunctionTest, CommandRegisterAndMemoryDecode) {
  cfg_write(PciFunction::kCommand, 2, 0xffff);
  // Memory, bus master, parity, SERR#, interrupt disable; no I/O (no I/O BARs).
  EXPECT_EQ(cfg_read(PciFunction::kCommand, 2), 0x0546u);
  cfg_write(PciFunction::kCommand, 2, 0);
  uint64_t bar0 = fn.bar_base(0);
  mmio_write(bar0 + 8, 4, 0x11223344);  // decode off: dropped
  EXPECT_EQ(mmio_read(bar0 + 8, 4), 0xffffffffu);
  EXPECT_EQ(fn.regs[8], 0);
  enable(PciFunction::kCmdMemory);
  mmio_write(bar0 + 8, 4, 0x11223344);
  EXPECT_EQ(mmio_read(bar0 + 8, 4), 0x11223344u);
  EXPECT_EQ(mmio_read(bar0 + 8, 8), 0x11223344u);
  EXPECT_EQ(mmio_read(bar0 + 9, 1), 0x33u);
  // Accesses straddling the BAR's end and holes in the window read all ones.
  EXPECT_EQ(mmio_read(bar0 + 4094, 4), 0xffffffffu);
  EXPECT_EQ(mmio_read(pci.config().mmio_base + pci.config().mmio_size - 8, 8), ~0ull);
}

TEST_F(PciFunctionTest, GuestMovesABar) {
  enable(PciFunction::kCmdMemory);
  uint32_t old = fn.bar_base(0);
  uint32_t moved = pci.config().mmio_base + 0x00800000;
  cfg_write(PciFunction::kBar0, 4, moved | 0xf);  // type bits are read-only
  EXPECT_EQ(cfg_read(PciFunction::kBar0, 4), moved);
  mmio_write(moved + 16, 4, 0xabcd);
  EXPECT_EQ(fn.regs[16], 0xcd);
  EXPECT_EQ(mmio_read(old + 16, 4), 0xffffffffu);
}

TEST_F(PciFunctionTest, MsixCapabilityRegisters) {
  uint8_t c = fn.msix_cap;
  EXPECT_EQ(cfg_read(c + 2, 2), 4u);  // table size N-1 = 4, disabled, unmasked
  EXPECT_EQ(cfg_read(c + 4, 4), 0x1000u | 2u);  // table offset | BIR 2
  EXPECT_EQ(cfg_read(c + 8, 4), 0x1800u | 2u);  // PBA offset | BIR 2
  cfg_write(c + 2, 2, 0xffff);
  EXPECT_EQ(cfg_read(c + 2, 2), 0xc004u);  // only enable and function mask are writable
  EXPECT_TRUE(fn.msix_enabled());
}

struct MsixTest : PciFunctionTest {
  uint64_t table = 0, pba = 0;
  void SetUp() override {
    PciFunctionTest::SetUp();
    enable(PciFunction::kCmdMemory | PciFunction::kCmdBusMaster);
    table = fn.bar_base(2) + 0x1000;
    pba = fn.bar_base(2) + 0x1800;
    // Linux's msix_capability_init: enable with all masked, program, unmask.
    cfg_write(fn.msix_cap + 2, 2, PciFunction::kMsixEnable | PciFunction::kMsixFunctionMask);
  }
  void program(unsigned v, uint32_t dest, uint8_t vector) {
    mmio_write(table + 16 * v + 0, 4, 0xfee00000u | dest << 12);
    mmio_write(table + 16 * v + 4, 4, 0);
    mmio_write(table + 16 * v + 8, 4, vector);
  }
  void unmask(unsigned v) { mmio_write(table + 16 * v + 12, 4, 0); }
  void mask(unsigned v) { mmio_write(table + 16 * v + 12, 4, 1); }
  void function_unmask() { cfg_write(fn.msix_cap + 2, 2, PciFunction::kMsixEnable); }
};

TEST_F(MsixTest, TableResetStateAndWrites) {
  for (unsigned v = 0; v < 5; ++v) {
    EXPECT_EQ(mmio_read(table + 16 * v + 12, 4), 1u) << v;  // masked at reset
    EXPECT_EQ(mmio_read(table + 16 * v, 8), 0u);
  }
  program(2, 1, 0x41);
  EXPECT_EQ(fn.msix_table().address(2), 0xfee01000u);
  EXPECT_EQ(fn.msix_table().data(2), 0x41u);
  mmio_write(table + 16 * 2, 8, 0x00000000fee02003ull);  // a QWORD write; bits 1:0 reserved
  EXPECT_EQ(mmio_read(table + 16 * 2, 4), 0xfee02000u);
  mmio_write(table + 16 * 2 + 12, 4, 0xfffffffe);  // reserved vector-control bits stay 0
  EXPECT_EQ(mmio_read(table + 16 * 2 + 12, 4), 0u);
  // Bytes past the table (but inside the BAR) are not table entries.
  EXPECT_EQ(mmio_read(table + 16 * 5, 4), 0u);
  // The PBA is read-only.
  mmio_write(pba, 8, ~0ull);
  EXPECT_EQ(mmio_read(pba, 8), 0u);
}

TEST_F(MsixTest, MaskedVectorsBecomePendingAndFireOnUnmask) {
  program(1, 0, 0x30);
  function_unmask();
  fn.msix_signal(1);  // entry still masked
  EXPECT_TRUE(msi.messages.empty());
  EXPECT_EQ(mmio_read(pba, 8), 1u << 1);
  unmask(1);
  ASSERT_EQ(msi.messages.size(), 1u);
  EXPECT_EQ(msi.messages[0].address, 0xfee00000u);
  EXPECT_EQ(msi.messages[0].data, 0x30u);
  EXPECT_EQ(mmio_read(pba, 8), 0u);
  fn.msix_signal(1);
  EXPECT_EQ(msi.messages.size(), 2u);
  EXPECT_EQ(fn.msi_sent(), 2u);
}

TEST_F(MsixTest, FunctionMaskHoldsEveryVector) {
  program(0, 0, 0x40);
  program(4, 0, 0x44);
  unmask(0);
  unmask(4);
  fn.msix_signal(0);
  fn.msix_signal(4);
  EXPECT_TRUE(msi.messages.empty());
  EXPECT_EQ(mmio_read(pba, 8), (1u << 0) | (1u << 4));
  function_unmask();
  ASSERT_EQ(msi.messages.size(), 2u);
  EXPECT_EQ(msi.messages[0].data, 0x40u);
  EXPECT_EQ(msi.messages[1].data, 0x44u);
}

TEST_F(MsixTest, NothingIsSentWhenDisabledWithoutBusMasterOrOutOfRange) {
  program(0, 0, 0x40);
  unmask(0);
  function_unmask();
  fn.msix_signal(7);  // beyond the 5 vectors
  cfg_write(PciFunction::kCommand, 2, PciFunction::kCmdMemory);  // bus master off
  fn.msix_signal(0);
  enable(PciFunction::kCmdBusMaster);
  cfg_write(fn.msix_cap + 2, 2, 0);  // MSI-X off
  fn.msix_signal(0);
  EXPECT_TRUE(msi.messages.empty());
  EXPECT_EQ(fn.msi_dropped(), 3u);
  // Refused by the sink: counted too.
  cfg_write(fn.msix_cap + 2, 2, PciFunction::kMsixEnable);
  msi.accept = false;
  fn.msix_signal(0);
  EXPECT_EQ(msi.messages.size(), 1u);
  EXPECT_EQ(fn.msi_dropped(), 4u);
}

TEST_F(PciFunctionTest, IntxFollowsStatusDisableBitAndMsix) {
  unsigned gsi = pci.intx_gsi(kSlot);
  fn.set_intx(true);
  EXPECT_TRUE(irq.level[gsi]);
  EXPECT_EQ(cfg_read(PciFunction::kStatus, 2) & PciFunction::kStatusIntx, PciFunction::kStatusIntx);
  enable(PciFunction::kCmdIntxDisable);
  EXPECT_FALSE(irq.level[gsi]);
  EXPECT_EQ(cfg_read(PciFunction::kStatus, 2) & PciFunction::kStatusIntx, PciFunction::kStatusIntx);
  cfg_write(PciFunction::kCommand, 2, 0);
  EXPECT_TRUE(irq.level[gsi]);
  cfg_write(fn.msix_cap + 2, 2, PciFunction::kMsixEnable);  // MSI-X replaces INTx
  EXPECT_FALSE(irq.level[gsi]);
  cfg_write(fn.msix_cap + 2, 2, 0);
  EXPECT_TRUE(irq.level[gsi]);
  fn.set_intx(false);
  EXPECT_FALSE(irq.level[gsi]);
  EXPECT_EQ(cfg_read(PciFunction::kStatus, 2) & PciFunction::kStatusIntx, 0u);
}

TEST(PciHostAttach, SlotsWindowAndSwizzle) {
  PciHost::Config cfg;
  cfg.mmio_base = 0xe0000000;
  cfg.mmio_size = 0x6000;  // room for one TestFunction (4 KiB + 8 KiB, aligned) only
  cfg.intx_gsi_base = 16;
  PciHost pci(cfg);
  TestFunction a, b;
  EXPECT_FALSE(pci.attach(0, a));   // the host bridge's slot
  EXPECT_FALSE(pci.attach(32, a));  // no such slot
  ASSERT_TRUE(pci.attach(1, a));
  EXPECT_FALSE(pci.attach(2, a));   // already attached
  EXPECT_FALSE(pci.attach(1, b));   // slot taken
  EXPECT_FALSE(pci.attach(2, b));   // the window is full
  EXPECT_EQ(pci.function(1), &a);
  EXPECT_EQ(pci.function(2), nullptr);
  EXPECT_EQ(a.bar_base(2), 0xe0000000u);  // the larger BAR first
  EXPECT_EQ(a.bar_base(0), 0xe0002000u);
  // INTA# of slot s goes to GSI 16 + s % 4 (ACPI _PRT says the same).
  for (unsigned s = 1; s < 32; ++s) EXPECT_EQ(pci.intx_gsi(s), 16 + s % 4);
  // The host bridge is still at 00:00.0.
  EXPECT_EQ(pci.config_read(0, 0, 0, 0, 4), 0x12378086u);
}

TEST(MsiDecode, AddressAndDataFields) {
  ApicMessage m;
  // Destination 3, logical, level-triggered, lowest priority, vector 0x51.
  ASSERT_TRUE(decode_msi(0xfee03004ull, 0x8000u | (1u << 8) | 0x51, m));
  EXPECT_EQ(m.vector, 0x51);
  EXPECT_EQ(m.destination, 3u);
  EXPECT_TRUE(m.logical);
  EXPECT_TRUE(m.level);
  EXPECT_EQ(m.mode, DeliveryMode::lowest_priority);
  ASSERT_TRUE(decode_msi(0xfee00000ull, 0x0023, m));
  EXPECT_EQ(m.destination, 0u);
  EXPECT_FALSE(m.logical);
  EXPECT_FALSE(m.level);
  EXPECT_EQ(m.mode, DeliveryMode::fixed);
  EXPECT_FALSE(decode_msi(0xfed00000ull, 0x23, m));        // not the interrupt window
  EXPECT_FALSE(decode_msi(0x1fee00000ull, 0x23, m));       // upper address bits set
  EXPECT_FALSE(decode_msi(0xfee00000ull, 0x0323, m));      // reserved delivery mode 3
  MessageRecorder apic;
  ApicMsiSink sink(apic);
  EXPECT_TRUE(sink.send_msi(0xfee01000ull, 0x61));
  ASSERT_EQ(apic.messages.size(), 1u);
  EXPECT_EQ(apic.messages[0].vector, 0x61);
  EXPECT_EQ(apic.messages[0].destination, 1u);
  EXPECT_FALSE(sink.send_msi(0x1000, 0x61));
  EXPECT_EQ(apic.messages.size(), 1u);
}

TEST(MsixTableTest, ByteAccessAndBounds) {
  MsixTable t;
  t.configure(100);  // clamped
  EXPECT_EQ(t.vectors(), MsixTable::kMaxVectors);
  t.configure(3);
  EXPECT_EQ(t.table_bytes(), 48u);
  EXPECT_EQ(t.pba_bytes(), 8u);
  t.table_write(16 + 8, 1, 0x99);
  t.table_write(16 + 9, 1, 0x01);
  EXPECT_EQ(t.data(1), 0x199u);
  EXPECT_TRUE(t.masked(1));
  t.table_write(16 + 12, 1, 0);
  EXPECT_FALSE(t.masked(1));
  EXPECT_TRUE(t.masked(3));  // out of range counts as masked
  t.set_pending(2, true);
  EXPECT_EQ(t.pba_read(0, 1), 0x04u);
  EXPECT_EQ(t.pba_read(0, 8), 0x04u);
  t.table_write(44, 8, ~0ull);  // runs past the table: only entry 2's vector control is taken
  EXPECT_EQ(t.table_read(44, 8), 1u);
  t.reset();
  EXPECT_FALSE(t.pending(2));
  EXPECT_TRUE(t.masked(1));
}

}  // namespace
