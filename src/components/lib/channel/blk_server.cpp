#include "channel/blk_server.hpp"

namespace cos::chan {
namespace {

void copy(uint8_t* dst, const uint8_t* src, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = src[i];
}

}  // namespace

unsigned BlkServer::serve(MsgRing& rx, MsgRing& tx, bool& broken) {
  broken = false;
  unsigned answered = 0;
  for (;;) {
    uint32_t tag;
    size_t len;
    RingStatus s = rx.pop(tag, len, scratch_, scratch_bytes_);
    if (s == RingStatus::empty) break;
    if (s != RingStatus::ok) {  // corrupt, or a message longer than any valid request
      broken = true;
      break;
    }
    ++stats_.requests;
    BlkRequest req{};
    BlkResponse resp{};
    resp.status = kBlkIoError;
    const uint8_t* data = nullptr;
    size_t data_len = 0;
    if (len >= sizeof(req)) {
      __builtin_memcpy(&req, scratch_, sizeof(req));
      resp.id = req.id;
      // The range, overflow-safe: count <= sectors and sector <= sectors - count.
      const bool in_range = req.count <= sectors_ && req.sector <= sectors_ - req.count;
      const uint64_t off = req.sector * kBlkSectorBytes, n = static_cast<uint64_t>(req.count) * kBlkSectorBytes;
      switch (tag) {
        case kBlkInfo:
          resp.status = kBlkOk;
          resp.capacity = sectors_;
          resp.flags = ro_ ? kBlkFlagReadOnly : 0;
          break;
        case kBlkRead:
          if (in_range && n + sizeof(resp) <= tx.max_message()) {
            resp.status = kBlkOk;
            data = disk_ + off;
            data_len = n;
            stats_.sectors_read += req.count;
          }
          break;
        case kBlkWrite:
          if (in_range && !ro_ && len - sizeof(req) == n) {
            copy(disk_ + off, scratch_ + sizeof(req), n);
            resp.status = kBlkOk;
            stats_.sectors_written += req.count;
          }
          break;
        case kBlkFlush: resp.status = kBlkOk; break;  // RAM: nothing to make durable
        default: resp.status = kBlkUnsupported; break;
      }
    }
    if (resp.status != kBlkOk) ++stats_.errors;
    s = tx.push(tag, &resp, sizeof(resp), data, data_len);
    if (s == RingStatus::corrupt) {
      broken = true;
      break;
    }
    if (s != RingStatus::ok) ++stats_.dropped_responses;
    ++answered;
  }
  return answered;
}

}  // namespace cos::chan
