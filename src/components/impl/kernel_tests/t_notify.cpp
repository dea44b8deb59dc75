// Asynchronous notification (asnd/rcv) and scheduling: endpoint types and
// rights, pending counts, non-blocking receive, timeouts, wake-ups from other
// threads, priority preemption, wake-up order, thd_yield.
#include "kernel_tests/kt.hpp"

using namespace kt;

namespace {
constexpr uint64_t kNB = cos::abi::kRcvNonBlocking;
constexpr uint64_t kTick = cos::abi::kTickUs;

void h_asnd(Helper& h) { h.r0 = sys::asnd(h.a); }
void h_rcv(Helper& h) {
  h.r0 = sys::rcv(h.a, 1000000, 0);
  h.t = static_cast<uint64_t>(next_order());
  h.flag = 1;
}
void h_flag(Helper& h) { h.flag = 1; }
}  // namespace

KT_CASE(endpoints_have_their_types) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  KT_EQ(sys::cap_info(r), info_of(ObjType::rcv, Rights::all));
  KT_EQ(sys::cap_info(a), info_of(ObjType::asnd, Rights::all));
}

KT_CASE(asnd_create_checks_type_and_grant) {
  const Env& e = env();
  uint64_t r = make(ObjType::rcv), f = make(ObjType::frame), d = slot();
  KT_ASSERT(r && f && d);
  uint64_t r_nogrant = copy(r, Rights::read | Rights::write | Rights::exec);
  KT_ASSERT(r_nogrant);
  KT_ERR(sys::asnd_create(e.ut, d, f), wrong_type);
  KT_ERR(sys::asnd_create(e.ut, d, e.timer), wrong_type);
  KT_ERR(sys::asnd_create(e.ut, d, r_nogrant), no_rights);
  KT_ERR(sys::asnd_create(f, d, r), wrong_type);
  KT_ERR(sys::cap_info(d), empty_slot);
}

KT_CASE(rcv_nonblocking_with_nothing_pending_is_would_block) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  KT_ERR(sys::rcv(r, 0, kNB), would_block);
  KT_ERR(sys::rcv(r, 50000, kNB), would_block);  // the flag wins over a timeout
}

KT_CASE(pending_notifications_are_counted) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  uint64_t a2 = slot();
  KT_ASSERT(a2);
  KT_OK(sys::asnd_create(env().ut, a2, r));
  for (int i = 0; i < 3; ++i) KT_OK(sys::asnd(a));
  KT_EQ(sys::rcv(r, 0, kNB), 3);
  KT_ERR(sys::rcv(r, 0, kNB), would_block);
  KT_OK(sys::asnd(a));
  KT_OK(sys::asnd(a2));
  KT_OK(sys::asnd(a2));
  KT_EQ(sys::rcv(r, 1000000, 0), 3);  // pending: returns at once
}

KT_CASE(asnd_needs_write_and_rcv_needs_read) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  uint64_t a_ro = copy(a, Rights::read | Rights::grant | Rights::exec);
  uint64_t r_wo = copy(r, Rights::write | Rights::grant | Rights::exec);
  uint64_t a_wo = copy(a, Rights::write);
  KT_ASSERT(a_ro && r_wo && a_wo);
  KT_ERR(sys::asnd(a_ro), no_rights);
  KT_ERR(sys::rcv(r, 0, kNB), would_block);  // nothing was sent
  KT_OK(sys::asnd(a_wo));
  KT_ERR(sys::rcv(r_wo, 0, kNB), no_rights);
  KT_EQ(sys::rcv(r, 0, kNB), 1);
}

KT_CASE(asnd_and_rcv_on_wrong_types_is_wrong_type) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  KT_ERR(sys::asnd(r), wrong_type);
  KT_ERR(sys::asnd(f), wrong_type);
  KT_ERR(sys::asnd(env().gate), wrong_type);
  KT_ERR(sys::rcv(a, 0, kNB), wrong_type);
  KT_ERR(sys::rcv(f, 0, kNB), wrong_type);
  KT_ERR(sys::rcv(env().timer, 0, kNB), wrong_type);
}

