// Object lifetime: untyped carving, reference counting and destruction.
#include <new>

#include "kernel/console.hpp"
#include "kernel/kernel.hpp"
#include "kernel/platform.hpp"

namespace cos {
namespace {

constexpr uint64_t kPage = 4096;

FreeRun* node_at(uint64_t pa) { return static_cast<FreeRun*>(platform::phys_to_kernel(pa)); }

void push(ReapList& l, KObject* o) {
  o->reap_next = o;  // the last one points at itself: queued objects never hold nullptr
  if (l.tail) l.tail->reap_next = o;
  else l.head = o;
  l.tail = o;
}

void pop_front(ReapList& l) {
  KObject* o = l.head;
  l.head = o->reap_next == o ? nullptr : o->reap_next;
  if (!l.head) l.tail = nullptr;
  o->reap_next = nullptr;
}

void maybe_queue(KObject* o) {
  if (o->caps != 0 || o->refs != 0 || o->reap_next) return;
  push(*g_reap_into, o);
}

// Returns pages to `ut` without dropping the reference their allocation took.
void pages_release(Untyped* ut, uint64_t pa, uint64_t pages) {
  for (uint64_t i = 0; i < pages; ++i) {
    PageMeta* m = page_meta(pa + i * kPage);
    KASSERT(m && m->maps == 0);
    *m = PageMeta{};
  }
  ut->free.release(pa, pages);
}

// A frame object no capability names and no page table maps: its first page
// becomes a KObject header (nothing can read the frame any more) so that it is
// returned to its untyped in bounded steps like every other object.
void frame_maybe_free(uint64_t head_pa) {
  PageMeta* head = page_meta(head_pa);
  if (!head || head->caps != 0 || head->mapped_pages != 0) return;
  auto* o = new (platform::phys_to_kernel(head_pa)) KObject{};
  o->type = ObjType::frame;
  o->pages = head->pages;
  o->pa = head_pa;
  o->origin = head->origin;
  maybe_queue(o);
}

// Stage 1 of destroying `o`: releases what it holds, in steps. True when done.
bool teardown(KObject* o, WorkBudget& budget) {
  switch (o->type) {
    case ObjType::captbl: {
      auto* ct = static_cast<Captbl*>(o);
      for (uint64_t& i = o->reap_cursor; i < ct->nslots; ++i) {
        if (i == 0) continue;  // the header
        if (!budget.take()) return false;
        if (!ct->slots()[i].empty()) cap_remove(&ct->slots()[i]);
      }
      return true;
    }
    case ObjType::pgtbl:
      return platform::address_space_teardown(static_cast<Pgtbl*>(o)->root, o->reap_cursor, budget);
    case ObjType::vm:
      return vm_object_teardown(static_cast<Vm*>(o), budget);
    case ObjType::vcpu:
      // Its own thread in the guest on another CPU uses the VMCB/VMCS until
      // that CPU takes it off (a kill that CPU carries out): later.
      if (Thread* th = static_cast<Vcpu*>(o)->thread)
        if (const int cpu = cpu_running(th); cpu >= 0 && cpu != static_cast<int>(platform::this_cpu())) {
          thread_kill(th);  // deferred to that CPU, which is kicked
          return false;
        }
      break;
    default:
      break;
  }
  if (!budget.take()) return false;
  switch (o->type) {
    case ObjType::untyped:
      break;  // refs == 0: everything carved from it has returned
    case ObjType::frame:
      break;  // a frame's header (frame_maybe_free): nothing held
    case ObjType::comp: {
      auto* c = static_cast<Component*>(o);
      obj_unref(c->captbl_obj);
      obj_unref(c->pgtbl_obj);
      break;
    }
    case ObjType::thread: {
      auto* t = static_cast<Thread*>(o);
      KASSERT(t->reap.empty());  // thread_kill gave its list away
      platform::thread_destroyed(t);
      t->home->threads.erase(t->home->threads.iterator_to(*t));
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
    case ObjType::vcpu:
      vcpu_object_destroy(static_cast<Vcpu*>(o));
      break;
    default:
      panic("destroying an object of unknown type %u", static_cast<unsigned>(o->type));
  }
  return true;
}

// Stage 2: returns o's pages to its untyped, the last ones first, one unit
// per page; the page holding `o` goes last, after `o` has left the list.
// True when done (o is gone).
bool release(ReapList& l, KObject* o, WorkBudget& budget) {
  Untyped* ut = o->origin;
  if (!ut) {  // kernel-owned boot object: its memory is never reused
    pop_front(l);
    return true;
  }
  uint64_t& done = o->reap_cursor;  // pages already returned, from the end
  while (done + 1 < o->pages) {
    uint64_t n = budget.take_up_to(o->pages - 1 - done);
    if (n == 0) return false;
    pages_release(ut, o->pa + (o->pages - done - n) * kPage, n);
    done += n;
  }
  if (!budget.take()) return false;
  uint64_t pa = o->pa;
  pop_front(l);
  pages_release(ut, pa, 1);
  obj_unref(ut);
  return true;
}

}  // namespace

ReapList g_reap_background;
ReapList* g_reap_into = &g_reap_background;

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

bool reap(ReapList* list, WorkBudget& budget) {
  ReapList& l = list ? *list : g_reap_background;
  ReapList* saved = g_reap_into;
  g_reap_into = &l;  // what a destruction releases is destroyed in the same run
  bool done = true;
  while (KObject* o = l.head) {
    if (o->reap_stage == 0) {
      if (o->caps != 0 || o->refs != 0) {  // named again since it was queued
        pop_front(l);
        continue;
      }
      o->reap_stage = 1;
      o->reap_cursor = 0;
    }
    if (o->reap_stage == 1) {
      if (!teardown(o, budget)) {
        done = false;
        break;
      }
      o->reap_stage = 2;
      o->reap_cursor = 0;
    }
    if (!release(l, o, budget)) {
      done = false;
      break;
    }
  }
  g_reap_into = saved;
  return done;
}

void reap_adopt(ReapList& list) {
  if (list.empty()) return;
  if (g_reap_background.tail) g_reap_background.tail->reap_next = list.head;
  else g_reap_background.head = list.head;
  g_reap_background.tail = list.tail;
  list.head = list.tail = nullptr;
}

Untyped* untyped_init(uint64_t header_pa, uint64_t base, uint64_t size, Untyped* origin) {
  auto* u = new (platform::phys_to_kernel(header_pa)) Untyped(node_at);
  u->type = ObjType::untyped;
  u->pa = header_pa;
  u->pages = 1 + static_cast<uint32_t>(size / kPage);
  u->origin = origin;
  u->base = base;
  u->size = size;
  // Free pages always have default metadata (pages_release, boot), so the
  // region needs no per-page work: carving an untyped takes constant time.
  if (size) u->free.release(base, size / kPage);
  return u;
}

void pending_frame_abandon(Thread* t) {
  PendingFrame& p = t->pending_frame;
  if (!p.ut) return;
  if (p.pages > p.done) p.ut->free.release(p.pa + p.done * kPage, p.pages - p.done);
  if (p.done) {
    page_meta(p.pa)->pages = static_cast<uint32_t>(p.done);
    frame_maybe_free(p.pa);  // its destruction drops the reference on ut
  } else {
    obj_unref(p.ut);
  }
  p = PendingFrame{};
}

Error untyped_reserve(Untyped* ut, uint64_t pages, uint64_t& pa) {
  const bool aligned = pages >= abi::kLargePagePages && ut->free.take(pages, abi::kLargePagePages, pa);
  if (!aligned && !ut->free.take(pages, 1, pa)) return Error::out_of_memory;
  obj_ref(ut);
  return Error::ok;
}

void untyped_prepare_frame(Untyped* ut, uint64_t pa, uint64_t first, uint64_t n) {
  platform::zero_pages(pa + first * kPage, n);
  for (uint64_t i = first; i < first + n; ++i) {
    PageMeta* m = page_meta(pa + i * kPage);
    KASSERT(m && m->kind == PageKind::free);
    *m = PageMeta{};
    m->kind = PageKind::frame;
    m->head = static_cast<uint32_t>(i);
    m->origin = ut;
  }
}

Error untyped_carve(Untyped* ut, uint64_t pages, Untyped*& out) {
  uint64_t pa;
  if (!ut->free.take(pages + 1, 1, pa)) return Error::out_of_memory;
  obj_ref(ut);
  platform::zero_pages(pa, 1);
  PageMeta* m = page_meta(pa);
  KASSERT(m && m->kind == PageKind::free);
  *m = PageMeta{};
  m->kind = PageKind::untyped;
  m->origin = ut;
  out = untyped_init(pa, pa + kPage, pages * kPage, ut);
  return Error::ok;
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
  pages_release(ut, pa, pages);
  obj_unref(ut);
}

void frame_cap_dropped(uint64_t head_pa) {
  PageMeta* head = page_meta(head_pa);
  KASSERT(head && head->kind == PageKind::frame && head->caps > 0);
  --head->caps;
  frame_maybe_free(head_pa);
}

void frame_page_mapped(uint64_t pa) {
  PageMeta* m = page_meta(pa);
  KASSERT(m && m->kind == PageKind::frame && m->maps < kMaxPageMaps);
  if (m->maps++ == 0) ++page_meta(pa - static_cast<uint64_t>(m->head) * kPage)->mapped_pages;
}

void frame_page_unmapped(uint64_t pa) {
  PageMeta* m = page_meta(pa);
  if (!m || m->kind != PageKind::frame) return;  // boot-module mappings have no metadata
  KASSERT(m->maps > 0);
  if (--m->maps != 0) return;
  uint64_t head_pa = pa - static_cast<uint64_t>(m->head) * kPage;
  PageMeta* head = page_meta(head_pa);
  KASSERT(head->mapped_pages > 0);
  --head->mapped_pages;
  frame_maybe_free(head_pa);
}

void pgtable_page_freed(uint64_t pa) {
  PageMeta* m = page_meta(pa);
  KASSERT(m && m->kind == PageKind::pgtable);
  untyped_free(m->origin, pa, 1);
}

}  // namespace cos
