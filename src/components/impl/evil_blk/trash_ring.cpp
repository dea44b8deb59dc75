#include "evil_blk/trash_ring.hpp"

#include "channel/channel_layout.hpp"

namespace cos::evil_blk {

uint32_t trash_ring(volatile uint8_t* base, size_t bytes, uint32_t end) {
  if (end > 1 || bytes < chan::kChannelControlBytes + 2 * chan::MsgRing::kMinDataBytes) return 0;
  const size_t data_bytes = ((bytes - chan::kChannelControlBytes) / 2) & ~size_t{7};
  volatile uint8_t* control = base + end * chan::MsgRing::kControlBytes;
  volatile uint8_t* data = base + chan::kChannelControlBytes + end * data_bytes;
  for (size_t i = 0; i < data_bytes; ++i) data[i] = 0xa5;
  auto* tail = reinterpret_cast<volatile uint32_t*>(control);
  const uint32_t old = *tail;
  *tail = static_cast<uint32_t>((old + 64) % (2 * data_bytes));
  return old;
}

}  // namespace cos::evil_blk
