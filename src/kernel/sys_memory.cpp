// retype, pgtbl_map, pgtbl_unmap.
#include "kernel/syscalls.hpp"

namespace cos::sys {
namespace {
constexpr uint64_t kPage = 4096;
}

Error get_untyped(Thread* t, uint64_t slot, Untyped*& out, Capability** cap) {
  Capability* c;
  Error e = caps(t).get(slot, ObjType::untyped, c, Rights::write);
  out = e == Error::ok ? reinterpret_cast<Untyped*>(c->w0) : nullptr;  // the capability is wanted too
  if (e == Error::ok && cap) *cap = c;
  return e;
}

Error create_target(Thread* t, uint64_t ut_slot, uint64_t dest, CreateTarget& out) {
  Error e = get_untyped(t, ut_slot, out.ut, &out.utc);
  if (e != Error::ok) return e;
  return caps(t).free_slot(dest, out.slot);
}

void install_object(const CreateTarget& target, ObjType type, KObject* o) {
  Capability made{};
  made.type = static_cast<uint8_t>(type);
  made.w0 = reinterpret_cast<uint64_t>(o);
  cap_install(target.slot, made, static_cast<uint8_t>(Rights::all), target.utc);
}

// A frame of more than kFramePagesPerEntry pages is zeroed over several
// kernel entries (docs/kernel.md, "Bounded kernel work"): the first entry
// reserves the pages, every entry prepares (zeroes) the next
// kFramePagesPerEntry and restarts the call, and the entry that prepares the
// last one makes the frame. In between, interrupts are taken and a thread of
// higher priority runs: a component cannot stall the kernel for as long as
// it takes to zero gigabytes. The reservation lives in Thread::pending_frame;
// a call that is abandoned (the thread killed, or it did something else)
// gives it back (pending_frame_abandon).
int64_t retype_large_frame(Thread* t, Untyped* ut, uint64_t npages, uint64_t& pa) {
  PendingFrame& p = t->pending_frame;
  if (p.ut && (p.ut != ut || p.pages != npages)) pending_frame_abandon(t);
  if (!p.ut) {
    if (Error e = untyped_reserve(ut, npages, p.pa); e != Error::ok) return err(e);
    p.ut = ut;
    p.pages = npages;
    p.done = 0;
  }
  const uint64_t n = p.pages - p.done < kFramePagesPerEntry ? p.pages - p.done : kFramePagesPerEntry;
  untyped_prepare_frame(ut, p.pa, p.done, n);
  p.done += n;
  if (p.done < p.pages) return kRestart;
  pa = p.pa;
  page_meta(pa)->pages = static_cast<uint32_t>(npages);
  p = PendingFrame{};
  return 0;
}

int64_t retype(Thread* t, uint64_t ut_slot, uint64_t dest, uint64_t type, uint64_t npages) {
  Capability *utc, *slot;
  Error e = caps(t).get(ut_slot, ObjType::untyped, utc, Rights::write);
  if (e != Error::ok) return err(e);
  if ((e = caps(t).free_slot(dest, slot)) != Error::ok) return err(e);
  auto* ut = reinterpret_cast<Untyped*>(utc->w0);
  Capability made{};
  made.type = static_cast<uint8_t>(type);
  switch (static_cast<ObjType>(type)) {
    case ObjType::untyped: {
      if (npages < 1 || npages > (1ull << 24)) return err(Error::bad_argument);
      Untyped* child;
      if ((e = untyped_carve(ut, npages, child)) != Error::ok) return err(e);
      made.w0 = reinterpret_cast<uint64_t>(child);
      break;
    }
    case ObjType::captbl: {
      if (npages < 1 || npages > 16) return err(Error::bad_argument);
      Captbl* ct;
      if ((e = obj_create(ut, ObjType::captbl, static_cast<uint32_t>(npages), ct)) != Error::ok) return err(e);
      ct->nslots = static_cast<uint32_t>(npages * abi::kSlotsPerCaptblPage);
      made.w0 = reinterpret_cast<uint64_t>(ct);
      made.w1 = ct->nslots;
      break;
    }
    case ObjType::pgtbl: {
      if (npages != 1) return err(Error::bad_argument);
      Pgtbl* p;
      if ((e = obj_create(ut, ObjType::pgtbl, 2, p)) != Error::ok) return err(e);
      p->root = p->pa + kPage;
      platform::address_space_init(p->root);
      made.w0 = reinterpret_cast<uint64_t>(p);
      break;
    }
    case ObjType::frame: {
      if (npages < 1 || npages > (1u << 20)) return err(Error::bad_argument);
      uint64_t pa;
      if (npages <= kFramePagesPerEntry) {
        if ((e = untyped_alloc(ut, npages, 1, PageKind::frame, pa)) != Error::ok) return err(e);
      } else if (int64_t r = retype_large_frame(t, ut, npages, pa); r != 0) {
        return r;  // sys::kRestart: the call goes on at the thread's next kernel entry
      }
      made.w0 = pa;
      made.w1 = npages;
      break;
    }
    case ObjType::rcv: {
      if (npages != 1) return err(Error::bad_argument);
      RcvEndpoint* ep;
      if ((e = obj_create(ut, ObjType::rcv, 1, ep)) != Error::ok) return err(e);
      ep->irq_line = -1;
      made.w0 = reinterpret_cast<uint64_t>(ep);
      break;
    }
    case ObjType::vm: {
      if (npages != 1) return err(Error::bad_argument);
      int64_t r = vm_create(t, ut, made);
      if (r != 0) return r;
      break;
    }
    default:
      return err(Error::wrong_type);
  }
  cap_install(slot, made, static_cast<uint8_t>(Rights::all), utc);
  return 0;
}

Error frame_page_for_map(Thread* t, uint64_t frame_slot, uint64_t index, uint64_t rights, uint64_t ut_slot,
                         MapSource& out) {
  Capability* fr;
  Error e = caps(t).get(frame_slot, ObjType::frame, fr);
  if (e != Error::ok) return e;
  out.ut = nullptr;
  if (ut_slot != 0 && (e = get_untyped(t, ut_slot, out.ut)) != Error::ok) return e;
  if (index >= fr->w1) return Error::bad_argument;
  if ((rights & Rights::read) == 0 || (rights & ~(Rights::read | Rights::write | Rights::exec)))
    return Error::bad_argument;
  if (!fr->has(rights)) return Error::no_rights;
  out.pa = fr->w0 + index * kPage;
  out.pages_from_pa = fr->w1 - index;
  out.meta = page_meta(out.pa);
  if (!out.meta || out.meta->kind != PageKind::frame) return Error::wrong_type;  // cannot happen: invariant
  if (out.meta->maps == kMaxPageMaps) return Error::bad_argument;
  return Error::ok;
}

int64_t pgtbl_map(Thread* t, uint64_t pt_slot, uint64_t va, uint64_t frame_slot, uint64_t index,
                  uint64_t rights, uint64_t ut_slot) {
  Pgtbl* pt;
  MapSource src;
  Error e = caps(t).get(pt_slot, Rights::write, pt);
  if (e == Error::ok) e = frame_page_for_map(t, frame_slot, index, rights, ut_slot, src);
  if (e != Error::ok) return err(e);
  e = platform::map_user_page(pt->root, va, src.pa, rights, src.ut);
  if (e == Error::ok) frame_page_mapped(src.pa);
  return err(e);
}

int64_t pgtbl_unmap(Thread* t, uint64_t pt_slot, uint64_t va) {
  Pgtbl* pt;
  Error e = caps(t).get(pt_slot, Rights::write, pt);
  if (e != Error::ok) return err(e);
  uint64_t pa;
  e = platform::unmap_user_page(pt->root, va, pa);
  if (e == Error::ok) frame_page_unmapped(pa);
  return err(e);
}

}  // namespace cos::sys