// Timeouts have tick resolution: a wait may end up to one tick early (it
// starts part-way through a tick) and, under emulation, arbitrarily late; the
// upper bound is only there to catch a timeout that never fires properly.
#define KT_TIMEOUT_WITHIN(r, us)                                    \
  do {                                                              \
    int64_t t0_ = sys::time_now();                                  \
    KT_ERR(sys::rcv(r, us, 0), timeout);                            \
    int64_t waited_##us = sys::time_now() - t0_;                    \
    KT_CMP(waited_##us, >=, static_cast<int64_t>(us - kTick));      \
    KT_CMP(waited_##us, <, static_cast<int64_t>(us + 500000));      \
  } while (0)

KT_CASE(rcv_times_out_after_about_the_requested_time) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  KT_TIMEOUT_WITHIN(r, 3000);
  KT_TIMEOUT_WITHIN(r, 20000);
  KT_TIMEOUT_WITHIN(r, 50000);
}

KT_CASE(rcv_with_timeout_returns_pending_notifications_at_once) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  KT_OK(sys::asnd(a));
  int64_t t0 = sys::time_now();
  KT_EQ(sys::rcv(r, 1000000, 0), 1);
  KT_CMP(sys::time_now() - t0, <, 500000);
}

KT_CASE(asnd_from_another_thread_wakes_a_blocked_rcv) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Helper& h = helper();
  h.a = a;
  // Lower priority: the helper runs only once we block in rcv.
  KT_ASSERT(start_helper(h, h_asnd, env().main_prio + 10));
  int64_t t0 = sys::time_now();
  KT_EQ(sys::rcv(r, 1000000, 0), 1);
  KT_CMP(sys::time_now() - t0, <, 900000);  // woken, not timed out
  KT_ASSERT(wait_helper(h));
  KT_OK(h.r0);
}

KT_CASE(higher_priority_waiter_preempts_the_sender) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Helper& h = helper();
  h.a = r;
  KT_ASSERT(start_helper(h, h_rcv, env().main_prio - 10));
  sleep_us(3000);  // it runs and blocks in rcv
  KT_EQ(h.flag, 0);
  KT_OK(sys::asnd(a));
  KT_EQ(h.flag, 1);  // it ran before asnd returned to us
  KT_EQ(h.r0, 1);
  KT_ASSERT(wait_helper(h));
}

KT_CASE(lower_priority_waiter_does_not_preempt) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Helper& h = helper();
  h.a = r;
  KT_ASSERT(start_helper(h, h_rcv, env().main_prio + 10));
  sleep_us(3000);  // it runs and blocks in rcv
  KT_EQ(h.flag, 0);
  KT_OK(sys::asnd(a));
  for (int i = 0; i < 5; ++i) KT_OK(sys::thd_yield());  // yield does not run lower priorities either
  KT_EQ(h.flag, 0);
  KT_ASSERT(wait_helper(h));  // we block: now it runs
  KT_EQ(h.flag, 1);
  KT_EQ(h.r0, 1);
}

KT_CASE(asnd_wakes_the_longest_waiting_thread_first) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Helper& first = helper();
  Helper& second = helper();
  first.a = second.a = r;
  KT_ASSERT(start_helper(first, h_rcv, env().main_prio - 10));
  sleep_us(3000);
  KT_ASSERT(start_helper(second, h_rcv, env().main_prio - 10));
  sleep_us(3000);
  KT_EQ(first.flag + second.flag, 0);
  KT_OK(sys::asnd(a));
  KT_EQ(first.flag, 1);
  KT_EQ(second.flag, 0);
  KT_OK(sys::asnd(a));
  KT_EQ(second.flag, 1);
  KT_CMP(first.t, <, second.t);
  KT_ASSERT(wait_helper(first) && wait_helper(second));
}

KT_CASE(thd_yield_runs_threads_of_the_same_priority) {
  Helper& h = helper();
  KT_ASSERT(start_helper(h, h_flag, env().main_prio));
  for (int i = 0; i < 50 && !h.flag; ++i) KT_OK(sys::thd_yield());
  KT_EQ(h.flag, 1);
  KT_ASSERT(wait_helper(h));
}

KT_CASE(thd_yield_does_not_run_lower_priority_threads) {
  Helper& h = helper();
  KT_ASSERT(start_helper(h, h_flag, env().main_prio + 10));
  for (int i = 0; i < 20; ++i) KT_OK(sys::thd_yield());
  KT_EQ(h.flag, 0);
  KT_ASSERT(wait_helper(h));
  KT_EQ(h.flag, 1);
}

KT_CASE(blocked_helper_times_out_too) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Helper& h = helper();
  h.a = r;
  h.b = 10000;
  KT_ASSERT(start_helper(h, [](Helper& x) { x.r0 = sys::rcv(x.a, x.b, 0); }, env().main_prio - 10));
  KT_ASSERT(wait_helper(h, 1000000));
  KT_ERR(h.r0, timeout);
}

namespace {
// Spins until told to stop (or for 2 s at most: r0 = 1 then).
void h_spin(Helper& h) {
  int64_t start = sys::time_now();
  h.flag = 1;
  while (!h.stop) {
    if (sys::time_now() - start > 2000000) {
      h.r0 = 1;
      return;
    }
  }
}
}  // namespace

