// Untyped memory and retype: object types, sizes, rights, exhaustion, and
// memory returning to its untyped when the last capability (and the last
// mapping, or the running thread) is gone.
#include "kernel_tests/kt.hpp"

using namespace kt;

namespace {

/// Retypes 1-page frames from `ut` into fresh slots until it fails; returns
/// how many succeeded, stores the slots in out[] (up to max) and the failure.
int fill_frames(uint64_t ut, uint64_t* out, int max, int64_t& last) {
  int n = 0;
  for (;;) {
    uint64_t s = slot();
    if (!s) return n;
    last = sys::retype(ut, s, ObjType::frame, 1);
    if (last != 0 || n >= max) return n;
    out[n++] = s;
  }
}

/// Retypes an object of `type` from `ut` into a fresh slot; the result code.
int64_t try_retype(uint64_t ut, ObjType type, uint64_t npages, uint64_t* out = nullptr) {
  uint64_t s = slot();
  if (!s) return E(Error::bad_slot);
  if (out) *out = s;
  return sys::retype(ut, s, type, npages);
}

}  // namespace

KT_CASE(retype_each_type_has_its_type_and_all_rights) {
  struct {
    ObjType type;
    uint64_t pages;
  } kinds[] = {{ObjType::untyped, 1}, {ObjType::captbl, 1}, {ObjType::captbl, 16}, {ObjType::pgtbl, 1},
               {ObjType::frame, 1},   {ObjType::frame, 8},  {ObjType::rcv, 1}};
  for (auto& k : kinds) {
    uint64_t s = make(k.type, k.pages);
    KT_ASSERT(s);
    KT_EQ(sys::cap_info(s), info_of(k.type, Rights::all));
  }
}

KT_CASE(retype_other_types_is_wrong_type) {
  const ObjType others[] = {ObjType::none, ObjType::comp,   ObjType::thread, ObjType::sinv,
                            ObjType::asnd, ObjType::ioport, ObjType::irq,    ObjType::timer};
  uint64_t d = slot();
  KT_ASSERT(d);
  for (ObjType t : others) KT_ERR(sys::retype(env().ut, d, t, 1), wrong_type);
  KT_ERR(sys::cap_info(d), empty_slot);
}

KT_CASE(retype_bad_npages_is_bad_argument) {
  uint64_t d = slot();
  KT_ASSERT(d);
  const Env& e = env();
  KT_ERR(sys::retype(e.ut, d, ObjType::captbl, 0), bad_argument);
  KT_ERR(sys::retype(e.ut, d, ObjType::captbl, 17), bad_argument);
  KT_ERR(sys::retype(e.ut, d, ObjType::pgtbl, 0), bad_argument);
  KT_ERR(sys::retype(e.ut, d, ObjType::pgtbl, 2), bad_argument);
  KT_ERR(sys::retype(e.ut, d, ObjType::frame, 0), bad_argument);
  KT_ERR(sys::retype(e.ut, d, ObjType::frame, (1ull << 20) + 1), bad_argument);
  KT_ERR(sys::retype(e.ut, d, ObjType::frame, ~0ull), bad_argument);
  KT_ERR(sys::retype(e.ut, d, ObjType::rcv, 0), bad_argument);
  KT_ERR(sys::retype(e.ut, d, ObjType::rcv, 2), bad_argument);
  KT_ERR(sys::retype(e.ut, d, ObjType::untyped, 0), bad_argument);
  KT_ERR(sys::cap_info(d), empty_slot);
}

KT_CASE(retype_from_non_untyped_is_wrong_type) {
  uint64_t f = make(ObjType::frame), r = make(ObjType::rcv), d = slot();
  KT_ASSERT(f && r && d);
  KT_ERR(sys::retype(f, d, ObjType::frame, 1), wrong_type);
  KT_ERR(sys::retype(r, d, ObjType::frame, 1), wrong_type);
  KT_ERR(sys::retype(env().captbl, d, ObjType::frame, 1), wrong_type);
  KT_ERR(sys::retype(env().pgtbl, d, ObjType::rcv, 1), wrong_type);
  KT_ERR(sys::retype(env().gate, d, ObjType::frame, 1), wrong_type);
}

