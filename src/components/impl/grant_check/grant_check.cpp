// grant_check: checks that the booter gave this component exactly what its
// composition script grants (composition_scripts/grants.toml), no more.
//
// 1. Every slot of its capability table (256) holds what the info page says:
//    a sinv gate per dependency, then the granted untyped memory, own
//    capability table / page table / component, I/O-port ranges, IRQ lines
//    and timer, each with all rights; every other slot is empty.
// 2. The grants work, and only within their bounds: ports inside a range can
//    be read, ports outside are out_of_range; the untyped memory holds a frame
//    of its whole size and not one page more; a granted IRQ line can be bound
//    and another line cannot; the timer notifies.
// 3. With parameter `expect = "none"` it insists on an empty table apart from
//    its dependency gates.
// Prints "grant_check: <name>: ... ok" lines and "grant_check: <name>: WRONG
// ..." for every mismatch, then "grant_check: <name>: done, N wrong".
#include "runtime/cos.hpp"

namespace {

using cos::abi::Error;
using cos::abi::ObjType;
namespace Rights = cos::abi::Rights;
namespace sys = cos::sys;

constexpr uint64_t kSlots = 256;  // 4 capability-table pages of 64 slots
const char* g_name;
int g_wrong;

int64_t err(Error e) { return static_cast<int64_t>(e); }

void wrong(const char* what, int64_t got, int64_t expected) {
  cos::printf("grant_check: %s: WRONG %s: got %ld, expected %ld\n", g_name, what, static_cast<long>(got),
              static_cast<long>(expected));
  ++g_wrong;
}

void expect(const char* what, int64_t got, int64_t expected) {
  if (got != expected) wrong(what, got, expected);
}

// What slot `s` should hold according to the info page.
int64_t expected_info(const cos::boot::CompInfo& me, uint64_t s) {
  auto cap = [](ObjType t) { return static_cast<int64_t>(static_cast<uint64_t>(t) | Rights::all << 8); };
  for (uint32_t j = 0; j < me.dep_count; ++j)
    if (me.deps[j].slot == s) return cap(ObjType::sinv);
  if (s == me.untyped_slot) return cap(ObjType::untyped);
  if (s == me.captbl_slot) return cap(ObjType::captbl);
  if (s == me.pgtbl_slot) return cap(ObjType::pgtbl);
  if (s == me.comp_slot) return cap(ObjType::comp);
  if (s == me.timer_slot) return cap(ObjType::timer);
  for (uint32_t j = 0; j < me.ioport_count; ++j)
    if (me.ioports[j].slot == s) return cap(ObjType::ioport);
  for (uint32_t j = 0; j < me.irq_count; ++j)
    if (me.irqs[j].slot == s) return cap(ObjType::irq);
  return err(Error::empty_slot);
}

void check_table(const cos::boot::CompInfo& me) {
  int wrong_before = g_wrong;
  uint64_t used = 0;
  for (uint64_t s = 1; s < kSlots; ++s) {
    int64_t want = expected_info(me, s);
    if (want >= 0) ++used;
    if (want >= 0 && s >= me.first_free_slot) wrong("granted slot at or after first_free_slot", s, 0);
    int64_t got = sys::cap_info(s);
    if (got != want) {
      cos::printf("grant_check: %s: WRONG slot %lu: cap_info %ld, expected %ld\n", g_name,
                  static_cast<unsigned long>(s), static_cast<long>(got), static_cast<long>(want));
      ++g_wrong;
    }
  }
  expect("cap_info of slot 0", sys::cap_info(0), err(Error::bad_slot));
  expect("cap_info of slot 256", sys::cap_info(kSlots), err(Error::bad_slot));
  expect("first_free_slot", static_cast<int64_t>(me.first_free_slot), static_cast<int64_t>(used + 1));
  if (g_wrong == wrong_before)
    cos::printf("grant_check: %s: capability table ok (%lu of %lu slots used, as granted)\n", g_name,
                static_cast<unsigned long>(used), static_cast<unsigned long>(kSlots - 1));
}

void check_ioports(const cos::boot::CompInfo& me) {
  for (uint32_t j = 0; j < me.ioport_count; ++j) {
    const auto& io = me.ioports[j];
    int64_t r = sys::ioport_in(io.slot, io.first, 1);
    if (r < 0) wrong("ioport_in of the first granted port", r, 0);
    r = sys::ioport_in(io.slot, io.first + io.count - 1, 1);
    if (r < 0) wrong("ioport_in of the last granted port", r, 0);
    if (io.first > 0)
      expect("ioport_in below the range", sys::ioport_in(io.slot, io.first - 1, 1), err(Error::out_of_range));
    if (io.first + io.count < 0x10000)
      expect("ioport_in above the range", sys::ioport_in(io.slot, io.first + io.count, 1), err(Error::out_of_range));
  }
  if (me.ioport_count) cos::printf("grant_check: %s: %u I/O-port ranges checked\n", g_name, me.ioport_count);
}

void check_untyped(const cos::boot::CompInfo& me) {
  if (!me.untyped_slot) return;
  uint64_t pages = me.untyped_bytes / 4096;
  uint64_t frame = me.first_free_slot;
  expect("retype of one page too many", sys::retype(me.untyped_slot, frame, ObjType::frame, pages + 1),
         err(Error::out_of_memory));
  expect("retype of the whole untyped", sys::retype(me.untyped_slot, frame, ObjType::frame, pages), 0);
  expect("retype from the exhausted untyped", sys::retype(me.untyped_slot, frame + 1, ObjType::frame, 1),
         err(Error::out_of_memory));
  expect("deleting the frame", sys::cap_delete(frame), 0);
  cos::printf("grant_check: %s: untyped memory holds exactly %lu pages\n", g_name,
              static_cast<unsigned long>(pages));
}

void check_irqs_and_timer(const cos::boot::CompInfo& me) {
  if (!me.untyped_slot || (!me.irq_count && !me.timer_slot)) return;
  uint64_t rcv = me.first_free_slot;
  int64_t r = sys::rcv_create(me.untyped_slot, rcv);
  if (r != 0) {
    wrong("creating a receive endpoint", r, 0);
    return;
  }
  for (uint32_t j = 0; j < me.irq_count; ++j) {
    const auto& irq = me.irqs[j];
    expect("irq_bind of a granted line", sys::irq_bind(irq.slot, irq.line, rcv), 0);
    expect("irq_bind of another line", sys::irq_bind(irq.slot, irq.line == 15 ? 14 : irq.line + 1, rcv),
           err(Error::out_of_range));
    expect("irq unbind", sys::irq_bind(irq.slot, irq.line, 0), 0);
  }
  if (me.irq_count) cos::printf("grant_check: %s: %u IRQ lines checked\n", g_name, me.irq_count);
  if (me.timer_slot) {
    expect("timer_bind", sys::timer_bind(me.timer_slot, rcv, 2000), 0);
    r = sys::rcv(rcv, 1000000);
    if (r < 1) wrong("rcv of a timer notification", r, 1);
    expect("timer stop", sys::timer_bind(me.timer_slot, rcv, 0), 0);
    cos::printf("grant_check: %s: timer notified\n", g_name);
  }
  sys::cap_delete(rcv);
}

}  // namespace

int main() {
  const cos::boot::CompInfo& me = cos::self();
  g_name = me.name;
  const char* expectation = cos::param("expect");
  bool expect_none = expectation && __builtin_strcmp(expectation, "none") == 0;
  if (expect_none) {
    bool any = me.untyped_slot || me.captbl_slot || me.pgtbl_slot || me.comp_slot || me.timer_slot ||
               me.ioport_count || me.irq_count;
    if (any) wrong("grants on a component granted nothing", 1, 0);
    expect("first_free_slot", static_cast<int64_t>(me.first_free_slot), static_cast<int64_t>(me.dep_count + 1));
  }
  check_table(me);
  check_ioports(me);
  check_untyped(me);
  check_irqs_and_timer(me);
  cos::printf("grant_check: %s: done, %d wrong\n", g_name, g_wrong);
  return 0;
}
