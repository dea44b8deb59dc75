// cos::dev — constants of the virtio 1.x specification (OASIS "Virtual I/O
// Device (VIRTIO) Version 1.2", cited as "virtio 1.2, §n"). Everything is
// little-endian; the devices are modern-only (VIRTIO_F_VERSION_1).
#pragma once
#include <stdint.h>

namespace cos::dev::virtio {

/// Device status bits (§2.1).
enum : uint8_t {
  kStatusAcknowledge = 1,
  kStatusDriver = 2,
  kStatusDriverOk = 4,
  kStatusFeaturesOk = 8,
  kStatusDeviceNeedsReset = 64,
  kStatusFailed = 128,
};

/// Device IDs (§5).
enum : uint16_t { kIdNet = 1, kIdBlock = 2, kIdConsole = 3 };

/// Feature bits independent of the device type (§6).
enum : unsigned {
  kFIndirectDesc = 28,     ///< VIRTIO_F_INDIRECT_DESC (§2.7.5.3)
  kFEventIdx = 29,         ///< VIRTIO_F_EVENT_IDX (§2.7.7, §2.7.10)
  kFVersion1 = 32,         ///< VIRTIO_F_VERSION_1
  kFAccessPlatform = 33,   ///< VIRTIO_F_ACCESS_PLATFORM (not offered: gpa are used as is)
  kFRingPacked = 34,       ///< VIRTIO_F_RING_PACKED (not offered)
};
constexpr uint64_t feature(unsigned bit) { return uint64_t(1) << bit; }

/// Split virtqueue descriptor flags (§2.7.5).
enum : uint16_t { kDescNext = 1, kDescWrite = 2, kDescIndirect = 4 };
/// virtq_avail.flags (§2.7.6) and virtq_used.flags (§2.7.8).
enum : uint16_t { kAvailNoInterrupt = 1, kUsedNoNotify = 1 };
/// Largest split virtqueue size (§2.7: "Queue Size ... maximum 32768").
constexpr uint16_t kMaxQueueSize = 32768;
/// Sizes of the split virtqueue parts for `n` entries (§2.7): descriptor
/// table (16-byte aligned), driver area = available ring (2-byte aligned),
/// device area = used ring (4-byte aligned), with the event-index fields.
constexpr uint64_t desc_table_bytes(uint32_t n) { return 16ull * n; }
constexpr uint64_t avail_ring_bytes(uint32_t n) { return 6ull + 2ull * n; }
constexpr uint64_t used_ring_bytes(uint32_t n) { return 6ull + 8ull * n; }

/// vring_need_event() of §2.7.10: true if moving the index from `old_idx`
/// to `new_idx` passed `event` (all 16-bit, wrapping).
constexpr bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx) {
  return static_cast<uint16_t>(new_idx - event - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

/// MSI-X "no vector" (§4.1.4.3).
constexpr uint16_t kNoVector = 0xffff;

}  // namespace cos::dev::virtio
