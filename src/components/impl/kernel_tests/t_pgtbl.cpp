// Page tables and frames: mapping into our own page table and reading back,
// aliases, multi-page frames, rights, addresses, wrong types, unmapping.
#include "kernel_tests/kt.hpp"

using namespace kt;

namespace {
constexpr uint64_t kRW = Rights::read | Rights::write;
constexpr uint64_t kUserTop = cos::abi::kUserTop;
}  // namespace

KT_CASE(map_frame_write_and_read_back) {
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  KT_ASSERT(map_scratch(0, f));
  volatile uint64_t* p = at(scratch(0));
  for (uint64_t i = 0; i < kPage / 8; ++i) p[i] = i * 0x9e3779b97f4a7c15ull;
  for (uint64_t i = 0; i < kPage / 8; ++i) KT_EQ(p[i], i * 0x9e3779b97f4a7c15ull);
}

KT_CASE(two_mappings_of_a_frame_share_memory) {
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  KT_ASSERT(map_scratch(0, f) && map_scratch(1, f, 0, Rights::read));
  at(scratch(0))[7] = 0xfeedfacecafebeefull;
  KT_EQ(at(scratch(1))[7], 0xfeedfacecafebeefull);
}

KT_CASE(map_pages_of_a_multipage_frame) {
  uint64_t f = make(ObjType::frame, 4);
  KT_ASSERT(f);
  for (unsigned i = 0; i < 4; ++i) KT_ASSERT(map_scratch(2 + i, f, i));
  for (unsigned i = 0; i < 4; ++i) at(scratch(2 + i))[0] = 100 + i;
  KT_ASSERT(map_scratch(6, f, 2, Rights::read));
  KT_EQ(at(scratch(6))[0], 102);
  KT_ERR(sys::pgtbl_map(env().pgtbl, scratch(7), f, 4, Rights::read, env().ut), bad_argument);
  KT_ERR(sys::pgtbl_map(env().pgtbl, scratch(7), f, ~0ull, Rights::read, env().ut), bad_argument);
}

KT_CASE(map_over_a_mapping_is_already_mapped) {
  const Env& e = env();
  uint64_t f = make(ObjType::frame), g = make(ObjType::frame);
  KT_ASSERT(f && g);
  KT_ASSERT(map_scratch(0, f));
  at(scratch(0))[0] = 42;
  KT_ERR(sys::pgtbl_map(e.pgtbl, scratch(0), f, 0, kRW, e.ut), already_mapped);
  KT_ERR(sys::pgtbl_map(e.pgtbl, scratch(0), g, 0, kRW, e.ut), already_mapped);
  KT_EQ(at(scratch(0))[0], 42);  // the first mapping is untouched
  // What the booter mapped for us: our code and our info page.
  KT_ERR(sys::pgtbl_map(e.pgtbl, 0x400000, g, 0, Rights::read, e.ut), already_mapped);
  KT_ERR(sys::pgtbl_map(e.pgtbl, 0x10000000, g, 0, Rights::read, e.ut), already_mapped);
}

KT_CASE(map_bad_addresses_is_bad_address) {
  const Env& e = env();
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  const uint64_t bad[] = {scratch(0) + 8,         scratch(0) + 1,         scratch(0) + 2048,
                          kUserTop,               0x0000900000000000ull,  0xffff800000000000ull,
                          0xffffffff80000000ull,  0xfffffffffffff000ull};
  for (uint64_t va : bad) KT_ERR(sys::pgtbl_map(e.pgtbl, va, f, 0, Rights::read, e.ut), bad_address);
  // The last user page is fine.
  KT_OK(sys::pgtbl_map(e.pgtbl, kUserTop - kPage, f, 0, Rights::read, e.ut));
  KT_OK(sys::pgtbl_unmap(e.pgtbl, kUserTop - kPage));
}

