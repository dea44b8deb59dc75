// cos::dev::VirtioPci and VirtioDevice: the virtio-over-PCI transport as
// Linux's virtio_pci_modern drives it (capability walk, reset, feature
// negotiation, queue setup with MSI-X vectors, DRIVER_OK, notifications,
// ISR/INTx), the PCI_CFG window, and what happens when a driver breaks the
// rules (virtio 1.2 §2.1.2, §3.1, §4.1). A virtio console is the device.
#include <gtest/gtest.h>

#include <deque>
#include <string>

#include "unit/devices_test_util.hpp"
#include "unit/virtio_pci_driver.hpp"

using namespace vtest;

namespace {

struct TestConsole final : ConsoleBackend {
  std::string out;
  std::deque<uint8_t> in;
  void console_write(const uint8_t* d, size_t n) override { out.append(reinterpret_cast<const char*>(d), n); }
  size_t console_read(uint8_t* dst, size_t cap) override {
    size_t n = 0;
    while (n < cap && !in.empty()) dst[n++] = in.front(), in.pop_front();
    return n;
  }
};

struct VirtioPciTest : ::testing::Test {
  GuestRam ram;
  TestConsole backend;
  VirtioConsole console{ram.mem, backend};
  VirtioPci fn{console};
  PciHost pci;
  MsiLog msi;
  devtest::IrqRecorder irq;
  ErrorRecorder errors;
  LinuxVirtioPci drv{pci, 5};
  DriverQueue rxq{ram, 64}, txq{ram, 64};
  static constexpr uint8_t kBase = 0x40;  // MSI vector of MSI-X entry 0

