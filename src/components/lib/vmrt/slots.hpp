// vmrt: a capability-slot allocator over a range of the component's own
// capability table (host-compilable).
#pragma once
#include <stdint.h>

#include "vmrt/error.hpp"

namespace vmrt {

/// Hands out free slots of [first, limit) (limit - first <= kMaxSlots),
/// lowest first, and takes them back. The caller must have emptied a slot
/// (cap_delete) before freeing it.
class SlotAllocator {
 public:
  static constexpr uint64_t kMaxSlots = 4096;

  /// Manages slots [first, limit). Clamps the range to kMaxSlots slots;
  /// first == 0 is moved to 1 (slot 0 is never valid).
  void init(uint64_t first, uint64_t limit);
  /// The lowest free slot, now taken. Errc::out_of_slots when none is left.
  Result<uint64_t> alloc();
  /// Returns a slot taken with alloc(); other values are ignored.
  void free(uint64_t slot);
  /// Number of free slots.
  uint64_t available() const;
  uint64_t first() const { return first_; }
  uint64_t limit() const { return limit_; }

 private:
  uint64_t used_[kMaxSlots / 64] = {};
  uint64_t first_ = 0, limit_ = 0;
};

}  // namespace vmrt