KT_CASE(map_rights_beyond_the_frame_capability_is_no_rights) {
  const Env& e = env();
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  uint64_t ro = copy(f, Rights::read);
  uint64_t rw = copy(f, kRW);
  KT_ASSERT(ro && rw);
  KT_ERR(sys::pgtbl_map(e.pgtbl, scratch(0), ro, 0, kRW, e.ut), no_rights);
  KT_ERR(sys::pgtbl_map(e.pgtbl, scratch(0), ro, 0, Rights::read | Rights::exec, e.ut), no_rights);
  KT_ERR(sys::pgtbl_map(e.pgtbl, scratch(0), rw, 0, Rights::read | Rights::exec, e.ut), no_rights);
  KT_ERR(sys::pgtbl_unmap(e.pgtbl, scratch(0)), not_mapped);
  KT_OK(sys::pgtbl_map(e.pgtbl, scratch(0), ro, 0, Rights::read, e.ut));
  KT_OK(sys::pgtbl_map(e.pgtbl, scratch(1), rw, 0, kRW, e.ut));
  at(scratch(1))[3] = 33;
  KT_EQ(at(scratch(0))[3], 33);
}

KT_CASE(map_rights_without_read_is_bad_argument) {
  const Env& e = env();
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  KT_ERR(sys::pgtbl_map(e.pgtbl, scratch(0), f, 0, Rights::write, e.ut), bad_argument);
  KT_ERR(sys::pgtbl_map(e.pgtbl, scratch(0), f, 0, Rights::exec, e.ut), bad_argument);
  KT_ERR(sys::pgtbl_map(e.pgtbl, scratch(0), f, 0, 0, e.ut), bad_argument);
  KT_ERR(sys::pgtbl_unmap(e.pgtbl, scratch(0)), not_mapped);
}

KT_CASE(map_needs_write_on_the_page_table) {
  const Env& e = env();
  uint64_t f = make(ObjType::frame);
  uint64_t pt = copy(e.pgtbl, Rights::read | Rights::exec | Rights::grant);
  KT_ASSERT(f && pt);
  KT_ERR(sys::pgtbl_map(pt, scratch(0), f, 0, Rights::read, e.ut), no_rights);
  KT_ERR(sys::pgtbl_unmap(e.pgtbl, scratch(0)), not_mapped);
}

KT_CASE(map_kernel_object_as_frame_is_wrong_type) {
  const Env& e = env();
  uint64_t ct = make(ObjType::captbl), pt = make(ObjType::pgtbl), r = make(ObjType::rcv);
  uint64_t ut = make_untyped(1), thd = slot();
  KT_ASSERT(ct && pt && r && ut && thd);
  KT_OK(sys::thd_create(e.ut, thd, e.comp, reinterpret_cast<uint64_t>(&kt_thread_entry), 0));
  const uint64_t objs[] = {ct, pt, r, ut, thd, e.captbl, e.pgtbl, e.comp, e.gate, e.timer, e.io, e.irq};
  for (uint64_t o : objs) KT_ERR(sys::pgtbl_map(e.pgtbl, scratch(0), o, 0, Rights::read, e.ut), wrong_type);
  KT_ERR(sys::pgtbl_unmap(e.pgtbl, scratch(0)), not_mapped);
}

KT_CASE(map_into_a_non_page_table_is_wrong_type) {
  const Env& e = env();
  uint64_t f = make(ObjType::frame), g = make(ObjType::frame);
  KT_ASSERT(f && g);
  KT_ERR(sys::pgtbl_map(g, scratch(0), f, 0, Rights::read, e.ut), wrong_type);
  KT_ERR(sys::pgtbl_map(e.captbl, scratch(0), f, 0, Rights::read, e.ut), wrong_type);
  KT_ERR(sys::pgtbl_map(e.comp, scratch(0), f, 0, Rights::read, e.ut), wrong_type);
  KT_ERR(sys::pgtbl_unmap(f, scratch(0)), wrong_type);
  KT_ERR(sys::pgtbl_unmap(e.captbl, scratch(0)), wrong_type);
}

KT_CASE(map_with_non_untyped_for_tables_fails) {
  uint64_t pt = make(ObjType::pgtbl), f = make(ObjType::frame), g = make(ObjType::frame);
  KT_ASSERT(pt && f && g);
  // A fresh page table needs intermediate tables: a frame cannot provide them.
  KT_ERR(sys::pgtbl_map(pt, 0x400000, f, 0, Rights::read, g), wrong_type);
}

