// Channels ([[channel]] in the composition script): memory shared by two
// components plus a notification endpoint each.
//
// Components are built one at a time in manifest order, so when the first
// end of a channel is built its peer does not exist yet. What both ends
// need is therefore made before any component is built (prepare_channels):
// each end's notification endpoint (rcv) and each channel's memory (a frame,
// zeroed by retype). Building an end (grant_channels) then only hands out
// capabilities and maps memory that already exist: its rcv, read and write;
// per channel the frame mapped read-write, no exec, at kChannelWindow + j *
// kChannelStride, and an asnd made from the peer's rcv. A channel that could
// not be prepared fails both ends' builds. After every component is built,
// channels_unbuilt_peer tells which built component has a channel to one that
// was not, and release_channels drops the booter's own capabilities, so
// only the two ends reach a channel's memory and endpoints.
#include "booter/booter.hpp"
#include "fmt/format.hpp"

namespace booter {
namespace {

using cos::boot::CompInfo;

static_assert(cos_limits::kMaxSystemChannels <= 64);
// The booter's table holds, besides the kernel's slots and 4 per built
// component, one rcv per component and one frame per channel while it builds.
static_assert(cos::boot::kSlotFirstUntyped + cos::boot::kMaxUntyped + 4 * kMaxComponents + kMaxComponents +
                  cos_limits::kMaxSystemChannels + 4 <=
              cos::boot::kBooterCaptblPages * cos::abi::kSlotsPerCaptblPage);

/// The booter's capability to each component's notification endpoint (0:
/// none; it is an end of no channel, or making it failed).
uint64_t g_rcv[kMaxComponents];
struct Prepared {
  uint64_t frame = 0;  ///< the booter's capability to the shared memory
  char what[80] = {};  ///< why it could not be prepared ("" if it was)
  int64_t err = 0;
};
Prepared g_channels[cos_limits::kMaxSystemChannels];
uint32_t g_channel_count;

bool is_end(const cos::manifest::ChannelView& ch, uint32_t comp) { return ch.end[0] == comp || ch.end[1] == comp; }

}  // namespace

void prepare_channels(const cos::manifest::Reader& m) {
  g_channel_count = m.channel_count() < cos_limits::kMaxSystemChannels ? m.channel_count()
                                                                         : cos_limits::kMaxSystemChannels;
  // The composer never writes more than kMaxSystemChannels; the ends of any
  // further channel fail to build (grant_channels).
  for (uint32_t j = 0; j < g_channel_count; ++j) {
    const cos::manifest::ChannelView ch = m.channel(j);
    Prepared& p = g_channels[j];
    // One notification endpoint per component, shared by its channels.
    for (uint32_t e : ch.end) {
      if (e >= kMaxComponents || g_rcv[e] != 0) continue;
      uint64_t slot = new_slot();
      if (slot == 0) {
        cos::fmt::snformat(p.what, sizeof(p.what), "the booter's capability table is full");
        break;
      }
      int64_t r = retype_any(slot, ObjType::rcv, 1);
      if (r != 0) {
        free_slot(slot);
        cos::fmt::snformat(p.what, sizeof(p.what), "creating a notification endpoint");
        p.err = r;
        break;
      }
      g_rcv[e] = slot;
    }
    if (p.what[0] != '\0') continue;
    if (ch.end[0] >= kMaxComponents || ch.end[1] >= kMaxComponents) {
      cos::fmt::snformat(p.what, sizeof(p.what), "an end is beyond the booter's %u components", kMaxComponents);
      continue;
    }
    uint64_t frame = new_slot();
    if (frame == 0) {
      cos::fmt::snformat(p.what, sizeof(p.what), "the booter's capability table is full");
      continue;
    }
    int64_t r = retype_any(frame, ObjType::frame, ch.bytes / kPage);  // zeroed
    if (r != 0) {
      free_slot(frame);
      cos::fmt::snformat(p.what, sizeof(p.what), "allocating its %lu KiB", ch.bytes / 1024);
      p.err = r;
      continue;
    }
    p.frame = frame;
  }
}

bool grant_channels(Build& b, CompInfo& info) {
  uint32_t count = 0;
  for (uint32_t j = 0; j < b.m.channel_count(); ++j)
    if (is_end(b.m.channel(j), b.index)) ++count;
  if (count == 0) return true;
  if (count > cos::boot::kMaxChannels)
    return b.fail(0, "it is an end of %u channels, its info page holds %u", count, cos::boot::kMaxChannels);
  if (b.index >= kMaxComponents || g_rcv[b.index] == 0) {
    // The first of its channels says why its endpoint is missing.
    for (uint32_t j = 0; j < b.m.channel_count() && j < g_channel_count; ++j)
      if (is_end(b.m.channel(j), b.index) && g_channels[j].what[0] != '\0')
        return b.fail(g_channels[j].err, "channel '%s': %s", b.m.channel(j).name.data, g_channels[j].what);
    return b.fail(0, "its notification endpoint was not made");
  }
  if (!give_rights(b, g_rcv[b.index], Rights::read | Rights::write, info.notify_rcv_slot, "its notification endpoint"))
    return false;
  uint32_t k = 0;
  for (uint32_t j = 0; j < b.m.channel_count(); ++j) {
    const cos::manifest::ChannelView ch = b.m.channel(j);
    if (!is_end(ch, b.index)) continue;
    if (j >= g_channel_count) return b.fail(0, "channel '%s' is beyond the booter's table of channels", ch.name.data);
    const Prepared& p = g_channels[j];
    if (p.what[0] != '\0') return b.fail(p.err, "channel '%s': %s", ch.name.data, p.what);
    const uint32_t end = ch.end[0] == b.index ? 0 : 1;
    const uint32_t peer = ch.end[1 - end];
    const uint64_t va = cos::boot::kChannelWindow + k * cos::boot::kChannelStride;
    for (uint64_t page = 0; page < ch.bytes / kPage; ++page) {
      int64_t r = with_untyped([&](uint64_t ut) {
        return sys::pgtbl_map(b.pt, va + page * kPage, p.frame, page, Rights::read | Rights::write, ut);
      });
      if (r != 0) return b.fail(r, "mapping channel '%s'", ch.name.data);
    }
    CompInfo::Channel& c = info.channels[k];
    char what[64];
    cos::fmt::snformat(what, sizeof(what), "a send endpoint of channel '%s'", ch.name.data);
    // Notifies the peer's endpoint; sending needs write only.
    uint64_t tmp = new_slot();
    if (tmp == 0) return b.fail(0, "the booter's capability table is full");
    int64_t r = with_untyped([&](uint64_t ut) { return sys::asnd_create(ut, tmp, g_rcv[peer]); });
    bool ok = r == 0 ? give_rights(b, tmp, Rights::write, c.asnd_slot, what) : b.fail(r, "creating %s", what);
    free_slot(tmp);
    if (!ok) return false;
    cos::fmt::snformat(c.name, sizeof(c.name), "%s", ch.name.data);
    c.vaddr = va;
    c.bytes = ch.bytes;
    c.end = end;
    c.peer = peer;
    info.channel_count = ++k;
  }
  return true;
}

void print_channels(const cos::manifest::Reader& m, const CompInfo& info) {
  if (info.channel_count == 0) return;
  char line[256];
  size_t n = 0;
  for (uint32_t k = 0; k < info.channel_count; ++k) {
    const CompInfo::Channel& c = info.channels[k];
    const cos::manifest::Str peer = m.component(c.peer).name;
    const bool kib = c.bytes < (1ull << 20) || c.bytes % (1ull << 20) != 0;
    n += cos::fmt::snformat(line + n, sizeof(line) - n, "%s%s (%lu %s, with '%.*s')", k ? ", " : "", c.name,
                            kib ? c.bytes >> 10 : c.bytes >> 20, kib ? "KiB" : "MiB", static_cast<int>(peer.size),
                            peer.data);
    if (n >= sizeof(line)) n = sizeof(line) - 1;
  }
  cos::printf("booter:   channels: %s at 0x%lx\n", line, cos::boot::kChannelWindow);
}

bool channels_unbuilt_peer(const cos::manifest::Reader& m, uint32_t comp, uint32_t& channel, uint32_t& peer) {
  for (uint32_t j = 0; j < m.channel_count(); ++j) {
    const cos::manifest::ChannelView ch = m.channel(j);
    if (!is_end(ch, comp)) continue;
    const uint32_t other = ch.end[0] == comp ? ch.end[1] : ch.end[0];
    if (built_thread(other) == 0) {
      channel = j;
      peer = other;
      return true;
    }
  }
  return false;
}

void release_channels() {
  for (uint32_t j = 0; j < g_channel_count; ++j) {
    free_slot(g_channels[j].frame);  // the ends' mappings keep the memory
    g_channels[j].frame = 0;
  }
  for (uint64_t& rcv : g_rcv) {
    free_slot(rcv);  // the ends' copies keep the endpoints
    rcv = 0;
  }
}

}  // namespace booter
