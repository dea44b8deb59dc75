// cos::dev::VirtioNet — a virtio network device (virtio 1.2, §5.1) with one
// queue pair: receiveq1 (queue 0) and transmitq1 (queue 1); no control
// queue, no offloads (checksum, GSO), no mergeable receive buffers.
//
// Features: VIRTIO_NET_F_MTU (mtu 1500), VIRTIO_NET_F_MAC,
// VIRTIO_NET_F_STATUS (link up/down), besides the common ones.
// Configuration (§5.1.4): mac[6] @0, le16 status @6 (VIRTIO_NET_S_LINK_UP),
// le16 max_virtqueue_pairs @8 (1), le16 mtu @10; 24 bytes.
//
// Every buffer starts with struct virtio_net_hdr (§5.1.6), 12 bytes with
// VIRTIO_F_VERSION_1: flags, gso_type, hdr_len, gso_size, csum_start,
// csum_offset, num_buffers.
//  * Transmit (§5.1.6.2): the header is read and the rest of the chain's
//    readable part is one Ethernet frame (destination MAC first, no FCS),
//    handed to NetBackend::net_transmit. A frame the device cannot send —
//    longer than kMaxFrameBytes, shorter than an Ethernet header, or asking
//    for checksum/GSO offload that was not negotiated — is not sent and is
//    counted in Stats::tx_errors; a frame the backend refuses counts in
//    tx_dropped. A chain shorter than the header stops the device.
//  * Receive (§5.1.6.3/4): for each frame the backend has, one receive
//    buffer gets a zeroed header with num_buffers = 1 and the frame. A
//    frame larger than the buffer (or than kMaxFrameBytes) is taken from
//    the backend and counted in rx_dropped. Frames stay in the backend
//    while the guest has no receive buffer. The VMM calls poll_rx() when
//    its backend has new frames; the device also polls after transmitting
//    (a loopback or local switch may have answered) and when the driver
//    adds receive buffers.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_device.hpp"

namespace cos::dev {

/// An Ethernet port the device is plugged into (a switch component's port
/// behind a channel, a loopback, ...).
class NetBackend {
 public:
  /// Sends one frame of `len` bytes; false if the backend dropped it.
  virtual bool net_transmit(const uint8_t* frame, size_t len) = 0;
  /// Length in bytes of the next received frame, 0 if none is waiting.
  virtual size_t net_rx_peek() = 0;
  /// Removes the next frame and copies min(length, cap) bytes of it to
  /// `dst`; returns its full length (0 if none was waiting).
  virtual size_t net_receive(uint8_t* dst, size_t cap) = 0;

 protected:
  ~NetBackend() = default;
};

class VirtioNet final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint16_t kReceiveQueue = 0, kTransmitQueue = 1;
  /// Feature bits (§5.1.3).
  enum : unsigned { kFCsum = 0, kFGuestCsum = 1, kFMtu = 3, kFMac = 5, kFMrgRxbuf = 15, kFStatus = 16 };
  /// virtio_net_hdr (§5.1.6).
  static constexpr uint32_t kHeaderBytes = 12;
  static constexpr uint8_t kHdrFNeedsCsum = 1, kGsoNone = 0;
  static constexpr uint16_t kStatusLinkUp = 1;
  static constexpr uint16_t kMtu = 1500;
  /// The largest frame: MTU + Ethernet header (14) + one 802.1Q tag (4).
  static constexpr uint32_t kMaxFrameBytes = kMtu + 14 + 4;
  static constexpr uint32_t kMinFrameBytes = 14;
  static constexpr uint32_t kConfigBytes = 24;

  VirtioNet(GuestMemory& mem, NetBackend& backend, const uint8_t (&mac)[6]);

  /// The backend may have frames: fill receive buffers with them.
  void poll_rx();
  /// Link state as the driver sees it (configuration change notification).
  void set_link_up(bool up);

  struct Stats {
    uint64_t tx_frames = 0, tx_bytes = 0, tx_dropped = 0, tx_errors = 0;
    uint64_t rx_frames = 0, rx_bytes = 0, rx_dropped = 0;
  };
  const Stats& stats() const { return stats_; }

 protected:
  void process_queue(uint16_t q) override;

 private:
  void transmit();

  NetBackend& backend_;
  Stats stats_;
  uint8_t frame_[kMaxFrameBytes];
};

}  // namespace cos::dev
