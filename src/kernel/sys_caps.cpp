// cap_copy, cap_delete, cap_revoke, cap_info.
#include "kernel/syscalls.hpp"

namespace cos::sys {

int64_t cap_copy(Thread* t, uint64_t ct_slot, uint64_t index, uint64_t src_slot, uint64_t rights) {
  Captbl* table;
  Capability *src, *dst;
  Error e = caps(t).get(ct_slot, Rights::write, table);
  if (e != Error::ok) return err(e);
  if ((e = caps(t).get(src_slot, ObjType::none, src, Rights::grant)) != Error::ok) return err(e);
  CapTable dt(table->slots(), table->nslots);
  if ((e = dt.free_slot(index, dst)) != Error::ok) return err(e);
  cap_install(dst, *src, static_cast<uint8_t>(src->rights & rights), src);
  return 0;
}

int64_t cap_delete(Thread* t, uint64_t slot) {
  Capability* c;
  Error e = caps(t).get(slot, ObjType::none, c);
  if (e != Error::ok) return err(e);
  cap_remove(c);
  return 0;
}

int64_t cap_revoke(Thread* t, uint64_t slot, WorkBudget& budget) {
  Capability* c;
  Error e = caps(t).get(slot, ObjType::none, c);
  if (e != Error::ok) return err(e);
  return cos::cap_revoke(c, budget) ? 0 : kRestart;
}

int64_t cap_info(Thread* t, uint64_t slot) {
  Capability* c;
  Error e = caps(t).get(slot, ObjType::none, c);
  if (e != Error::ok) return err(e);
  return static_cast<int64_t>(c->type) | (static_cast<int64_t>(c->rights) << 8);
}

}  // namespace cos::sys