KT_CASE(retype_needs_write_on_untyped) {
  uint64_t ro = copy(env().ut, Rights::read | Rights::grant);
  uint64_t wo = copy(env().ut, Rights::write);
  KT_ASSERT(ro && wo);
  uint64_t d = slot();
  KT_ASSERT(d);
  KT_ERR(sys::retype(ro, d, ObjType::frame, 1), no_rights);
  KT_ERR(sys::cap_info(d), empty_slot);
  KT_OK(sys::retype(wo, d, ObjType::frame, 1));  // write alone is enough
  KT_EQ(sys::cap_info(d), info_of(ObjType::frame, Rights::all));
}

KT_CASE(retype_into_occupied_slot_is_slot_occupied) {
  uint64_t d = make(ObjType::frame, 1);
  KT_ASSERT(d);
  KT_ERR(sys::retype(env().ut, d, ObjType::frame, 1), slot_occupied);  // double retype
  KT_ERR(sys::retype(env().ut, d, ObjType::captbl, 1), slot_occupied);
  KT_ERR(sys::retype(env().ut, env().captbl, ObjType::rcv, 1), slot_occupied);
  KT_EQ(sys::cap_info(d), info_of(ObjType::frame, Rights::all));  // the first object is untouched
}

KT_CASE(retype_memory_is_zeroed_even_when_reused) {
  // A 2-page untyped: the second frame must reuse the first one's memory.
  uint64_t ut = make_untyped(2);
  KT_ASSERT(ut);
  uint64_t f = 0;
  KT_OK(try_retype(ut, ObjType::frame, 2, &f));
  KT_ASSERT(map_scratch(0, f, 0) && map_scratch(1, f, 1));
  for (uint64_t i = 0; i < 2 * kPage / 8; ++i) KT_EQ(at(scratch(0))[i], 0);
  for (uint64_t i = 0; i < 2 * kPage / 8; ++i) at(scratch(0))[i] = 0xdeadbeef00000000ull | i;
  KT_OK(sys::pgtbl_unmap(env().pgtbl, scratch(0)));
  KT_OK(sys::pgtbl_unmap(env().pgtbl, scratch(1)));
  KT_OK(sys::cap_delete(f));
  uint64_t g = 0;
  KT_OK(try_retype(ut, ObjType::frame, 2, &g));
  KT_ASSERT(map_scratch(0, g, 0) && map_scratch(1, g, 1));
  for (uint64_t i = 0; i < 2 * kPage / 8; ++i) KT_EQ(at(scratch(0))[i], 0);
}

KT_CASE(untyped_exhaustion_is_out_of_memory) {
  uint64_t ut = make_untyped(4);
  KT_ASSERT(ut);
  int64_t last = 0;
  uint64_t frames[8];
  KT_EQ(fill_frames(ut, frames, 8, last), 4);
  KT_ERR(last, out_of_memory);
  KT_ERR(try_retype(ut, ObjType::captbl, 1), out_of_memory);
  KT_ERR(try_retype(ut, ObjType::rcv, 1), out_of_memory);
  KT_ERR(try_retype(ut, ObjType::untyped, 1), out_of_memory);
  // A fresh one: too big at once fails, exactly its size fits.
  uint64_t ut2 = make_untyped(4);
  KT_ASSERT(ut2);
  KT_ERR(try_retype(ut2, ObjType::frame, 5), out_of_memory);
  KT_OK(try_retype(ut2, ObjType::frame, 4));
}

