// Revoke and delete on trees a component builds to hurt its parent: a
// derivation chain thousands deep across several capability tables, a wide
// fan-out, capability tables holding capabilities to themselves and to each
// other, untyped inside untyped. Revoking the root must empty every slot of
// the subtree and give back exactly the memory (checked by retyping all of
// it again), and a long revoke must not hold off a higher-priority thread
// woken by the periodic timer (docs/capabilities.md, "Cost").
#include "kernel_tests/kt.hpp"

using namespace kt;

namespace {

constexpr uint64_t kBigTablePages = 16;                          // 1024 slots
constexpr uint64_t kBigTableSlots = kBigTablePages * kPage / 64;

/// Retypes an object of `type` from `ut` into a fresh slot of ours; 0 on error.
uint64_t make_from(uint64_t ut, ObjType type, uint64_t npages) {
  uint64_t s = slot();
  if (!s) return 0;
  int64_t r = sys::retype(ut, s, type, npages);
  if (r != 0) {
    fail_eq("make_from: sys::retype(ut, s, type, npages) == 0", __FILE__, __LINE__, r, 0);
    return 0;
  }
  return s;
}

/// True when `ut` (of `pages` pages) is entirely free again: one frame of
/// all of it can be retyped (and is deleted at once).
bool all_memory_back(uint64_t ut, uint64_t pages) {
  uint64_t s = slot();
  KT_CHECK(s != 0);
  KT_CHECK_OK(sys::retype(ut, s, ObjType::frame, pages));
  KT_CHECK_OK(sys::cap_delete(s));
  return true;
}

// ---------------------------------------------------------------------------
// A chain of copies through several tables. Each chain table belongs to a
// component sharing our page table, so a helper thread in it runs our code
// with that table: it extends the chain slot after slot (the source of
// cap_copy must be in the caller's own table) and hands the end on to the
// next table.

constexpr uint64_t kChainPerTable = 1000;  // chain slots 1..1000 of each table
constexpr uint64_t kChainTables = 5;       // 5000 deep
constexpr uint64_t kChainNext = kBigTableSlots - 2;  // a capability to the next table
constexpr uint64_t kChainSelf = kBigTableSlots - 1;  // a capability to the table itself
constexpr uint64_t kChainObjects = kChainPerTable + 1;  // first slot for objects at the end

// h.a: 1 if there is a next table; h.b: 1 to retype frames from the chain's
// end until its untyped is full. r0: 0 or the failing call's error; r1: the
// slot it failed at, or the number of frames made.
void extend_chain(Helper& h) {
  for (uint64_t i = 1; i < kChainPerTable; ++i) {
    int64_t r = sys::cap_copy(kChainSelf, i + 1, i, Rights::all);
    if (r != 0) {
      h.r0 = r;
      h.r1 = static_cast<int64_t>(i);
      return;
    }
  }
  if (h.a) {
    int64_t r = sys::cap_copy(kChainNext, 1, kChainPerTable, Rights::all);
    if (r != 0) {
      h.r0 = r;
      h.r1 = static_cast<int64_t>(kChainPerTable);
      return;
    }
  }
  int64_t frames = 0;
  if (h.b) {
    for (uint64_t s = kChainObjects; s < kChainNext; ++s) {
      int64_t r = sys::retype(kChainPerTable, s, ObjType::frame, 1);
      if (r == E(Error::out_of_memory)) break;
      if (r != 0) {
        h.r0 = r;
        h.r1 = static_cast<int64_t>(s);
        return;
      }
      ++frames;
    }
  }
  h.r0 = 0;
  h.r1 = frames;
}

// r0: how many slots other than kChainNext/kChainSelf are not empty;
// r1: cap_info of kChainSelf.
void count_chain_table(Helper& h) {
  int64_t n = 0;
  for (uint64_t s = 1; s < kChainNext; ++s)
    if (sys::cap_info(s) != E(Error::empty_slot)) ++n;
  h.r0 = n;
  h.r1 = sys::cap_info(kChainSelf);
}

/// Runs fn(h) on a thread made from `ut` in component `comp` (sharing our
/// page table), with h.a and h.b as given, and waits for it.
bool run_in(uint64_t comp, uint64_t ut, void (*fn)(Helper&), Helper& h, uint64_t a = 0, uint64_t b = 0) {
  h = Helper{};
  h.a = a;
  h.b = b;
  h.r0 = -1;
  KT_CHECK(start_helper(h, fn, env().main_prio - 1, ut, comp));
  KT_CHECK(wait_helper(h, 60000000));
  return true;
}

}  // namespace

