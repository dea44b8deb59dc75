// Scheduling authority: priority ceilings (comp_ceiling, thd_start), and
// thd_suspend / thd_resume / thd_kill / comp_kill, including threads that are
// inside another component when they are suspended or killed, and a runaway
// component whose memory comes back once it is killed.
#include "kernel_tests/kt.hpp"

using namespace kt;

namespace {

constexpr uint64_t kTimeout = 1000000;

volatile int g_release;          // spin_until_released returns once set
volatile uint64_t g_server_spins;

// A thread that only exits (the entry of threads the cases start elsewhere).
alignas(16) uint8_t g_exit_stack[1024];
[[noreturn]] void exit_now() { sys::thd_exit(); }
uint64_t exit_stack_top() { return reinterpret_cast<uint64_t>(g_exit_stack + sizeof(g_exit_stack)); }

// Counts until told to stop.
void spin_counting(Helper& h) {
  while (!h.stop) {
    h.t = h.t + 1;
    asm volatile("pause");
  }
}

// A component sharing our page table, with its own table: slot 1 our main
// untyped, slot 2 the component itself (all rights), slot 3 free.
struct Sibling {
  uint64_t ct = 0, comp = 0;
  bool build() {
    ct = make(ObjType::captbl);
    comp = slot();
    KT_CHECK(ct && comp);
    KT_CHECK_OK(sys::comp_create(env().ut, comp, ct, env().pgtbl, "kt_sibling", 10));
    KT_CHECK_OK(sys::cap_copy(ct, 1, env().ut, Rights::all));
    KT_CHECK_OK(sys::cap_copy(ct, 2, comp, Rights::all));
    return true;
  }
};

// Runs in a Sibling (its capability table): r0 = thd_start of a new thread
// at priority h.a, r1 = thd_start at h.b, c = comp_ceiling(itself, h.c).
void start_in_sibling(Helper& h) {
  sys::cap_delete(3);
  int64_t r = sys::thd_create(1, 3, 2, reinterpret_cast<uint64_t>(&exit_now), 0);
  if (r != 0) {
    h.r0 = r;
    h.r1 = r;
    return;
  }
  h.r0 = sys::thd_start(3, exit_stack_top(), h.a);
  h.r1 = sys::thd_start(3, exit_stack_top(), h.b);
  h.flag = static_cast<int>(sys::comp_ceiling(2, h.c));
}

// Invokes h.a (a gate running spin_until_released) and records the result.
void invoke_spinner(Helper& h) {
  cos::sys::SinvResult r = cos::sys::cos_sinv_call(h.a, 0, 0, 0, 0);
  h.r0 = r.r0;
  h.flag = 1;
}

// A gate into a Sibling that runs spin_until_released.
uint64_t spin_gate(const Sibling& s) {
  uint64_t g = slot();
  if (!g) return 0;
  if (sys::sinv_create(env().ut, g, s.comp, reinterpret_cast<uint64_t>(&__cos_sinv_entry), kSpinToken) != 0) return 0;
  return g;
}

// Starts h (below us) invoking a gate into a new Sibling that runs
// spin_until_released, and waits until it spins there.
bool start_spinning_in_a_server(Helper& h) {
  Sibling s;
  KT_CHECK(s.build());
  uint64_t g = spin_gate(s);
  KT_CHECK(g);
  g_release = 0;
  g_server_spins = 0;
  h.a = g;
  KT_CHECK(start_helper(h, invoke_spinner, env().main_prio + 10));
  sleep_us(5000);
  KT_CHECK(g_server_spins > 0);  // inside the server
  return true;
}

// A helper that was killed never marks itself finished: free its stack.
bool reclaim_killed(Helper& h) {
  KT_CHECK_EQ(h.state, 1);
  h.state = 2;
  return wait_helper(h);
}

}  // namespace

namespace kt {
cos::sys::SinvResult spin_until_released() {
  while (!g_release) {
    g_server_spins = g_server_spins + 1;
    asm volatile("pause");
  }
  return {1, static_cast<int64_t>(g_server_spins)};
}
}  // namespace kt

KT_CASE(thd_start_above_the_ceiling_is_above_ceiling) {
  const Env& e = env();
  KT_ASSERT(e.ceiling > 0 && e.ceiling < e.main_prio);
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(asnd_exit), a));
  uint64_t t = slot();
  KT_ASSERT(t);
  KT_OK(sys::thd_create(e.ut, t, c.comp, kChildCode, 0));
  KT_ERR(sys::thd_start(t, kChildStackTop, e.ceiling - 1), above_ceiling);
  KT_ERR(sys::thd_start(t, kChildStackTop, 0), above_ceiling);
  KT_ERR(sys::rcv(r, 0, cos::abi::kRcvNonBlocking), would_block);  // it did not start
  KT_OK(sys::thd_start(t, kChildStackTop, e.ceiling));             // at the ceiling: allowed
  KT_EQ(sys::rcv(r, kTimeout, 0), 1);
}

