// Capability tables and capability operations: cap_info, cap_copy (rights
// can only shrink, grant and write are needed), cap_delete (derived copies
// stay), cap_revoke (recursive, keeps the slot itself, reaches other tables).
#include "kernel_tests/kt.hpp"

using namespace kt;

KT_CASE(own_table_size_is_whole_pages) {
  const uint64_t n = env().table_size;
  KT_CMP(n, >=, cos::abi::kSlotsPerCaptblPage);
  KT_EQ(n % cos::abi::kSlotsPerCaptblPage, 0);
  KT_ASSERT(sys::cap_info(n - 1) != E(Error::bad_slot));
  KT_ERR(sys::cap_info(n), bad_slot);
  KT_ERR(sys::cap_info(0), bad_slot);
}

KT_CASE(cap_info_of_granted_capabilities) {
  const Env& e = env();
  KT_ASSERT(e.ut && e.captbl && e.pgtbl && e.comp && e.timer && e.io && e.irq && e.gate);
  KT_EQ(info_type(sys::cap_info(e.ut)), ObjType::untyped);
  KT_EQ(info_type(sys::cap_info(e.captbl)), ObjType::captbl);
  KT_EQ(info_type(sys::cap_info(e.pgtbl)), ObjType::pgtbl);
  KT_EQ(info_type(sys::cap_info(e.comp)), ObjType::comp);
  KT_EQ(info_type(sys::cap_info(e.timer)), ObjType::timer);
  KT_EQ(info_type(sys::cap_info(e.io)), ObjType::ioport);
  KT_EQ(info_type(sys::cap_info(e.irq)), ObjType::irq);
  KT_EQ(info_type(sys::cap_info(e.gate)), ObjType::sinv);
  KT_EQ(e.io_first, 0x70);
  KT_EQ(e.io_count, 2);
  KT_EQ(e.irq_line, 8);
}

KT_CASE(cap_copy_keeps_type_and_rights) {
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  uint64_t c = copy(f, Rights::all);
  KT_ASSERT(c);
  KT_EQ(sys::cap_info(c), info_of(ObjType::frame, Rights::all));
  uint64_t r = make(ObjType::rcv);
  KT_ASSERT(r);
  uint64_t rc = copy(r, Rights::all);
  KT_ASSERT(rc);
  KT_EQ(sys::cap_info(rc), info_of(ObjType::rcv, Rights::all));
}

KT_CASE(cap_copy_with_fewer_rights) {
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  const uint64_t masks[] = {Rights::read, Rights::read | Rights::write, Rights::exec | Rights::grant,
                            Rights::write | Rights::exec, 0};
  for (uint64_t m : masks) {
    uint64_t c = copy(f, m);
    KT_ASSERT(c);
    KT_EQ(sys::cap_info(c), info_of(ObjType::frame, m));
  }
}

KT_CASE(cap_copy_cannot_add_rights) {
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  uint64_t a = copy(f, Rights::read | Rights::grant);
  KT_ASSERT(a);
  uint64_t b = copy(a, Rights::all);
  KT_ASSERT(b);
  KT_EQ(sys::cap_info(b), info_of(ObjType::frame, Rights::read | Rights::grant));
}

KT_CASE(cap_copy_needs_grant_on_source) {
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  uint64_t a = copy(f, Rights::read | Rights::write | Rights::exec);
  uint64_t d = slot();
  KT_ASSERT(a && d);
  KT_ERR(sys::cap_copy(env().captbl, d, a, Rights::read), no_rights);
  KT_ERR(sys::cap_info(d), empty_slot);
}

KT_CASE(cap_copy_needs_write_on_destination_table) {
  uint64_t f = make(ObjType::frame);
  uint64_t ct = copy(env().captbl, Rights::read | Rights::grant | Rights::exec);
  uint64_t d = slot();
  KT_ASSERT(f && ct && d);
  KT_ERR(sys::cap_copy(ct, d, f, Rights::all), no_rights);
  KT_ERR(sys::cap_info(d), empty_slot);
}

KT_CASE(cap_copy_destination_not_a_captbl_is_wrong_type) {
  uint64_t f = make(ObjType::frame), r = make(ObjType::rcv);
  KT_ASSERT(f && r);
  KT_ERR(sys::cap_copy(f, 5, r, Rights::all), wrong_type);
  KT_ERR(sys::cap_copy(env().pgtbl, 5, r, Rights::all), wrong_type);
  KT_ERR(sys::cap_copy(env().ut, 5, r, Rights::all), wrong_type);
  KT_ERR(sys::cap_copy(env().comp, 5, r, Rights::all), wrong_type);
}

KT_CASE(cap_copy_into_another_table_respects_its_size) {
  uint64_t ct = make(ObjType::captbl, 1), f = make(ObjType::frame);
  KT_ASSERT(ct && f);
  KT_OK(sys::cap_copy(ct, 63, f, Rights::read));
  KT_ERR(sys::cap_copy(ct, 63, f, Rights::read), slot_occupied);
  KT_ERR(sys::cap_copy(ct, 64, f, Rights::read), bad_slot);
  KT_ERR(sys::cap_copy(ct, 0, f, Rights::read), bad_slot);
  KT_OK(sys::cap_copy(ct, 1, f, Rights::read));
  uint64_t ct2 = make(ObjType::captbl, 2);
  KT_ASSERT(ct2);
  KT_OK(sys::cap_copy(ct2, 127, f, Rights::read));
  KT_ERR(sys::cap_copy(ct2, 128, f, Rights::read), bad_slot);
}