KT_CASE(retype_more_than_the_untyped_holds_is_out_of_memory) {
  const Env& e = env();
  KT_ERR(try_retype(e.ut, ObjType::frame, 1ull << 20), out_of_memory);  // 4 GiB
  KT_ERR(try_retype(e.ut, ObjType::frame, e.ut_bytes / kPage + 1), out_of_memory);
  KT_ERR(try_retype(e.ut, ObjType::untyped, e.ut_bytes / kPage), out_of_memory);  // + header page
}

KT_CASE(child_untyped_costs_one_header_page) {
  uint64_t p = make_untyped(6);
  KT_ASSERT(p);
  uint64_t c = 0;
  KT_OK(try_retype(p, ObjType::untyped, 5, &c));  // 5 pages + header = all of p
  KT_ERR(try_retype(p, ObjType::frame, 1), out_of_memory);
  KT_EQ(sys::cap_info(c), info_of(ObjType::untyped, Rights::all));
  int64_t last = 0;
  uint64_t frames[8];
  KT_EQ(fill_frames(c, frames, 8, last), 5);
  KT_ERR(last, out_of_memory);
}

KT_CASE(memory_returns_after_delete) {
  uint64_t ut = make_untyped(4);
  KT_ASSERT(ut);
  int64_t last = 0;
  uint64_t frames[8];
  KT_EQ(fill_frames(ut, frames, 8, last), 4);
  KT_ERR(last, out_of_memory);
  for (int i = 0; i < 4; ++i) KT_OK(sys::cap_delete(frames[i]));
  KT_OK(try_retype(ut, ObjType::frame, 4));  // all of it, contiguous again
  KT_ERR(try_retype(ut, ObjType::frame, 1), out_of_memory);
}

KT_CASE(memory_returns_after_revoke) {
  uint64_t ut = make_untyped(4);
  KT_ASSERT(ut);
  uint64_t a = 0, b = 0, c = 0, d = 0;
  KT_OK(try_retype(ut, ObjType::frame, 1, &a));
  KT_OK(try_retype(ut, ObjType::frame, 1, &b));
  KT_OK(try_retype(ut, ObjType::captbl, 1, &c));
  KT_OK(try_retype(ut, ObjType::rcv, 1, &d));
  KT_ERR(try_retype(ut, ObjType::frame, 1), out_of_memory);
  KT_OK(sys::cap_revoke(ut));
  KT_ERR(sys::cap_info(a), empty_slot);
  KT_ERR(sys::cap_info(b), empty_slot);
  KT_ERR(sys::cap_info(c), empty_slot);
  KT_ERR(sys::cap_info(d), empty_slot);
  KT_EQ(sys::cap_info(ut), info_of(ObjType::untyped, Rights::all));  // revoke keeps the slot itself
  KT_OK(try_retype(ut, ObjType::frame, 4));
}

KT_CASE(memory_of_pgtbl_returns) {
  uint64_t ut = make_untyped(2);
  KT_ASSERT(ut);
  uint64_t pt = 0;
  KT_OK(try_retype(ut, ObjType::pgtbl, 1, &pt));  // object + PML4 = 2 pages
  KT_ERR(try_retype(ut, ObjType::frame, 1), out_of_memory);
  KT_OK(sys::cap_delete(pt));
  KT_OK(try_retype(ut, ObjType::frame, 2));
}

KT_CASE(memory_of_comp_gate_asnd_thread_returns) {
  const Env& e = env();
  uint64_t ut = make_untyped(1);
  uint64_t ct = make(ObjType::captbl), pt = make(ObjType::pgtbl), r = make(ObjType::rcv);
  KT_ASSERT(ut && ct && pt && r);
  uint64_t x = slot();
  KT_ASSERT(x);
  // Each of these uses one page: the second object must not fit until the
  // first is deleted.
  KT_OK(sys::comp_create(ut, x, ct, pt, "kt_mem", 6));
  KT_ERR(try_retype(ut, ObjType::rcv, 1), out_of_memory);
  KT_OK(sys::cap_delete(x));
  KT_OK(sys::sinv_create(ut, x, e.comp, reinterpret_cast<uint64_t>(&__cos_sinv_entry), 77));
  KT_ERR(try_retype(ut, ObjType::rcv, 1), out_of_memory);
  KT_OK(sys::cap_delete(x));
  KT_OK(sys::asnd_create(ut, x, r));
  KT_ERR(try_retype(ut, ObjType::rcv, 1), out_of_memory);
  KT_OK(sys::cap_delete(x));
  KT_OK(sys::thd_create(ut, x, e.comp, reinterpret_cast<uint64_t>(&kt_thread_entry), 0));  // never started
  KT_ERR(try_retype(ut, ObjType::rcv, 1), out_of_memory);
  KT_OK(sys::cap_delete(x));
  KT_OK(try_retype(ut, ObjType::rcv, 1));
}

