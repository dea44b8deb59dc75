// Capability installation, removal and revocation.
#include "kernel/console.hpp"
#include "kernel/kernel.hpp"

namespace cos {

KObject* cap_object(const Capability& c) {
  switch (c.object_type()) {
    case ObjType::untyped:
    case ObjType::captbl:
    case ObjType::pgtbl:
    case ObjType::comp:
    case ObjType::thread:
    case ObjType::sinv:
    case ObjType::rcv:
    case ObjType::asnd:
    case ObjType::vm:
    case ObjType::vcpu:
      return reinterpret_cast<KObject*>(c.w0);
    default:
      return nullptr;
  }
}

void cap_install(Capability* dst, const Capability& src, uint8_t rights, Capability* parent) {
  Capability c{};
  c.type = src.type;
  c.rights = rights;
  c.w0 = src.w0;
  c.w1 = src.w1;
  c.w2 = src.w2;
  *dst = c;
  cdt::insert_child(parent, dst);
  if (KObject* o = cap_object(*dst)) {
    ++o->caps;
  } else if (dst->object_type() == ObjType::frame) {
    PageMeta* m = page_meta(dst->w0);
    KASSERT(m && m->kind == PageKind::frame);
    ++m->caps;
  }
}

void cap_remove(Capability* c) {
  cdt::unlink(c);
  Capability old = *c;
  *c = Capability{};
  if (KObject* o = cap_object(old)) obj_cap_dropped(o);
  else if (old.object_type() == ObjType::frame) frame_cap_dropped(old.w0);
}

bool cap_revoke(Capability* c, WorkBudget& budget) { return cdt::revoke(c, budget, cap_remove); }

}  // namespace cos
