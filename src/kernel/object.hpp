// The header every kernel object starts with, and the reference rules.
//
// An object lives while it has capabilities (`caps`) or internal references
// (`refs`: a component's page table, a thread's component, a gate's server,
// a thread that is alive, ...). When both reach zero it is queued for
// destruction; destroying it (which may release more objects) and returning
// its pages to the untyped memory it was carved from happen in bounded steps
// (kernel/work_budget.hpp), never recursively.
#pragma once
#include <stdint.h>

#include "cos/abi.hpp"
#include "kernel/work_budget.hpp"

namespace cos {

struct Untyped;

struct KObject {
  abi::ObjType type;
  uint32_t caps;     ///< capabilities naming the object
  uint32_t refs;     ///< internal references
  uint32_t pages;    ///< pages the object occupies (from `pa`)
  uint32_t reap_stage;   ///< destruction progress: 0 queued, 1 tearing down, 2 returning pages
  uint64_t pa;       ///< physical address of its first page
  Untyped* origin;   ///< where its memory returns; nullptr for kernel-owned boot objects
  KObject* reap_next;    ///< next in its ReapList (itself when last; nullptr when not queued)
  uint64_t reap_cursor;  ///< where a destruction stage continues (slot, address or page count)
};

/// Objects awaiting destruction, first queued first destroyed (an object
/// being destroyed stays first until it is gone, so its progress is kept
/// in it). Linked through KObject::reap_next.
struct ReapList {
  KObject* head = nullptr;
  KObject* tail = nullptr;
  bool empty() const { return head == nullptr; }
};

/// Takes an internal reference.
inline void obj_ref(KObject* o) { ++o->refs; }
/// Drops an internal reference; queues the object for destruction when
/// nothing names or references it any more.
void obj_unref(KObject* o);
/// Drops a capability's hold on the object (same rule).
void obj_cap_dropped(KObject* o);

/// The kernel's background list, and where maybe_queue() puts released
/// objects (objects.cpp; use the functions below).
extern ReapList g_reap_background;
extern ReapList* g_reap_into;

/// Where objects released from now on are queued: `list` (a system call's
/// own, destroyed before the call returns) or, with nullptr, the kernel's
/// background list.
inline void reap_into(ReapList* list) { g_reap_into = list ? list : &g_reap_background; }
/// Destroys objects of `list` (nullptr: the background list), including
/// whatever their destruction releases into it, until the list is empty
/// (true) or `budget` is spent (false; the list keeps the rest, the object
/// in progress first).
bool reap(ReapList* list, WorkBudget& budget);
/// Moves every object of `list` to the end of the background list.
void reap_adopt(ReapList& list);
/// True when the background list is not empty.
inline bool reap_pending() { return !g_reap_background.empty(); }

}  // namespace cos
