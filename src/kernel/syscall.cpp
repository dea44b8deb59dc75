// System-call dispatch: every operation of cos/abi.hpp. Each error path
// returns a distinct abi::Error; nothing a caller passes can crash the kernel.
#include <new>

#include "console.hpp"
#include "kernel.hpp"
#include "machine.hpp"
#include "platform.hpp"

namespace cos {
namespace {

using abi::Op;
namespace Rights = abi::Rights;
constexpr uint64_t kPage = 4096;
/// User addresses end here (48-bit canonical lower half).
constexpr uint64_t kUserTop = 0x0000800000000000ull;

uint32_t g_next_comp_id = 1;
uint32_t g_next_thread_id = 1;

CapTable& caps(Thread* t) { return t->current->captbl; }

int64_t err(Error e) { return static_cast<int64_t>(e); }

// Carves one zeroed page for a kernel object from the untyped capability.
Error object_page(Thread* t, uint64_t ut_slot, void*& out) {
  Capability* ut;
  Error e = caps(t).get(ut_slot, ObjType::untyped, ut);
  if (e != Error::ok) return e;
  uint64_t pa;
  e = untyped_carve(*ut, 1, 1, pa);
  if (e != Error::ok) return e;
  machine::zero_pages(pa, 1);
  out = machine::phys_to_kernel(pa);
  return Error::ok;
}

int64_t sys_print(Thread* t, uint64_t ptr, uint64_t len) {
  if (len > 4096) return err(Error::bad_argument);
  char buf[256];
  while (len > 0) {
    size_t n = len < sizeof(buf) ? len : sizeof(buf);
    if (!machine::copy_from_user(t->current->pgtbl_root, ptr, buf, n)) return err(Error::bad_address);
    platform::console_write(buf, n);
    ptr += n;
    len -= n;
  }
  return 0;
}

int64_t sys_retype(Thread* t, uint64_t ut_slot, uint64_t dest, uint64_t type, uint64_t npages) {
  Capability *ut, *slot;
  Error e = caps(t).get(ut_slot, ObjType::untyped, ut);
  if (e != Error::ok) return err(e);
  e = caps(t).free_slot(dest, slot);
  if (e != Error::ok) return err(e);
  auto ot = static_cast<ObjType>(type);
  uint64_t align = 1;
  switch (ot) {
    case ObjType::captbl:
      if (npages < 1 || npages > 16) return err(Error::bad_argument);
      break;
    case ObjType::pgtbl:
      if (npages != 1) return err(Error::bad_argument);
      break;
    case ObjType::frame:
      if (npages < 1 || npages > (1u << 20)) return err(Error::bad_argument);
      break;
    default:
      return err(Error::wrong_type);
  }
  uint64_t pa;
  e = untyped_carve(*ut, npages, align, pa);
  if (e != Error::ok) return err(e);
  machine::zero_pages(pa, npages);
  *slot = Capability{};
  slot->type = static_cast<uint8_t>(ot);
  slot->rights = static_cast<uint8_t>(Rights::all);
  if (ot == ObjType::captbl) {
    slot->w0 = reinterpret_cast<uint64_t>(machine::phys_to_kernel(pa));
    slot->w1 = npages * abi::kSlotsPerCaptblPage;
  } else if (ot == ObjType::pgtbl) {
    machine::address_space_init(pa);
    slot->w0 = pa;
  } else {
    slot->w0 = pa;
    slot->w1 = npages;
  }
  return 0;
}

int64_t sys_comp_create(Thread* t, uint64_t ut_slot, uint64_t dest, uint64_t ct_slot,
                        uint64_t pt_slot, uint64_t name_ptr, uint64_t name_len) {
  Capability *slot, *ct, *pt;
  Error e = caps(t).free_slot(dest, slot);
  if (e != Error::ok) return err(e);
  if ((e = caps(t).get(ct_slot, ObjType::captbl, ct)) != Error::ok) return err(e);
  if ((e = caps(t).get(pt_slot, ObjType::pgtbl, pt)) != Error::ok) return err(e);
  if (name_len > 31) return err(Error::bad_argument);
  char name[32] = {};
  if (!machine::copy_from_user(t->current->pgtbl_root, name_ptr, name, name_len))
    return err(Error::bad_address);
  void* page;
  if ((e = object_page(t, ut_slot, page)) != Error::ok) return err(e);
  auto* c = static_cast<Component*>(page);
  c->captbl = CapTable(reinterpret_cast<Capability*>(ct->w0), static_cast<uint32_t>(ct->w1));
  c->pgtbl_root = pt->w0;
  c->id = g_next_comp_id++;
  c->alive = true;
  for (unsigned i = 0; i < sizeof(name); ++i) c->name[i] = name[i];
  *slot = Capability{static_cast<uint8_t>(ObjType::comp), static_cast<uint8_t>(Rights::all), 0, 0,
                     reinterpret_cast<uint64_t>(c), 0, 0};
  return 0;
}

int64_t sys_thd_create(Thread* t, uint64_t ut_slot, uint64_t dest, uint64_t comp_slot,
                       uint64_t entry, uint64_t arg) {
  Capability *slot, *cc;
  Error e = caps(t).free_slot(dest, slot);
  if (e != Error::ok) return err(e);
  if ((e = caps(t).get(comp_slot, ObjType::comp, cc)) != Error::ok) return err(e);
  if (entry >= kUserTop) return err(Error::bad_address);
  void* page;
  if ((e = object_page(t, ut_slot, page)) != Error::ok) return err(e);
  Thread* nt = thread_init(page, reinterpret_cast<Component*>(cc->w0), entry, arg);
  *slot = Capability{static_cast<uint8_t>(ObjType::thread), static_cast<uint8_t>(Rights::all), 0, 0,
                     reinterpret_cast<uint64_t>(nt), 0, 0};
  return 0;
}

int64_t sys_thd_start(Thread* t, uint64_t thd_slot, uint64_t stack_top, uint64_t prio) {
  Capability* tc;
  Error e = caps(t).get(thd_slot, ObjType::thread, tc);
  if (e != Error::ok) return err(e);
  if (prio > 255 || (stack_top & 15) != 0) return err(Error::bad_argument);
  if (stack_top > kUserTop) return err(Error::bad_address);
  auto* nt = reinterpret_cast<Thread*>(tc->w0);
  if (nt->state != ThreadState::created) return err(Error::already_started);
  thread_start(nt, stack_top, static_cast<uint8_t>(prio));
  return 0;
}

int64_t sys_sinv_create(Thread* t, uint64_t ut_slot, uint64_t dest, uint64_t comp_slot,
                        uint64_t entry, uint64_t token) {
  Capability *slot, *cc;
  Error e = caps(t).free_slot(dest, slot);
  if (e != Error::ok) return err(e);
  if ((e = caps(t).get(comp_slot, ObjType::comp, cc)) != Error::ok) return err(e);
  if (entry >= kUserTop) return err(Error::bad_address);
  void* page;
  if ((e = object_page(t, ut_slot, page)) != Error::ok) return err(e);
  auto* g = static_cast<SinvGate*>(page);
  g->server = reinterpret_cast<Component*>(cc->w0);
  g->entry = entry;
  g->token = token;
  *slot = Capability{static_cast<uint8_t>(ObjType::sinv), static_cast<uint8_t>(Rights::all), 0, 0,
                     reinterpret_cast<uint64_t>(g), 0, 0};
  return 0;
}

int64_t sys_cap_copy(Thread* t, uint64_t ct_slot, uint64_t dst_index, uint64_t src_slot,
                     uint64_t rights) {
  Capability *ct, *src, *dst;
  Error e = caps(t).get(ct_slot, ObjType::captbl, ct);
  if (e != Error::ok) return err(e);
  if ((e = caps(t).get(src_slot, ObjType::none, src)) != Error::ok) return err(e);
  if (src->object_type() == ObjType::untyped) return err(Error::not_copyable);
  CapTable dt(reinterpret_cast<Capability*>(ct->w0), static_cast<uint32_t>(ct->w1));
  if ((e = dt.free_slot(dst_index, dst)) != Error::ok) return err(e);
  *dst = *src;
  dst->rights = static_cast<uint8_t>(src->rights & rights);
  return 0;
}

int64_t sys_cap_delete(Thread* t, uint64_t slot_index) {
  Capability* slot;
  Error e = caps(t).get(slot_index, ObjType::none, slot);
  if (e != Error::ok) return err(e);
  *slot = Capability{};
  return 0;
}

int64_t sys_pgtbl_map(Thread* t, uint64_t pt_slot, uint64_t va, uint64_t frame_slot,
                      uint64_t page_index, uint64_t rights, uint64_t ut_slot) {
  Capability *pt, *fr, *ut = nullptr;
  Error e = caps(t).get(pt_slot, ObjType::pgtbl, pt);
  if (e != Error::ok) return err(e);
  if ((e = caps(t).get(frame_slot, ObjType::frame, fr)) != Error::ok) return err(e);
  if (ut_slot != 0 && (e = caps(t).get(ut_slot, ObjType::untyped, ut)) != Error::ok) return err(e);
  if (page_index >= fr->w1) return err(Error::bad_argument);
  if ((rights & Rights::read) == 0 || (rights & ~(Rights::read | Rights::write | Rights::exec)))
    return err(Error::bad_argument);
  if ((rights & ~fr->rights) != 0) return err(Error::no_rights);
  return err(machine::map_user_page(pt->w0, va, fr->w0 + page_index * kPage, rights, ut));
}

int64_t sys_pgtbl_unmap(Thread* t, uint64_t pt_slot, uint64_t va) {
  Capability* pt;
  Error e = caps(t).get(pt_slot, ObjType::pgtbl, pt);
  if (e != Error::ok) return err(e);
  return err(machine::unmap_user_page(pt->w0, va));
}

// sinv: the thread migrates into the server; the client's return point is
// pushed on the thread's invocation stack.
void sys_sinv(Thread* t) {
  x86::Regs& r = t->regs;
  Capability* gc;
  Error e = caps(t).get(r.rdi, ObjType::sinv, gc);
  if (e != Error::ok) {
    r.rax = static_cast<uint64_t>(err(e));
    return;
  }
  auto* g = reinterpret_cast<SinvGate*>(gc->w0);
  if (!g->server->alive) {
    r.rax = static_cast<uint64_t>(err(Error::comp_dead));
    return;
  }
  if (t->depth >= abi::kMaxInvocationDepth) {
    r.rax = static_cast<uint64_t>(err(Error::invocation_depth));
    return;
  }
  t->inv[t->depth++] = InvocationFrame{t->current, r.rip, r.rsp, r.rflags};
  t->current = g->server;
  machine::set_upcall(r, g->entry, g->token);
}

void sys_sret(Thread* t) {
  if (t->depth == 0) {
    t->regs.rax = static_cast<uint64_t>(err(Error::not_in_invocation));
    return;
  }
  invocation_unwind(t, t->regs.rdi, t->regs.rsi);
}

}  // namespace

Thread* thread_init(void* page, Component* comp, uint64_t entry, uint64_t arg) {
  auto* t = new (page) Thread();
  machine::thread_context_init(t, entry, arg);
  t->home = comp;
  t->current = comp;
  t->id = g_next_thread_id++;
  t->state = ThreadState::created;
  return t;
}

void component_kill(Component* comp) { comp->alive = false; }

void syscall_handle(Thread* t) {
  x86::Regs& r = t->regs;
  int64_t ret;
  switch (static_cast<Op>(r.rax)) {
    case Op::print: ret = sys_print(t, r.rdi, r.rsi); break;
    case Op::retype: ret = sys_retype(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    case Op::comp_create: ret = sys_comp_create(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9); break;
    case Op::thd_create: ret = sys_thd_create(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8); break;
    case Op::thd_start: ret = sys_thd_start(t, r.rdi, r.rsi, r.rdx); break;
    case Op::sinv_create: ret = sys_sinv_create(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8); break;
    case Op::cap_copy: ret = sys_cap_copy(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    case Op::cap_delete: ret = sys_cap_delete(t, r.rdi); break;
    case Op::pgtbl_map: ret = sys_pgtbl_map(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9); break;
    case Op::pgtbl_unmap: ret = sys_pgtbl_unmap(t, r.rdi, r.rsi); break;
    case Op::sinv: sys_sinv(t); return;
    case Op::sret: sys_sret(t); return;
    case Op::thd_yield:
      r.rax = 0;
      if (!g_run_queue.empty() && g_run_queue.top_priority() <= t->priority) schedule(true);
      return;
    case Op::thd_exit: thread_kill(t); return;
    default: ret = err(Error::bad_op); break;
  }
  r.rax = static_cast<uint64_t>(ret);
}

}  // namespace cos