KT_CASE(mapped_frame_memory_stays_until_unmapped) {
  uint64_t ut = make_untyped(2);
  KT_ASSERT(ut);
  uint64_t f = 0;
  KT_OK(try_retype(ut, ObjType::frame, 2, &f));
  KT_ASSERT(map_scratch(0, f, 1));
  at(scratch(0))[0] = 0x1234567887654321ull;
  KT_OK(sys::cap_delete(f));
  // The mapping still references page 1, so nothing may come back yet.
  KT_ERR(try_retype(ut, ObjType::frame, 1), out_of_memory);
  KT_EQ(at(scratch(0))[0], 0x1234567887654321ull);  // and the page still works
  KT_OK(sys::pgtbl_unmap(env().pgtbl, scratch(0)));
  KT_OK(try_retype(ut, ObjType::frame, 2));
}

KT_CASE(copied_frame_capability_keeps_memory) {
  uint64_t ut = make_untyped(1);
  KT_ASSERT(ut);
  uint64_t f = 0;
  KT_OK(try_retype(ut, ObjType::frame, 1, &f));
  uint64_t f2 = copy(f, Rights::read);
  KT_ASSERT(f2);
  KT_OK(sys::cap_delete(f));
  KT_ERR(try_retype(ut, ObjType::frame, 1), out_of_memory);
  KT_EQ(sys::cap_info(f2), info_of(ObjType::frame, Rights::read));
  KT_OK(sys::cap_delete(f2));
  KT_OK(try_retype(ut, ObjType::frame, 1));
}

KT_CASE(deleted_child_untyped_returns_to_parent) {
  uint64_t p = make_untyped(6);
  KT_ASSERT(p);
  uint64_t c = 0;
  KT_OK(try_retype(p, ObjType::untyped, 5, &c));
  KT_ERR(try_retype(p, ObjType::frame, 1), out_of_memory);
  KT_OK(sys::cap_delete(c));
  KT_OK(try_retype(p, ObjType::frame, 6));
}

KT_CASE(revoking_an_untyped_deletes_grandchildren) {
  uint64_t p = make_untyped(8);
  KT_ASSERT(p);
  uint64_t c = 0, f = 0;
  KT_OK(try_retype(p, ObjType::untyped, 4, &c));
  KT_OK(try_retype(c, ObjType::frame, 2, &f));
  uint64_t f2 = copy(f, Rights::read | Rights::grant);
  KT_ASSERT(f2);
  KT_OK(sys::cap_revoke(p));
  KT_ERR(sys::cap_info(c), empty_slot);
  KT_ERR(sys::cap_info(f), empty_slot);
  KT_ERR(sys::cap_info(f2), empty_slot);
  KT_OK(try_retype(p, ObjType::frame, 8));  // everything came back
}

namespace {
void wait_on_rcv(Helper& h) { h.r0 = sys::rcv(h.a, 1000000, 0); }
void do_nothing(Helper&) {}
}  // namespace

KT_CASE(exited_thread_memory_returns) {
  uint64_t ut = make_untyped(1);
  KT_ASSERT(ut);
  Helper& h = helper();
  KT_ASSERT(start_helper(h, do_nothing, env().main_prio + 10, ut));
  KT_ASSERT(wait_helper(h));
  KT_ERR(try_retype(ut, ObjType::rcv, 1), out_of_memory);  // the capability still holds it
  KT_OK(sys::cap_delete(h.thd));
  KT_OK(try_retype(ut, ObjType::rcv, 1));
}

