// vmrt capability-slot allocator (host-compilable).
#include "vmrt/slots.hpp"

namespace vmrt {

void SlotAllocator::init(uint64_t first, uint64_t limit) {
  if (first == 0) first = 1;
  if (limit < first) limit = first;
  if (limit - first > kMaxSlots) limit = first + kMaxSlots;
  first_ = first;
  limit_ = limit;
  for (uint64_t& w : used_) w = 0;
}

Result<uint64_t> SlotAllocator::alloc() {
  uint64_t n = limit_ - first_;
  for (uint64_t w = 0; w * 64 < n; ++w) {
    if (used_[w] == ~0ull) continue;
    for (uint64_t b = 0; b < 64 && w * 64 + b < n; ++b) {
      if (!(used_[w] & (1ull << b))) {
        used_[w] |= 1ull << b;
        return first_ + w * 64 + b;
      }
    }
  }
  return make_error(Errc::out_of_slots, "allocating a capability slot", 0, limit_);
}

void SlotAllocator::free(uint64_t slot) {
  if (slot < first_ || slot >= limit_) return;
  uint64_t i = slot - first_;
  used_[i / 64] &= ~(1ull << (i % 64));
}

uint64_t SlotAllocator::available() const {
  uint64_t n = limit_ - first_, used = 0;
  for (uint64_t i = 0; i < n; ++i)
    if (used_[i / 64] & (1ull << (i % 64))) ++used;
  return n - used;
}

}  // namespace vmrt
