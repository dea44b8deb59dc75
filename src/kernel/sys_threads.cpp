// comp_create, thd_create, thd_start.
#include "kernel/platform.hpp"
#include "kernel/syscalls.hpp"

namespace cos::sys {
namespace {
uint32_t g_next_comp_id = 1;
}

int64_t comp_create(Thread* t, uint64_t ut_slot, uint64_t dest, uint64_t ct_slot, uint64_t pt_slot,
                    uint64_t name_ptr, uint64_t name_len) {
  Captbl* ct;
  Pgtbl* pt;
  CreateTarget target;
  Error e = create_target(t, ut_slot, dest, target);
  if (e != Error::ok) return err(e);
  if ((e = caps(t).get(ct_slot, Rights::write, ct)) != Error::ok) return err(e);
  if ((e = caps(t).get(pt_slot, Rights::write, pt)) != Error::ok) return err(e);
  if (name_len > 31) return err(Error::bad_argument);
  char name[32] = {};
  if (!platform::copy_from_user(t->current->pgtbl_root, name_ptr, name, name_len))
    return err(Error::bad_address);
  Component* c;
  if ((e = obj_create(target.ut, ObjType::comp, 1, c)) != Error::ok) return err(e);
  c->captbl_obj = ct;
  c->pgtbl_obj = pt;
  obj_ref(c->captbl_obj);
  obj_ref(c->pgtbl_obj);
  c->captbl = CapTable(c->captbl_obj->slots(), c->captbl_obj->nslots);
  c->pgtbl_root = c->pgtbl_obj->root;
  c->id = g_next_comp_id++;
  c->alive = true;
  c->priority_ceiling = t->current->priority_ceiling;  // nobody grants more than it has
  for (unsigned i = 0; i < sizeof(name); ++i) c->name[i] = name[i];
  install_object(target, ObjType::comp, c);
  return 0;
}

int64_t thd_create(Thread* t, uint64_t ut_slot, uint64_t dest, uint64_t comp_slot, uint64_t entry,
                   uint64_t arg) {
  Component* comp;
  CreateTarget target;
  Error e = create_target(t, ut_slot, dest, target);
  if (e != Error::ok) return err(e);
  if ((e = caps(t).get(comp_slot, Rights::exec, comp)) != Error::ok) return err(e);
  if (entry >= abi::kUserTop) return err(Error::bad_address);
  Thread* nt;
  if ((e = obj_create(target.ut, ObjType::thread, 1, nt)) != Error::ok) return err(e);
  thread_init(nt, comp, entry, arg);
  install_object(target, ObjType::thread, nt);
  return 0;
}

int64_t thd_start(Thread* t, uint64_t thd_slot, uint64_t stack_top, uint64_t prio) {
  Thread* nt;
  Error e = caps(t).get(thd_slot, Rights::exec, nt);
  if (e != Error::ok) return err(e);
  if (prio > 255 || (stack_top & 15) != 0) return err(Error::bad_argument);
  if (prio < t->current->priority_ceiling) return err(Error::above_ceiling);
  if (stack_top > abi::kUserTop) return err(Error::bad_address);
  if (nt->state != ThreadState::created) return err(Error::already_started);
  thread_start(nt, stack_top, static_cast<uint8_t>(prio));
  return 0;
}

}  // namespace cos::sys