KT_CASE(revoke_chain_5000_deep_across_tables) {
  const Env& e = env();
  // Tables, components and helper threads come from v; the chain is made of
  // copies of u, and its end carves frames from u.
  constexpr uint64_t kUPages = 16;
  uint64_t v = make_untyped(kChainTables * (kBigTablePages + 2) + 8), u = make_untyped(kUPages);
  KT_ASSERT(v && u);
  uint64_t ct[kChainTables], comp[kChainTables];
  for (uint64_t j = 0; j < kChainTables; ++j) {
    ct[j] = make_from(v, ObjType::captbl, kBigTablePages);
    comp[j] = slot();
    KT_ASSERT(ct[j] && comp[j]);
    KT_OK(sys::comp_create(v, comp[j], ct[j], e.pgtbl, "kt_chain", 8));
    KT_OK(sys::cap_copy(ct[j], kChainSelf, ct[j], Rights::all));
  }
  for (uint64_t j = 0; j + 1 < kChainTables; ++j) KT_OK(sys::cap_copy(ct[j], kChainNext, ct[j + 1], Rights::all));
  KT_OK(sys::cap_copy(ct[0], 1, u, Rights::all));  // depth 1; our u is depth 0
  Helper& h = helper();
  for (uint64_t j = 0; j < kChainTables; ++j) {
    const bool last = j + 1 == kChainTables;
    KT_ASSERT(run_in(comp[j], v, extend_chain, h, !last, last));
    KT_EQ(h.r0, 0);
    if (last) KT_EQ(h.r1, static_cast<int64_t>(kUPages));  // the deepest copy carved all of u
  }
  uint64_t probe = slot();
  KT_ASSERT(probe);
  KT_ERR(sys::retype(u, probe, ObjType::frame, 1), out_of_memory);

  KT_OK(sys::cap_revoke(u));
  KT_EQ(sys::cap_info(u), info_of(ObjType::untyped, Rights::all));
  for (uint64_t j = 0; j < kChainTables; ++j) {
    KT_ASSERT(run_in(comp[j], v, count_chain_table, h));
    KT_EQ(h.r0, 0);  // chain and frames gone
    KT_EQ(h.r1, info_of(ObjType::captbl, Rights::all));  // not below u: kept
  }
  KT_ASSERT(all_memory_back(u, kUPages));
  // The tables hold capabilities to themselves and to each other: deleting
  // our capabilities would not free them; revoking their untyped does.
  KT_OK(sys::cap_revoke(v));
  for (uint64_t j = 0; j < kChainTables; ++j) {
    KT_ERR(sys::cap_info(ct[j]), empty_slot);
    KT_ERR(sys::cap_info(comp[j]), empty_slot);
  }
  KT_ASSERT(all_memory_back(v, kChainTables * (kBigTablePages + 2) + 8));
}

KT_CASE(revoke_wide_fan_out_in_tables_that_name_themselves) {
  // u -> 8 tables of 1024 slots, every slot a copy of u, of the table itself
  // or of the previous table: ~8k children and grandchildren of u.
  constexpr uint64_t kTables = 8;
  constexpr uint64_t kPages = kTables * kBigTablePages + 4;
  uint64_t u = make_untyped(kPages);
  KT_ASSERT(u);
  uint64_t ct[kTables];
  for (uint64_t i = 0; i < kTables; ++i) {
    ct[i] = make_from(u, ObjType::captbl, kBigTablePages);
    KT_ASSERT(ct[i]);
    KT_OK(sys::cap_copy(ct[i], 1, ct[i], Rights::all));
    KT_OK(sys::cap_copy(ct[i], 2, ct[i ? i - 1 : 0], Rights::read | Rights::grant));
    for (uint64_t s = 3; s < kBigTableSlots; ++s) KT_OK(sys::cap_copy(ct[i], s, u, Rights::all));
  }
  uint64_t f = make_from(u, ObjType::frame, 4);  // u is full
  KT_ASSERT(f);
  uint64_t probe = slot();
  KT_ASSERT(probe);
  KT_ERR(sys::retype(u, probe, ObjType::frame, 1), out_of_memory);
  KT_OK(sys::cap_revoke(u));
  for (uint64_t i = 0; i < kTables; ++i) KT_ERR(sys::cap_info(ct[i]), empty_slot);
  KT_ERR(sys::cap_info(f), empty_slot);
  KT_ASSERT(all_memory_back(u, kPages));
}

KT_CASE(tables_naming_each_other_are_freed_by_revoking_their_untyped) {
  uint64_t u = make_untyped(3);
  KT_ASSERT(u);
  uint64_t a = make_from(u, ObjType::captbl, 1), b = make_from(u, ObjType::captbl, 1);
  uint64_t c = make_from(u, ObjType::captbl, 1);
  KT_ASSERT(a && b && c);
  KT_OK(sys::cap_copy(a, 5, b, Rights::all));  // a <-> b, c -> c
  KT_OK(sys::cap_copy(b, 5, a, Rights::all));
  KT_OK(sys::cap_copy(c, 5, c, Rights::all));
  KT_OK(sys::cap_delete(a));
  KT_OK(sys::cap_delete(b));
  KT_OK(sys::cap_delete(c));
  uint64_t probe = slot();
  KT_ASSERT(probe);
  KT_ERR(sys::retype(u, probe, ObjType::frame, 1), out_of_memory);  // kept alive by the cycles
  KT_OK(sys::cap_revoke(u));
  KT_ASSERT(all_memory_back(u, 3));
}