  void SetUp() override {
    pci.set_interrupt_targets(&msi, &irq);
    ASSERT_TRUE(pci.attach(5, fn));
    errors.attach(console);
  }
  // Queues one output buffer on the transmit queue and kicks.
  void send(const std::string& s) {
    uint64_t b = ram.alloc(s.size());
    std::memcpy(ram.host(b), s.data(), s.size());
    txq.add({{b, static_cast<uint32_t>(s.size()), false}});
    drv.kick(VirtioConsole::kTransmitQueue);
  }
};

TEST_F(VirtioPciTest, IdentityAndCapabilities) {
  ASSERT_TRUE(drv.probe());
  EXPECT_EQ(drv.cfg_read(0x00, 4), 0x10431af4u);  // 0x1040 + console (3)
  EXPECT_EQ(drv.cfg_read(0x08, 1), 1u);           // revision 1: modern
  EXPECT_EQ(drv.cfg_read(0x09, 4) & 0xffffff, 0x078000u);
  EXPECT_EQ(drv.cfg_read(0x2c, 4), 0x00401af4u);
  // Each structure where the header says (§4.1.4): BAR0 at the documented
  // offsets, the notify multiplier, one MSI-X vector per queue plus config.
  uint64_t bar0 = drv.bar_address(0);
  EXPECT_EQ(drv.common, bar0 + VirtioPci::kCommonOffset);
  EXPECT_EQ(drv.isr, bar0 + VirtioPci::kIsrOffset);
  EXPECT_EQ(drv.notify, bar0 + VirtioPci::kNotifyOffset);
  EXPECT_EQ(drv.device, bar0 + VirtioPci::kDeviceOffset);
  EXPECT_EQ(drv.device_len, VirtioConsole::kConfigBytes);
  EXPECT_EQ(drv.notify_mult, 4u);
  EXPECT_EQ(drv.cfg_read(drv.cap_notify + 12, 4), 8u);  // two queues x 4 bytes
  EXPECT_EQ(drv.cfg_read(drv.cap_common + 12, 4), VirtioPci::kCommonLength);
  EXPECT_EQ(drv.cfg_read(drv.cap_common + 2, 1), 16u);  // cap_len
  EXPECT_EQ(drv.cfg_read(drv.cap_notify + 2, 1), 20u);
  EXPECT_EQ(drv.msix_entries, 3u);
  EXPECT_EQ(drv.msix_table, drv.bar_address(1) + VirtioPci::kMsixTableOffset);
  EXPECT_NE(drv.cap_pcicfg, 0);
  EXPECT_EQ(fn.capability_offset(VirtioPci::kCapPciCfg), drv.cap_pcicfg);
  EXPECT_EQ(drv.common_rd(VirtioPci::kNumQueues, 2), 2u);
}

TEST_F(VirtioPciTest, LinuxInitializationWithMsix) {
  ASSERT_TRUE(drv.bring_up({&rxq, &txq}));
  EXPECT_EQ(drv.status(), vs::kStatusAcknowledge | vs::kStatusDriver | vs::kStatusFeaturesOk | vs::kStatusDriverOk);
  EXPECT_TRUE(console.running());
  EXPECT_EQ(console.driver_features(), console.device_features());
  EXPECT_TRUE(console.negotiated(vs::kFVersion1));
  EXPECT_EQ(fn.config_msix_vector(), 0);
  EXPECT_EQ(fn.queue_msix_vector(0), 1);
  EXPECT_EQ(fn.queue_msix_vector(1), 2);
  // The driver's view of the queue registers.
  drv.common_wr(VirtioPci::kQueueSelect, 2, 1);
  EXPECT_EQ(drv.common_rd(VirtioPci::kQueueEnable, 2), 1u);
  EXPECT_EQ(drv.common_rd(VirtioPci::kQueueDesc, 8), txq.desc);
  EXPECT_EQ(drv.common_rd(VirtioPci::kQueueDriver, 4), static_cast<uint32_t>(txq.avail));
  EXPECT_EQ(drv.common_rd(VirtioPci::kQueueNotifyOff, 2), 1u);
  EXPECT_EQ(drv.common_rd(VirtioPci::kQueueSize, 2), 64u);
  // Output: the transmit buffer reaches the backend, comes back used, and
  // the queue's MSI-X vector (entry 2) fires.
  send("hello, hvc0\n");
  EXPECT_EQ(backend.out, "hello, hvc0\n");
  uint32_t id, len;
  ASSERT_TRUE(txq.take_used(id, len));
  EXPECT_EQ(len, 0u);
  ASSERT_EQ(msi.messages.size(), 1u);
  EXPECT_EQ(msi.messages[0].address, 0xfee00000u);
  EXPECT_EQ(msi.count(kBase + 2), 1u);
  EXPECT_TRUE(errors.errors.empty());
  EXPECT_FALSE(irq.level[pci.intx_gsi(5)]);
}

TEST_F(VirtioPciTest, DeviceConfigurationThroughTheBar) {
  ASSERT_TRUE(drv.probe());
  EXPECT_EQ(drv.rd(drv.device + 0, 2), 80u);  // cols
  EXPECT_EQ(drv.rd(drv.device + 2, 2), 25u);  // rows
  EXPECT_EQ(drv.rd(drv.device + 4, 4), 1u);   // max_nr_ports
  EXPECT_EQ(drv.rd(drv.device + 0, 4), 25u << 16 | 80u);
  EXPECT_EQ(drv.rd(drv.device + 64, 4), 0u);  // past the structure
  uint8_t gen = static_cast<uint8_t>(drv.common_rd(VirtioPci::kConfigGeneration, 1));
  console.set_size(132, 43);
  EXPECT_EQ(drv.rd(drv.device + 0, 4), 43u << 16 | 132u);
  EXPECT_NE(drv.common_rd(VirtioPci::kConfigGeneration, 1), gen);
}

TEST_F(VirtioPciTest, FeaturesOkIsRefusedWithoutVersion1) {
  ASSERT_TRUE(drv.probe());
  EXPECT_FALSE(drv.negotiate(~vs::feature(vs::kFVersion1)));  // a legacy-only driver
  EXPECT_FALSE(drv.status() & vs::kStatusFeaturesOk);
  // A reset and a proper driver recover.
  EXPECT_TRUE(drv.negotiate(~0ull));
}

TEST_F(VirtioPciTest, FeaturesOkIsRefusedForUnofferedFeatures) {
  ASSERT_TRUE(drv.probe());
  drv.common_wr(VirtioPci::kDeviceStatus, 1, 0);
  drv.add_status(vs::kStatusAcknowledge | vs::kStatusDriver);
  drv.common_wr(VirtioPci::kDriverFeatureSelect, 4, 1);
  drv.common_wr(VirtioPci::kDriverFeature, 4, 1u | 1u << (vs::kFRingPacked - 32));  // VERSION_1 + packed
  drv.add_status(vs::kStatusFeaturesOk);
  EXPECT_FALSE(drv.status() & vs::kStatusFeaturesOk);
  // Without FEATURES_OK the device does not run even with DRIVER_OK.
  drv.add_status(vs::kStatusDriverOk);
  EXPECT_FALSE(console.running());
}

TEST_F(VirtioPciTest, DriverFeaturesAreFrozenAfterFeaturesOk) {
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.negotiate(vs::feature(vs::kFVersion1)));
  drv.common_wr(VirtioPci::kDriverFeatureSelect, 4, 0);
  drv.common_wr(VirtioPci::kDriverFeature, 4, 0xffffffff);
  EXPECT_EQ(drv.common_rd(VirtioPci::kDriverFeature, 4), 0u);
  EXPECT_EQ(console.driver_features(), vs::feature(vs::kFVersion1));
  // Out-of-range selects read 0 and write nothing.
  drv.common_wr(VirtioPci::kDeviceFeatureSelect, 4, 2);
  EXPECT_EQ(drv.common_rd(VirtioPci::kDeviceFeature, 4), 0u);
}

