#include "simple_vmm/channel_backends.hpp"

#include "channel/blk_protocol.hpp"
#include "fmt/format.hpp"
#include "runtime/cos.hpp"
#include "simple_vmm/vmm.hpp"

namespace cos::simple_vmm {

using chan::RingStatus;

bool ChannelDisk::open(const char* name, uint64_t timeout_us, char* why, size_t why_bytes) {
  if (!ch_.open(name)) {
    fmt::snformat(why, why_bytes, "no channel '%s' (composition: [[channel]] name = \"%s\")", name, name);
    return false;
  }
  timeout_us_ = timeout_us;
  max_sectors_ = chan::blk_max_sectors(ch_.tx().max_message() < ch_.rx().max_message() ? ch_.tx().max_message()
                                                                                        : ch_.rx().max_message());
  if (max_sectors_ == 0) {
    fmt::snformat(why, why_bytes, "channel '%s' is too small for one sector", name);
    return false;
  }
  uint64_t capacity = 0;
  uint32_t flags = 0;
  if (!call(chan::kBlkInfo, 0, 0, nullptr, nullptr, &capacity, &flags)) {
    fmt::snformat(why, why_bytes, "the block component on channel '%s' did not answer", name);
    return false;
  }
  sectors_ = capacity;
  read_only_ = (flags & chan::kBlkFlagReadOnly) != 0;
  return true;
}

void ChannelDisk::fail(const char* what) {
  if (dead_) return;
  dead_ = true;
  flush_console();
  cos::printf("simple_vmm: disk on channel '%s': %s; its requests fail from now on\n", ch_.name(), what);
}

bool ChannelDisk::call(uint32_t op, uint64_t sector, uint32_t count, const uint8_t* wdata, uint8_t* rdata,
                       uint64_t* capacity, uint32_t* flags) {
  if (dead_) return false;
  ++requests_;
  chan::BlkRequest req{next_id_++, sector, count, 0};
  RingStatus s = ch_.tx().push(op, &req, sizeof(req), wdata, wdata ? static_cast<size_t>(count) * chan::kBlkSectorBytes : 0);
  if (s != RingStatus::ok) {
    fail(s == RingStatus::full ? "the request ring is full (the server is not taking requests)" : "the request ring is corrupt");
    return false;
  }
  ch_.notify();
  const uint64_t start = now_ns();
  for (;;) {
    chan::BlkResponse resp{};
    uint32_t tag;
    size_t len;
    const size_t want = rdata ? static_cast<size_t>(count) * chan::kBlkSectorBytes : 0;
    s = ch_.rx().pop(tag, len, &resp, sizeof(resp), rdata, want);
    if (s == RingStatus::ok) {
      if (len < sizeof(resp) || resp.id != req.id) continue;  // a stale answer to an abandoned request
      if (resp.status != chan::kBlkOk) return false;
      if (tag != op || (rdata && len != sizeof(resp) + want)) {
        fail("the server answered with the wrong length");
        return false;
      }
      if (capacity) *capacity = resp.capacity;
      if (flags) *flags = resp.flags;
      return true;
    }
    if (s == RingStatus::too_big) {  // longer than any answer to this request
      ch_.rx().skip();
      continue;
    }
    if (s != RingStatus::empty) {
      fail("the server broke the response ring");
      return false;
    }
    const uint64_t waited_us = (now_ns() - start) / 1000;
    if (waited_us >= timeout_us_) {
      fail("the block component did not answer in time");
      return false;
    }
    // The VMM's notification endpoint is also the vCPU's wake-up endpoint:
    // whatever else notified it (console input, the network) is looked at
    // after this exit (Vmm::notified).
    cos::sys::rcv(chan::notify_endpoint(), timeout_us_ - waited_us, 0);
    g_vmm.notified = true;
  }
}

dev::BlockBackend::Status ChannelDisk::read(uint64_t sector, uint8_t* dst, uint32_t count) {
  while (count) {
    uint32_t n = count < max_sectors_ ? count : max_sectors_;
    if (!call(chan::kBlkRead, sector, n, nullptr, dst, nullptr, nullptr)) return Status::io_error;
    sector += n, count -= n, dst += static_cast<size_t>(n) * chan::kBlkSectorBytes;
  }
  return Status::ok;
}

dev::BlockBackend::Status ChannelDisk::write(uint64_t sector, const uint8_t* src, uint32_t count) {
  while (count) {
    uint32_t n = count < max_sectors_ ? count : max_sectors_;
    if (!call(chan::kBlkWrite, sector, n, src, nullptr, nullptr, nullptr)) return Status::io_error;
    sector += n, count -= n, src += static_cast<size_t>(n) * chan::kBlkSectorBytes;
  }
  return Status::ok;
}

dev::BlockBackend::Status ChannelDisk::flush() {
  return call(chan::kBlkFlush, 0, 0, nullptr, nullptr, nullptr, nullptr) ? Status::ok : Status::io_error;
}

bool ChannelNet::open(const char* name, char* why, size_t why_bytes) {
  if (!ch_.open(name)) {
    fmt::snformat(why, why_bytes, "no channel '%s' (composition: [[channel]] name = \"%s\")", name, name);
    return false;
  }
  return true;
}

void ChannelNet::fail(const char* what) {
  if (dead_) return;
  dead_ = true;
  flush_console();
  cos::printf("simple_vmm: network on channel '%s': %s; the link is down from now on\n", ch_.name(), what);
}

bool ChannelNet::net_transmit(const uint8_t* frame, size_t len) {
  if (dead_) return false;
  RingStatus s = ch_.tx().push(kNetFrame, frame, len);
  if (s == RingStatus::corrupt) fail("the switch broke the transmit ring");
  if (s != RingStatus::ok) return false;
  ch_.notify();
  return true;
}

size_t ChannelNet::net_rx_peek() {
  for (;;) {
    if (dead_) return 0;
    uint32_t tag;
    size_t len;
    RingStatus s = ch_.rx().peek(tag, len);
    if (s == RingStatus::empty) return 0;
    if (s != RingStatus::ok) {
      fail("the switch broke the receive ring");
      return 0;
    }
    if (tag == kNetFrame && len != 0) return len;
    ch_.rx().skip();  // not a frame: ignored
  }
}

size_t ChannelNet::net_receive(uint8_t* dst, size_t cap) {
  if (net_rx_peek() == 0) return 0;
  uint32_t tag;
  size_t len;
  RingStatus s = ch_.rx().pop(tag, len, dst, cap);
  if (s == RingStatus::too_big) {  // larger than the buffer: dropped, its length reported
    ch_.rx().skip();
    return len;
  }
  return s == RingStatus::ok ? len : 0;
}

}  // namespace cos::simple_vmm
