#include "devices/virtio/virtio_blk.hpp"

#include "devices/util.hpp"

namespace cos::dev {

namespace {
constexpr uint64_t kSector = BlockBackend::kSectorBytes;
uint64_t features_for(const BlockBackend& b) {
  uint64_t f = virtio::feature(VirtioBlk::kFSegMax) | virtio::feature(VirtioBlk::kFBlkSize) |
               virtio::feature(VirtioBlk::kFFlush);
  if (b.read_only()) f |= virtio::feature(VirtioBlk::kFRo);
  return f;
}
}  // namespace

VirtioBlk::VirtioBlk(GuestMemory& mem, BlockBackend& backend, const char* serial)
    : VirtioDevice(virtio::kIdBlock, features_for(backend), 1, kQueueSize, mem), backend_(backend) {
  for (unsigned i = 0; serial && i < kIdBytes && serial[i]; ++i) serial_[i] = serial[i];
  set_config_size(kConfigBytes);
  store_le64(config() + 0, backend.capacity_sectors());
  store_le32(config() + 12, kQueueSize - 2);  // seg_max: header and status take two descriptors
  store_le32(config() + 20, BlockBackend::kSectorBytes);  // blk_size
  store_le16(config() + 34, 1);                            // num_queues
}

void VirtioBlk::process_queue(uint16_t qi) {
  if (qi != 0) return;
  Virtqueue& q = *queue(0);
  bool pushed = false;
  for (;;) {
    DescChain c;
    while (running() && q.pop(c)) {
      if (!handle(q, c)) return;
      pushed = true;
    }
    if (!running() || !q.enable_notifications()) break;
  }
  if (pushed) complete(0);
}

bool VirtioBlk::handle(Virtqueue& q, const DescChain& c) {
  if (c.readable < kHeaderBytes || c.writable < 1) {
    fail(0, VirtioErrc::request_malformed, c.head);
    return false;
  }
  ChainCursor in(q, c, ChainCursor::Part::readable);
  ChainCursor out(q, c, ChainCursor::Part::writable);
  uint8_t header[kHeaderBytes];
  if (!in.read(header, kHeaderBytes)) {
    if (!q.broken()) fail(0, VirtioErrc::request_malformed, c.head);  // the chain changed under us
    return false;
  }
  uint32_t type = load_le32(header);
  uint64_t sector = load_le64(header + 8);
  uint64_t in_bytes = c.writable - 1;  // device-writable data before the status byte
  uint64_t out_bytes = c.readable - kHeaderBytes;
  uint64_t written = 0;
  uint8_t status;
  switch (type) {
    case kTIn: status = read_sectors(out, sector, in_bytes, written); break;
    case kTOut:
      status = backend_.read_only() ? kSIoErr : write_sectors(in, sector, out_bytes);
      break;
    case kTFlush: status = backend_.flush() == BlockBackend::Status::ok ? kSOk : kSIoErr; break;
    case kTGetId: {
      uint64_t n = in_bytes < kIdBytes ? in_bytes : kIdBytes;
      status = out.write(serial_, n) ? kSOk : kSIoErr;
      if (status == kSOk) written = n;
      break;
    }
    default: status = kSUnsupp; break;
  }
  if (q.broken()) return false;
  // The status byte is the last writable byte.
  if (out.offset() > in_bytes || !out.skip(in_bytes - out.offset()) || !out.write(&status, 1)) {
    if (!q.broken()) fail(0, VirtioErrc::request_malformed, c.head);
    return false;
  }
  if (status == kSOk) ++stats_.ok;
  else if (status == kSIoErr) ++stats_.io_errors;
  else ++stats_.unsupported;
  q.push(c, written + 1);
  return true;
}

uint8_t VirtioBlk::read_sectors(ChainCursor& out, uint64_t sector, uint64_t bytes, uint64_t& written) {
  uint64_t cap = backend_.capacity_sectors();
  uint64_t count = bytes / kSector;
  if (bytes % kSector || sector > cap || count > cap - sector) return kSIoErr;
  uint64_t leftover = 0;  // bytes of bounce_ not yet copied out (a split sector's tail)
  uint64_t remaining = bytes;
  while (remaining) {
    uint8_t* p;
    uint64_t n;
    if (!out.next_span(remaining, p, n)) return kSIoErr;  // the caller sees the broken queue
    remaining -= n;
    uint64_t at = 0;
    if (leftover) {
      uint64_t k = leftover < n ? leftover : n;
      for (uint64_t i = 0; i < k; ++i) p[i] = bounce_[kSector - leftover + i];
      leftover -= k;
      at = k;
    }
    uint64_t whole = (n - at) / kSector;
    while (whole) {
      uint32_t k = whole > 0x10000 ? 0x10000 : static_cast<uint32_t>(whole);
      if (backend_.read(sector, p + at, k) != BlockBackend::Status::ok) return kSIoErr;
      stats_.sectors_read += k;
      sector += k;
      at += uint64_t(k) * kSector;
      whole -= k;
    }
    if (at < n) {  // the span ends inside a sector
      if (backend_.read(sector, bounce_, 1) != BlockBackend::Status::ok) return kSIoErr;
      ++stats_.sectors_read;
      ++sector;
      uint64_t k = n - at;
      for (uint64_t i = 0; i < k; ++i) p[at + i] = bounce_[i];
      leftover = kSector - k;
    }
    written += n;
  }
  return kSOk;
}

uint8_t VirtioBlk::write_sectors(ChainCursor& in, uint64_t sector, uint64_t bytes) {
  uint64_t cap = backend_.capacity_sectors();
  uint64_t count = bytes / kSector;
  if (bytes % kSector || sector > cap || count > cap - sector) return kSIoErr;
  uint64_t fill = 0;  // bytes gathered in bounce_
  uint64_t remaining = bytes;
  while (remaining) {
    uint8_t* p;
    uint64_t n;
    if (!in.next_span(remaining, p, n)) return kSIoErr;
    remaining -= n;
    uint64_t at = 0;
    if (fill) {
      uint64_t k = kSector - fill < n ? kSector - fill : n;
      for (uint64_t i = 0; i < k; ++i) bounce_[fill + i] = p[i];
      fill += k;
      at = k;
      if (fill == kSector) {
        if (backend_.write(sector, bounce_, 1) != BlockBackend::Status::ok) return kSIoErr;
        ++stats_.sectors_written;
        ++sector;
        fill = 0;
      }
    }
    uint64_t whole = (n - at) / kSector;
    while (whole) {
      uint32_t k = whole > 0x10000 ? 0x10000 : static_cast<uint32_t>(whole);
      if (backend_.write(sector, p + at, k) != BlockBackend::Status::ok) return kSIoErr;
      stats_.sectors_written += k;
      sector += k;
      at += uint64_t(k) * kSector;
      whole -= k;
    }
    for (; at < n; ++at) bounce_[fill++] = p[at];
  }
  return kSOk;
}

}  // namespace cos::dev
