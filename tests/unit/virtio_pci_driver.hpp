// A test driver that talks to a virtio-pci function the way Linux 6.1 does
// (drivers/virtio/virtio_pci_modern_dev.c vp_modern_probe, virtio_pci_modern.c
// and virtio.c virtio_dev_probe): only through configuration cycles on
// ports 0xcf8/0xcfc and MMIO into the host bridge's window.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "devices/pci_host.hpp"
#include "devices/port_bus.hpp"
#include "unit/virtio_test_util.hpp"

namespace vtest {

struct MsiLog final : MsiSink {
  struct Msg {
    uint64_t address;
    uint32_t data;
  };
  std::vector<Msg> messages;
  bool send_msi(uint64_t a, uint32_t d) override {
    messages.push_back({a, d});
    return true;
  }
  /// How many messages carried vector `v` (data bits 7:0).
  unsigned count(uint8_t v) const {
    unsigned n = 0;
    for (const Msg& m : messages) n += (m.data & 0xff) == v;
    return n;
  }
};

struct LinuxVirtioPci {
  PciHost& pci;
  PortBus ports;
  unsigned slot;
  // Found by the capability walk.
  uint8_t cap_common = 0, cap_notify = 0, cap_isr = 0, cap_device = 0, cap_pcicfg = 0, cap_msix = 0;
  uint64_t common = 0, notify = 0, isr = 0, device = 0;
  uint32_t notify_mult = 0, device_len = 0;
  uint64_t msix_table = 0;
  uint16_t msix_entries = 0;

  LinuxVirtioPci(PciHost& host, unsigned slot) : pci(host), slot(slot) { EXPECT_TRUE(ports.add(0xcf8, 8, pci, 4)); }

  uint32_t cfg_read(unsigned reg, unsigned size) {
    ports.write(0xcf8, 4, 0x80000000u | slot << 11 | (reg & 0xfc));
    return ports.read(static_cast<uint16_t>(0xcfc + (reg & 3)), size);
  }
  void cfg_write(unsigned reg, unsigned size, uint32_t v) {
    ports.write(0xcf8, 4, 0x80000000u | slot << 11 | (reg & 0xfc));
    ports.write(static_cast<uint16_t>(0xcfc + (reg & 3)), size, v);
  }
  uint64_t rd(uint64_t gpa, unsigned size) { return pci.read(gpa - pci.config().mmio_base, size); }
  void wr(uint64_t gpa, unsigned size, uint64_t v) { pci.write(gpa - pci.config().mmio_base, size, v); }

  uint64_t bar_address(unsigned bar) { return cfg_read(0x10 + 4 * bar, 4) & ~0xfull; }

  /// vp_modern_probe + pci_enable_device + pci_set_master. Returns false if
  /// the function is not a modern virtio device with all capabilities.
  bool probe() {
    uint16_t vendor = static_cast<uint16_t>(cfg_read(0x00, 2)), dev = static_cast<uint16_t>(cfg_read(0x02, 2));
    if (vendor != 0x1af4 || dev < 0x1040 || dev > 0x107f) return false;
    uint8_t pos = static_cast<uint8_t>(cfg_read(0x34, 1));
    for (int ttl = 48; pos && ttl; --ttl) {
      uint8_t id = static_cast<uint8_t>(cfg_read(pos, 1));
      if (id == 0x11) cap_msix = pos;
      if (id == 0x09) {
        uint8_t type = static_cast<uint8_t>(cfg_read(pos + 3, 1));
        // The first capability of each type wins (virtio 1.2 §4.1.4).
        uint8_t* slot_for = type == 1 ? &cap_common : type == 2 ? &cap_notify : type == 3 ? &cap_isr
                          : type == 4 ? &cap_device : type == 5 ? &cap_pcicfg : nullptr;
        if (slot_for && !*slot_for) *slot_for = pos;
      }
      pos = static_cast<uint8_t>(cfg_read(pos + 1, 1));
    }
    if (!cap_common || !cap_notify || !cap_isr) return false;
    auto map = [&](uint8_t cap, uint32_t minlen) -> uint64_t {
      uint8_t bar = static_cast<uint8_t>(cfg_read(cap + 4, 1));
      uint32_t off = cfg_read(cap + 8, 4), len = cfg_read(cap + 12, 4);
      EXPECT_GE(len, minlen);
      return bar_address(bar) + off;
    };
    common = map(cap_common, 0x38);  // sizeof(struct virtio_pci_common_cfg)
    isr = map(cap_isr, 1);
    notify = map(cap_notify, 2);
    notify_mult = cfg_read(cap_notify + 16, 4);
    if (cap_device) {
      device = map(cap_device, 0);
      device_len = cfg_read(cap_device + 12, 4);
    }
    if (cap_msix) {
      msix_entries = static_cast<uint16_t>((cfg_read(cap_msix + 2, 2) & 0x7ff) + 1);
      uint32_t t = cfg_read(cap_msix + 4, 4);
      msix_table = bar_address(t & 7) + (t & ~7u);
    }
    cfg_write(0x04, 2, cfg_read(0x04, 2) | 0x0006);  // memory space, bus master
    return true;
  }

