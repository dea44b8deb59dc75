// cos::chan::Channel — a component's end of a channel ([[channel]] in the
// composition script, docs/composition.md "Channels"): the shared memory the
// booter mapped into both ends, cut into two message rings
// (channel_layout.hpp), and the send endpoint that notifies the peer.
//
//   cos::chan::Channel ch;
//   if (!ch.open("disk0")) ...;                 // by the channel's name
//   ch.tx().push(tag, &req, sizeof(req));  ch.notify();
//   cos::sys::rcv(cos::chan::notify_endpoint(), timeout_us, 0);   // the peer notified us
//   while (ch.rx().pop(tag, len, buf, sizeof(buf)) == RingStatus::ok) ...
//
// Every channel of a component notifies the same endpoint
// (CompInfo::notify_rcv_slot); after a wake-up, poll every channel.
#pragma once
#include <stdint.h>

#include "channel/channel_layout.hpp"

namespace cos::chan {

class Channel {
 public:
  /// Attaches to this component's channel called `name`. False if there is
  /// none (or its memory is unusable).
  bool open(const char* name);
  /// Attaches to this component's channel number `index` (< channel_count()).
  bool open(uint32_t index);
  bool is_open() const { return asnd_ != 0; }

  MsgRing& tx() { return tx_; }
  MsgRing& rx() { return rx_; }
  /// Notifies the peer's notification endpoint (asnd). Returns the kernel's
  /// result (0, or a negative cos::abi::Error).
  int64_t notify();
  /// The other end's component id and this channel's name.
  uint32_t peer() const { return peer_; }
  const char* name() const { return name_; }

 private:
  MsgRing tx_, rx_;
  uint64_t asnd_ = 0;
  uint32_t peer_ = 0;
  const char* name_ = "";
};

/// This component's channels (CompInfo::channel_count).
uint32_t channel_count();
/// The receive endpoint every peer notifies (0 without channels).
uint64_t notify_endpoint();

}  // namespace cos::chan
