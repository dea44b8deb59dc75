// evil_blk: a hostile block component, for the test that a broken backend
// costs a guest its disk and nothing else (composition_scripts/evil_blk.toml,
// docs/channels.md "Isolation, tested"). It serves a zeroed disk of param
// `sectors` 512-byte sectors (default 2048, from its heap: `memory` must hold
// it) honestly over its first channel, with the block protocol
// (channel/blk_protocol.hpp), until a request with operation param
// `break_on` arrives (default 3, kBlkWrite). That request it drops, and
// instead of an answer it fills the response ring's records with 0xa5 bytes
// and moves the ring's tail 64 bytes on, so the client finds a record whose
// length (0xa5a5a5a5) is longer than anything produced, and notifies. Then
// it answers nothing more.
#include "channel/blk_server.hpp"
#include "channel/channel.hpp"
#include "cos/exit_status.hpp"
#include "evil_blk/trash_ring.hpp"
#include "runtime/cos.hpp"
#include "runtime/heap.hpp"

using cos::chan::Channel;
using cos::chan::RingStatus;

int main() {
  const cos::boot::CompInfo& info = cos::self();
  const uint64_t sectors = cos::param_u64("sectors", 2048);
  const uint64_t break_on = cos::param_u64("break_on", cos::chan::kBlkWrite);
  const uint64_t bytes = sectors * cos::chan::kBlkSectorBytes;
  auto* disk = static_cast<uint8_t*>(cos::heap::alloc(bytes));
  if (!disk) cos::exit(cos::exit_status::kFailed, "no heap for a %lu KiB disk (memory)", static_cast<unsigned long>(bytes >> 10));
  __builtin_memset(disk, 0, bytes);
  static Channel ch;
  if (cos::chan::channel_count() == 0 || !ch.open(0u))
    cos::exit(cos::exit_status::kFailed, "no channel to serve (composition: [[channel]] ends = [..., \"%s\"])", info.name);
  auto* scratch = static_cast<uint8_t*>(cos::heap::alloc(ch.rx().max_message()));
  if (!scratch) cos::exit(cos::exit_status::kFailed, "no heap for the request buffer (memory)");
  cos::chan::BlkServer server(disk, bytes, false, scratch, ch.rx().max_message());
  cos::printf("evil_blk: serving %lu KiB honestly on channel '%s' until a request with operation %lu\n",
              static_cast<unsigned long>(bytes >> 10), ch.name(), static_cast<unsigned long>(break_on));

  uint64_t served = 0;
  for (;;) {
    uint32_t tag;
    size_t len;
    while (ch.rx().peek(tag, len) == RingStatus::ok) {
      if (tag == break_on) {
        ch.rx().skip();
        const cos::boot::CompInfo::Channel& c = info.channels[0];
        const uint32_t old = cos::evil_blk::trash_ring(reinterpret_cast<volatile uint8_t*>(c.vaddr), c.bytes, c.end);
        ch.notify();
        cos::printf("evil_blk: request %lu has operation %u: answered with garbage (response ring tail %u -> +64, records 0xa5)\n",
                    static_cast<unsigned long>(served + 1), tag, old);
        for (;;) cos::sys::rcv(cos::chan::notify_endpoint(), 0, 0);
      }
      bool broken = false;
      // serve() takes every waiting request; simple_vmm's ChannelDisk has at
      // most one outstanding, so each is looked at here first.
      const unsigned n = server.serve(ch.rx(), ch.tx(), broken);
      if (n) ch.notify();
      served += n;
      if (broken) cos::exit(cos::exit_status::kFailed, "the client broke the block protocol");
    }
    cos::sys::rcv(cos::chan::notify_endpoint(), 0, 0);
  }
}