TEST_F(VirtioPciTest, MsixVectorOutsideTheTableReadsBackNoVector) {
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.negotiate(~0ull));
  drv.enable_msix(kBase);
  EXPECT_EQ(drv.set_config_vector(3), vs::kNoVector);  // 3 entries: 0..2
  EXPECT_EQ(drv.set_config_vector(2), 2);
  EXPECT_EQ(drv.setup_queue(0, rxq, 7), vs::kNoVector);
  EXPECT_EQ(drv.setup_queue(0, rxq, vs::kNoVector), vs::kNoVector);
  EXPECT_EQ(drv.setup_queue(0, rxq, 1), 1);
  // Queue registers of a queue that does not exist.
  drv.common_wr(VirtioPci::kQueueSelect, 2, 9);
  EXPECT_EQ(drv.common_rd(VirtioPci::kQueueSize, 2), 0u);
  EXPECT_EQ(drv.common_rd(VirtioPci::kQueueMsixVector, 2), vs::kNoVector);
  drv.common_wr(VirtioPci::kQueueEnable, 2, 1);  // ignored
  EXPECT_FALSE(console.needs_reset());
}

TEST_F(VirtioPciTest, QueueWithoutMsixVectorSendsNothing) {
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.negotiate(~0ull));
  drv.enable_msix(kBase);
  drv.setup_queue(0, rxq, 1);
  drv.setup_queue(1, txq, vs::kNoVector);
  drv.enable_queue(0);
  drv.enable_queue(1);
  drv.add_status(vs::kStatusDriverOk);
  send("x");
  EXPECT_EQ(backend.out, "x");
  EXPECT_TRUE(msi.messages.empty());
  EXPECT_EQ(fn.isr(), 0);  // and no ISR/INTx either with MSI-X on
}

TEST_F(VirtioPciTest, IntxModeAndIsrReadToClear) {
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.negotiate(~0ull));
  drv.setup_queue(0, rxq, vs::kNoVector);
  drv.setup_queue(1, txq, vs::kNoVector);
  drv.enable_queue(0);
  drv.enable_queue(1);
  drv.add_status(vs::kStatusDriverOk);
  unsigned gsi = pci.intx_gsi(5);
  send("ab");
  EXPECT_TRUE(irq.level[gsi]);
  EXPECT_EQ(drv.cfg_read(0x06, 2) & 0x08, 0x08u);  // status: interrupt pending
  EXPECT_EQ(drv.read_isr(), VirtioPci::kIsrQueue);
  EXPECT_FALSE(irq.level[gsi]);
  EXPECT_EQ(drv.read_isr(), 0);
  console.set_size(100, 30);  // a configuration change: ISR bit 1
  EXPECT_TRUE(irq.level[gsi]);
  EXPECT_EQ(drv.read_isr(), VirtioPci::kIsrConfig);
  EXPECT_TRUE(msi.messages.empty());
}

TEST_F(VirtioPciTest, ResetReturnsEverythingToInitialState) {
  ASSERT_TRUE(drv.bring_up({&rxq, &txq}));
  drv.common_wr(VirtioPci::kDeviceStatus, 1, 0);
  EXPECT_EQ(drv.status(), 0);
  EXPECT_FALSE(console.running());
  EXPECT_EQ(console.driver_features(), 0u);
  EXPECT_EQ(fn.config_msix_vector(), vs::kNoVector);
  for (uint16_t q = 0; q < 2; ++q) {
    drv.common_wr(VirtioPci::kQueueSelect, 2, q);
    EXPECT_EQ(drv.common_rd(VirtioPci::kQueueEnable, 2), 0u);
    EXPECT_EQ(drv.common_rd(VirtioPci::kQueueMsixVector, 2), vs::kNoVector);
    EXPECT_EQ(drv.common_rd(VirtioPci::kQueueDesc, 8), 0u);
    EXPECT_EQ(drv.common_rd(VirtioPci::kQueueSize, 2), VirtioConsole::kQueueSize);
  }
  // A kick after reset does nothing.
  send("lost?");
  EXPECT_EQ(backend.out, "");
  // And the device comes back with fresh rings.
  DriverQueue rx2(ram, 32), tx2(ram, 32);
  LinuxVirtioPci drv2{pci, 5};
  ASSERT_TRUE(drv2.bring_up({&rx2, &tx2}));
  uint64_t b = ram.alloc(2);
  std::memcpy(ram.host(b), "ok", 2);
  tx2.add({{b, 2, false}});
  drv2.kick(1);
  EXPECT_EQ(backend.out, "ok");
}

