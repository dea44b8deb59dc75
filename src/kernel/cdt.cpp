#include "kernel/capability.hpp"

namespace cos::cdt {

void insert_child(Capability* parent, Capability* child) {
  child->parent = parent;
  child->next_sibling = nullptr;
  child->prev_sibling = nullptr;
  if (!parent) return;
  Capability* last = parent->first_child;
  if (!last) {
    parent->first_child = child;
    return;
  }
  while (last->next_sibling) last = last->next_sibling;
  last->next_sibling = child;
  child->prev_sibling = last;
}

void unlink(Capability* c) {
  // Splice c's children into c's position among its siblings.
  Capability* first = c->first_child;
  Capability* last = first;
  for (Capability* k = first; k; k = k->next_sibling) {
    k->parent = c->parent;
    last = k;
  }
  Capability* prev = c->prev_sibling;
  Capability* next = c->next_sibling;
  if (first) {
    first->prev_sibling = prev;
    last->next_sibling = next;
    if (next) next->prev_sibling = last;
    if (prev) prev->next_sibling = first;
    else if (c->parent) c->parent->first_child = first;
  } else {
    if (next) next->prev_sibling = prev;
    if (prev) prev->next_sibling = next;
    else if (c->parent) c->parent->first_child = next;
  }
  c->parent = c->first_child = c->next_sibling = c->prev_sibling = nullptr;
}

Capability* deepest_descendant(Capability* c) {
  Capability* d = c->first_child;
  if (!d) return nullptr;
  while (d->first_child) d = d->first_child;
  return d;
}

bool is_descendant(const Capability* c, const Capability* d) {
  for (const Capability* p = d ? d->parent : nullptr; p; p = p->parent)
    if (p == c) return true;
  return false;
}

}  // namespace cos::cdt
