// channel_check: checks channels ([[channel]], composition_scripts/
// channel_check.toml) from inside the components they join.
//
// An end of channels checks, for each of its channels in CompInfo order:
//  1. its capability table holds exactly its notification endpoint (rcv,
//     read|write) and one send endpoint (asnd, write) per channel, nothing
//     else, and first_free_slot follows them;
//  2. the channel is mapped at kChannelWindow + j * kChannelStride with
//     exactly `bytes` bytes (the page after it is not mapped: the print
//     system call returns bad_address for it);
//  3. both ends see the same memory: end 0 finds it zeroed, fills its half
//     with a pattern and its own id and notifies; end 1 finds that pattern
//     (and that id is its `peer`), checks its half is zero, fills it and
//     notifies back; end 0 checks end 1's half (and its id);
//  4. notifications go to the peer: `rounds` (parameter, default 100)
//     ping-pong rounds, each a sequence number written by one end and
//     answered by the other after an asnd / rcv on notify_rcv_slot, every
//     rcv consuming exactly one notification within 5 s, and a closing
//     notification from end 0 (the channels share one endpoint);
// and at the end nothing is pending on its endpoint.
// Blobs from `files`: "file.note" must hold the text of
// composition_scripts/files/channel_check/note.txt; "file.root" must be an
// ext2 file system labelled "root" (superblock magic and volume name) and,
// being writable, keep what is written to it.
// A component without channels checks that its info page names none, that
// its capability table is empty, and that nothing is mapped at any of the
// kMaxChannels channel addresses.
// Prints "channel_check: <name>: ..." lines, "WRONG ..." for each mismatch,
// then "channel_check: <name>: done, N wrong".
#include "runtime/cos.hpp"

