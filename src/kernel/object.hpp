// The header every kernel object starts with, and the reference rules.
//
// An object lives while it has capabilities (`caps`) or internal references
// (`refs`: a component's page table, a thread's component, a gate's server,
// a thread that is alive, ...). When both reach zero it is destroyed and its
// pages go back to the untyped memory it was carved from.
#pragma once
#include <stdint.h>

#include "cos/abi.hpp"

namespace cos {

struct Untyped;

struct KObject {
  abi::ObjType type;
  uint32_t caps;     ///< capabilities naming the object
  uint32_t refs;     ///< internal references
  uint32_t pages;    ///< pages the object occupies (from `pa`)
  uint64_t pa;       ///< physical address of its first page
  Untyped* origin;   ///< where its memory returns; nullptr for kernel-owned boot objects
  KObject* reap_next;  ///< link in the list of objects awaiting destruction
};

/// Takes an internal reference.
inline void obj_ref(KObject* o) { ++o->refs; }
/// Drops an internal reference; queues the object for destruction when
/// nothing names or references it any more.
void obj_unref(KObject* o);
/// Drops a capability's hold on the object (same rule).
void obj_cap_dropped(KObject* o);
/// Destroys every queued object (may queue and destroy more). Called at the
/// end of each kernel entry, so destruction never recurses.
void reap();
/// True when objects wait for reap().
bool reap_pending();

}  // namespace cos
