// cos::dev::VirtioDevice — what every virtio device shares, independent of
// the transport (virtio 1.2, §2 "Basic Facilities of a Virtio Device" and
// §3.1 "Device Initialization"): the device status field, feature
// negotiation, the device-specific configuration space with its generation
// counter, the virtqueues, and the stop-on-error rule.
//
// Initialization as a driver does it (§3.1.1): write status 0 (reset),
// ACKNOWLEDGE, DRIVER; read the device features, write the accepted subset;
// set FEATURES_OK and read it back — the device clears it again if the
// driver accepted a feature that was not offered, left out
// VIRTIO_F_VERSION_1 (these devices are modern-only), or the device type
// rejects the combination; then configure and enable each queue (only
// after FEATURES_OK: the queue needs the negotiated ring features) and set
// DRIVER_OK. The device touches its queues only while running(): DRIVER_OK
// and FEATURES_OK set, neither FAILED nor DEVICE_NEEDS_RESET, and the
// transport allowing DMA (PCI bus mastering).
//
// Errors: a malformed virtqueue or request (VirtioErrc) sets
// DEVICE_NEEDS_RESET (§2.1.2), sends a configuration change notification,
// reports a VirtioError through the error callback and stops the device
// until the driver resets it. The VMM and the other devices go on.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/guest_memory.hpp"
#include "devices/virtio/virtio_spec.hpp"
#include "devices/virtio/virtqueue.hpp"

namespace cos::dev {

/// A device stop, as reported to the VMM.
struct VirtioError {
  uint16_t device_id = 0;   ///< virtio device ID (1 net, 2 block, 3 console)
  uint16_t queue = 0xffff;  ///< the queue index, 0xffff if not about a queue
  VirtioErrc code = VirtioErrc::none;
  uint64_t value = 0;       ///< detail, see VirtioErrc
};
using VirtioErrorFn = void (*)(void* ctx, const VirtioError& error);

/// The transport's side of a device: notifications to the driver (§2.3 /
/// §4.1.4.5 for PCI) and whether the device may access guest memory.
class VirtioTransport {
 public:
  /// Used buffer notification for queue `q`.
  virtual void queue_interrupt(uint16_t q) = 0;
  /// Configuration change notification.
  virtual void config_interrupt() = 0;
  /// False while the device must not DMA (PCI: bus master disabled).
  virtual bool dma_enabled() const = 0;

 protected:
  ~VirtioTransport() = default;
};

class VirtioDevice {
 public:
  static constexpr unsigned kMaxConfigBytes = 64;
  static constexpr uint16_t kMaxQueues = 4;
  /// Feature bits every device here offers besides its own (§6).
  static constexpr uint64_t kCommonFeatures =
      virtio::feature(virtio::kFVersion1) | virtio::feature(virtio::kFEventIdx) | virtio::feature(virtio::kFIndirectDesc);

  VirtioDevice(const VirtioDevice&) = delete;
  VirtioDevice& operator=(const VirtioDevice&) = delete;

  uint16_t device_id() const { return device_id_; }
  uint16_t num_queues() const { return num_queues_; }
  /// Queue `q`, nullptr if out of range.
  Virtqueue* queue(uint16_t q) { return q < num_queues_ ? &queues_[q] : nullptr; }
  GuestMemory& memory() { return mem_; }

  // --- The transport's view (§4.1.4.3 for PCI) ---
  void set_transport(VirtioTransport* t) { transport_ = t; }
  uint64_t device_features() const { return device_features_; }
  uint64_t driver_features() const { return driver_features_; }
  /// driver_feature word `select` (0: bits 0-31, 1: bits 32-63; others
  /// ignored); ignored once FEATURES_OK is set.
  void write_driver_features(uint32_t select, uint32_t value);
  uint8_t status() const { return status_; }
  /// A device_status write: 0 resets the device, otherwise the bits are
  /// taken as described above.
  void write_status(uint8_t value);
  uint8_t config_generation() const { return generation_; }
  uint32_t config_size() const { return config_len_; }
  /// Device-specific configuration space accesses (`size` 1/2/4/8 bytes at
  /// `offset`; bytes past config_size() read 0, writes there are ignored).
  uint64_t read_config(uint32_t offset, unsigned size);
  void write_config(uint32_t offset, unsigned size, uint64_t value);
  /// queue_enable = 1 for queue `q`.
  void enable_queue(uint16_t q);
  /// The driver's available buffer notification for queue `q` (out-of-range
  /// indices are ignored).
  void notify(uint16_t q);

  /// The callback told when the device stops with an error.
  void set_error_callback(VirtioErrorFn fn, void* ctx) {
    on_error_ = fn;
    error_ctx_ = ctx;
  }
  bool needs_reset() const { return status_ & virtio::kStatusDeviceNeedsReset; }
  /// The error that stopped the device (code none while it has not).
  const VirtioError& error() const { return error_; }
  /// DRIVER_OK, FEATURES_OK, not FAILED or DEVICE_NEEDS_RESET, DMA allowed.
  bool running() const;
  bool negotiated(unsigned bit) const { return (driver_features_ >> bit) & 1; }

  /// Stops the device with a device-specific error (e.g. a request without
  /// its header), as if a queue had failed.
  void fail(uint16_t queue, VirtioErrc code, uint64_t value);

 protected:
  /// `features`: the device-type bits to offer (kCommonFeatures is added);
  /// `num_queues` (at most kMaxQueues) queues of at most `queue_size`
  /// entries each.
  VirtioDevice(uint16_t device_id, uint64_t features, uint16_t num_queues, uint16_t queue_size, GuestMemory& mem);
  ~VirtioDevice() = default;

  /// The driver notified queue `q` while the device runs (also called for
  /// every enabled queue when the device starts running).
  virtual void process_queue(uint16_t q) = 0;
  /// Device-type state back to its reset value (the base class already
  /// reset the status, features and queues).
  virtual void device_reset() {}
  /// The device-type's acceptance of the driver's features at FEATURES_OK.
  virtual bool accept_features(uint64_t features) {
    (void)features;
    return true;
  }
  /// A driver write of `size` bytes at `offset` (inside config_size()) to
  /// the configuration space; the default ignores it (read-only fields).
  virtual void config_write(uint32_t offset, unsigned size, uint64_t value) {
    (void)offset;
    (void)size;
    (void)value;
  }

  /// Sends the used buffer notification for `q` if the driver wants one
  /// (call after push()ing to it).
  void complete(uint16_t q);
  /// The device changed its configuration: bump config_generation and send
  /// a configuration change notification (when the driver is running).
  void config_changed();
  /// The configuration space image (config_size() bytes).
  uint8_t* config() { return config_; }
  void set_config_size(uint32_t n) { config_len_ = n > kMaxConfigBytes ? kMaxConfigBytes : n; }

 private:
  static void queue_error(void* ctx, uint16_t queue, VirtioErrc code, uint64_t value);
  void reset();

  uint16_t device_id_;
  uint16_t num_queues_;
  Virtqueue queues_[kMaxQueues];
  GuestMemory& mem_;
  VirtioTransport* transport_ = nullptr;
  uint64_t device_features_;
  uint64_t driver_features_ = 0;
  uint8_t status_ = 0;
  uint8_t generation_ = 0;
  uint8_t config_[kMaxConfigBytes] = {};
  uint32_t config_len_ = 0;
  VirtioError error_;
  VirtioErrorFn on_error_ = nullptr;
  void* error_ctx_ = nullptr;
};

}  // namespace cos::dev