TEST_F(VirtioPciTest, NoDmaWithoutBusMastering) {
  ASSERT_TRUE(drv.bring_up({&rxq, &txq}));
  drv.cfg_write(0x04, 2, 0x0002);  // memory space only
  EXPECT_FALSE(console.running());
  send("held");
  EXPECT_EQ(backend.out, "");
  EXPECT_EQ(txq.used_idx(), 0);
  drv.cfg_write(0x04, 2, 0x0006);
  drv.kick(1);
  EXPECT_EQ(backend.out, "held");
}

TEST_F(VirtioPciTest, PciCfgWindowReachesTheBars) {
  ASSERT_TRUE(drv.probe());
  uint8_t c = drv.cap_pcicfg;
  // §4.1.4.9: bar, offset, length, then pci_cfg_data.
  drv.cfg_write(c + 4, 1, 0);
  drv.cfg_write(c + 8, 4, VirtioPci::kCommonOffset + VirtioPci::kNumQueues);
  drv.cfg_write(c + 12, 4, 2);
  EXPECT_EQ(drv.cfg_read(c + 16, 4), 2u);
  // Write device_status through the window.
  drv.cfg_write(c + 8, 4, VirtioPci::kCommonOffset + VirtioPci::kDeviceStatus);
  drv.cfg_write(c + 12, 4, 1);
  drv.cfg_write(c + 16, 1, vs::kStatusAcknowledge);
  EXPECT_EQ(console.status(), vs::kStatusAcknowledge);
  // Works with memory decoding off, too.
  drv.cfg_write(0x04, 2, 0);
  EXPECT_EQ(drv.cfg_read(c + 16, 1), vs::kStatusAcknowledge);
  // Bad windows read 0 and write nothing: odd length, misaligned, past the BAR.
  drv.cfg_write(c + 12, 4, 3);
  EXPECT_EQ(drv.cfg_read(c + 16, 4), 0u);
  drv.cfg_write(c + 12, 4, 4);
  drv.cfg_write(c + 8, 4, 2);
  EXPECT_EQ(drv.cfg_read(c + 16, 4), 0u);
  drv.cfg_write(c + 8, 4, VirtioPci::kBar0Size);
  EXPECT_EQ(drv.cfg_read(c + 16, 4), 0u);
  drv.cfg_write(c + 16, 4, 0xffffffff);
  EXPECT_EQ(console.status(), vs::kStatusAcknowledge);
}

TEST_F(VirtioPciTest, CommonConfigAccessWidths) {
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.negotiate(~0ull));
  drv.common_wr(VirtioPci::kQueueSelect, 2, 0);
  drv.common_wr(VirtioPci::kQueueDesc, 8, 0x123456789abcdef0ull);  // one 64-bit write
  EXPECT_EQ(drv.common_rd(VirtioPci::kQueueDesc, 8), 0x123456789abcdef0ull);
  EXPECT_EQ(drv.common_rd(VirtioPci::kQueueDesc + 4, 4), 0x12345678u);
  drv.common_wr(VirtioPci::kQueueDesc + 2, 1, 0x55);  // a single byte inside the field
  EXPECT_EQ(drv.common_rd(VirtioPci::kQueueDesc, 8), 0x123456789a55def0ull);
  // num_queues and config_generation are read-only.
  drv.common_wr(VirtioPci::kNumQueues, 2, 7);
  EXPECT_EQ(drv.common_rd(VirtioPci::kNumQueues, 2), 2u);
  // Reserved space after the structure reads 0.
  EXPECT_EQ(drv.common_rd(0x3c, 4), 0u);
}

