// Slot arguments of every operation: slot 0 and slots beyond the table are
// bad_slot, a slot without a capability is empty_slot, a destination that is
// not empty is slot_occupied.
#include "fmt/format.hpp"
#include "kernel_tests/kt.hpp"

using namespace kt;

namespace {

char g_what[160];

bool report(const char* what, uint64_t s, int line, int64_t got, Error want) {
  cos::fmt::snformat(g_what, sizeof(g_what), "%s with slot %#lx", what, static_cast<unsigned long>(s));
  return fail_eq(g_what, __FILE__, line, got, E(want));
}

/// f(s) must be bad_slot for s = 0 and for slots beyond our table, and (if
/// `empty`) empty_slot for a slot of the table that holds nothing.
template <typename F>
bool slot_arg(const char* what, int line, F f, bool zero = true, bool empty = true) {
  const uint64_t n = env().table_size;
  const uint64_t bad[] = {0, n, n + 1, n + 64, 1ull << 32, ~0ull};
  for (uint64_t s : bad) {
    if (s == 0 && !zero) continue;
    int64_t r = f(s);
    if (r != E(Error::bad_slot)) return report(what, s, line, r, Error::bad_slot);
  }
  if (empty) {
    uint64_t s = slot();
    if (!s) return false;
    int64_t r = f(s);
    if (r != E(Error::empty_slot)) return report(what, s, line, r, Error::empty_slot);
  }
  return true;
}

/// A destination slot argument: bad_slot for 0 / beyond the table,
/// slot_occupied for a slot holding a capability (our own table's).
template <typename F>
bool dest_arg(const char* what, int line, F f) {
  if (!slot_arg(what, line, f, true, false)) return false;
  int64_t r = f(env().captbl);
  if (r != E(Error::slot_occupied)) return report(what, env().captbl, line, r, Error::slot_occupied);
  return true;
}

#define SLOT_ARG(what, expr) KT_ASSERT(slot_arg(what, __LINE__, [&](uint64_t s) { return (expr); }))
#define SLOT_ARG_NO_ZERO(what, expr) \
  KT_ASSERT(slot_arg(what, __LINE__, [&](uint64_t s) { return (expr); }, false))
#define DEST_ARG(what, expr) KT_ASSERT(dest_arg(what, __LINE__, [&](uint64_t s) { return (expr); }))

}  // namespace

KT_CASE(slot_errors_retype) {
  uint64_t d = slot();
  KT_ASSERT(d);
  SLOT_ARG("retype(ut=s)", sys::retype(s, d, ObjType::frame, 1));
  DEST_ARG("retype(dest=s)", sys::retype(env().ut, s, ObjType::frame, 1));
  KT_ERR(sys::cap_info(d), empty_slot);  // nothing was created
}

KT_CASE(slot_errors_comp_create) {
  uint64_t ct = make(ObjType::captbl), pt = make(ObjType::pgtbl), d = slot();
  KT_ASSERT(ct && pt && d);
  const Env& e = env();
  SLOT_ARG("comp_create(ut=s)", sys::comp_create(s, d, ct, pt, "x", 1));
  DEST_ARG("comp_create(dest=s)", sys::comp_create(e.ut, s, ct, pt, "x", 1));
  SLOT_ARG("comp_create(captbl=s)", sys::comp_create(e.ut, d, s, pt, "x", 1));
  SLOT_ARG("comp_create(pgtbl=s)", sys::comp_create(e.ut, d, ct, s, "x", 1));
}

KT_CASE(slot_errors_thd_create) {
  const Env& e = env();
  uint64_t d = slot();
  KT_ASSERT(d);
  uint64_t entry = reinterpret_cast<uint64_t>(&kt_thread_entry);
  SLOT_ARG("thd_create(ut=s)", sys::thd_create(s, d, e.comp, entry, 0));
  DEST_ARG("thd_create(dest=s)", sys::thd_create(e.ut, s, e.comp, entry, 0));
  SLOT_ARG("thd_create(comp=s)", sys::thd_create(e.ut, d, s, entry, 0));
}

KT_CASE(slot_errors_thd_start) {
  SLOT_ARG("thd_start(thd=s)", sys::thd_start(s, 0x601000, 200));
}

KT_CASE(slot_errors_sinv_create) {
  const Env& e = env();
  uint64_t d = slot();
  KT_ASSERT(d);
  uint64_t entry = reinterpret_cast<uint64_t>(&__cos_sinv_entry);
  SLOT_ARG("sinv_create(ut=s)", sys::sinv_create(s, d, e.comp, entry, 77));
  DEST_ARG("sinv_create(dest=s)", sys::sinv_create(e.ut, s, e.comp, entry, 77));
  SLOT_ARG("sinv_create(comp=s)", sys::sinv_create(e.ut, d, s, entry, 77));
}

