#include "devices/mmio_bus.hpp"

namespace cos::dev {

bool MmioBus::overlaps(uint64_t base, uint64_t size, const MmioDevice* except) const {
  for (unsigned i = 0; i < count_; ++i) {
    if (ranges_[i].dev == except) continue;
    if (base < ranges_[i].base + ranges_[i].size && ranges_[i].base < base + size) return true;
  }
  return false;
}

bool MmioBus::add(uint64_t base, uint64_t size, MmioDevice& dev) {
  if (size == 0 || base + size < base || count_ == kMaxRanges) return false;
  if (overlaps(base, size, nullptr)) return false;
  ranges_[count_++] = Range{base, size, &dev};
  return true;
}

bool MmioBus::move(MmioDevice& dev, uint64_t new_base) {
  for (unsigned i = 0; i < count_; ++i) {
    if (ranges_[i].dev != &dev) continue;
    uint64_t size = ranges_[i].size;
    if (new_base + size < new_base || overlaps(new_base, size, &dev)) return false;
    ranges_[i].base = new_base;
    return true;
  }
  return false;
}

const MmioBus::Range* MmioBus::lookup(uint64_t gpa) const {
  for (unsigned i = 0; i < count_; ++i)
    if (gpa >= ranges_[i].base && gpa - ranges_[i].base < ranges_[i].size) return &ranges_[i];
  return nullptr;
}

bool MmioBus::read(uint64_t gpa, unsigned size, uint64_t& value) {
  const Range* r = lookup(gpa);
  if (!r) {
    value = all_ones(size);
    return false;
  }
  value = r->dev->read(gpa - r->base, size) & all_ones(size);
  return true;
}

bool MmioBus::write(uint64_t gpa, unsigned size, uint64_t value) {
  const Range* r = lookup(gpa);
  if (!r) return false;
  r->dev->write(gpa - r->base, size, value & all_ones(size));
  return true;
}

}  // namespace cos::dev
