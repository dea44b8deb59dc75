#include "devices/virtio/virtio_pci.hpp"

#include "devices/util.hpp"

namespace cos::dev {

using namespace virtio;

namespace {

// PCI class codes by device type (PCI Code and ID Assignment Specification):
// Ethernet controller, other mass storage controller, other communication
// controller.
uint32_t class_code(uint16_t device_id) {
  switch (device_id) {
    case kIdNet: return 0x020000;
    case kIdBlock: return 0x018000;
    case kIdConsole: return 0x078000;
    default: return 0xff0000;
  }
}

PciFunction::Identity identity(const VirtioDevice& d) {
  PciFunction::Identity id;
  id.vendor_id = VirtioPci::kVendorId;
  id.device_id = static_cast<uint16_t>(VirtioPci::kDeviceIdBase + d.device_id());
  id.subsystem_vendor_id = VirtioPci::kVendorId;
  id.subsystem_id = VirtioPci::kSubsystemId;
  id.revision = 1;
  id.class_code = class_code(d.device_id());
  return id;
}

// The common configuration structure's fields (offset, width in bytes).
struct Field {
  uint8_t offset;
  uint8_t width;
};
constexpr Field kFields[] = {
    {VirtioPci::kDeviceFeatureSelect, 4}, {VirtioPci::kDeviceFeature, 4}, {VirtioPci::kDriverFeatureSelect, 4},
    {VirtioPci::kDriverFeature, 4},       {VirtioPci::kConfigMsixVector, 2}, {VirtioPci::kNumQueues, 2},
    {VirtioPci::kDeviceStatus, 1},        {VirtioPci::kConfigGeneration, 1}, {VirtioPci::kQueueSelect, 2},
    {VirtioPci::kQueueSize, 2},           {VirtioPci::kQueueMsixVector, 2},  {VirtioPci::kQueueEnable, 2},
    {VirtioPci::kQueueNotifyOff, 2},      {VirtioPci::kQueueDesc, 8},        {VirtioPci::kQueueDriver, 8},
    {VirtioPci::kQueueDevice, 8},         {VirtioPci::kQueueNotifyData, 2},  {VirtioPci::kQueueReset, 2},
};

}  // namespace

VirtioPci::VirtioPci(VirtioDevice& device) : PciFunction(identity(device)), dev_(device) {
  for (uint16_t& v : queue_vector_) v = kNoVector;
  define_bar(0, kBar0Size);
  define_bar(1, kBar1Size);
  unsigned queues = dev_.num_queues() < kMaxQueues ? dev_.num_queues() : kMaxQueues;
  add_msix(queues + 1, 1, kMsixTableOffset, 1, kMsixPbaOffset);
  add_virtio_cap(kCapCommon, 16, 0, kCommonOffset, kCommonLength);
  uint8_t notify = add_virtio_cap(kCapNotify, 20, 0, kNotifyOffset, kNotifyMultiplier * queues);
  if (notify) store32(notify + 16u, kNotifyMultiplier);
  add_virtio_cap(kCapIsr, 16, 0, kIsrOffset, 1);
  if (dev_.config_size()) add_virtio_cap(kCapDevice, 16, 0, kDeviceOffset, dev_.config_size());
  uint8_t window = add_virtio_cap(kCapPciCfg, 20, 0, 0, 0);
  if (window) {
    set_writable(window + 4u, 1);  // bar
    set_writable(window + 8u, 8);  // offset, length
  }
  dev_.set_transport(this);
}

uint8_t VirtioPci::add_virtio_cap(uint8_t cfg_type, unsigned length, uint8_t bar, uint32_t offset,
                                  uint32_t region_length) {
  // struct virtio_pci_cap (§4.1.4): cap_vndr, cap_next, cap_len, cfg_type,
  // bar, id, padding[2], offset, length.
  uint8_t c = add_capability(kCapVendor, length);
  if (!c) return 0;
  uint8_t* cfg = config_bytes();
  cfg[c + 2] = static_cast<uint8_t>(length);
  cfg[c + 3] = cfg_type;
  cfg[c + 4] = bar;
  store32(c + 8u, offset);
  store32(c + 12u, region_length);
  if (cfg_type < sizeof(caps_)) caps_[cfg_type] = c;
  return c;
}

uint8_t VirtioPci::capability_offset(uint8_t cfg_type) const { return cfg_type < sizeof(caps_) ? caps_[cfg_type] : 0; }

uint16_t VirtioPci::checked_vector(uint64_t v) const {
  return v < msix_vectors() ? static_cast<uint16_t>(v) : kNoVector;
}

void VirtioPci::reset_transport() {
  config_vector_ = kNoVector;
  for (uint16_t& v : queue_vector_) v = kNoVector;
  isr_ = 0;
  set_intx(false);
}

uint64_t VirtioPci::field_read(uint8_t field) {
  Virtqueue* q = dev_.queue(queue_select_);
  switch (field) {
    case kDeviceFeatureSelect: return device_feature_select_;
    case kDeviceFeature:
      return device_feature_select_ < 2 ? uint32_t(dev_.device_features() >> (32 * device_feature_select_)) : 0;
    case kDriverFeatureSelect: return driver_feature_select_;
    case kDriverFeature:
      return driver_feature_select_ < 2 ? uint32_t(dev_.driver_features() >> (32 * driver_feature_select_)) : 0;
    case kConfigMsixVector: return config_vector_;
    case kNumQueues: return dev_.num_queues();
    case kDeviceStatus: return dev_.status();
    case kConfigGeneration: return dev_.config_generation();
    case kQueueSelect: return queue_select_;
    case kQueueSize: return q ? q->size() : 0;  // 0: the queue does not exist
    case kQueueMsixVector: return q ? queue_msix_vector(queue_select_) : kNoVector;
    case kQueueEnable: return q && q->enabled();
    case kQueueNotifyOff: return q ? queue_select_ : 0;
    case kQueueDesc: return q ? q->desc_gpa() : 0;
    case kQueueDriver: return q ? q->driver_gpa() : 0;
    case kQueueDevice: return q ? q->device_gpa() : 0;
    default: return 0;  // queue_notify_data, queue_reset: features not offered
  }
}

void VirtioPci::field_write(uint8_t field, uint64_t v) {
  Virtqueue* q = queue_select_ < kMaxQueues ? dev_.queue(queue_select_) : nullptr;
  switch (field) {
    case kDeviceFeatureSelect: device_feature_select_ = static_cast<uint32_t>(v); break;
    case kDriverFeatureSelect: driver_feature_select_ = static_cast<uint32_t>(v); break;
    case kDriverFeature: dev_.write_driver_features(driver_feature_select_, static_cast<uint32_t>(v)); break;
    case kConfigMsixVector: config_vector_ = checked_vector(v); break;
    case kDeviceStatus:
      if ((v & 0xff) == 0) reset_transport();
      dev_.write_status(static_cast<uint8_t>(v));
      break;
    case kQueueSelect: queue_select_ = static_cast<uint16_t>(v); break;
    case kQueueSize:
      if (q) q->set_size(static_cast<uint16_t>(v));
      break;
    case kQueueMsixVector:
      if (q) queue_vector_[queue_select_] = checked_vector(v);
      break;
    case kQueueEnable:
      // Writing 0 is not allowed (§4.1.4.3.2) and ignored.
      if (q && (v & 0xffff) == 1) dev_.enable_queue(queue_select_);
      break;
    case kQueueDesc:
      if (q) q->set_desc_gpa(v);
      break;
    case kQueueDriver:
      if (q) q->set_driver_gpa(v);
      break;
    case kQueueDevice:
      if (q) q->set_device_gpa(v);
      break;
    default: break;  // read-only fields
  }
}

uint64_t VirtioPci::common_read(uint32_t offset, unsigned size) {
  uint64_t v = 0;
  for (const Field& f : kFields) {
    uint32_t lo = offset > f.offset ? offset : f.offset;
    uint32_t hi = offset + size < uint32_t(f.offset) + f.width ? offset + size : uint32_t(f.offset) + f.width;
    if (lo >= hi) continue;
    uint64_t fv = field_read(f.offset);
    for (uint32_t b = lo; b < hi; ++b) v |= ((fv >> (8 * (b - f.offset))) & 0xff) << (8 * (b - offset));
  }
  return v;
}

void VirtioPci::common_write(uint32_t offset, unsigned size, uint64_t value) {
  for (const Field& f : kFields) {
    uint32_t lo = offset > f.offset ? offset : f.offset;
    uint32_t hi = offset + size < uint32_t(f.offset) + f.width ? offset + size : uint32_t(f.offset) + f.width;
    if (lo >= hi) continue;
    // Merge the written bytes into the field's current value.
    uint64_t fv = field_read(f.offset);
    for (uint32_t b = lo; b < hi; ++b) {
      unsigned shift = 8 * (b - f.offset);
      fv = (fv & ~(uint64_t(0xff) << shift)) | (((value >> (8 * (b - offset))) & 0xff) << shift);
    }
    field_write(f.offset, fv);
  }
}

uint64_t VirtioPci::bar_read(unsigned bar, uint64_t offset, unsigned size) {
  if (bar != 0) return 0;
  if (offset < kCommonOffset + kCommonLength) return common_read(static_cast<uint32_t>(offset), size);
  if (offset == kIsrOffset) {
    // Reading the ISR clears it and deasserts INTA# (§4.1.4.5.1).
    uint8_t v = isr_;
    isr_ = 0;
    set_intx(false);
    return v;
  }
  if (offset >= kDeviceOffset && offset < kDeviceOffset + 0x1000)
    return dev_.read_config(static_cast<uint32_t>(offset - kDeviceOffset), size);
  return 0;
}

void VirtioPci::bar_write(unsigned bar, uint64_t offset, unsigned size, uint64_t value) {
  if (bar != 0) return;
  if (offset < kCommonOffset + kCommonLength) {
    common_write(static_cast<uint32_t>(offset), size, value);
  } else if (offset >= kDeviceOffset && offset < kDeviceOffset + 0x1000) {
    dev_.write_config(static_cast<uint32_t>(offset - kDeviceOffset), size, value);
  } else if (offset >= kNotifyOffset && offset < kNotifyOffset + 0x1000) {
    // The address names the queue (queue_notify_off * multiplier); without
    // VIRTIO_F_NOTIFICATION_DATA the value is the queue index again.
    uint64_t rel = offset - kNotifyOffset;
    if (rel % kNotifyMultiplier == 0) dev_.notify(static_cast<uint16_t>(rel / kNotifyMultiplier));
  }
}

void VirtioPci::queue_interrupt(uint16_t q) {
  if (msix_enabled()) {
    uint16_t v = queue_msix_vector(q);
    if (v != kNoVector) msix_signal(v);
    return;
  }
  isr_ |= kIsrQueue;
  set_intx(true);
}

void VirtioPci::config_interrupt() {
  if (msix_enabled()) {
    if (config_vector_ != kNoVector) msix_signal(config_vector_);
    return;
  }
  isr_ |= kIsrConfig;
  set_intx(true);
}

bool VirtioPci::pci_cfg_window(unsigned& offset, unsigned& length) const {
  uint8_t c = caps_[kCapPciCfg];
  unsigned bar = load16(c + 4u) & 0xff;
  offset = load32(c + 8u);
  length = load32(c + 12u);
  // §4.1.4.9.1: length 1, 2 or 4, offset aligned to it, in one of our
  // BARs (access_bar checks the range).
  return bar <= 1 && (length == 1 || length == 2 || length == 4) && offset % length == 0;
}

bool VirtioPci::intercept_config_read(unsigned offset, unsigned size, uint32_t& value) {
  uint8_t c = caps_[kCapPciCfg];
  if (!c || offset != c + 16u) return false;
  unsigned off = 0, len = 0;
  uint64_t v = 0;
  if (pci_cfg_window(off, len) && access_bar(load16(c + 4u) & 0xff, off, len, false, v))
    value = static_cast<uint32_t>(v & all_ones(size < len ? size : len));
  else
    value = 0;
  return true;
}

bool VirtioPci::intercept_config_write(unsigned offset, unsigned size, uint32_t value) {
  uint8_t c = caps_[kCapPciCfg];
  if (!c || offset != c + 16u) return false;
  unsigned off = 0, len = 0;
  if (pci_cfg_window(off, len)) {
    uint64_t v = value & all_ones(size < len ? size : len);
    access_bar(load16(c + 4u) & 0xff, off, len, true, v);
  }
  return true;
}

}  // namespace cos::dev