KT_CASE(captbl_of_16_pages_has_1024_slots) {
  uint64_t ct = make(ObjType::captbl, 16), f = make(ObjType::frame);
  KT_ASSERT(ct && f);
  KT_OK(sys::cap_copy(ct, 1023, f, Rights::read));
  KT_ERR(sys::cap_copy(ct, 1024, f, Rights::read), bad_slot);
}

KT_CASE(cap_delete_empties_the_slot) {
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  KT_OK(sys::cap_delete(f));
  KT_ERR(sys::cap_info(f), empty_slot);
  KT_ERR(sys::cap_delete(f), empty_slot);
  KT_OK(sys::retype(env().ut, f, ObjType::rcv, 1));  // the slot is reusable
  KT_EQ(info_type(sys::cap_info(f)), ObjType::rcv);
}

KT_CASE(cap_delete_keeps_derived_copies) {
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  uint64_t a = copy(f, Rights::all);
  KT_ASSERT(a);
  uint64_t b = copy(a, Rights::read | Rights::grant);
  KT_ASSERT(b);
  KT_OK(sys::cap_delete(a));
  KT_EQ(sys::cap_info(b), info_of(ObjType::frame, Rights::read | Rights::grant));
  // b was re-attached to f: revoking f removes it.
  KT_OK(sys::cap_revoke(f));
  KT_ERR(sys::cap_info(b), empty_slot);
  KT_EQ(sys::cap_info(f), info_of(ObjType::frame, Rights::all));
}

KT_CASE(cap_revoke_is_recursive_and_keeps_the_slot) {
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  // f -> a -> b -> c -> d, and a -> e.
  uint64_t a = copy(f, Rights::all);
  KT_ASSERT(a);
  uint64_t b = copy(a, Rights::all);
  KT_ASSERT(b);
  uint64_t c = copy(b, Rights::read | Rights::write | Rights::grant);
  KT_ASSERT(c);
  uint64_t d = copy(c, Rights::read);
  KT_ASSERT(d);
  uint64_t e = copy(a, Rights::read | Rights::grant);
  KT_ASSERT(e);
  KT_OK(sys::cap_revoke(a));
  KT_ERR(sys::cap_info(b), empty_slot);
  KT_ERR(sys::cap_info(c), empty_slot);
  KT_ERR(sys::cap_info(d), empty_slot);
  KT_ERR(sys::cap_info(e), empty_slot);
  KT_EQ(sys::cap_info(a), info_of(ObjType::frame, Rights::all));
  KT_EQ(sys::cap_info(f), info_of(ObjType::frame, Rights::all));
  KT_OK(sys::cap_revoke(f));
  KT_ERR(sys::cap_info(a), empty_slot);
  KT_EQ(sys::cap_info(f), info_of(ObjType::frame, Rights::all));
}

KT_CASE(cap_revoke_without_derived_capabilities_is_ok) {
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  KT_OK(sys::cap_revoke(f));
  KT_OK(sys::cap_revoke(f));
  KT_EQ(sys::cap_info(f), info_of(ObjType::frame, Rights::all));
}

KT_CASE(cap_revoke_reaches_copies_in_other_tables) {
  uint64_t ct = make(ObjType::captbl, 1), f = make(ObjType::frame);
  KT_ASSERT(ct && f);
  uint64_t a = copy(f, Rights::all);
  KT_ASSERT(a);
  KT_OK(sys::cap_copy(ct, 5, a, Rights::read | Rights::grant));  // a grandchild of f in ct
  KT_ERR(sys::cap_copy(ct, 5, f, Rights::read), slot_occupied);
  KT_OK(sys::cap_revoke(f));
  KT_ERR(sys::cap_info(a), empty_slot);
  KT_OK(sys::cap_copy(ct, 5, f, Rights::read));  // ct[5] is empty again
}

KT_CASE(copied_untyped_is_derived_from_the_original) {
  uint64_t ut = make_untyped(4);
  KT_ASSERT(ut);
  uint64_t c = copy(ut, Rights::all);
  KT_ASSERT(c);
  KT_EQ(sys::cap_info(c), info_of(ObjType::untyped, Rights::all));
  uint64_t f = slot();
  KT_ASSERT(f);
  KT_OK(sys::retype(c, f, ObjType::frame, 1));  // the copy carves the same memory
  KT_OK(sys::cap_revoke(ut));
  KT_ERR(sys::cap_info(c), empty_slot);
  KT_ERR(sys::cap_info(f), empty_slot);
  KT_OK(sys::retype(ut, f, ObjType::frame, 4));
}

KT_CASE(capability_without_rights_is_inert) {
  uint64_t r = make(ObjType::rcv);
  KT_ASSERT(r);
  uint64_t none = copy(r, 0);
  uint64_t d = slot();
  KT_ASSERT(none && d);
  KT_EQ(sys::cap_info(none), info_of(ObjType::rcv, 0));
  KT_ERR(sys::asnd_create(env().ut, d, none), no_rights);
  KT_ERR(sys::rcv(none, 0, cos::abi::kRcvNonBlocking), no_rights);
  KT_ERR(sys::cap_copy(env().captbl, d, none, 0), no_rights);
  KT_OK(sys::cap_delete(none));  // deleting needs no rights
}
