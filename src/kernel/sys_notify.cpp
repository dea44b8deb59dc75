// asnd_create, asnd, rcv, timer_bind.
#include "kernel/platform.hpp"
#include "kernel/syscalls.hpp"

namespace cos::sys {

int64_t asnd_create(Thread* t, uint64_t ut_slot, uint64_t dest, uint64_t rcv_slot) {
  RcvEndpoint* ep;
  CreateTarget target;
  Error e = create_target(t, ut_slot, dest, target);
  if (e != Error::ok) return err(e);
  if ((e = caps(t).get(rcv_slot, Rights::grant, ep)) != Error::ok) return err(e);
  SendEndpoint* s;
  if ((e = obj_create(target.ut, ObjType::asnd, 1, s)) != Error::ok) return err(e);
  s->target = ep;
  obj_ref(s->target);
  install_object(target, ObjType::asnd, s);
  return 0;
}

int64_t asnd(Thread* t, uint64_t slot) {
  SendEndpoint* s;
  Error e = caps(t).get(slot, Rights::write, s);
  if (e != Error::ok) return err(e);
  rcv_notify(s->target);
  return 0;  // a woken higher-priority thread preempts in schedule()
}

bool rcv(Thread* t, uint64_t slot, uint64_t timeout_us, uint64_t flags, int64_t& ret) {
  RcvEndpoint* ep;
  Error e = caps(t).get(slot, Rights::read, ep);
  if (e == Error::ok && (flags & ~abi::kRcvNonBlocking)) e = Error::bad_argument;
  if (e != Error::ok) {
    ret = err(e);
    return false;
  }
  if (ep->pending > 0) {
    ret = static_cast<int64_t>(ep->pending > (1ull << 62) ? (1ull << 62) : ep->pending);
    ep->pending = 0;
    return false;
  }
  if (flags & abi::kRcvNonBlocking) {
    ret = err(Error::would_block);
    return false;
  }
  // Deadlines are in kernel time (TSC-based microseconds), checked on every
  // tick: under emulation ticks can arrive in bursts, so counting them would
  // end waits early.
  uint64_t deadline = 0;
  if (timeout_us) deadline = platform::time_us() + (timeout_us < (1ull << 40) ? timeout_us : (1ull << 40));
  thread_block(t, ep, deadline);
  return true;
}

int64_t timer_bind(Thread* t, uint64_t timer_slot, uint64_t rcv_slot, uint64_t period_us) {
  Capability* tc;
  RcvEndpoint* ep;
  Error e = caps(t).get(timer_slot, ObjType::timer, tc, Rights::write);
  if (e != Error::ok) return err(e);
  if ((e = caps(t).get(rcv_slot, Rights::write, ep)) != Error::ok) return err(e);
  if (period_us != 0 && (period_us < abi::kTickUs || period_us > (1ull << 40))) return err(Error::bad_argument);
  timer_set(ep, period_us);
  return 0;
}

}  // namespace cos::sys
