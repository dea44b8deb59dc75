#include "channel/channel_layout.hpp"

namespace cos::chan {

bool attach_channel(void* base, size_t bytes, uint32_t end, MsgRing& tx, MsgRing& rx) {
  if (end > 1 || bytes < kChannelControlBytes + 2 * MsgRing::kMinDataBytes) return false;
  auto* p = static_cast<uint8_t*>(base);
  const size_t d = ((bytes - kChannelControlBytes) / 2) & ~size_t{7};
  MsgRing* rings[2] = {end == 0 ? &tx : &rx, end == 0 ? &rx : &tx};
  return rings[0]->attach(p, p + kChannelControlBytes, d) &&
         rings[1]->attach(p + MsgRing::kControlBytes, p + kChannelControlBytes + d, d);
}

}  // namespace cos::chan