KT_CASE(slot_errors_cap_copy) {
  const Env& e = env();
  uint64_t f = make(ObjType::frame), d = slot();
  KT_ASSERT(f && d);
  SLOT_ARG("cap_copy(dst_captbl=s)", sys::cap_copy(s, d, f, Rights::all));
  SLOT_ARG("cap_copy(src=s)", sys::cap_copy(e.captbl, d, s, Rights::all));
  // The destination index is a slot of the destination table.
  DEST_ARG("cap_copy(dst_index=s)", sys::cap_copy(e.captbl, s, f, Rights::all));
}

KT_CASE(slot_errors_cap_delete_revoke_info) {
  SLOT_ARG("cap_delete(s)", sys::cap_delete(s));
  SLOT_ARG("cap_revoke(s)", sys::cap_revoke(s));
  SLOT_ARG("cap_info(s)", sys::cap_info(s));
}

KT_CASE(slot_errors_pgtbl_map) {
  const Env& e = env();
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(f);
  SLOT_ARG("pgtbl_map(pgtbl=s)", sys::pgtbl_map(s, scratch(0), f, 0, Rights::read, e.ut));
  SLOT_ARG("pgtbl_map(frame=s)", sys::pgtbl_map(e.pgtbl, scratch(0), s, 0, Rights::read, e.ut));
  KT_ERR(sys::pgtbl_unmap(e.pgtbl, scratch(0)), not_mapped);  // nothing was mapped
}

KT_CASE(slot_errors_pgtbl_unmap) {
  SLOT_ARG("pgtbl_unmap(pgtbl=s)", sys::pgtbl_unmap(s, scratch(0)));
}

KT_CASE(slot_errors_sinv) {
  SLOT_ARG("sinv(gate=s)", cos::invoke(s, 0, 1, 2, 3).r0);
}

KT_CASE(slot_errors_asnd_create) {
  const Env& e = env();
  uint64_t r = make(ObjType::rcv), d = slot();
  KT_ASSERT(r && d);
  SLOT_ARG("asnd_create(ut=s)", sys::asnd_create(s, d, r));
  DEST_ARG("asnd_create(dest=s)", sys::asnd_create(e.ut, s, r));
  SLOT_ARG("asnd_create(rcv=s)", sys::asnd_create(e.ut, d, s));
}

KT_CASE(slot_errors_asnd_rcv) {
  SLOT_ARG("asnd(s)", sys::asnd(s));
  SLOT_ARG("rcv(s, nonblocking)", sys::rcv(s, 0, cos::abi::kRcvNonBlocking));
  SLOT_ARG("rcv(s, 1 ms timeout)", sys::rcv(s, 1000, 0));
}

KT_CASE(slot_errors_hw_derive) {
  const Env& e = env();
  KT_ASSERT(e.io);
  uint64_t d = slot();
  KT_ASSERT(d);
  SLOT_ARG("hw_derive(hw=s)", sys::hw_derive(s, d, e.io_first, 1));
  DEST_ARG("hw_derive(dest=s)", sys::hw_derive(e.io, s, e.io_first, 1));
}

KT_CASE(slot_errors_ioport) {
  const Env& e = env();
  SLOT_ARG("ioport_in(s)", sys::ioport_in(s, e.io_first, 1));
  // Writing register index 0x0d (RTC status D, read-only) to port 0x70 is harmless.
  SLOT_ARG("ioport_out(s)", sys::ioport_out(s, e.io_first, 1, 0x0d));
}

KT_CASE(slot_errors_irq_bind) {
  const Env& e = env();
  KT_ASSERT(e.irq);
  uint64_t r = make(ObjType::rcv);
  KT_ASSERT(r);
  SLOT_ARG("irq_bind(irq=s)", sys::irq_bind(s, e.irq_line, r));
  // rcv_slot 0 means "unbind", so only slots beyond the table and empty ones.
  SLOT_ARG_NO_ZERO("irq_bind(rcv=s)", sys::irq_bind(e.irq, e.irq_line, s));
  sys::irq_bind(e.irq, e.irq_line, 0);  // leave it unbound whatever happened
}

KT_CASE(slot_errors_timer_bind) {
  const Env& e = env();
  KT_ASSERT(e.timer);
  uint64_t r = make(ObjType::rcv);
  KT_ASSERT(r);
  SLOT_ARG("timer_bind(timer=s)", sys::timer_bind(s, r, 10000));
  SLOT_ARG_NO_ZERO("timer_bind(rcv=s)", sys::timer_bind(e.timer, s, 10000));
  sys::timer_bind(e.timer, r, 0);
}
