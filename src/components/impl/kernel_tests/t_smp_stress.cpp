// SMP stress: one worker thread per CPU (at most kWorkers) hammers the
// kernel at once for `stress_iterations` rounds (param, default 200):
// sinv into kernel_tests_server, asnd around a ring of endpoints (each
// worker notifies the next one, on another CPU, and receives from the
// previous one), retype + map + write + read + unmap + delete of a frame,
// and a revoke of a small untyped whose frame is mapped in the address
// space every worker runs in (the page stays until the unmap, whose TLB
// shootdown reaches every CPU running that address space). Meanwhile the
// main thread revokes a shared untyped the workers retype from, again and
// again (concurrent revoke and retype). Everything the workers make comes
// from one child untyped; at the end all of it must be back: the child's
// largest free run is its whole size again (exact accounting). The
// composition smp_stress.toml runs only this case, on four CPUs, with more
// rounds; the kernel suite runs it with the default on one and two.
#include "kernel_tests/kt.hpp"

using namespace kt;

namespace {

constexpr unsigned kWorkers = 4;       // helper stacks are few (kt_framework.cpp)
constexpr uint64_t kChildPages = 256;  // the child untyped everything comes from
constexpr uint64_t kSharedPages = 16;  // the untyped the main thread keeps revoking
constexpr uint64_t kOpSum = 0;         // kernel_tests_server: (a0 + a1 + a2, token)
constexpr uint64_t kRw = Rights::read | Rights::write;

struct Shared {
  uint64_t child = 0;       // the child untyped (slot)
  uint64_t shared = 0;      // an untyped of the child the main thread revokes (slot)
  uint64_t rcv[kWorkers];   // worker i receives here...
  uint64_t asnd[kWorkers];  // ...and notifies worker (i + 1) % n through asnd[(i + 1) % n]
  uint64_t work[kWorkers][4];  // per worker: frame, small untyped, its frame, a frame of `shared`
  unsigned n = 0;
  uint64_t rounds = 0;
  volatile uint64_t received[kWorkers];
  volatile uint64_t errors[kWorkers];  // the round and step of the first wrong result, 0: none
};
Shared g;

void note(unsigned me, uint64_t round, uint64_t step) {
  if (!g.errors[me]) g.errors[me] = (round << 8) | step;
}

void worker(Helper& h) {
  const unsigned me = static_cast<unsigned>(h.a);
  const uint64_t va = scratch(me);
  uint64_t* w = g.work[me];
  for (uint64_t round = 1; round <= g.rounds && !g.errors[me]; ++round) {
    // 1. A synchronous invocation.
    cos::sys::SinvResult r = cos::invoke(env().gate, kOpSum, me, round, 7);
    if (r.r0 != static_cast<int64_t>(me + round + 7)) note(me, round, 1);
    // 2. The ring: notify the next worker, take what the previous one sent.
    if (sys::asnd(g.asnd[(me + 1) % g.n]) != 0) note(me, round, 2);
    const int64_t got = sys::rcv(g.rcv[me], 0, cos::abi::kRcvNonBlocking);
    if (got > 0) g.received[me] = g.received[me] + static_cast<uint64_t>(got);
    else if (got != static_cast<int64_t>(Error::would_block)) note(me, round, 3);
    // 3. A frame of our own, mapped, written, read, unmapped, deleted.
    if (sys::retype(g.child, w[0], ObjType::frame, 1) != 0) note(me, round, 4);
    if (sys::pgtbl_map(env().pgtbl, va, w[0], 0, kRw, env().ut) != 0) note(me, round, 5);
    *at(va) = round * 1000 + me;
    if (*at(va) != round * 1000 + me) note(me, round, 6);
    if (sys::pgtbl_unmap(env().pgtbl, va) != 0) note(me, round, 7);
    if (sys::cap_delete(w[0]) != 0) note(me, round, 8);
    // 4. Revoke of an untyped whose frame is mapped: the capability goes,
    //    the mapping keeps the page (never reused while mapped) until the
    //    unmap, which every other CPU running this address space must see.
    if (sys::retype(g.child, w[1], ObjType::untyped, 2) != 0) note(me, round, 9);
    if (sys::retype(w[1], w[2], ObjType::frame, 1) != 0) note(me, round, 10);
    if (sys::pgtbl_map(env().pgtbl, va, w[2], 0, kRw, env().ut) != 0) note(me, round, 11);
    *at(va) = round;
    if (sys::cap_revoke(w[1]) != 0) note(me, round, 12);
    if (sys::cap_info(w[2]) != static_cast<int64_t>(Error::empty_slot)) note(me, round, 13);
    if (*at(va) != round) note(me, round, 14);
    if (sys::pgtbl_unmap(env().pgtbl, va) != 0) note(me, round, 15);
    if (sys::cap_delete(w[1]) != 0) note(me, round, 16);
    // 5. Retype from the untyped the main thread keeps revoking: either it
    //    works (and the frame may vanish under us) or the untyped is full.
    const int64_t rs = sys::retype(g.shared, w[3], ObjType::frame, 1);
    if (rs == 0) {
      const int64_t d = sys::cap_delete(w[3]);
      if (d != 0 && d != static_cast<int64_t>(Error::empty_slot)) note(me, round, 17);
    } else if (rs != static_cast<int64_t>(Error::out_of_memory) && rs != static_cast<int64_t>(Error::slot_occupied)) {
      note(me, round, 18);
    }
  }
  // Whatever of step 5 the revokes left behind.
  sys::cap_delete(w[3]);
}

}  // namespace