KT_CASE(blocked_thread_memory_stays_until_exit) {
  uint64_t ut = make_untyped(1);
  uint64_t r = 0, a = 0;
  KT_ASSERT(ut && make_endpoint(r, a));
  Helper& h = helper();
  h.a = r;
  // Higher priority: it runs and blocks in rcv before we go on.
  KT_ASSERT(start_helper(h, wait_on_rcv, env().main_prio - 10, ut));
  sleep_us(2000);
  KT_EQ(h.state, 1);
  KT_OK(sys::cap_delete(h.thd));
  KT_ERR(try_retype(ut, ObjType::rcv, 1), out_of_memory);  // a blocked thread is still alive
  KT_OK(sys::asnd(a));
  KT_ASSERT(wait_helper(h));
  KT_EQ(h.r0, 1);
  KT_OK(try_retype(ut, ObjType::rcv, 1));
}

KT_CASE(revoked_untyped_with_a_mapped_frame_gets_it_back_at_unmap) {
  uint64_t ut = make_untyped(2);
  KT_ASSERT(ut);
  uint64_t f = 0;
  KT_OK(try_retype(ut, ObjType::frame, 2, &f));
  KT_ASSERT(map_scratch(0, f, 0));
  at(scratch(0))[0] = 77;
  KT_OK(sys::cap_revoke(ut));
  KT_ERR(sys::cap_info(f), empty_slot);
  KT_ERR(try_retype(ut, ObjType::frame, 1), out_of_memory);  // still mapped
  KT_EQ(at(scratch(0))[0], 77);
  KT_OK(sys::pgtbl_unmap(env().pgtbl, scratch(0)));
  KT_OK(try_retype(ut, ObjType::frame, 2));
}

KT_CASE(deleting_an_untyped_keeps_objects_carved_from_it) {
  uint64_t ut = make_untyped(2);
  KT_ASSERT(ut);
  uint64_t f = 0;
  KT_OK(try_retype(ut, ObjType::frame, 1, &f));
  KT_OK(sys::cap_delete(ut));
  KT_EQ(sys::cap_info(f), info_of(ObjType::frame, Rights::all));  // re-attached, still usable
  KT_ASSERT(map_scratch(0, f));
  at(scratch(0))[0] = 5;
  KT_EQ(at(scratch(0))[0], 5);
}

KT_CASE(page_table_pages_come_from_the_given_untyped_and_return) {
  uint64_t pt = make(ObjType::pgtbl), pt2 = make(ObjType::pgtbl), f = make(ObjType::frame);
  uint64_t small = make_untyped(1), tables = make_untyped(3);
  KT_ASSERT(pt && pt2 && f && small && tables);
  // A fresh page table needs three table pages (PDPT, PD, PT) below its PML4.
  KT_ERR(sys::pgtbl_map(pt2, 0x400000, f, 0, Rights::read, small), out_of_memory);
  KT_ERR(sys::pgtbl_unmap(pt2, 0x400000), not_mapped);
  KT_OK(sys::pgtbl_map(pt, 0x400000, f, 0, Rights::read, tables));
  KT_ERR(try_retype(tables, ObjType::frame, 1), out_of_memory);  // all three pages used
  KT_OK(sys::pgtbl_map(pt, 0x401000, f, 0, Rights::read, tables));  // same tables: nothing needed
  // Destroying a page table returns its table pages (also those a failed
  // map may have left behind).
  KT_OK(sys::cap_delete(pt));
  KT_OK(try_retype(tables, ObjType::frame, 3));
  KT_OK(sys::cap_delete(pt2));
  KT_OK(try_retype(small, ObjType::frame, 1));
}

