#include "devices/port_bus.hpp"

namespace cos::dev {

bool PortBus::add(uint16_t first, uint32_t count, PortDevice& dev, unsigned max_width) {
  uint32_t end = uint32_t(first) + count;
  if (count == 0 || end > 0x10000 || count_ == kMaxRanges) return false;
  if (max_width != 1 && max_width != 2 && max_width != 4) return false;
  for (unsigned i = 0; i < count_; ++i)
    if (first < ranges_[i].end && ranges_[i].first < end) return false;
  ranges_[count_++] = Range{first, end, &dev, static_cast<uint8_t>(max_width)};
  return true;
}

const PortBus::Range* PortBus::lookup(uint16_t port) const {
  for (unsigned i = 0; i < count_; ++i)
    if (port >= ranges_[i].first && port < ranges_[i].end) return &ranges_[i];
  return nullptr;
}

PortDevice* PortBus::find(uint16_t port) const {
  const Range* r = lookup(port);
  return r ? r->dev : nullptr;
}

bool PortBus::any_known(uint16_t port, unsigned size) const {
  for (unsigned i = 0; i < size; ++i)
    if (lookup(static_cast<uint16_t>(port + i))) return true;
  return false;
}

void PortBus::unknown(uint16_t port, bool write, unsigned size, uint32_t value) {
  uint8_t& byte = seen_[port >> 3];
  uint8_t bit = static_cast<uint8_t>(1u << (port & 7));
  if (byte & bit) return;
  byte |= bit;
  if (log_) log_(log_ctx_, port, write, size, value);
}

uint32_t PortBus::read(uint16_t port, unsigned size) {
  if (size != 1 && size != 2 && size != 4) size = 1;
  const Range* r = lookup(port);
  if (r && size <= r->width) return r->dev->io_read(port, size) & static_cast<uint32_t>(all_ones(size));
  if (!r && !any_known(port, size)) {
    unknown(port, false, size, 0);
    return static_cast<uint32_t>(all_ones(size));
  }
  // Split into pieces of the device's width (unknown pieces: bytes).
  uint32_t value = 0;
  unsigned done = 0;
  while (done < size) {
    uint16_t p = static_cast<uint16_t>(port + done);
    const Range* pr = lookup(p);
    unsigned piece = 1;
    uint32_t v;
    if (pr) {
      piece = pr->width;
      while (piece > size - done) piece >>= 1;
      v = pr->dev->io_read(p, piece) & static_cast<uint32_t>(all_ones(piece));
    } else {
      unknown(p, false, 1, 0);
      v = 0xff;
    }
    value |= v << (done * 8);
    done += piece;
  }
  return value;
}

void PortBus::write(uint16_t port, unsigned size, uint32_t value) {
  if (size != 1 && size != 2 && size != 4) size = 1;
  value &= static_cast<uint32_t>(all_ones(size));
  const Range* r = lookup(port);
  if (r && size <= r->width) {
    r->dev->io_write(port, size, value);
    return;
  }
  if (!r && !any_known(port, size)) {
    unknown(port, true, size, value);
    return;
  }
  unsigned done = 0;
  while (done < size) {
    uint16_t p = static_cast<uint16_t>(port + done);
    const Range* pr = lookup(p);
    unsigned piece = 1;
    uint32_t v = value >> (done * 8);
    if (pr) {
      piece = pr->width;
      while (piece > size - done) piece >>= 1;
      pr->dev->io_write(p, piece, v & static_cast<uint32_t>(all_ones(piece)));
    } else {
      unknown(p, true, 1, v & 0xff);
    }
    done += piece;
  }
}

}  // namespace cos::dev