TEST_F(VirtioPciTest, QueueEnabledBeforeFeaturesOkStopsTheDevice) {
  ASSERT_TRUE(drv.probe());
  drv.common_wr(VirtioPci::kDeviceStatus, 1, 0);
  drv.add_status(vs::kStatusAcknowledge | vs::kStatusDriver);
  drv.setup_queue(0, rxq, vs::kNoVector);
  drv.enable_queue(0);
  EXPECT_TRUE(drv.status() & vs::kStatusDeviceNeedsReset);
  ASSERT_EQ(errors.errors.size(), 1u);
  EXPECT_EQ(errors.errors[0].code, VirtioErrc::queue_enabled_early);
  EXPECT_EQ(errors.errors[0].device_id, vs::kIdConsole);
  EXPECT_EQ(errors.errors[0].queue, 0);
  // The driver cannot clear DEVICE_NEEDS_RESET by writing status; only reset does.
  drv.common_wr(VirtioPci::kDeviceStatus, 1, vs::kStatusAcknowledge);
  EXPECT_TRUE(drv.status() & vs::kStatusDeviceNeedsReset);
  drv.common_wr(VirtioPci::kDeviceStatus, 1, 0);
  EXPECT_EQ(drv.status(), 0);
  EXPECT_EQ(console.error().code, VirtioErrc::none);
}

TEST_F(VirtioPciTest, BadQueueSizeFromTheDriverStopsTheDevice) {
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.negotiate(~0ull));
  drv.setup_queue(0, rxq, vs::kNoVector);
  drv.common_wr(VirtioPci::kQueueSize, 2, 48);
  drv.enable_queue(0);
  EXPECT_TRUE(console.needs_reset());
  ASSERT_EQ(errors.errors.size(), 1u);
  EXPECT_EQ(errors.errors[0].code, VirtioErrc::queue_size_invalid);
  EXPECT_EQ(errors.errors[0].value, 48u);
}

TEST_F(VirtioPciTest, MalformedRingStopsOnlyThisDeviceAndSignalsConfigChange) {
  // A second device on the same bus keeps working.
  GuestRam ram2;
  TestConsole backend2;
  VirtioConsole other(ram2.mem, backend2);
  VirtioPci fn2(other);
  ASSERT_TRUE(pci.attach(6, fn2));
  LinuxVirtioPci drv_other{pci, 6};
  DriverQueue orx(ram2, 16), otx(ram2, 16);
  ASSERT_TRUE(drv_other.bring_up({&orx, &otx}, ~0ull, 0x60));

  ASSERT_TRUE(drv.bring_up({&rxq, &txq}));
  uint64_t b = ram.alloc(8);
  txq.set_desc(0, b, 8, vs::kDescNext, 0);  // a descriptor looping to itself
  txq.publish(0);
  drv.kick(1);
  EXPECT_TRUE(console.needs_reset());
  EXPECT_TRUE(drv.status() & vs::kStatusDeviceNeedsReset);
  ASSERT_EQ(errors.errors.size(), 1u);
  EXPECT_EQ(errors.errors[0].code, VirtioErrc::chain_too_long);
  EXPECT_EQ(errors.errors[0].queue, 1);
  EXPECT_EQ(msi.count(kBase + 0), 1u);  // the configuration change vector
  EXPECT_EQ(txq.used_idx(), 0);
  // Everything after that is ignored until reset.
  send("ignored");
  drv.kick(0);
  EXPECT_EQ(backend.out, "");
  EXPECT_EQ(errors.errors.size(), 1u);
  // The other device is untouched.
  uint64_t ob = ram2.alloc(3);
  std::memcpy(ram2.host(ob), "yes", 3);
  otx.add({{ob, 3, false}});
  drv_other.kick(1);
  EXPECT_EQ(backend2.out, "yes");
  EXPECT_FALSE(other.needs_reset());
}

TEST_F(VirtioPciTest, KicksBeforeDriverOkAreServedAtDriverOk) {
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.negotiate(~0ull));
  drv.enable_msix(kBase);
  drv.setup_queue(0, rxq, 1);
  drv.setup_queue(1, txq, 2);
  drv.enable_queue(0);
  drv.enable_queue(1);
  send("early");
  EXPECT_EQ(backend.out, "");  // §3.1.1: not before DRIVER_OK
  drv.add_status(vs::kStatusDriverOk);
  EXPECT_EQ(backend.out, "early");
  drv.wr(drv.notify + 4 * 9, 2, 9);  // a notify address without a queue: ignored
  EXPECT_FALSE(console.needs_reset());
}

}  // namespace
