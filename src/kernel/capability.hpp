// Capabilities and capability tables. Pure logic, host-compilable.
//
// A capability is 32 bytes: its object type, rights, and three words whose
// meaning depends on the type:
//   untyped: w0 = base physical address, w1 = size (bytes), w2 = watermark (bytes used)
//   captbl:  w0 = kernel address of the slot array, w1 = number of slots
//   pgtbl:   w0 = physical address of the PML4
//   frame:   w0 = base physical address, w1 = number of 4 KiB pages
//   comp:    w0 = Component*
//   thread:  w0 = Thread*
//   sinv:    w0 = SinvGate*
#pragma once
#include <stdint.h>

#include "cos/abi.hpp"

namespace cos {

using abi::Error;
using abi::ObjType;

struct Capability {
  uint8_t type;    ///< ObjType
  uint8_t rights;  ///< abi::Rights bits
  uint16_t flags;
  uint32_t reserved;
  uint64_t w0, w1, w2;

  ObjType object_type() const { return static_cast<ObjType>(type); }
  bool empty() const { return object_type() == ObjType::none; }
};
static_assert(sizeof(Capability) == 32);
static_assert(abi::kSlotsPerCaptblPage * sizeof(Capability) == 4096);

/// A view of a capability table: `size` slots at `slots`. Slot 0 is never
/// valid.
class CapTable {
 public:
  CapTable() = default;
  CapTable(Capability* slots, uint32_t size) : slots_(slots), size_(size) {}

  uint32_t size() const { return size_; }

  /// The slot at `index` regardless of content, or bad_slot.
  Error slot(uint64_t index, Capability*& out) const {
    if (index == 0 || index >= size_) return Error::bad_slot;
    out = &slots_[index];
    return Error::ok;
  }

  /// A non-empty capability of `type` (ObjType::none accepts any type).
  Error get(uint64_t index, ObjType type, Capability*& out) const {
    Error e = slot(index, out);
    if (e != Error::ok) return e;
    if (out->empty()) return Error::empty_slot;
    if (type != ObjType::none && out->object_type() != type) return Error::wrong_type;
    return Error::ok;
  }

  /// An empty slot to fill, or bad_slot / slot_occupied.
  Error free_slot(uint64_t index, Capability*& out) const {
    Error e = slot(index, out);
    if (e != Error::ok) return e;
    return out->empty() ? Error::ok : Error::slot_occupied;
  }

 private:
  Capability* slots_ = nullptr;
  uint32_t size_ = 0;
};

/// Carves `pages` pages aligned to `align_pages` from an untyped capability.
/// Returns the physical address in `pa`. Errors: out_of_memory.
inline Error untyped_carve(Capability& ut, uint64_t pages, uint64_t align_pages, uint64_t& pa) {
  constexpr uint64_t kPage = 4096;
  uint64_t align = align_pages * kPage;
  uint64_t start = ut.w0 + ut.w2;
  uint64_t aligned = (start + align - 1) / align * align;
  if (pages == 0 || pages > (ut.w1 / kPage)) return Error::out_of_memory;
  uint64_t end = aligned + pages * kPage;
  if (end > ut.w0 + ut.w1 || end < aligned) return Error::out_of_memory;
  ut.w2 = end - ut.w0;
  pa = aligned;
  return Error::ok;
}

}  // namespace cos
