#include "devices/virtio/virtio_device.hpp"

namespace cos::dev {

using namespace virtio;

VirtioDevice::VirtioDevice(uint16_t device_id, uint64_t features, uint16_t num_queues, uint16_t queue_size,
                           GuestMemory& mem)
    : device_id_(device_id),
      num_queues_(num_queues < kMaxQueues ? num_queues : kMaxQueues),
      mem_(mem),
      device_features_(features | kCommonFeatures) {
  for (uint16_t q = 0; q < num_queues_; ++q) queues_[q].init(q, queue_size, queue_error, this);
}

void VirtioDevice::reset() {
  for (uint16_t q = 0; q < num_queues_; ++q) queues_[q].reset();
  driver_features_ = 0;
  status_ = 0;
  error_ = VirtioError{};
  device_reset();
}

bool VirtioDevice::running() const {
  constexpr uint8_t need = kStatusDriverOk | kStatusFeaturesOk;
  return (status_ & need) == need && !(status_ & (kStatusFailed | kStatusDeviceNeedsReset)) &&
         (!transport_ || transport_->dma_enabled());
}

void VirtioDevice::write_driver_features(uint32_t select, uint32_t value) {
  if (status_ & kStatusFeaturesOk) return;
  if (select == 0) driver_features_ = (driver_features_ & ~0xffffffffull) | value;
  else if (select == 1) driver_features_ = (driver_features_ & 0xffffffffull) | uint64_t(value) << 32;
}

void VirtioDevice::write_status(uint8_t value) {
  if (value == 0) {
    reset();
    return;
  }
  uint8_t old = status_;
  // DEVICE_NEEDS_RESET belongs to the device; FEATURES_OK is accepted only
  // with a valid feature set (§2.2.1, §3.1.1 step 6).
  value = static_cast<uint8_t>((value & ~kStatusDeviceNeedsReset) | (old & kStatusDeviceNeedsReset));
  if ((value & kStatusFeaturesOk) && !(old & kStatusFeaturesOk)) {
    bool ok = !(driver_features_ & ~device_features_) && negotiated(kFVersion1) && accept_features(driver_features_);
    if (!ok) value = static_cast<uint8_t>(value & ~kStatusFeaturesOk);
  }
  status_ = value;
  if ((value & kStatusDriverOk) && !(old & kStatusDriverOk) && running()) {
    // Buffers the driver made available before DRIVER_OK are handled now.
    for (uint16_t q = 0; q < num_queues_ && running(); ++q)
      if (queues_[q].enabled()) process_queue(q);
  }
}

uint64_t VirtioDevice::read_config(uint32_t offset, unsigned size) {
  uint64_t v = 0;
  for (unsigned i = 0; i < size && i < 8; ++i)
    if (uint64_t(offset) + i < config_len_) v |= uint64_t(config_[offset + i]) << (8 * i);
  return v;
}

void VirtioDevice::write_config(uint32_t offset, unsigned size, uint64_t value) {
  if (uint64_t(offset) >= config_len_ || size == 0 || size > 8) return;
  config_write(offset, size, value);
}

void VirtioDevice::enable_queue(uint16_t q) {
  Virtqueue* vq = queue(q);
  if (!vq || needs_reset()) return;
  if (!(status_ & kStatusFeaturesOk)) {
    fail(q, VirtioErrc::queue_enabled_early, 0);
    return;
  }
  vq->enable(mem_, driver_features_);
}

void VirtioDevice::notify(uint16_t q) {
  Virtqueue* vq = queue(q);
  if (!vq || !vq->enabled() || !running()) return;
  process_queue(q);
}

void VirtioDevice::complete(uint16_t q) {
  Virtqueue* vq = queue(q);
  if (vq && transport_ && vq->should_interrupt()) transport_->queue_interrupt(q);
}

void VirtioDevice::config_changed() {
  ++generation_;
  if ((status_ & kStatusDriverOk) && transport_) transport_->config_interrupt();
}

void VirtioDevice::queue_error(void* ctx, uint16_t queue, VirtioErrc code, uint64_t value) {
  static_cast<VirtioDevice*>(ctx)->fail(queue, code, value);
}

void VirtioDevice::fail(uint16_t queue, VirtioErrc code, uint64_t value) {
  if (needs_reset()) return;
  // With DEVICE_NEEDS_RESET set running() is false: no queue is touched
  // again until the driver resets the device.
  status_ = static_cast<uint8_t>(status_ | kStatusDeviceNeedsReset);
  error_ = VirtioError{device_id_, queue, code, value};
  if (queue < num_queues_) queues_[queue].fail(code, value);  // no-op if it reported this itself
  if (on_error_) on_error_(error_ctx_, error_);
  if (transport_ && (status_ & kStatusDriverOk)) transport_->config_interrupt();
}

}  // namespace cos::dev
