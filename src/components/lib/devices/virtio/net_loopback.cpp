#include "devices/virtio/net_loopback.hpp"

namespace cos::dev {

bool NetLoopback::net_transmit(const uint8_t* frame, size_t len) {
  if (count_ == kFrames || len > VirtioNet::kMaxFrameBytes || len == 0) return false;
  unsigned slot = (head_ + count_) % kFrames;
  for (size_t i = 0; i < len; ++i) frames_[slot][i] = frame[i];
  len_[slot] = len;
  ++count_;
  return true;
}

size_t NetLoopback::net_receive(uint8_t* dst, size_t cap) {
  if (!count_) return 0;
  size_t len = len_[head_];
  for (size_t i = 0; i < len && i < cap; ++i) dst[i] = frames_[head_][i];
  head_ = (head_ + 1) % kFrames;
  --count_;
  return len;
}

}  // namespace cos::dev
