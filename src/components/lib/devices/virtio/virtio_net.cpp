#include "devices/virtio/virtio_net.hpp"

#include "devices/util.hpp"

namespace cos::dev {

VirtioNet::VirtioNet(GuestMemory& mem, NetBackend& backend, const uint8_t (&mac)[6])
    : VirtioDevice(virtio::kIdNet, virtio::feature(kFMtu) | virtio::feature(kFMac) | virtio::feature(kFStatus), 2,
                   kQueueSize, mem),
      backend_(backend) {
  set_config_size(kConfigBytes);
  for (unsigned i = 0; i < 6; ++i) config()[i] = mac[i];
  store_le16(config() + 6, kStatusLinkUp);
  store_le16(config() + 8, 1);  // max_virtqueue_pairs
  store_le16(config() + 10, kMtu);
}

void VirtioNet::set_link_up(bool up) {
  store_le16(config() + 6, up ? kStatusLinkUp : 0);
  config_changed();
}

void VirtioNet::process_queue(uint16_t q) {
  if (q == kTransmitQueue) transmit();
  else if (q == kReceiveQueue) poll_rx();
}

void VirtioNet::transmit() {
  Virtqueue& q = *queue(kTransmitQueue);
  bool pushed = false;
  for (;;) {
    DescChain c;
    while (running() && q.pop(c)) {
      if (c.readable < kHeaderBytes) {
        fail(kTransmitQueue, VirtioErrc::request_malformed, c.head);
        return;
      }
      ChainCursor in(q, c, ChainCursor::Part::readable);
      uint8_t hdr[kHeaderBytes];
      if (!in.read(hdr, kHeaderBytes)) {
        if (!q.broken()) fail(kTransmitQueue, VirtioErrc::request_malformed, c.head);
        return;
      }
      uint64_t len = c.readable - kHeaderBytes;
      bool offload = (hdr[0] & kHdrFNeedsCsum) || hdr[1] != kGsoNone;  // neither was negotiated
      if (offload || len > kMaxFrameBytes || len < kMinFrameBytes) {
        ++stats_.tx_errors;
      } else {
        if (!in.read(frame_, len)) {
          if (!q.broken()) fail(kTransmitQueue, VirtioErrc::request_malformed, c.head);
          return;
        }
        if (backend_.net_transmit(frame_, len)) {
          ++stats_.tx_frames;
          stats_.tx_bytes += len;
        } else {
          ++stats_.tx_dropped;
        }
      }
      q.push(c, 0);
      pushed = true;
    }
    if (!running() || !q.enable_notifications()) break;
  }
  if (pushed) complete(kTransmitQueue);
  poll_rx();
}

void VirtioNet::poll_rx() {
  Virtqueue& q = *queue(kReceiveQueue);
  if (!running() || !q.enabled()) return;
  bool pushed = false;
  while (running()) {
    size_t len = backend_.net_rx_peek();
    if (len == 0) break;
    if (len > kMaxFrameBytes) {
      backend_.net_receive(frame_, 0);
      ++stats_.rx_dropped;
      continue;
    }
    DescChain c;
    if (!q.pop(c)) break;  // no buffer: the frame waits in the backend
    if (c.writable < kHeaderBytes + len) {
      // Without mergeable buffers a frame must fit one buffer (§5.1.6.3.1).
      backend_.net_receive(frame_, 0);
      ++stats_.rx_dropped;
      q.unpop();
      continue;
    }
    size_t got = backend_.net_receive(frame_, sizeof(frame_));
    if (got == 0) {  // the frame went away after the peek
      q.unpop();
      break;
    }
    if (got > sizeof(frame_) || c.writable < kHeaderBytes + got) {
      ++stats_.rx_dropped;
      q.unpop();
      continue;
    }
    len = got;
    uint8_t hdr[kHeaderBytes] = {};
    store_le16(hdr + 10, 1);  // num_buffers
    ChainCursor out(q, c, ChainCursor::Part::writable);
    if (!out.write(hdr, kHeaderBytes) || !out.write(frame_, len)) {
      if (!q.broken()) fail(kReceiveQueue, VirtioErrc::request_malformed, c.head);
      return;
    }
    q.push(c, kHeaderBytes + len);
    ++stats_.rx_frames;
    stats_.rx_bytes += len;
    pushed = true;
  }
  q.enable_notifications();
  if (pushed) complete(kReceiveQueue);
}

}  // namespace cos::dev
