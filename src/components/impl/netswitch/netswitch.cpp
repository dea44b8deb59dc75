// netswitch: a native learning L2 switch (mac_table.hpp) with one port per
// channel it is an end of ([[channel]] in the composition: a VMM's virtio-
// net on the other end, simple_vmm param `net`). Ethernet frames travel as
// messages with tag 1 (simple_vmm/channel_backends.hpp ChannelNet).
//
// Isolation: every port is served in turn with a budget of frames per
// round, so one flooding guest cannot keep the others' frames waiting; a
// full receive ring of a port drops frames for that port only (counted); a
// port whose peer breaks its ring is shut (reported once), the others go on.
#include "channel/channel.hpp"
#include "cos/exit_status.hpp"
#include "netswitch/mac_table.hpp"
#include "runtime/cos.hpp"

namespace {

using cos::chan::Channel;
using cos::chan::RingStatus;

constexpr unsigned kPorts = cos::boot::kMaxChannels;
constexpr uint32_t kNetFrame = 1;
constexpr unsigned kFramesPerRound = 32;
constexpr size_t kMaxFrame = 1522;

struct Port {
  Channel ch;
  bool shut = false;
  uint64_t rx_frames = 0, tx_frames = 0, drops = 0;
};
Port g_ports[kPorts];
unsigned g_count;

void shut(Port& p, const char* why) {
  if (p.shut) return;
  p.shut = true;
  cos::printf("netswitch: port '%s' %s; port shut\n", p.ch.name(), why);
}

}  // namespace

int main() {
  for (uint32_t i = 0; i < cos::chan::channel_count() && g_count < kPorts; ++i) {
    if (g_ports[g_count].ch.open(i))
      ++g_count;
    else
      cos::printf("netswitch: channel %u is unusable; skipped\n", i);
  }
  if (g_count == 0) cos::exit(cos::exit_status::kFailed, "no ports (composition: [[channel]] ends = [..., \"%s\"])", cos::self().name);
  cos::printf("netswitch: %u ports:", g_count);
  for (unsigned i = 0; i < g_count; ++i) cos::printf(" %s", g_ports[i].ch.name());
  cos::printf("\n");
  static cos::netswitch::MacTable table(g_count);
  static uint8_t frame[kMaxFrame];
  for (;;) {
    uint32_t notify = 0;
    bool more = false;
    for (unsigned in = 0; in < g_count; ++in) {
      Port& p = g_ports[in];
      for (unsigned k = 0; k < kFramesPerRound && !p.shut; ++k) {
        uint32_t tag;
        size_t len;
        RingStatus s = p.ch.rx().pop(tag, len, frame, sizeof(frame));
        if (s == RingStatus::empty) break;
        if (s == RingStatus::too_big) {
          p.ch.rx().skip();
          ++p.drops;
          continue;
        }
        if (s != RingStatus::ok) {
          shut(p, "broke its transmit ring");
          break;
        }
        if (k + 1 == kFramesPerRound) more = true;
        if (tag != kNetFrame) continue;
        ++p.rx_frames;
        uint32_t out = table.route(in, frame, len);
        for (unsigned o = 0; o < g_count; ++o) {
          if (!(out & (1u << o)) || g_ports[o].shut) continue;
          RingStatus w = g_ports[o].ch.tx().push(kNetFrame, frame, len);
          if (w == RingStatus::ok) {
            ++g_ports[o].tx_frames;
            notify |= 1u << o;
          } else if (w == RingStatus::corrupt) {
            shut(g_ports[o], "broke its receive ring");
          } else {
            ++g_ports[o].drops;
          }
        }
      }
    }
    for (unsigned o = 0; o < g_count; ++o)
      if (notify & (1u << o)) g_ports[o].ch.notify();
    if (!more) cos::sys::rcv(cos::chan::notify_endpoint(), 0, 0);
  }
}