  uint64_t common_rd(uint8_t off, unsigned size) { return rd(common + off, size); }
  void common_wr(uint8_t off, unsigned size, uint64_t v) { wr(common + off, size, v); }
  uint8_t status() { return static_cast<uint8_t>(common_rd(VirtioPci::kDeviceStatus, 1)); }
  void add_status(uint8_t bits) { common_wr(VirtioPci::kDeviceStatus, 1, status() | bits); }

  /// pci_alloc_irq_vectors for MSI-X: enable with the function masked,
  /// program each entry (fixed, physical destination 0, vector base + i),
  /// unmask them and the function.
  void enable_msix(uint8_t vector_base) {
    cfg_write(cap_msix + 2, 2, 0xc000);
    for (uint16_t i = 0; i < msix_entries; ++i) {
      wr(msix_table + 16 * i, 4, 0xfee00000);
      wr(msix_table + 16 * i + 4, 4, 0);
      wr(msix_table + 16 * i + 8, 4, static_cast<uint8_t>(vector_base + i));
      wr(msix_table + 16 * i + 12, 4, 0);
    }
    cfg_write(cap_msix + 2, 2, 0x8000);
  }

  /// virtio_dev_probe up to FEATURES_OK: reset (and wait for 0), ACKNOWLEDGE,
  /// DRIVER, read the 64 feature bits, accept `wanted & offered`, FEATURES_OK
  /// and read it back. Returns false if the device refused.
  bool negotiate(uint64_t wanted) {
    common_wr(VirtioPci::kDeviceStatus, 1, 0);
    EXPECT_EQ(status(), 0);
    add_status(vs::kStatusAcknowledge);
    add_status(vs::kStatusDriver);
    uint64_t offered = 0;
    for (uint32_t sel = 0; sel < 2; ++sel) {
      common_wr(VirtioPci::kDeviceFeatureSelect, 4, sel);
      offered |= common_rd(VirtioPci::kDeviceFeature, 4) << (32 * sel);
    }
    device_features = offered;
    uint64_t accept = offered & wanted;
    for (uint32_t sel = 0; sel < 2; ++sel) {
      common_wr(VirtioPci::kDriverFeatureSelect, 4, sel);
      common_wr(VirtioPci::kDriverFeature, 4, static_cast<uint32_t>(accept >> (32 * sel)));
    }
    add_status(vs::kStatusFeaturesOk);
    return status() & vs::kStatusFeaturesOk;
  }
  uint64_t device_features = 0;

  /// vp_modern_find_vqs/setup_vq for queue `q` (not yet enabled): select,
  /// read the maximum size, write size and ring addresses (64-bit fields as
  /// two 32-bit halves, vp_iowrite64_twopart), set and read back the MSI-X
  /// vector. Returns the vector read back.
  uint16_t setup_queue(uint16_t q, const DriverQueue& dq, uint16_t vector) {
    common_wr(VirtioPci::kQueueSelect, 2, q);
    EXPECT_GE(common_rd(VirtioPci::kQueueSize, 2), dq.size);
    EXPECT_EQ(common_rd(VirtioPci::kQueueEnable, 2), 0u);
    common_wr(VirtioPci::kQueueSize, 2, dq.size);
    auto two_part = [&](uint8_t off, uint64_t v) {
      common_wr(off, 4, static_cast<uint32_t>(v));
      common_wr(off + 4, 4, static_cast<uint32_t>(v >> 32));
    };
    two_part(VirtioPci::kQueueDesc, dq.desc);
    two_part(VirtioPci::kQueueDriver, dq.avail);
    two_part(VirtioPci::kQueueDevice, dq.used);
    common_wr(VirtioPci::kQueueMsixVector, 2, vector);
    return static_cast<uint16_t>(common_rd(VirtioPci::kQueueMsixVector, 2));
  }
  void enable_queue(uint16_t q) {
    common_wr(VirtioPci::kQueueSelect, 2, q);
    common_wr(VirtioPci::kQueueEnable, 2, 1);
  }
  uint16_t set_config_vector(uint16_t v) {
    common_wr(VirtioPci::kConfigMsixVector, 2, v);
    return static_cast<uint16_t>(common_rd(VirtioPci::kConfigMsixVector, 2));
  }
  /// vp_notify: a 16-bit write of the queue index at its notify address.
  void kick(uint16_t q) {
    common_wr(VirtioPci::kQueueSelect, 2, q);
    uint64_t off = common_rd(VirtioPci::kQueueNotifyOff, 2);
    wr(notify + off * notify_mult, 2, q);
  }
  uint8_t read_isr() { return static_cast<uint8_t>(rd(isr, 1)); }

  /// The whole Linux sequence with MSI-X: vectors config = 0, queue i = i + 1.
  bool bring_up(const std::vector<DriverQueue*>& queues, uint64_t wanted = ~0ull, uint8_t vector_base = 0x40) {
    if (!probe()) return false;
    if (!negotiate(wanted)) return false;
    enable_msix(vector_base);
    if (set_config_vector(0) != 0) return false;
    for (size_t i = 0; i < queues.size(); ++i)
      if (setup_queue(static_cast<uint16_t>(i), *queues[i], static_cast<uint16_t>(i + 1)) != i + 1) return false;
    for (size_t i = 0; i < queues.size(); ++i) enable_queue(static_cast<uint16_t>(i));
    add_status(vs::kStatusDriverOk);
    return status() & vs::kStatusDriverOk;
  }
};

}  // namespace vtest