namespace {

using cos::abi::Error;
using cos::abi::ObjType;
namespace Rights = cos::abi::Rights;
namespace sys = cos::sys;
using cos::boot::CompInfo;

constexpr uint64_t kSlots = 256;  // 4 capability-table pages of 64 slots
constexpr uint64_t kRcvTimeoutUs = 5000000;
const char* g_name;
int g_wrong;

int64_t err(Error e) { return static_cast<int64_t>(e); }
int64_t cap(ObjType t, uint64_t rights) { return static_cast<int64_t>(static_cast<uint64_t>(t) | rights << 8); }

void wrong(const char* what, int64_t got, int64_t expected) {
  cos::printf("channel_check: %s: WRONG %s: got %ld, expected %ld\n", g_name, what, static_cast<long>(got),
              static_cast<long>(expected));
  ++g_wrong;
}

void expect(const char* what, int64_t got, int64_t expected) {
  if (got != expected) wrong(what, got, expected);
}

// Whether the page at `va` is mapped readable in this component: the print
// system call checks the range it is given (a byte of it would be printed,
// so this is only called where nothing is expected).
bool unmapped(uint64_t va) { return sys::print(reinterpret_cast<const char*>(va), 1) == err(Error::bad_address); }

void check_table(const CompInfo& me) {
  const int before = g_wrong;
  uint64_t used = 0;
  for (uint64_t s = 1; s < kSlots; ++s) {
    int64_t want = err(Error::empty_slot);
    if (me.notify_rcv_slot != 0 && s == me.notify_rcv_slot) want = cap(ObjType::rcv, Rights::read | Rights::write);
    for (uint32_t k = 0; k < me.channel_count; ++k)
      if (me.channels[k].asnd_slot == s) want = cap(ObjType::asnd, Rights::write);
    if (want >= 0) ++used;
    const int64_t got = sys::cap_info(s);
    if (got != want) {
      cos::printf("channel_check: %s: WRONG slot %lu: cap_info %ld, expected %ld\n", g_name,
                  static_cast<unsigned long>(s), static_cast<long>(got), static_cast<long>(want));
      ++g_wrong;
    }
  }
  expect("slots used", static_cast<int64_t>(used), me.channel_count ? me.channel_count + 1 : 0);
  expect("first_free_slot", static_cast<int64_t>(me.first_free_slot), static_cast<int64_t>(used + 1));
  if (g_wrong == before)
    cos::printf("channel_check: %s: capability table ok (%lu slots: %s)\n", g_name, static_cast<unsigned long>(used),
                used ? "a notification endpoint and a send endpoint per channel" : "empty");
}

// The word end `end` of channel `k` writes at index i of its half.
uint64_t pattern(uint32_t k, uint32_t end, uint64_t i) {
  return (i + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t(k + 1) << 56) ^ (uint64_t(end + 1) << 48);
}

// Waits for one notification from the peer.
void receive(const CompInfo& me, const char* what) {
  const int64_t r = sys::rcv(me.notify_rcv_slot, kRcvTimeoutUs);
  if (r != 1) wrong(what, r, 1);
}

void notify(const CompInfo::Channel& c) { expect("asnd", sys::asnd(c.asnd_slot), 0); }

// Checks that half `end` of channel `k` holds `end`'s pattern (after its id
// in word 0), or is all zero.
void check_half(uint32_t k, const CompInfo::Channel& c, uint32_t end, bool zero, uint32_t id) {
  volatile uint64_t* w = reinterpret_cast<volatile uint64_t*>(c.vaddr + end * (c.bytes / 2));
  const uint64_t n = c.bytes / 2 / 8;
  uint64_t bad = 0;
  for (uint64_t i = 1; i < n; ++i)
    if (w[i] != (zero ? 0 : pattern(k, end, i))) ++bad;
  if (bad) wrong(zero ? "words not zero in the untouched half" : "words of the peer's pattern", bad, 0);
  expect(zero ? "first word of the untouched half" : "the id the peer wrote", w[0], zero ? 0 : id);
}

void fill_half(uint32_t k, const CompInfo::Channel& c, uint32_t end, uint32_t id) {
  volatile uint64_t* w = reinterpret_cast<volatile uint64_t*>(c.vaddr + end * (c.bytes / 2));
  const uint64_t n = c.bytes / 2 / 8;
  for (uint64_t i = 1; i < n; ++i) w[i] = pattern(k, end, i);
  w[0] = id;
}

void check_channel(const CompInfo& me, uint32_t k, uint64_t rounds) {
  const CompInfo::Channel& c = me.channels[k];
  const int before = g_wrong;
  expect("channel address", c.vaddr, cos::boot::kChannelWindow + k * cos::boot::kChannelStride);
  expect("channel size is whole pages", c.bytes % 4096, 0);
  if (c.end > 1) wrong("end", c.end, 0);
  if (c.peer == me.id) wrong("peer is itself", c.peer, 0);
  if (!unmapped(c.vaddr + c.bytes)) wrong("the page after the channel is mapped", 1, 0);
  const uint32_t mine = c.end, theirs = 1 - c.end;
  if (mine == 0) {
    check_half(k, c, 0, true, 0);
    check_half(k, c, 1, true, 0);
    fill_half(k, c, 0, me.id);
    notify(c);
    receive(me, "rcv of the peer's pattern notification");
    check_half(k, c, 1, false, c.peer);
  } else {
    receive(me, "rcv of the peer's pattern notification");
    check_half(k, c, 0, false, c.peer);
    check_half(k, c, 1, true, 0);
    fill_half(k, c, 1, me.id);
    notify(c);
  }
  if (g_wrong == before)
    cos::printf("channel_check: %s: channel '%s' (end %u, %lu KiB at 0x%lx): both ends see the same memory\n", g_name,
                c.name, c.end, static_cast<unsigned long>(c.bytes / 1024), static_cast<unsigned long>(c.vaddr));
  // Ping-pong: end 0 writes r into its word 0, end 1 answers r + 1000000 in its.
  volatile uint64_t* out = reinterpret_cast<volatile uint64_t*>(c.vaddr + mine * (c.bytes / 2));
  volatile uint64_t* in = reinterpret_cast<volatile uint64_t*>(c.vaddr + theirs * (c.bytes / 2));
  uint64_t bad = 0;
  const int before_rounds = g_wrong;
  for (uint64_t r = 1; r <= rounds; ++r) {
    if (mine == 0) {
      out[0] = r;
      notify(c);
      receive(me, "rcv of an answer");
      if (in[0] != r + 1000000) ++bad;
    } else {
      receive(me, "rcv of a ping");
      if (in[0] != r) ++bad;
      out[0] = r + 1000000;
      notify(c);
    }
  }
  // The endpoint is shared by all channels: the next channel starts only
  // after a closing notification, so a notification never meets another.
  if (mine == 0)
    notify(c);
  else
    receive(me, "rcv of the closing notification");
  if (bad) wrong("ping-pong rounds with a wrong sequence number", bad, 0);
  if (g_wrong == before_rounds)
    cos::printf("channel_check: %s: channel '%s': %lu notification round trips ok\n", g_name, c.name,
                static_cast<unsigned long>(rounds));
}

// Where in each channel's place a component without channels probes.
constexpr uint64_t kProbeOffsets[] = {0, 4096, 64 * 1024};

void check_loner(const CompInfo& me) {
  const int before = g_wrong;
  expect("channel_count", me.channel_count, 0);
  expect("notify_rcv_slot", me.notify_rcv_slot, 0);
  uint32_t mapped = 0;
  for (uint32_t k = 0; k < cos::boot::kMaxChannels; ++k)
    for (uint64_t off : kProbeOffsets)
      if (!unmapped(cos::boot::kChannelWindow + k * cos::boot::kChannelStride + off)) ++mapped;
  expect("pages mapped in the channel window", mapped, 0);
  if (g_wrong == before)
    cos::printf("channel_check: %s: no channel: nothing mapped at any of the %u channel addresses\n", g_name,
                cos::boot::kMaxChannels);
}

bool starts_with(const char* s, uint64_t len, const char* prefix) {
  for (uint64_t i = 0; prefix[i]; ++i)
    if (i >= len || s[i] != prefix[i]) return false;
  return true;
}

void check_files(const CompInfo& me) {
  for (uint32_t j = 0; j < me.blob_count && j < cos::boot::kMaxBlobs; ++j) {
    const CompInfo::Blob& b = me.blobs[j];
    const char* data = reinterpret_cast<const char*>(b.vaddr);
    const int before = g_wrong;
    if (__builtin_strcmp(b.name, "file.note") == 0) {
      if (!starts_with(data, b.size, "channel_check note: a raw file handed to a component\n"))
        wrong("the text of file.note", 0, 1);
      expect("file.note flags (read-only)", b.flags, 0);
      if (g_wrong == before)
        cos::printf("channel_check: %s: file.note: %lu bytes, the text of note.txt\n", g_name,
                    static_cast<unsigned long>(b.size));
    } else if (__builtin_strcmp(b.name, "file.root") == 0) {
      volatile uint8_t* d = reinterpret_cast<volatile uint8_t*>(b.vaddr);
      expect("file.root size", b.size, 256 * 1024);
      expect("file.root flags (writable)", b.flags, cos::boot::kBlobWritable);
      if (b.size < 2048) continue;
      expect("ext2 magic", d[1080] | d[1081] << 8, 0xef53);
      if (!starts_with(data + 1024 + 120, 16, "root")) wrong("ext2 volume name", 0, 1);
      d[b.size - 1] = 0x5a;
      expect("a write to the writable file.root", d[b.size - 1], 0x5a);
      if (g_wrong == before)
        cos::printf("channel_check: %s: file.root: %lu KiB ext2 file system 'root', writable\n", g_name,
                    static_cast<unsigned long>(b.size / 1024));
    } else {
      wrong("unexpected blob", j, -1);
    }
  }
}

}  // namespace

int main() {
  const CompInfo& me = cos::self();
  g_name = me.name;
  const uint64_t rounds = cos::param_u64("rounds", 100);
  check_table(me);
  check_files(me);
  if (me.channel_count == 0) check_loner(me);
  for (uint32_t k = 0; k < me.channel_count && k < cos::boot::kMaxChannels; ++k) check_channel(me, k, rounds);
  if (me.notify_rcv_slot)
    expect("notifications left over", sys::rcv(me.notify_rcv_slot, 0, cos::abi::kRcvNonBlocking),
           err(Error::would_block));
  cos::printf("channel_check: %s: done, %d wrong\n", g_name, g_wrong);
  return 0;
}
