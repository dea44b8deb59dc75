// Synchronous invocation gates (Composite-style thread migration): creation,
// the general sinv/sret paths and their fast paths.
//
// sinv: the calling thread migrates into the server component; the client's
// return point (rip, rsp, rflags) goes on the thread's invocation stack, the
// server starts at the gate's entry with rdi = token and the argument
// registers rsi, rdx, r10, r8, every other register cleared. sret pops the
// frame and returns to the client with rax, rdx = the server's results.
//
// The fast paths (seL4's fastpath in spirit) serve the common case straight
// from the system-call entry (x86_64/entry.S): no register frame is saved,
// no scheduler runs. They give up, and the general path runs, whenever
// anything is unusual: a bad or non-sinv slot, missing rights, a dead
// server or client, a full or empty invocation stack, or an object that
// would have to be destroyed.
#include "kernel/kernel.hpp"
#include "kernel/kernel_lock.hpp"
#include "kernel/platform.hpp"
#include "kernel/syscalls.hpp"

namespace cos {

// --- fast paths -------------------------------------------------------------------

/// What the sinv fast path hands the entry code: where the server starts
/// (entry 0: take the general path).
struct SinvUpcall {
  uint64_t entry;
  uint64_t token;
};

extern "C" SinvUpcall cos_sinv_fastpath(uint64_t slot, uint64_t rip, uint64_t rsp, uint64_t rflags) {
  kernel_lock_enter();
  Thread* t = current();
  SinvGate* g;
  Component* server = nullptr;
  if (t->depth < abi::kMaxInvocationDepth && t->current->captbl.get(slot, abi::Rights::exec, g) == Error::ok)
    server = g->server;
  if (!server || !server->alive) {
    kernel_lock_leave();  // the general path takes it again
    return {0, 0};
  }
  obj_ref(server);
  t->inv[t->depth++] = InvocationFrame{t->current, server, rip, rsp, rflags};
  t->current = server;
  platform::address_space_switch(server->pgtbl_root);
  const SinvUpcall upcall{g->entry, g->token};
  kernel_lock_leave();
  return upcall;
}

/// The sret fast path: the frame to return to (rflags already made safe for
/// user mode), or nullptr to take the general path.
/// The frame is the running thread's own (read by the entry code after the
/// kernel lock is left: no other CPU changes a thread that runs).
extern "C" InvocationFrame* cos_sret_fastpath() {
  kernel_lock_enter();
  Thread* t = current();
  InvocationFrame* f = t->depth ? &t->inv[t->depth - 1] : nullptr;
  // The client must still run, and dropping the server must not destroy it.
  // A thd_suspend / thd_kill waiting for the thread's return is applied there.
  if (!f || !f->client->alive || f->server->refs < 2 || t->pending != SchedPending::none) {
    kernel_lock_leave();  // the general path takes it again
    return nullptr;
  }
  obj_unref(f->server);  // cannot reach zero: checked above
  --t->depth;
  t->current = f->client;
  f->rflags = platform::user_rflags(f->rflags);
  platform::address_space_switch(f->client->pgtbl_root);
  kernel_lock_leave();
  return f;
}

namespace sys {

int64_t sinv_create(Thread* t, uint64_t ut_slot, uint64_t dest, uint64_t comp_slot, uint64_t entry,
                    uint64_t token) {
  Component* server;
  CreateTarget target;
  Error e = create_target(t, ut_slot, dest, target);
  if (e != Error::ok) return err(e);
  if ((e = caps(t).get(comp_slot, Rights::exec, server)) != Error::ok) return err(e);
  if (entry >= abi::kUserTop) return err(Error::bad_address);
  SinvGate* g;
  if ((e = obj_create(target.ut, ObjType::sinv, 1, g)) != Error::ok) return err(e);
  g->server = server;
  obj_ref(server);
  g->entry = entry;
  g->token = token;
  install_object(target, ObjType::sinv, g);
  return 0;
}

// --- general paths ------------------------------------------------------------------

void sinv(Thread* t) {
  x86::Regs& r = t->regs;
  SinvGate* g;
  Error e = caps(t).get(r.rdi, Rights::exec, g);
  if (e == Error::ok && !g->server->alive) e = Error::comp_dead;
  if (e == Error::ok && t->depth >= abi::kMaxInvocationDepth) e = Error::invocation_depth;
  if (e != Error::ok) {
    r.rax = static_cast<uint64_t>(err(e));
    return;
  }
  obj_ref(g->server);
  t->inv[t->depth++] = InvocationFrame{t->current, g->server, r.rip, r.rsp, r.rflags};
  t->current = g->server;
  platform::set_upcall(t, g->entry, g->token);
}

void sret(Thread* t) {
  if (t->depth == 0) {
    t->regs.rax = static_cast<uint64_t>(err(Error::not_in_invocation));
    return;
  }
  invocation_unwind(t, t->regs.rdi, t->regs.rsi);
}

}  // namespace sys
}  // namespace cos
