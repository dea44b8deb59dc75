// Capabilities, capability tables and the capability derivation tree (CDT).
// Pure logic, host-compilable.
//
// A capability is 64 bytes: its object type, rights, three words whose
// meaning depends on the type, and its links in the derivation tree:
//   untyped/captbl/pgtbl/comp/thread/sinv/rcv/asnd/vm/vcpu: w0 = the kernel
//           object (Untyped, Captbl, Pgtbl, Component, Thread, SinvGate,
//           RcvEndpoint, SendEndpoint, Vm, Vcpu: CapTable::get<T> returns it)
//   captbl: w1 = number of slots
//   frame:  w0 = physical address of the first page, w1 = pages
//   ioport: w0 = first port, w1 = count;  irq: w0 = first line, w1 = count
//   timer:  no data
// w2 is unused by every type.
// Every capability made by retype, cap_copy or hw_derive is a child of the
// capability it came from; revoke deletes all descendants.
#pragma once
#include <stdint.h>

#include "cos/abi.hpp"
#include "kernel/work_budget.hpp"

namespace cos {

using abi::Error;
using abi::ObjType;

struct Capability {
  uint8_t type;    ///< ObjType
  uint8_t rights;  ///< abi::Rights bits
  uint16_t flags;  ///< cdt::kFirstSibling; nothing else
  uint32_t reserved;
  uint64_t w0, w1, w2;
  // Derivation-tree links, all maintained by cdt:: (meaningless in an empty slot).
  // The children of a capability form a circular doubly linked sibling list
  // (the last child's next_sibling is the first child and the first child's
  // prev_sibling the last), so appending and splicing need no walk. Only the
  // first child of a list stores the parent, so splicing a whole list of
  // children under another parent touches one node, not every child.
  Capability* list_parent;   ///< the parent, on the first sibling only (nullptr elsewhere and for roots)
  Capability* first_child;   ///< nullptr if none
  Capability* next_sibling;  ///< circular; itself when alone
  Capability* prev_sibling;  ///< circular; itself when alone

  ObjType object_type() const { return static_cast<ObjType>(type); }
  bool empty() const { return object_type() == ObjType::none; }
  bool has(uint64_t r) const { return (rights & r) == r; }
};
static_assert(sizeof(Capability) == 64);
static_assert(abi::kSlotsPerCaptblPage * sizeof(Capability) == 4096);

/// Derivation-tree operations. They only relink; releasing the object a
/// removed capability referred to is the caller's business. insert_child and
/// unlink take constant time whatever the shape of the tree; revoke takes one
/// budget unit, and constant time, per capability it removes.
///
/// Capabilities without a parent (the booter's initial ones, and children
/// whose root was deleted) are roots; the children of a deleted root stay
/// together as one parentless sibling list.
namespace cdt {

/// Capability::flags bit: first of its sibling list (the one holding list_parent).
constexpr uint16_t kFirstSibling = 1;

/// Links `child` (an empty-linked capability, e.g. a just-filled slot) as the
/// last child of `parent`, or as a root when `parent` is nullptr. O(1).
void insert_child(Capability* parent, Capability* child);
/// Unlinks `c` from the tree; its children take its place, in order, among
/// its siblings under its parent (a parentless list if it had none). `c`
/// keeps its contents and ends with cleared links. O(1).
void unlink(Capability* c);
/// Removes descendants of `c` with `remove` (which must unlink its argument,
/// e.g. cap_remove) until none is left (true) or `budget` is spent (false),
/// one unit per capability removed. It always removes c's first child, whose
/// children move up to `c`: the tree is consistent after every step, and
/// calling it again continues where it stopped without re-walking anything.
bool revoke(Capability* c, WorkBudget& budget, void (*remove)(Capability*));

/// The parent of `c`, or nullptr for a root. Walks back to the first sibling:
/// linear in c's position among its siblings (tests and diagnostics only).
Capability* parent(const Capability* c);
/// True if `d` lies in the subtree below `c` (tests and diagnostics only:
/// walks up from `d` with parent()).
bool is_descendant(const Capability* c, const Capability* d);

}  // namespace cdt

/// A view of a capability table: `size` slots at `slots`. Slot 0 is never
/// valid (the table's object header lives there).
class CapTable {
 public:
  CapTable() = default;
  CapTable(Capability* slots, uint32_t size) : slots_(slots), size_(size) {}

  uint32_t size() const { return size_; }
  Capability* raw(uint32_t i) const { return &slots_[i]; }

  /// The slot at `index` regardless of content, or bad_slot.
  Error slot(uint64_t index, Capability*& out) const {
    if (index == 0 || index >= size_) return Error::bad_slot;
    out = &slots_[index];
    return Error::ok;
  }

  /// A non-empty capability of `type` (ObjType::none accepts any type)
  /// holding all of `rights`.
  Error get(uint64_t index, ObjType type, Capability*& out, uint64_t rights = 0) const {
    Error e = slot(index, out);
    if (e != Error::ok) return e;
    if (out->empty()) return Error::empty_slot;
    if (type != ObjType::none && out->object_type() != type) return Error::wrong_type;
    if (!out->has(rights)) return Error::no_rights;
    return Error::ok;
  }

  /// The kernel object of type T (which names its abi::ObjType as T::kType)
  /// in a non-empty capability of that type holding all of `rights`:
  /// `caps(t).get<Vcpu>(slot, Rights::write, v)`. Errors as get().
  template <typename T>
  Error get(uint64_t index, uint64_t rights, T*& out) const {
    Capability* c;
    Error e = get(index, T::kType, c, rights);
    out = e == Error::ok ? reinterpret_cast<T*>(c->w0) : nullptr;
    return e;
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

}  // namespace cos
