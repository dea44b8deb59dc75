// Object lifetime: untyped carving, reference counting and destruction.
#include <new>

#include "kernel/console.hpp"
#include "kernel/kernel.hpp"
#include "kernel/platform.hpp"

namespace cos {
namespace {

constexpr uint64_t kPage = 4096;

KObject* g_reap_head;

FreeRun* node_at(uint64_t pa) { return static_cast<FreeRun*>(platform::phys_to_kernel(pa)); }

void maybe_queue(KObject* o) {
  if (o->caps != 0 || o->refs != 0 || o->reap_next) return;
  // A self-pointer marks the tail so `reap_next != nullptr` means queued.
  o->reap_next = g_reap_head ? g_reap_head : o;
  g_reap_head = o;
}

// Drops a frame object's hold on its pages; frees it when no capability
// names it and no page of it is mapped.
void frame_maybe_free(uint64_t head_pa) {
  PageMeta* head = page_meta(head_pa);
  if (!head || head->caps != 0) return;
  for (uint32_t i = 0; i < head->pages; ++i)
    if (page_meta(head_pa + i * kPage)->maps != 0) return;
  untyped_free(head->origin, head_pa, head->pages);
}

void destroy_pgtbl(Pgtbl* p) {
  platform::address_space_teardown(p->root);
}

void destroy(KObject* o) {
  switch (o->type) {
    case ObjType::untyped:
      break;  // refs == 0: everything carved from it has returned
    case ObjType::captbl: {
      auto* ct = static_cast<Captbl*>(o);
      for (uint32_t i = 1; i < ct->nslots; ++i)
        if (!ct->slots()[i].empty()) cap_remove(&ct->slots()[i]);
      break;
    }
    case ObjType::pgtbl:
      destroy_pgtbl(static_cast<Pgtbl*>(o));
      break;
    case ObjType::comp: {
      auto* c = static_cast<Component*>(o);
      obj_unref(c->captbl_obj);
      obj_unref(c->pgtbl_obj);
      break;
    }
    case ObjType::thread: {
      auto* t = static_cast<Thread*>(o);
      platform::thread_destroyed(t);
      obj_unref(t->home);
      break;
    }
    case ObjType::sinv:
      obj_unref(static_cast<SinvGate*>(o)->server);
      break;
    case ObjType::rcv:
      break;  // waiters, bindings and senders hold references: none remain
    case ObjType::asnd:
      obj_unref(static_cast<SendEndpoint*>(o)->target);
      break;
    case ObjType::vm:
      vm_object_destroy(static_cast<Vm*>(o));
      break;
    case ObjType::vcpu:
      vcpu_object_destroy(static_cast<Vcpu*>(o));
      break;
    default:
      panic("destroying an object of unknown type %u", static_cast<unsigned>(o->type));
  }
  if (o->origin) untyped_free(o->origin, o->pa, o->pages);
}

}  // namespace

void obj_unref(KObject* o) {
  KASSERT(o->refs > 0);
  --o->refs;
  maybe_queue(o);
}

void obj_cap_dropped(KObject* o) {
  KASSERT(o->caps > 0);
  --o->caps;
  // An endpoint nobody can receive on any more: what notifies it (a periodic
  // timer, an IRQ line, console input) would hold it alive for nothing.
  if (o->caps == 0 && o->type == ObjType::rcv) rcv_orphaned(static_cast<RcvEndpoint*>(o));
  maybe_queue(o);
}

bool reap_pending() { return g_reap_head != nullptr; }

void reap() {
  while (g_reap_head) {
    KObject* o = g_reap_head;
    g_reap_head = o->reap_next == o ? nullptr : o->reap_next;
    o->reap_next = nullptr;
    if (o->caps == 0 && o->refs == 0) destroy(o);
  }
}

Untyped* untyped_init(uint64_t header_pa, uint64_t base, uint64_t size, Untyped* origin) {
  auto* u = new (platform::phys_to_kernel(header_pa)) Untyped(node_at);
  u->type = ObjType::untyped;
  u->pa = header_pa;
  u->pages = 1 + static_cast<uint32_t>(size / kPage);
  u->origin = origin;
  u->base = base;
  u->size = size;
  for (uint64_t pa = base; pa < base + size; pa += kPage) {
    PageMeta* m = page_meta(pa);
    KASSERT(m);
    *m = PageMeta{};
  }
  if (size) u->free.release(base, size / kPage);
  return u;
}

Error untyped_alloc(Untyped* ut, uint64_t pages, uint64_t align_pages, PageKind kind, uint64_t& pa) {
  if (!ut->free.take(pages, align_pages, pa)) return Error::out_of_memory;
  obj_ref(ut);
  platform::zero_pages(pa, pages);
  for (uint64_t i = 0; i < pages; ++i) {
    PageMeta* m = page_meta(pa + i * kPage);
    KASSERT(m && m->kind == PageKind::free);
    *m = PageMeta{};
    m->kind = kind;
    m->head = static_cast<uint32_t>(i);
    m->origin = ut;
  }
  if (kind == PageKind::frame) page_meta(pa)->pages = static_cast<uint32_t>(pages);
  return Error::ok;
}

void untyped_free(Untyped* ut, uint64_t pa, uint64_t pages) {
  for (uint64_t i = 0; i < pages; ++i) {
    PageMeta* m = page_meta(pa + i * kPage);
    KASSERT(m && m->maps == 0);
    *m = PageMeta{};
  }
  ut->free.release(pa, pages);
  obj_unref(ut);
}

void frame_cap_dropped(uint64_t head_pa) {
  PageMeta* head = page_meta(head_pa);
  KASSERT(head && head->kind == PageKind::frame && head->caps > 0);
  --head->caps;
  frame_maybe_free(head_pa);
}

void frame_page_unmapped(uint64_t pa) {
  PageMeta* m = page_meta(pa);
  if (!m || m->kind != PageKind::frame) return;  // boot-module mappings have no metadata
  KASSERT(m->maps > 0);
  --m->maps;
  frame_maybe_free(pa - static_cast<uint64_t>(m->head) * kPage);
}

void pgtable_page_freed(uint64_t pa) {
  PageMeta* m = page_meta(pa);
  KASSERT(m && m->kind == PageKind::pgtable);
  untyped_free(m->origin, pa, 1);
}

}  // namespace cos