// ---------------------------------------------------------------------------
// Large frames are zeroed over several kernel entries (sys_memory.cpp
// retype_large_frame, 128 pages per entry).

namespace {

constexpr uint64_t kChunkPages = 128;  // kernel/kernel.hpp kFramePagesPerEntry

/// True when `ut` (of `pages` pages) is entirely free again: one frame of
/// all of it can be retyped (and is deleted at once).
bool untyped_all_free(uint64_t ut, uint64_t pages) {
  uint64_t s = slot();
  KT_CHECK(s != 0);
  KT_CHECK_OK(sys::retype(ut, s, ObjType::frame, pages));
  KT_CHECK_OK(sys::cap_delete(s));
  return true;
}

// h.a: untyped, h.b: destination slot, h.c: pages. r0 = retype's result.
void retype_frame(Helper& h) {
  h.flag = 1;
  h.r0 = sys::retype(h.a, h.b, ObjType::frame, h.c);
}

}  // namespace

KT_CASE(large_frame_is_zeroed_in_every_chunk) {
  // Dirty pages on both sides of every chunk boundary, free them, and retype
  // the same memory as one large frame: every page must read zero.
  const uint64_t pages = 3 * kChunkPages + 5;
  uint64_t ut = make_untyped(pages);
  KT_ASSERT(ut);
  const uint64_t probes[] = {0, kChunkPages - 1, kChunkPages, 2 * kChunkPages - 1, 2 * kChunkPages,
                             3 * kChunkPages, pages - 1};
  uint64_t f = 0;
  KT_OK(try_retype(ut, ObjType::frame, pages, &f));
  for (unsigned i = 0; i < sizeof(probes) / sizeof(probes[0]); ++i) {
    KT_ASSERT(map_scratch(i, f, probes[i]));
    for (uint64_t w = 0; w < kPage / 8; ++w) at(scratch(i))[w] = 0x5a5a5a5a00000000ull | w;
    KT_OK(sys::pgtbl_unmap(env().pgtbl, scratch(i)));
  }
  KT_OK(sys::cap_delete(f));
  uint64_t g = 0;
  KT_OK(try_retype(ut, ObjType::frame, pages, &g));
  for (unsigned i = 0; i < sizeof(probes) / sizeof(probes[0]); ++i) {
    KT_ASSERT(map_scratch(i, g, probes[i]));
    for (uint64_t w = 0; w < kPage / 8; ++w) KT_EQ(at(scratch(i))[w], 0);
  }
}

KT_CASE(large_frame_retype_does_not_hold_off_a_higher_priority_periodic_thread) {
  // Most of our untyped memory as one frame, retyped while a thread at a
  // higher priority wakes every tick. Zeroing it in one go would keep
  // interrupts off for the whole retype: no wakeup during it at all.
  const Env& e = env();
  const uint64_t pages = e.ut_bytes / kPage - 1024;
  uint64_t ut = make_untyped(pages);
  uint64_t dest = slot();
  KT_ASSERT(ut && dest);
  TickProbe probe;
  KT_ASSERT(probe.start());
  const int64_t t0 = sys::time_now();
  KT_OK(sys::retype(ut, dest, ObjType::frame, pages));
  const int64_t t1 = sys::time_now();
  const TickProbe::Gaps g = probe.gaps(t0, t1);
  KT_ASSERT(probe.stop());
  const int64_t tick = static_cast<int64_t>(cos::abi::kTickUs);
  const int64_t ran_ticks = g.ran_ticks, worst = g.worst_us;
  const int during = g.during;
  // As for revoke (t_revoke.cpp): 10 ticks, or a quarter of the retype on a
  // host busy enough to stretch it.
  const int64_t bound_ticks = ran_ticks / 4 > 10 ? ran_ticks / 4 : 10;
  cos::printf("kernel_tests: retype of a %lu KiB frame took %ld ticks; the 1-tick periodic thread woke %d times "
              "meanwhile, longest gap %ld ticks (bound %ld)\n",
              static_cast<unsigned long>(pages * kPage / 1024), static_cast<long>(ran_ticks), during,
              static_cast<long>(worst / tick), static_cast<long>(bound_ticks));
  KT_CMP(ran_ticks, >=, 3);  // long enough that zeroing in one go would show
  KT_CMP(worst, <=, bound_ticks * tick);
  // Ticks that pass while a busy host has QEMU descheduled arrive together
  // (one rcv returns several): at least one wakeup per 20 ticks, as for revoke.
  KT_CMP(during, >=, ran_ticks / 20 + 1);
  // The frame is whole and zeroed at its ends.
  KT_ASSERT(map_scratch(0, dest, 0) && map_scratch(1, dest, pages - 1));
  KT_EQ(at(scratch(0))[0], 0);
  KT_EQ(at(scratch(1))[kPage / 8 - 1], 0);
}