KT_CASE(unmap_of_what_is_not_mapped_is_not_mapped) {
  const Env& e = env();
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  KT_ERR(sys::pgtbl_unmap(e.pgtbl, scratch(3)), not_mapped);
  KT_ERR(sys::pgtbl_unmap(e.pgtbl, 0x0000700000000000ull), not_mapped);  // no tables there at all
  KT_ASSERT(map_scratch(3, f));
  KT_OK(sys::pgtbl_unmap(e.pgtbl, scratch(3)));
  KT_ERR(sys::pgtbl_unmap(e.pgtbl, scratch(3)), not_mapped);
}

KT_CASE(unmap_bad_addresses_is_bad_address) {
  const Env& e = env();
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  KT_ASSERT(map_scratch(0, f));
  KT_ERR(sys::pgtbl_unmap(e.pgtbl, scratch(0) + 8), bad_address);
  KT_ERR(sys::pgtbl_unmap(e.pgtbl, kUserTop), bad_address);
  KT_ERR(sys::pgtbl_unmap(e.pgtbl, 0xffffffff80000000ull), bad_address);
  KT_ERR(sys::pgtbl_unmap(e.pgtbl, 0xffff800000000000ull), bad_address);
  at(scratch(0))[0] = 1;  // still mapped
  KT_OK(sys::pgtbl_unmap(e.pgtbl, scratch(0)));
}

KT_CASE(unmap_then_map_another_frame) {
  const Env& e = env();
  uint64_t f = make(ObjType::frame), g = make(ObjType::frame);
  KT_ASSERT(f && g);
  KT_ASSERT(map_scratch(0, f) && map_scratch(1, g));
  at(scratch(0))[0] = 0xf;
  at(scratch(1))[0] = 0x9;
  KT_OK(sys::pgtbl_unmap(e.pgtbl, scratch(0)));
  KT_OK(sys::pgtbl_map(e.pgtbl, scratch(0), g, 0, kRW, e.ut));
  KT_EQ(at(scratch(0))[0], 0x9);  // the TLB does not keep the old frame
  KT_OK(sys::pgtbl_unmap(e.pgtbl, scratch(0)));
  KT_OK(sys::pgtbl_map(e.pgtbl, scratch(0), f, 0, kRW, e.ut));
  KT_EQ(at(scratch(0))[0], 0xf);
}

KT_CASE(map_with_ut_zero_when_no_table_is_needed) {
  const Env& e = env();
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  KT_ASSERT(map_scratch(0, f));  // the tables for the scratch area exist now
  KT_OK(sys::pgtbl_map(e.pgtbl, scratch(1), f, 0, kRW, 0));
  at(scratch(1))[1] = 11;
  KT_EQ(at(scratch(0))[1], 11);
  // A fresh page table needs tables: with ut 0 the call must fail, mapping nothing.
  uint64_t pt = make(ObjType::pgtbl);
  KT_ASSERT(pt);
  KT_CMP(sys::pgtbl_map(pt, 0x400000, f, 0, Rights::read, 0), <, 0);
  KT_ERR(sys::pgtbl_unmap(pt, 0x400000), not_mapped);
}

KT_CASE(mappings_in_another_page_table_are_separate) {
  const Env& e = env();
  uint64_t pt = make(ObjType::pgtbl), f = make(ObjType::frame);
  KT_ASSERT(pt && f);
  KT_OK(sys::pgtbl_map(pt, scratch(0), f, 0, kRW, e.ut));
  KT_ERR(sys::pgtbl_unmap(e.pgtbl, scratch(0)), not_mapped);  // not in ours
  KT_ERR(sys::pgtbl_map(pt, scratch(0), f, 0, kRW, e.ut), already_mapped);
  KT_OK(sys::pgtbl_map(e.pgtbl, scratch(0), f, 0, kRW, e.ut));
  KT_OK(sys::pgtbl_unmap(pt, scratch(0)));
  KT_ERR(sys::pgtbl_unmap(pt, scratch(0)), not_mapped);
  at(scratch(0))[0] = 5;  // ours is still there
  KT_EQ(at(scratch(0))[0], 5);
}
