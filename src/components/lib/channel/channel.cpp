#include "channel/channel.hpp"

#include "runtime/cos.hpp"

namespace cos::chan {

bool Channel::open(uint32_t index) {
  const boot::CompInfo& info = cos::self();
  if (index >= info.channel_count || index >= boot::kMaxChannels) return false;
  const boot::CompInfo::Channel& c = info.channels[index];
  if (!attach_channel(reinterpret_cast<void*>(c.vaddr), c.bytes, c.end, tx_, rx_)) return false;
  asnd_ = c.asnd_slot;
  peer_ = c.peer;
  name_ = c.name;
  return true;
}

bool Channel::open(const char* name) {
  const boot::CompInfo& info = cos::self();
  for (uint32_t i = 0; i < info.channel_count && i < boot::kMaxChannels; ++i)
    if (__builtin_strcmp(info.channels[i].name, name) == 0) return open(i);
  return false;
}

int64_t Channel::notify() { return cos::sys::asnd(asnd_); }

uint32_t channel_count() { return cos::self().channel_count; }
uint64_t notify_endpoint() { return cos::self().notify_rcv_slot; }

}  // namespace cos::chan