KT_CASE(revoke_nested_untyped_with_mapped_page_tables) {
  // u0 > u1 > ... > u5, each level with a capability table, an endpoint and a
  // page table mapping a frame of the level at many addresses (its table
  // pages from the same level).
  constexpr int kLevels = 6;
  constexpr uint64_t kTop = 96;
  uint64_t u[kLevels];
  u[0] = make_untyped(kTop);
  KT_ASSERT(u[0]);
  uint64_t pages = kTop;
  for (int l = 0; l < kLevels; ++l) {
    if (l > 0) {
      pages = pages - 16;  // what the level above keeps for itself, plus the header
      u[l] = make_from(u[l - 1], ObjType::untyped, pages - 1);
      KT_ASSERT(u[l]);
      pages -= 1;
    }
    uint64_t ct = make_from(u[l], ObjType::captbl, 1), ep = make_from(u[l], ObjType::rcv, 1);
    uint64_t pt = make_from(u[l], ObjType::pgtbl, 1), fr = make_from(u[l], ObjType::frame, 2);
    KT_ASSERT(ct && ep && pt && fr);
    KT_OK(sys::cap_copy(ct, 1, u[l], Rights::all));
    for (uint64_t i = 0; i < 20; ++i)  // 4 table pages: PDPT, PD, 2 PTs
      KT_OK(sys::pgtbl_map(pt, 0x40000000ull + (i % 2) * 0x200000 + (i / 2) * kPage, fr, i % 2,
                           Rights::read, u[l]));
  }
  KT_OK(sys::cap_revoke(u[0]));
  for (int l = 1; l < kLevels; ++l) KT_ERR(sys::cap_info(u[l]), empty_slot);
  KT_ASSERT(all_memory_back(u[0], kTop));
}

// ---------------------------------------------------------------------------
// Interrupt latency during a big revoke.

namespace {

constexpr uint64_t kPeriodUs = cos::abi::kTickUs;  // the timer's finest period
/// The longest the periodic thread may go without a wakeup during the
/// revoke: this many ticks, or a quarter of the revoke when that is longer.
/// Under QEMU TCG the guest's clock follows the host's, so a busy host that
/// deschedules QEMU shows up as a gap; the relative part absorbs that while
/// still failing a revoke that keeps interrupts off throughout (its gap is
/// the whole revoke).
constexpr int64_t kMaxGapTicks = 10;
/// Below this the revoke is too short for a gap to mean anything.
constexpr int64_t kMinRevokeTicks = 2 * kMaxGapTicks;
}  // namespace

KT_CASE(revoke_does_not_hold_off_a_higher_priority_periodic_thread) {
  const Env& e = env();
  // Most of our untyped memory as tables full of copies (~1023 per 64 KiB),
  // the biggest tree we can build; revoked while a thread at a higher
  // priority than ours wakes every millisecond.
  // Each table is kept by a capability in a directory table, not in ours.
  const uint64_t tables = (e.ut_bytes / kPage - 512) / kBigTablePages - 1;
  const uint64_t pages = (tables + 1) * kBigTablePages;
  uint64_t u = make_untyped(pages), dir = 0, ct = slot();
  KT_ASSERT(u && ct && tables < kBigTableSlots);
  dir = make_from(u, ObjType::captbl, kBigTablePages);
  KT_ASSERT(dir);
  for (uint64_t i = 0; i < tables; ++i) {
    KT_OK(sys::retype(u, ct, ObjType::captbl, kBigTablePages));
    for (uint64_t s = 1; s < kBigTableSlots; ++s) KT_OK(sys::cap_copy(ct, s, u, Rights::read | Rights::grant));
    KT_OK(sys::cap_copy(dir, i + 1, ct, Rights::all));
    KT_OK(sys::cap_delete(ct));
  }
  TickProbe probe;
  KT_ASSERT(probe.start());
  const int64_t t0 = sys::time_now();
  KT_OK(sys::cap_revoke(u));
  const int64_t t1 = sys::time_now();
  // The wakeups while the revoke ran and the longest time without one.
  const TickProbe::Gaps g = probe.gaps(t0, t1);
  KT_ASSERT(probe.stop());
  const int64_t ran_ticks = g.ran_ticks, worst = g.worst_us;
  const int during = g.during;
  // Without preemption the gap is the whole revoke and the thread does not
  // wake at all while it runs.
  const int64_t bound_ticks = ran_ticks / 4 > kMaxGapTicks ? ran_ticks / 4 : kMaxGapTicks;
  cos::printf("kernel_tests: revoke of %lu capabilities took %ld ticks; the 1-tick periodic thread woke %d "
              "times meanwhile, longest gap %ld ticks (bound %ld)\n",
              static_cast<unsigned long>(tables * kBigTableSlots + 1), static_cast<long>(ran_ticks), during,
              static_cast<long>(worst / static_cast<int64_t>(kPeriodUs)), static_cast<long>(bound_ticks));
  KT_CMP(ran_ticks, >=, kMinRevokeTicks);
  KT_CMP(worst, <=, bound_ticks * static_cast<int64_t>(kPeriodUs));
  KT_CMP(during, >=, ran_ticks / (2 * kMaxGapTicks) + 1);
  KT_ASSERT(all_memory_back(u, pages));
}