KT_CASE(comp_ceiling_checks_rights_range_and_never_grants_more) {
  const Env& e = env();
  Sibling s;
  KT_ASSERT(s.build());
  uint64_t ro = copy(s.comp, Rights::read | Rights::exec | Rights::grant), f = make(ObjType::frame);
  KT_ASSERT(ro && f);
  KT_ERR(sys::comp_ceiling(s.comp, e.ceiling - 1), above_ceiling);
  KT_ERR(sys::comp_ceiling(s.comp, 256), bad_argument);
  KT_ERR(sys::comp_ceiling(ro, e.ceiling + 10), no_rights);
  KT_ERR(sys::comp_ceiling(f, e.ceiling + 10), wrong_type);
  KT_ERR(sys::comp_ceiling(slot(), e.ceiling + 10), empty_slot);
  KT_OK(sys::comp_ceiling(s.comp, e.ceiling));
  KT_OK(sys::comp_ceiling(s.comp, 255));
}

KT_CASE(new_component_inherits_the_ceiling_and_its_threads_obey_it) {
  const Env& e = env();
  Sibling s;
  KT_ASSERT(s.build());
  // Inherited from us: nothing above our ceiling, not even for itself.
  Helper& h = helper();
  h.a = e.ceiling - 1;
  h.b = e.ceiling;
  h.c = e.ceiling - 1;
  KT_ASSERT(start_helper(h, start_in_sibling, e.main_prio - 1, 0, s.comp));
  KT_ASSERT(wait_helper(h));
  KT_EQ(h.r0, E(Error::above_ceiling));
  KT_EQ(h.r1, 0);
  KT_EQ(h.flag, E(Error::above_ceiling));
  // Lowered by us to ceiling + 20: it can no longer go above that, nor raise it back.
  KT_OK(sys::comp_ceiling(s.comp, e.ceiling + 20));
  Helper& h2 = helper();
  h2.a = e.ceiling + 19;
  h2.b = e.ceiling + 20;
  h2.c = e.ceiling;
  KT_ASSERT(start_helper(h2, start_in_sibling, e.main_prio - 1, 0, s.comp));
  KT_ASSERT(wait_helper(h2));
  KT_EQ(h2.r0, E(Error::above_ceiling));
  KT_EQ(h2.r1, 0);
  KT_EQ(h2.flag, E(Error::above_ceiling));
}

KT_CASE(thd_suspend_stops_a_thread_and_thd_resume_restarts_it) {
  Helper& h = helper();
  KT_ASSERT(start_helper(h, spin_counting, env().main_prio + 10));
  sleep_us(5000);
  KT_CMP(h.t, >, 0);
  KT_OK(sys::thd_suspend(h.thd));
  uint64_t held = h.t;
  sleep_us(20000);
  KT_EQ(h.t, held);
  KT_OK(sys::thd_suspend(h.thd));  // twice: still one resume away
  KT_OK(sys::thd_resume(h.thd));
  sleep_us(5000);
  KT_CMP(h.t, >, held);
  KT_OK(sys::thd_resume(h.thd));  // not suspended: nothing happens
  h.stop = 1;
  KT_ASSERT(wait_helper(h));
}

KT_CASE(thd_suspend_parks_a_blocked_thread_when_it_is_woken) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Helper& h = helper();
  h.a = r;
  KT_ASSERT(start_helper(h, [](Helper& x) {
    x.r0 = sys::rcv(x.a, 0, 0);
    x.flag = 1;
  }, env().main_prio - 10));
  KT_EQ(h.flag, 0);  // blocked in rcv
  KT_OK(sys::thd_suspend(h.thd));
  KT_OK(sys::asnd(a));
  sleep_us(10000);
  KT_EQ(h.flag, 0);  // woken, but held
  KT_OK(sys::thd_resume(h.thd));
  sleep_us(1000);
  KT_EQ(h.flag, 1);
  KT_EQ(h.r0, 1);
  KT_ASSERT(wait_helper(h));
}

KT_CASE(thd_kill_ends_a_running_thread_for_good) {
  Helper& h = helper();
  KT_ASSERT(start_helper(h, spin_counting, env().main_prio + 10));
  sleep_us(5000);
  KT_CMP(h.t, >, 0);
  KT_OK(sys::thd_kill(h.thd));
  uint64_t last = h.t;
  sleep_us(20000);
  KT_EQ(h.t, last);
  KT_ERR(sys::thd_kill(h.thd), comp_dead);
  KT_ERR(sys::thd_suspend(h.thd), comp_dead);
  KT_ERR(sys::thd_resume(h.thd), comp_dead);
  KT_ASSERT(reclaim_killed(h));
}

