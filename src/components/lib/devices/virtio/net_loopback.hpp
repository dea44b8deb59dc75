// cos::dev::NetLoopback — a NetBackend that receives what it transmits (a
// cable from the port back to itself), holding up to kFrames frames of at
// most VirtioNet::kMaxFrameBytes; a transmit into a full loop (or of a
// longer frame) is refused and counted by the device as dropped.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_net.hpp"

namespace cos::dev {

class NetLoopback final : public NetBackend {
 public:
  static constexpr unsigned kFrames = 8;

  bool net_transmit(const uint8_t* frame, size_t len) override;
  size_t net_rx_peek() override { return count_ ? len_[head_] : 0; }
  size_t net_receive(uint8_t* dst, size_t cap) override;
  unsigned queued() const { return count_; }

 private:
  uint8_t frames_[kFrames][VirtioNet::kMaxFrameBytes];
  size_t len_[kFrames] = {};
  unsigned head_ = 0, count_ = 0;
};

}  // namespace cos::dev
