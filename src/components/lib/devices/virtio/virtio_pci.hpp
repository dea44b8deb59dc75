// cos::dev::VirtioPci — the virtio-over-PCI transport, modern interface
// only (virtio 1.2, §4.1): a PciFunction that exposes a VirtioDevice to a
// driver through vendor-specific capabilities pointing into its BARs.
//
// PCI identity (§4.1.2): vendor 0x1af4, device 0x1040 + virtio device ID,
// revision 1, subsystem vendor 0x1af4, subsystem 0x0040 (non-transitional:
// there is no legacy I/O BAR, so Linux's virtio_pci_legacy never binds),
// class code by device type.
//
// BAR0 (32-bit memory, 16 KiB):
//   0x0000 common configuration (§4.1.4.3), 0x3c bytes
//   0x1000 ISR status (§4.1.4.5), 1 byte, read-to-clear
//   0x2000 device-specific configuration (§4.1.4.6)
//   0x3000 notifications (§4.1.4.4): queue q at 0x3000 + 4 * q
//          (queue_notify_off = q, notify_off_multiplier = 4)
// BAR1 (32-bit memory, 4 KiB): the MSI-X table at 0x000 and PBA at 0x800,
// num_queues + 1 vectors.
// Capabilities: MSI-X, then VIRTIO_PCI_CAP_COMMON_CFG, NOTIFY_CFG,
// ISR_CFG, DEVICE_CFG and PCI_CFG (§4.1.4.9, the configuration-space
// window onto the BARs).
//
// Interrupts (§4.1.4.5, §4.1.5.1.2 / 4.1.5.1.3): with MSI-X enabled, a
// queue's used buffer notification is its queue_msix_vector's message and a
// configuration change is config_msix_vector's (kNoVector: none); a vector
// number outside the table reads back as kNoVector, which is how Linux
// learns it was refused. Without MSI-X, the ISR bit (0: queue, 1:
// configuration) is set and INTA# asserted until the driver reads the ISR.
//
// Common configuration accesses of any width are taken byte-wise per field
// (a 64-bit field may be written as two 32-bit halves, as Linux does).
#pragma once
#include <stdint.h>

#include "devices/pci_function.hpp"
#include "devices/virtio/virtio_device.hpp"

namespace cos::dev {

class VirtioPci final : public PciFunction, public VirtioTransport {
 public:
  static constexpr uint16_t kVendorId = 0x1af4, kDeviceIdBase = 0x1040, kSubsystemId = 0x0040;
  static constexpr unsigned kMaxQueues = 16;
  static constexpr uint32_t kBar0Size = 0x4000, kBar1Size = 0x1000;
  static constexpr uint32_t kCommonOffset = 0x0000, kCommonLength = 0x3c;
  static constexpr uint32_t kIsrOffset = 0x1000, kDeviceOffset = 0x2000, kNotifyOffset = 0x3000;
  static constexpr uint32_t kNotifyMultiplier = 4;
  static constexpr uint32_t kMsixTableOffset = 0x000, kMsixPbaOffset = 0x800;
  /// virtio_pci_cap.cfg_type values (§4.1.4).
  enum : uint8_t { kCapCommon = 1, kCapNotify = 2, kCapIsr = 3, kCapDevice = 4, kCapPciCfg = 5 };
  /// Common configuration field offsets (§4.1.4.3).
  enum : uint8_t {
    kDeviceFeatureSelect = 0x00, kDeviceFeature = 0x04, kDriverFeatureSelect = 0x08, kDriverFeature = 0x0c,
    kConfigMsixVector = 0x10, kNumQueues = 0x12, kDeviceStatus = 0x14, kConfigGeneration = 0x15,
    kQueueSelect = 0x16, kQueueSize = 0x18, kQueueMsixVector = 0x1a, kQueueEnable = 0x1c, kQueueNotifyOff = 0x1e,
    kQueueDesc = 0x20, kQueueDriver = 0x28, kQueueDevice = 0x30, kQueueNotifyData = 0x38, kQueueReset = 0x3a,
  };
  /// ISR status bits (§4.1.4.5).
  static constexpr uint8_t kIsrQueue = 1, kIsrConfig = 2;

  /// Wraps `device` (at most kMaxQueues queues) and becomes its transport.
  explicit VirtioPci(VirtioDevice& device);

  VirtioDevice& device() { return dev_; }
  /// Capability offsets in configuration space (for tests and logs).
  uint8_t capability_offset(uint8_t cfg_type) const;
  uint16_t config_msix_vector() const { return config_vector_; }
  uint16_t queue_msix_vector(uint16_t q) const { return q < kMaxQueues ? queue_vector_[q] : virtio::kNoVector; }
  uint8_t isr() const { return isr_; }

  // VirtioTransport
  void queue_interrupt(uint16_t q) override;
  void config_interrupt() override;
  bool dma_enabled() const override { return bus_master(); }

 protected:
  uint64_t bar_read(unsigned bar, uint64_t offset, unsigned size) override;
  void bar_write(unsigned bar, uint64_t offset, unsigned size, uint64_t value) override;
  bool intercept_config_read(unsigned offset, unsigned size, uint32_t& value) override;
  bool intercept_config_write(unsigned offset, unsigned size, uint32_t value) override;

 private:
  uint8_t add_virtio_cap(uint8_t cfg_type, unsigned length, uint8_t bar, uint32_t offset, uint32_t region_length);
  uint64_t common_read(uint32_t offset, unsigned size);
  void common_write(uint32_t offset, unsigned size, uint64_t value);
  uint64_t field_read(uint8_t field);
  void field_write(uint8_t field, uint64_t value);
  uint16_t checked_vector(uint64_t v) const;
  void reset_transport();
  bool pci_cfg_window(unsigned& offset, unsigned& length) const;

  VirtioDevice& dev_;
  uint32_t device_feature_select_ = 0, driver_feature_select_ = 0;
  uint16_t queue_select_ = 0;
  uint16_t config_vector_ = virtio::kNoVector;
  uint16_t queue_vector_[kMaxQueues];
  uint8_t isr_ = 0;
  uint8_t caps_[6] = {};  // capability offsets by cfg_type
};

}  // namespace cos::dev