KT_CASE(thd_suspend_and_kill_check_type_and_rights) {
  Helper& h = helper();
  KT_ASSERT(start_helper(h, spin_counting, env().main_prio + 10));
  uint64_t ro = copy(h.thd, Rights::read | Rights::exec | Rights::grant), f = make(ObjType::frame);
  KT_ASSERT(ro && f);
  KT_ERR(sys::thd_suspend(ro), no_rights);
  KT_ERR(sys::thd_resume(ro), no_rights);
  KT_ERR(sys::thd_kill(ro), no_rights);
  KT_ERR(sys::thd_kill(f), wrong_type);
  KT_ERR(sys::thd_suspend(env().comp), wrong_type);
  KT_ERR(sys::thd_kill(slot()), empty_slot);
  KT_ERR(sys::comp_kill(ro), wrong_type);
  KT_ERR(sys::comp_kill(copy(env().comp, Rights::read | Rights::exec | Rights::grant)), no_rights);
  h.stop = 1;
  KT_ASSERT(wait_helper(h));
}

KT_CASE(thd_kill_inside_a_server_waits_until_the_thread_returns_home) {
  Helper& h = helper();
  KT_ASSERT(start_spinning_in_a_server(h));
  KT_OK(sys::thd_kill(h.thd));
  uint64_t spins = g_server_spins;
  sleep_us(10000);
  KT_CMP(g_server_spins, >, spins);  // the server keeps its thread until it returns
  KT_OK(sys::thd_resume(h.thd));     // not ended yet
  g_release = 1;
  sleep_us(10000);
  KT_EQ(h.flag, 0);  // ended on the way home: never ran our code again
  KT_ERR(sys::thd_resume(h.thd), comp_dead);
  KT_ASSERT(reclaim_killed(h));
}

KT_CASE(thd_suspend_inside_a_server_takes_effect_at_home) {
  Helper& h = helper();
  KT_ASSERT(start_spinning_in_a_server(h));
  KT_OK(sys::thd_suspend(h.thd));
  uint64_t spins = g_server_spins;
  sleep_us(10000);
  KT_CMP(g_server_spins, >, spins);  // still serving
  g_release = 1;
  sleep_us(10000);
  KT_EQ(h.flag, 0);  // returned home and parked there
  KT_OK(sys::thd_resume(h.thd));
  sleep_us(5000);
  KT_EQ(h.flag, 1);
  KT_EQ(h.r0, 1);
  KT_ASSERT(wait_helper(h));
}

// A component whose thread spins at a priority above ours would keep us
// off the CPU forever; a helper above it kills the component, and revoking
// the untyped it was made from returns every page.
KT_CASE(comp_kill_ends_a_runaway_component_and_returns_its_memory) {
  const Env& e = env();
  constexpr uint64_t kPages = 16;
  uint64_t u = make_untyped(kPages);
  uint64_t ct = slot(), pt = slot(), comp = slot(), code = slot(), t = slot(), probe = slot();
  KT_ASSERT(u && ct && pt && comp && code && t && probe);
  KT_OK(sys::retype(u, ct, ObjType::captbl, 1));
  KT_OK(sys::retype(u, pt, ObjType::pgtbl, 1));
  KT_OK(sys::comp_create(u, comp, ct, pt, "kt_runaway", 10));
  KT_OK(sys::retype(u, code, ObjType::frame, 1));
  KT_ASSERT(map_scratch(0, code));
  const Blob b = KT_BLOB_OF(spin);
  for (uint64_t i = 0; i < b.size(); ++i) *at<uint8_t>(scratch(0) + i) = b.start[i];
  KT_OK(sys::pgtbl_unmap(e.pgtbl, scratch(0)));
  KT_OK(sys::pgtbl_map(pt, kChildCode, code, 0, Rights::read | Rights::exec, u));
  KT_OK(sys::thd_create(u, t, comp, kChildCode, 0));
  KT_ERR(sys::retype(u, probe, ObjType::frame, kPages), out_of_memory);

  Helper& h = helper();
  h.a = comp;
  KT_ASSERT(start_helper(h, [](Helper& x) {
    sleep_us(20000);
    x.r0 = sys::comp_kill(x.a);
  }, e.ceiling));
  KT_OK(sys::thd_start(t, kChildStackTop, e.main_prio - 5));  // runs at once and never yields
  // Here again only because the helper killed it.
  KT_ASSERT(wait_helper(h));
  KT_EQ(h.r0, 0);
  KT_ERR(sys::thd_kill(t), comp_dead);
  KT_ERR(sys::comp_kill(comp), comp_dead);
  KT_OK(sys::cap_revoke(u));
  KT_OK(sys::retype(u, probe, ObjType::frame, kPages));  // all of it came back
}