/// A lower-priority helper retyping most of our memory as one frame, let
/// run for two ticks: part way through its retype (both cases below).
struct LargeRetype {
  uint64_t pages, ut, dest;
  Helper* h;
  bool started;
};
LargeRetype start_large_retype() {
  const Env& e = env();
  LargeRetype r{e.ut_bytes / kPage - 1024, 0, 0, nullptr, false};
  r.ut = make_untyped(r.pages);
  r.dest = slot();
  if (!r.ut || !r.dest) return r;
  Helper& h = helper();
  h.a = r.ut;
  h.b = r.dest;
  h.c = r.pages;
  h.r0 = 1;
  r.h = &h;
  r.started = start_helper(h, retype_frame, e.main_prio + 1);
  if (r.started) sleep_us(2 * cos::abi::kTickUs);
  return r;
}

KT_CASE(killed_large_retype_gives_its_memory_back) {
  // A lower-priority thread retypes most of our memory as one frame; it is
  // killed part way (after two ticks), before the frame exists: the pages
  // it reserved, zeroed or not, all return to the untyped.
  LargeRetype r = start_large_retype();
  KT_ASSERT(r.ut && r.dest);
  KT_ASSERT(r.started);
  const uint64_t pages = r.pages, ut = r.ut, dest = r.dest;
  Helper& h = *r.h;
  KT_EQ(h.flag, 1);                   // it started the retype
  KT_OK(sys::thd_kill(h.thd));
  KT_EQ(h.r0, 1);                     // and never returned from it
  KT_ERR(sys::cap_info(dest), empty_slot);  // no frame was made
  sleep_us(20 * cos::abi::kTickUs);   // the prepared part is destroyed in the background
  KT_ASSERT(untyped_all_free(ut, pages));
  // A killed helper never marks itself finished: its stack is free again.
  KT_EQ(h.state, 1);
  h.state = 2;
  KT_ASSERT(wait_helper(h));
}

KT_CASE(large_retype_whose_slot_is_taken_meanwhile_fails_and_gives_its_memory_back) {
  // Between two steps of a lower-priority thread's large retype, another
  // thread (we) puts an object in its destination slot: the retype ends with
  // slot_occupied at its next step, and the pages it reserved go back.
  const Env& e = env();
  LargeRetype r = start_large_retype();
  KT_ASSERT(r.ut && r.dest);
  KT_ASSERT(r.started);
  const uint64_t pages = r.pages, ut = r.ut, dest = r.dest;
  Helper& h = *r.h;
  KT_EQ(h.flag, 1);  // it started the retype
  KT_EQ(h.r0, 1);    // and has not finished it
  KT_OK(sys::retype(e.ut, dest, ObjType::rcv, 1));
  KT_ASSERT(wait_helper(h));
  KT_EQ(h.r0, E(Error::slot_occupied));
  KT_EQ(info_type(sys::cap_info(dest)), static_cast<int64_t>(ObjType::rcv));
  sleep_us(20 * cos::abi::kTickUs);  // the zeroed part is destroyed in the background
  KT_ASSERT(untyped_all_free(ut, pages));
}