KT_CASE(round_robin_shares_the_cpu_within_a_priority) {
  Helper& h = helper();
  KT_ASSERT(start_helper(h, h_spin, env().main_prio));
  int64_t t0 = sys::time_now();
  KT_OK(sys::thd_yield());  // the helper spins; only the quantum brings us back
  int64_t away = sys::time_now() - t0;
  KT_EQ(h.flag, 1);
  KT_EQ(h.r0, 0);  // we ran again while it was still spinning
  h.stop = 1;
  KT_ASSERT(wait_helper(h));
  KT_EQ(h.r0, 0);
  KT_CMP(away, <, 1000000);
}

// --- endpoints whose last capability is gone ------------------------------------------

namespace {
/// An endpoint carved from a child untyped of `pages` pages (slots in *ut, *ep).
bool endpoint_in_own_untyped(uint64_t pages, uint64_t* ut, uint64_t* ep) {
  *ut = make_untyped(pages);
  *ep = slot();
  return *ut && *ep && sys::retype(*ut, *ep, ObjType::rcv, 1) == 0;
}
}  // namespace

KT_CASE(orphaned_endpoint_stops_its_timer_and_returns_its_memory) {
  // A periodic timer holds its endpoint; when the last capability to the
  // endpoint goes, the timer must stop and the endpoint's page come back.
  uint64_t ut = 0, ep = 0;
  KT_ASSERT(endpoint_in_own_untyped(2, &ut, &ep));
  KT_OK(sys::timer_bind(env().timer, ep, 1000));
  KT_OK(sys::cap_delete(ep));
  uint64_t f = slot();
  KT_ASSERT(f);
  KT_OK(sys::retype(ut, f, ObjType::frame, 2));  // both pages free again
}

KT_CASE(orphaned_endpoint_leaves_its_irq_line) {
  uint64_t ut = 0, ep = 0;
  KT_ASSERT(endpoint_in_own_untyped(1, &ut, &ep));
  KT_OK(sys::irq_bind(env().irq, env().irq_line, ep));
  KT_OK(sys::cap_delete(ep));
  uint64_t f = slot(), ep2 = make(ObjType::rcv);
  KT_ASSERT(f && ep2);
  KT_OK(sys::retype(ut, f, ObjType::frame, 1));
  KT_OK(sys::irq_bind(env().irq, env().irq_line, ep2));  // the line is free again
  KT_OK(sys::irq_bind(env().irq, env().irq_line, 0));
}

// --- console input (console_bind, console_read) ----------------------------------------

KT_CASE(console_bind_and_read_checks) {
  const uint64_t con = env().console;
  KT_ASSERT(con);
  uint64_t ep = make(ObjType::rcv), other = make(ObjType::rcv);
  KT_ASSERT(ep && other);
  uint64_t buf[8];
  KT_ERR(sys::console_read(con, ep, buf, 8), not_bound);
  KT_ERR(sys::console_bind(con, ep, 0), not_bound);
  KT_ERR(sys::console_bind(con, ep, 2), bad_argument);
  KT_ERR(sys::console_bind(env().timer, ep, 1), wrong_type);
  KT_ERR(sys::console_bind(con, env().timer, 1), wrong_type);
  uint64_t ro = copy(con, Rights::write | Rights::grant);
  KT_ASSERT(ro);
  KT_ERR(sys::console_bind(ro, ep, 1), no_rights);
  KT_OK(sys::console_bind(con, ep, 1));
  KT_ERR(sys::console_bind(con, ep, 1), already_bound);
  // Nothing is typed during the tests: an empty read returns 0.
  KT_EQ(sys::console_read(con, ep, buf, sizeof(buf)), 0);
  KT_ERR(sys::console_read(con, ep, buf, 4097), bad_argument);
  KT_ERR(sys::console_read(con, ep, reinterpret_cast<void*>(0x0000700000000000ull), 8), bad_address);
  KT_ERR(sys::console_read(con, ep, reinterpret_cast<void*>(kt::kChildCode), 8), bad_address);
  KT_ERR(sys::console_read(con, other, buf, 8), not_bound);
  KT_OK(sys::console_bind(con, ep, 0));
  KT_ERR(sys::console_read(con, ep, buf, 8), not_bound);
}

KT_CASE(orphaned_console_reader_is_unbound) {
  const uint64_t con = env().console;
  uint64_t ut = 0, ep = 0;
  KT_ASSERT(endpoint_in_own_untyped(1, &ut, &ep));
  KT_OK(sys::console_bind(con, ep, 1));
  KT_OK(sys::cap_delete(ep));
  uint64_t f = slot();
  KT_ASSERT(f);
  KT_OK(sys::retype(ut, f, ObjType::frame, 1));  // the binding let the endpoint go
}