KT_CASE(smp_stress_every_cpu_hammers_sinv_notify_map_and_revoke) {
  const uint64_t cpus = static_cast<uint64_t>(sys::cpu_count());
  g = Shared{};
  g.n = static_cast<unsigned>(cpus < kWorkers ? (cpus < 2 ? 2 : cpus) : kWorkers);
  g.rounds = cos::param_u64("stress_iterations", 200);
  g.child = make_untyped(kChildPages);
  KT_ASSERT(g.child);
  g.shared = slot();
  KT_ASSERT(g.shared);
  KT_OK(sys::retype(g.child, g.shared, ObjType::untyped, kSharedPages));
  for (unsigned i = 0; i < g.n; ++i) {
    g.rcv[i] = slot();
    g.asnd[i] = slot();
    KT_ASSERT(g.rcv[i] && g.asnd[i]);
    KT_OK(sys::retype(g.child, g.rcv[i], ObjType::rcv, 1));
    KT_OK(sys::asnd_create(g.child, g.asnd[i], g.rcv[i]));
    for (uint64_t& s : g.work[i]) {
      s = slot();
      KT_ASSERT(s);
    }
  }
  Helper* hs[kWorkers];
  for (unsigned i = 0; i < g.n; ++i) {
    hs[i] = &helper();
    hs[i]->a = i;
    // Below the main thread: on CPU 0 a worker runs while main sleeps.
    KT_ASSERT(start_helper(*hs[i], worker, env().main_prio + 10));
    KT_OK(sys::thd_cpu(hs[i]->thd, i % cpus));
  }
  // Concurrent revoke: the workers retype from `shared` while we empty it.
  uint64_t revokes = 0;
  for (bool running = true; running; ++revokes) {
    KT_OK(sys::cap_revoke(g.shared));
    sleep_us(200);
    running = false;
    for (unsigned i = 0; i < g.n; ++i) running = running || hs[i]->state == 1;
  }
  for (unsigned i = 0; i < g.n; ++i) KT_ASSERT(wait_helper(*hs[i], 60000000));
  for (unsigned i = 0; i < g.n; ++i) {
    KT_EQ(g.errors[i], 0);  // (round << 8) | step of the first wrong result
    // What the predecessor sent and this worker has not taken yet is pending.
    const int64_t rest = sys::rcv(g.rcv[i], 0, cos::abi::kRcvNonBlocking);
    KT_EQ(g.received[i] + (rest > 0 ? static_cast<uint64_t>(rest) : 0), g.rounds);  // none lost, none made up
  }
  KT_CMP(revokes, >, 0);
  // Everything back: endpoints deleted, then the child is whole again.
  for (unsigned i = 0; i < g.n; ++i) {
    KT_OK(sys::cap_delete(g.asnd[i]));
    KT_OK(sys::cap_delete(g.rcv[i]));
  }
  KT_OK(sys::cap_revoke(g.shared));
  KT_OK(sys::cap_delete(g.shared));
  KT_EQ(largest_run(g.child, kChildPages), kChildPages);
  cos::printf("kernel_tests: smp stress: %u workers on %lu CPUs, %lu rounds each, %lu revokes of the shared untyped\n",
              g.n, static_cast<unsigned long>(cpus), static_cast<unsigned long>(g.rounds),
              static_cast<unsigned long>(revokes));
}
