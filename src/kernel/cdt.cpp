// The capability derivation tree: circular sibling lists whose first node
// holds the parent (capability.hpp), so every edit is a constant number of
// pointer writes.
#include "kernel/capability.hpp"

namespace cos::cdt {
namespace {

bool is_first(const Capability* c) { return (c->flags & kFirstSibling) != 0; }

// Makes `c` the first of its (already linked) sibling list under `parent`.
void make_first(Capability* c, Capability* parent) {
  c->flags |= kFirstSibling;
  c->list_parent = parent;
  if (parent) parent->first_child = c;
}

void make_not_first(Capability* c) {
  c->flags &= static_cast<uint16_t>(~kFirstSibling);
  c->list_parent = nullptr;
}

}  // namespace

void insert_child(Capability* parent, Capability* child) {
  Capability* first = parent ? parent->first_child : nullptr;
  if (!first) {
    child->next_sibling = child->prev_sibling = child;
    child->flags |= kFirstSibling;
    child->list_parent = parent;
    if (parent) parent->first_child = child;
    return;
  }
  Capability* last = first->prev_sibling;
  make_not_first(child);
  child->prev_sibling = last;
  child->next_sibling = first;
  last->next_sibling = child;
  first->prev_sibling = child;
}

void unlink(Capability* c) {
  Capability* prev = c->prev_sibling;
  Capability* next = c->next_sibling;
  const bool first = is_first(c);
  const bool alone = next == c;
  Capability* parent = first ? c->list_parent : nullptr;  // only needed when c is first
  Capability* kids = c->first_child;
  if (kids) {
    // The children's list [kids .. kids_last] takes c's place.
    Capability* kids_last = kids->prev_sibling;
    if (!alone) {
      prev->next_sibling = kids;
      kids->prev_sibling = prev;
      kids_last->next_sibling = next;
      next->prev_sibling = kids_last;
    }
    if (first) make_first(kids, parent);
    else make_not_first(kids);
  } else if (alone) {
    if (parent) parent->first_child = nullptr;
  } else {
    prev->next_sibling = next;
    next->prev_sibling = prev;
    if (first) make_first(next, parent);
  }
  make_not_first(c);
  c->first_child = c->next_sibling = c->prev_sibling = nullptr;
}

bool revoke(Capability* c, WorkBudget& budget, void (*remove)(Capability*)) {
  while (Capability* k = c->first_child) {
    if (!budget.take()) return false;
    remove(k);
  }
  return true;
}

Capability* parent(const Capability* c) {
  while (!is_first(c)) c = c->prev_sibling;
  return c->list_parent;
}

bool is_descendant(const Capability* c, const Capability* d) {
  for (const Capability* p = d ? parent(d) : nullptr; p; p = parent(p))
    if (p == c) return true;
  return false;
}

}  // namespace cos::cdt
