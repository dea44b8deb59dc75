// syscall_fuzz: an unprivileged component that issues pseudo-random system
// calls (composition_scripts/syscall_fuzz.toml).
//
// Parameters (decimal or 0x-hex): `seed` (default 1), `calls` (default
// 1000000), `progress` (default 100000: calls between progress lines),
// `priority` (default 250: must be the component's own priority), and `ops`
// (a bit mask, bit i = cos::abi::Op i, bit kNumOps = invalid numbers; default
// all) to narrow a problem down to some operations. The same seed gives the
// same sequence of calls (the kernel's answers can still differ where they
// depend on time: rcv timeouts, preemption).
//
// Every call picks an operation uniformly among all of cos::abi::Op (except
// thd_exit) plus a bucket of invalid numbers, then capability slots (mostly in
// [0, table size + 8], biased towards objects it created recently) and
// arguments (small values, boundaries, user/kernel/guest addresses, random
// words). 70% of the time the arguments are "structured" (slots of the right
// type, plausible sizes) so that calls also succeed and build up objects:
// child components over fresh page tables, threads at random entries (the
// children's memory is all zeros: they fault and only their component is
// stopped), gates into them, frames mapped into them, endpoints, copies,
// revocations, VMs and vCPUs.
//
// Excluded only what would end or starve the fuzzer: thd_exit; rcv that
// could block forever and vcpu_run (it runs a guest on the fuzzer's thread):
// always kRcvNonBlocking or a timeout of at most 2 ms; cap_delete of the three
// capabilities it needs to finish (its untyped memory, its capability table,
// the gate to the canary); vCPUs at a priority above its own (a looping guest
// would starve it). It has no capability to its own page table or component,
// so it can neither unmap its own code nor invoke itself.
//
// It checks the ABI contract on the way: unknown operations return bad_op, nop
// returns 0, registers other than rax/rdx/rcx/r11 are preserved, cap_info
// results are well formed, and every error is one of cos::abi::Error. At the
// end it prints a histogram of results, asks fuzz_canary (dependency
// "canary") to verify its memory and capabilities, and measures how much of
// its untyped memory it gets back after deleting everything.
#include "fuzz_canary/canary.hpp"
#include "runtime/cos.hpp"
#include "fmt/format.hpp"

extern "C" void fuzz_raw_syscall(const uint64_t* in, uint64_t* out);

namespace {

using cos::abi::Error;
using cos::abi::ObjType;
using cos::abi::Op;
namespace sys = cos::sys;

// ---------------------------------------------------------------- random numbers

struct Rng {
  uint64_t state;
  uint64_t next() {  // splitmix64
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  bool percent(unsigned p) { return below(100) < p; }
  template <typename T, uint64_t N>
  T pick(const T (&a)[N]) {
    return a[below(N)];
  }
};
Rng g_rng;

// ---------------------------------------------------------------- operations

// Every operation of cos::abi::Op, in order. When abi.hpp gains one, add it
// here (the static_assert below names the last one) and to make_call().
const char* const kOpNames[] = {
    "nop",         "print",       "retype",      "comp_create", "thd_create", "thd_start",  "sinv_create",
    "cap_copy",    "cap_delete",  "pgtbl_map",   "pgtbl_unmap", "sinv",       "sret",       "thd_yield",
    "thd_exit",    "cap_revoke",  "cap_info",    "reserved_17", "asnd_create", "asnd",      "rcv",
    "hw_derive",   "ioport_in",   "ioport_out",  "irq_bind",    "timer_bind", "time_now",   "reserved_27",
    "vm_map",      "vm_unmap",    "vcpu_create", "vcpu_run",    "vcpu_inject", "vcpu_resume",
    "console_bind", "console_read", "comp_ceiling", "thd_suspend", "thd_resume",  "thd_kill",
    "comp_kill",    "comp_exit",    "comp_essential", "thd_cpu",   "cpu_count"};
constexpr uint64_t kNumOps = sizeof(kOpNames) / sizeof(kOpNames[0]);
static_assert(static_cast<uint64_t>(Op::cpu_count) == kNumOps - 1, "kOpNames must list every cos::abi::Op");
constexpr uint64_t kInvalidBucket = kNumOps;  // histogram row for invalid numbers
constexpr uint64_t kOpRows = kNumOps + 1;
static_assert(kOpRows <= 64, "the `ops` mask has one bit per row");

// Numbers that are no operation (beyond the last one).
constexpr uint64_t kInvalidOps[] = {kNumOps,    kNumOps + 1, kNumOps + 7, 63,          64,
                                    255,        256,         0x1000,      1ull << 32,  1ull << 63,
                                    ~0ull,      0x8000000000000000ull + 11, (1ull << 32) + 11};

// Results: 0, positive, each cos::abi::Error, and anything else.
const char* const kErrorNames[] = {"ok",
                                   "bad_op",           "bad_slot",        "empty_slot",      "wrong_type",
                                   "slot_occupied",    "bad_argument",    "out_of_memory",   "bad_address",
                                   "already_mapped",   "not_mapped",      "no_rights",       "not_copyable",
                                   "comp_dead",        "not_in_invocation", "invocation_depth", "already_started",
                                   "would_block",      "timeout",         "out_of_range",    "irq_bound",
                                   "waiter_busy",      "no_virtualization", "bad_guest_state", "vcpu_running",
                                   "event_pending",    "vcpu_mode",       "kernel_owned",    "already_bound",
                                   "not_bound",        "above_ceiling",
                                   "unaligned",       "wrong_cpu"};
constexpr int kMinError = -static_cast<int>(sizeof(kErrorNames) / sizeof(kErrorNames[0]) - 1);
static_assert(static_cast<int64_t>(Error::wrong_cpu) == kMinError, "kErrorNames must list every cos::abi::Error");
constexpr int kRowPositive = -kMinError + 1;  // non-negative results other than 0
constexpr int kRowOther = -kMinError + 2;     // undocumented negative values
constexpr int kResultRows = -kMinError + 3;

uint64_t g_results[kResultRows];
uint64_t g_op_calls[kOpRows];
uint64_t g_op_ok[kOpRows];
uint64_t g_op_results[kOpRows][kResultRows];
int64_t g_other_example;

// ---------------------------------------------------------------- state

uint64_t g_table_size;  // slots in our capability table
/// Our priority in syscall_fuzz.toml (parameter `priority`); vCPUs get lower ones.
uint64_t g_priority = 250;
uint64_t g_ut, g_ct, g_canary, g_first_free;
/// CPUs online (cpu_count at start): thd_cpu gets numbers around it.
uint64_t g_cpus = 1;

// Recently created objects: a ring of slots overall and a few per type.
constexpr int kRecent = 16;
uint64_t g_recent[kRecent];
int g_recent_n;
constexpr int kTypes = static_cast<int>(ObjType::console) + 1;
struct Pool {
  static constexpr int kSize = 6;
  uint64_t slot[kSize];
  int n, next;  // slots held; where the next one replaces an old one when full
};
Pool g_by_type[kTypes];

void remember(uint64_t slot, ObjType type) {
  g_recent[g_recent_n++ % kRecent] = slot;
  auto t = static_cast<unsigned>(type);
  if (t >= kTypes) return;
  Pool& p = g_by_type[t];
  if (p.n < Pool::kSize) {
    p.slot[p.n++] = slot;
  } else {
    p.slot[p.next] = slot;
    p.next = (p.next + 1) % Pool::kSize;
  }
}

// After a successful cap_delete: the slot no longer holds that object.
void forget(uint64_t slot) {
  for (Pool& p : g_by_type)
    for (int i = 0; i < p.n; ++i)
      if (p.slot[i] == slot) p.slot[i--] = p.slot[--p.n];
}

// Recent successful mappings (page table slot, address), for pgtbl_unmap.
constexpr int kMappings = 8;
uint64_t g_map_pt[kMappings], g_map_va[kMappings];
int g_map_n;

// A buffer of NUL bytes for print (NULs are invisible on the console and
// dropped by the test harness), and names for comp_create.
alignas(4096) char g_print_buf[8192];
char g_name_buf[64];
uint64_t g_children;

uint64_t g_violations;

template <typename... A>
void violation(const char* fmt, A... a) {
  if (++g_violations <= 20) cos::printf(fmt, a...);
}

// ---------------------------------------------------------------- argument choice

constexpr uint64_t kUserTop = cos::abi::kUserTop;
constexpr uint64_t kBoundaries[] = {
    0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 63, 64, 65, 127, 128, 255, 256, 4095, 4096, 4097, 8192,
    0xffff, 0x10000, 1ull << 20, (1ull << 20) + 1, 0x7fffffff, 0x80000000, 0xffffffff, 1ull << 32,
    kUserTop - 4096, kUserTop - 1, kUserTop, kUserTop + 4096, 0x00007fffffffffffull,
    0x0000ffffffffffffull, 0xffff800000000000ull, 0xffff800000100000ull, 0xffffffff80000000ull,
    0xffffffff80100000ull, 0xfffffffffffff000ull, 0x8000000000000000ull, 0x7fffffffffffffffull,
    cos::abi::kGuestPhysTop - 4096, cos::abi::kGuestPhysTop, 0xfffff000, 0xffff0, 0xfee00000, 0xa0000,
    ~0ull, ~0ull - 1, static_cast<uint64_t>(-4096), 0x400000, 0x401000, 0x20000000, 0x1fffe000};

uint64_t any_value() {
  switch (g_rng.below(10)) {
    case 0:
    case 1:
      return g_rng.below(17);
    case 2:
    case 3:
    case 4:
      return g_rng.pick(kBoundaries);
    case 5:
      return g_rng.next() & 0x00007ffffffff000ull;  // page-aligned user address
    case 6:
      return g_rng.next() & 0x00007fffffffffffull;  // any user address
    case 7:
      return 0xffff800000000000ull | (g_rng.next() & 0x7ffffffff000ull);  // kernel half
    default:
      return g_rng.next();
  }
}

uint64_t any_slot() {
  unsigned k = static_cast<unsigned>(g_rng.below(100));
  if (k < 8) {
    const uint64_t edges[] = {0, g_table_size - 1, g_table_size, g_table_size + 1, 1ull << 32, ~0ull,
                              1ull << 63, g_table_size * 2};
    return g_rng.pick(edges);
  }
  if (k < 40 && g_recent_n) return g_recent[g_rng.below(g_recent_n < kRecent ? g_recent_n : kRecent)];
  return g_rng.below(g_table_size + 9);
}

// A slot holding an object of `type` if we know one (most of the time).
uint64_t slot_of(ObjType type) {
  auto t = static_cast<unsigned>(type);
  if (t == static_cast<unsigned>(ObjType::untyped) && g_rng.percent(70)) return g_ut;
  if (t < kTypes && g_by_type[t].n && g_rng.percent(85)) return g_by_type[t].slot[g_rng.below(g_by_type[t].n)];
  return any_slot();
}

uint64_t dest_slot() {
  if (g_rng.percent(85) && g_table_size > g_first_free) return g_first_free + g_rng.below(g_table_size - g_first_free);
  return any_slot();
}

uint64_t untyped_slot() { return g_rng.percent(90) ? slot_of(ObjType::untyped) : any_slot(); }

uint64_t small_pages() {
  switch (g_rng.below(6)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return 1 + g_rng.below(4);
    case 3: return 1 + g_rng.below(16);
    case 4: {
      const uint64_t edges[] = {16, 17, 64, 1ull << 20, (1ull << 20) + 1, 1ull << 32, ~0ull};
      return g_rng.pick(edges);
    }
    default: return any_value();
  }
}

// An entry point for a thread or gate: mostly addresses in a child's (empty,
// or zero-filled) address space.
uint64_t entry_addr() {
  switch (g_rng.below(4)) {
    case 0: return g_rng.below(4) * 4096;
    case 1: return 0x400000 + g_rng.below(64) * 16;
    default: return any_value();
  }
}

uint64_t map_vaddr() {
  switch (g_rng.below(4)) {
    case 0: return g_rng.below(1024) * 4096;
    case 1: return g_rng.pick(kBoundaries);
    case 2: return (g_rng.next() & 0x00007ffffffff000ull);
    default: return any_value();
  }
}

// Mostly the types retype makes, sometimes any type number or value.
uint64_t obj_type() {
  const ObjType made[] = {ObjType::untyped, ObjType::captbl, ObjType::pgtbl, ObjType::frame,
                          ObjType::frame,   ObjType::rcv,    ObjType::vm};
  if (g_rng.percent(80)) return static_cast<uint64_t>(g_rng.pick(made));
  return g_rng.percent(70) ? g_rng.below(16) : any_value();
}

// Page counts for retype: mostly valid for the type.
uint64_t pages_for(uint64_t type) {
  if (!g_rng.percent(80)) return small_pages();
  switch (static_cast<ObjType>(type)) {
    case ObjType::untyped: return 1 + g_rng.below(32);
    case ObjType::captbl: return 1 + g_rng.below(4);
    case ObjType::frame: return 1 + g_rng.below(8);
    default: return 1;
  }
}

uint64_t rights() { return g_rng.percent(85) ? g_rng.below(16) : any_value(); }

// True if `a` may lie in memory mapped in this component (image, info page,
// stack, heap) other than g_print_buf: [0x400000, 0x20000000) and the heap.
bool maps_own_memory(uint64_t a) {
  const cos::boot::CompInfo& me = cos::self();
  uint64_t buf = reinterpret_cast<uint64_t>(g_print_buf);
  if (a >= buf && a < buf + sizeof(g_print_buf)) return false;
  if (a >= 0x400000 && a < 0x20000000) return true;
  return a >= me.heap_base && a - me.heap_base < me.heap_size;
}

// ---------------------------------------------------------------- one call

struct Call {
  uint64_t op;      // number passed in rax
  uint64_t row;     // histogram row
  uint64_t a[6];
  bool sinv;        // through cos_sinv_call
  ObjType creates;  // type of the object a successful call puts in a[1] (none: nothing)
};

// Operations to fuzz (bit i = Op i, bit kNumOps = invalid numbers): parameter
// `ops`, for narrowing a problem down to a few operations.
uint64_t g_ops_mask = ~0ull;

Call make_call() {
  Call c{};
  uint64_t k;
  do {
    k = g_rng.below(kNumOps);  // kNumOps - 1 real choices (no thd_exit) + the invalid bucket
    if (k == static_cast<uint64_t>(Op::thd_exit)) k = kInvalidBucket;
  } while (!(g_ops_mask >> k & 1));
  for (uint64_t& x : c.a) x = any_value();
  bool structured = g_rng.percent(70);
  c.creates = ObjType::none;
  if (k == kInvalidBucket) {
    c.op = g_rng.percent(70) ? g_rng.pick(kInvalidOps) : (kNumOps + g_rng.below(1ull << 20));
    c.row = kInvalidBucket;
    return c;
  }
  c.op = k;
  c.row = k;
  if (g_rng.percent(30)) c.a[0] = any_slot();  // most operations take a slot first
  switch (static_cast<Op>(k)) {
    case Op::print:
      if (structured) {
        // Output is NULs, but keep it short: full pages only now and then.
        c.a[0] = reinterpret_cast<uint64_t>(g_print_buf) + g_rng.below(4096);
        const uint64_t lens[] = {0, 1, 2, 15, 4095, 4096, 4097};
        c.a[1] = g_rng.percent(3) ? g_rng.pick(lens) : g_rng.below(16);
      }
      break;
    case Op::retype:
      if (structured) {
        c.a[0] = untyped_slot();
        c.a[1] = dest_slot();
        c.a[2] = obj_type();
        c.a[3] = pages_for(c.a[2]);
        if (c.a[2] < static_cast<uint64_t>(kTypes)) c.creates = static_cast<ObjType>(c.a[2]);
      }
      break;
    case Op::comp_create:
      if (structured) {
        c.a[0] = untyped_slot();
        c.a[1] = dest_slot();
        c.a[2] = g_rng.percent(5) ? g_ct : slot_of(ObjType::captbl);
        c.a[3] = slot_of(ObjType::pgtbl);
        uint64_t n = cos::fmt::snformat(g_name_buf, sizeof(g_name_buf), "fz%lu", static_cast<unsigned long>(g_children++));
        c.a[4] = reinterpret_cast<uint64_t>(g_name_buf);
        c.a[5] = g_rng.percent(80) ? n : g_rng.below(40);
        c.creates = ObjType::comp;
      }
      break;
    case Op::thd_create:
      if (structured) {
        c.a[0] = untyped_slot();
        c.a[1] = dest_slot();
        c.a[2] = slot_of(ObjType::comp);
        c.a[3] = entry_addr();
        c.creates = ObjType::thread;
      }
      break;
    case Op::thd_start:
      if (structured) {
        c.a[0] = slot_of(ObjType::thread);
        c.a[1] = g_rng.percent(70) ? (g_rng.below(1024) * 4096) : any_value();
        c.a[2] = g_rng.percent(85) ? g_rng.below(256) : any_value();
      }
      break;
    case Op::sinv_create:
      if (structured) {
        c.a[0] = untyped_slot();
        c.a[1] = dest_slot();
        c.a[2] = slot_of(ObjType::comp);
        c.a[3] = entry_addr();
        c.creates = ObjType::sinv;
      }
      break;
    case Op::cap_copy:
      if (structured) {
        c.a[0] = g_rng.percent(50) ? g_ct : slot_of(ObjType::captbl);
        c.a[1] = g_rng.percent(80) ? g_rng.below(g_table_size + 2) : any_value();
        c.a[2] = any_slot();
        c.a[3] = rights();
      }
      break;
    case Op::cap_delete:
    case Op::cap_revoke:
    case Op::cap_info:
      if (structured) c.a[0] = any_slot();
      break;
    case Op::comp_ceiling:
      if (structured) {
        c.a[0] = slot_of(ObjType::comp);
        c.a[1] = g_rng.below(300);
      }
      break;
    case Op::comp_kill:
      if (structured) c.a[0] = slot_of(ObjType::comp);
      break;
    case Op::thd_suspend:
    case Op::thd_resume:
    case Op::thd_kill:
      if (structured) c.a[0] = slot_of(g_rng.percent(70) ? ObjType::thread : ObjType::vcpu);
      break;
    case Op::thd_cpu:
      // CPU numbers around the real count: valid ones, the first invalid one, garbage.
      if (structured) {
        c.a[0] = slot_of(g_rng.percent(70) ? ObjType::thread : ObjType::vcpu);
        c.a[1] = g_rng.percent(80) ? g_rng.below(g_cpus + 1) : any_value();
      }
      break;
    case Op::pgtbl_map:
      if (structured) {
        c.a[0] = slot_of(ObjType::pgtbl);
        c.a[1] = map_vaddr();
        c.a[2] = slot_of(ObjType::frame);
        c.a[3] = g_rng.percent(80) ? g_rng.below(4) : any_value();
        c.a[4] = g_rng.percent(70) ? (cos::abi::Rights::read | (g_rng.below(4) << 1)) : rights();
        if (g_rng.percent(10)) c.a[4] |= cos::abi::kVmMapLarge;  // a 2 MiB mapping
        c.a[5] = g_rng.percent(90) ? untyped_slot() : any_value();
      }
      break;
    case Op::pgtbl_unmap:
      if (structured && g_map_n && g_rng.percent(60)) {
        int i = static_cast<int>(g_rng.below(g_map_n < kMappings ? g_map_n : kMappings));
        c.a[0] = g_map_pt[i];
        c.a[1] = g_map_va[i];
      } else if (structured) {
        c.a[0] = slot_of(ObjType::pgtbl);
        c.a[1] = map_vaddr();
      }
      break;
    case Op::sinv:
      c.sinv = true;
      if (structured) c.a[0] = g_rng.percent(10) ? g_canary : slot_of(ObjType::sinv);
      break;
    case Op::asnd_create:
      if (structured) {
        c.a[0] = untyped_slot();
        c.a[1] = dest_slot();
        c.a[2] = slot_of(ObjType::rcv);
        c.creates = ObjType::asnd;
      }
      break;
    case Op::asnd:
      if (structured) c.a[0] = slot_of(ObjType::asnd);
      break;
    case Op::rcv:
      if (structured) c.a[0] = slot_of(ObjType::rcv);
      // Never block without a bound: non-blocking, or a short timeout.
      if (g_rng.percent(95)) {
        c.a[2] = g_rng.percent(60) ? cos::abi::kRcvNonBlocking : (c.a[2] | cos::abi::kRcvNonBlocking);
      } else {
        c.a[1] = 1 + g_rng.below(2000);
        c.a[2] &= ~cos::abi::kRcvNonBlocking;
      }
      break;
    case Op::hw_derive:
      if (structured) {
        c.a[1] = dest_slot();
        c.a[2] = g_rng.below(0x10010);
        c.a[3] = g_rng.below(64);
      }
      break;
    case Op::ioport_in:
    case Op::ioport_out:
    case Op::irq_bind:
      if (structured) c.a[1] = g_rng.below(0x10010);
      break;
    case Op::timer_bind:
      if (structured) c.a[1] = slot_of(ObjType::rcv);
      break;
    case Op::vm_map:
      if (structured) {
        c.a[0] = slot_of(ObjType::vm);
        c.a[1] = map_vaddr();
        c.a[2] = slot_of(ObjType::frame);
        c.a[3] = g_rng.percent(80) ? g_rng.below(4) : any_value();
        c.a[4] = g_rng.percent(70) ? (cos::abi::Rights::read | (g_rng.below(4) << 1)) : rights();
        if (g_rng.percent(10)) c.a[4] |= cos::abi::kVmMapLarge;  // a 2 MiB mapping
        c.a[5] = g_rng.percent(90) ? untyped_slot() : any_value();
      }
      break;
    case Op::vm_unmap:
      if (structured) {
        c.a[0] = slot_of(ObjType::vm);
        c.a[1] = map_vaddr();
      }
      break;
    case Op::vcpu_create:
      if (structured) {
        c.a[0] = untyped_slot();
        c.a[1] = dest_slot();
        c.a[2] = slot_of(ObjType::vm);
        c.a[3] = slot_of(ObjType::frame);
        c.a[4] = g_rng.percent(50) ? 0 : slot_of(ObjType::rcv);  // synchronous / own thread
        if (c.a[4] == 0 && g_rng.percent(90)) c.a[5] = 0;
        c.creates = ObjType::vcpu;
      }
      break;
    case Op::vcpu_run:
      if (structured) {
        c.a[0] = slot_of(ObjType::vcpu);
        c.a[1] = g_rng.percent(70) ? g_rng.below(1024) : any_value();
        c.a[2] = g_rng.percent(50) ? 0 : slot_of(ObjType::rcv);
      }
      break;
    case Op::vcpu_resume:
      if (structured) {
        c.a[0] = slot_of(ObjType::vcpu);
        c.a[1] = g_rng.percent(70) ? g_rng.below(1024) : any_value();
      }
      break;
    case Op::console_bind:
      if (structured) {
        c.a[0] = slot_of(ObjType::console);
        c.a[1] = slot_of(ObjType::rcv);
        c.a[2] = g_rng.percent(90) ? g_rng.below(2) : any_value();
      }
      break;
    case Op::console_read:
      if (structured) {
        c.a[0] = slot_of(ObjType::console);
        c.a[1] = slot_of(ObjType::rcv);
        c.a[2] = g_rng.percent(50) ? reinterpret_cast<uint64_t>(g_print_buf) : map_vaddr();
        c.a[3] = g_rng.percent(80) ? g_rng.below(sizeof(g_print_buf) + 1) : any_value();
      }
      break;
    case Op::comp_exit:
      // Only with a status the kernel refuses (bad_argument): a valid call
      // would end the fuzzer's own component.
      c.a[0] = 256 + g_rng.below(1ull << 20) + (g_rng.percent(20) ? any_value() >> 1 : 0);
      break;
    case Op::comp_essential:
      if (structured) c.a[0] = slot_of(ObjType::comp);  // the fuzzer is not essential: no_rights
      break;
    case Op::vcpu_inject:
      if (structured) {
        c.a[0] = slot_of(ObjType::vcpu);
        c.a[1] = g_rng.percent(80) ? g_rng.below(256) : any_value();
        c.a[2] = g_rng.percent(80) ? g_rng.below(8) : any_value();
      }
      break;
    default:
      break;
  }
  // print and comp_create read user memory: only NULs from g_print_buf or
  // unmapped addresses, never our code, data or stack, whose bytes could
  // garble the console (and so the lines the tests look for).
  if (static_cast<Op>(c.op) == Op::print && maps_own_memory(c.a[0]))
    c.a[0] = reinterpret_cast<uint64_t>(g_print_buf);
  if (static_cast<Op>(c.op) == Op::comp_create && maps_own_memory(c.a[4]) && c.a[4] != reinterpret_cast<uint64_t>(g_name_buf))
    c.a[4] = reinterpret_cast<uint64_t>(g_name_buf);
  // A vCPU runs like a thread at its own priority: keep it below ours, so
  // a guest that loops cannot starve the fuzzer (priorities > 255 stay, they
  // are invalid).
  if (static_cast<Op>(c.op) == Op::vcpu_create && c.a[4] != 0 && c.a[5] <= g_priority)
    c.a[5] = g_priority + 1 + c.a[5] % (255 - g_priority);
  // vcpu_run runs the guest on the fuzzer's own thread until an exit: a
  // guest that loops must not hold it longer than a bound.
  if (static_cast<Op>(c.op) == Op::vcpu_run && (c.a[3] == 0 || c.a[3] > 2000)) c.a[3] = 1 + g_rng.below(2000);
  // cap_delete may not remove what the fuzzer needs to finish.
  if (static_cast<Op>(c.op) == Op::cap_delete && (c.a[0] == g_ut || c.a[0] == g_ct || c.a[0] == g_canary))
    c.a[0] = g_table_size + 3;
  return c;
}

const char* const kRegNames[] = {"rax", "rdx", "rdi", "rsi", "r10", "r8", "r9",
                                 "rbx", "rbp", "r12", "r13", "r14", "r15"};

int64_t issue(const Call& c, uint64_t index) {
  if (c.sinv) {
    sys::SinvResult r = sys::cos_sinv_call(c.a[0], c.a[1], c.a[2], c.a[3], c.a[4]);
    return r.r0;
  }
  uint64_t in[13], out[13];
  in[0] = c.op;
  for (int i = 0; i < 6; ++i) in[1 + i] = c.a[i];
  for (int i = 7; i < 13; ++i) in[i] = g_rng.next();
  fuzz_raw_syscall(in, out);
  // Preserved: rdi rsi r10 r8 r9 (arguments) and rbx rbp r12-r15. kInputOf
  // gives the index in `in` of each register of `out`.
  static constexpr int kInputOf[13] = {-1, -1, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  for (int i = 2; i < 13; ++i) {
    if (out[i] != in[kInputOf[i]]) {
      violation("fuzz: VIOLATION: call %lu (%s) changed %s from %#lx to %#lx\n", static_cast<unsigned long>(index),
                c.row < kNumOps ? kOpNames[c.row] : "invalid", kRegNames[i],
                static_cast<unsigned long>(in[kInputOf[i]]), static_cast<unsigned long>(out[i]));
      break;
    }
  }
  return static_cast<int64_t>(out[0]);
}

void check_result(const Call& c, int64_t r, uint64_t index) {
  const char* name = c.row < kNumOps ? kOpNames[c.row] : "invalid";
  if (c.row == kInvalidBucket && r != static_cast<int64_t>(Error::bad_op))
    violation("fuzz: VIOLATION: call %lu: invalid operation %#lx returned %ld, not bad_op\n",
              static_cast<unsigned long>(index), static_cast<unsigned long>(c.op), static_cast<long>(r));
  if (c.op == static_cast<uint64_t>(Op::nop) && r != 0)
    violation("fuzz: VIOLATION: call %lu: nop returned %ld\n", static_cast<unsigned long>(index), static_cast<long>(r));
  if (c.op == static_cast<uint64_t>(Op::cpu_count) && static_cast<uint64_t>(r) != g_cpus)
    violation("fuzz: VIOLATION: call %lu: cpu_count returned %ld, %lu at start\n", static_cast<unsigned long>(index),
              static_cast<long>(r), static_cast<unsigned long>(g_cpus));
  if (c.op == static_cast<uint64_t>(Op::cap_info) && r >= 0) {
    uint64_t type = static_cast<uint64_t>(r) & 0xff, rts = static_cast<uint64_t>(r) >> 8;
    if (type == 0 || type >= static_cast<uint64_t>(kTypes) || rts > cos::abi::Rights::all)
      violation("fuzz: VIOLATION: call %lu: cap_info(%lu) returned malformed %#lx\n", static_cast<unsigned long>(index),
                static_cast<unsigned long>(c.a[0]), static_cast<unsigned long>(r));
  }
  if (r < kMinError && !c.sinv)  // a server may return anything through sinv
    violation("fuzz: VIOLATION: call %lu (%s) returned undocumented error %ld\n", static_cast<unsigned long>(index),
              name, static_cast<long>(r));
}

void count(const Call& c, int64_t r) {
  ++g_op_calls[c.row];
  if (r >= 0) ++g_op_ok[c.row];
  int row;
  if (r == 0)
    row = 0;
  else if (r > 0)
    row = kRowPositive;
  else if (r >= kMinError)
    row = static_cast<int>(-r);
  else {
    row = kRowOther;
    g_other_example = r;
  }
  ++g_results[row];
  ++g_op_results[c.row][row];
}

void after(const Call& c, int64_t r) {
  if (r != 0) return;
  switch (static_cast<Op>(c.op)) {
    case Op::cap_delete:
      forget(c.a[0]);
      break;
    case Op::cap_revoke:
      if (c.a[0] == g_ut)  // everything retyped from it is gone
        for (Pool& p : g_by_type) p.n = p.next = 0;
      break;
    case Op::pgtbl_map:
      g_map_pt[g_map_n % kMappings] = c.a[0];
      g_map_va[g_map_n++ % kMappings] = c.a[1];
      break;
    default:
      if (c.creates != ObjType::none) remember(c.a[1], c.creates);
      break;
  }
}

// ---------------------------------------------------------------- set-up and report

// The number of slots in our table: the first slot cap_info calls bad_slot.
uint64_t probe_table_size() {
  for (uint64_t s = 1; s <= 16 * cos::abi::kSlotsPerCaptblPage + 1; ++s)
    if (sys::cap_info(s) == static_cast<int64_t>(Error::bad_slot)) return s;
  return 16 * cos::abi::kSlotsPerCaptblPage;
}

void report() {
  for (uint64_t i = 0; i < kOpRows; ++i) {
    if (!g_op_calls[i]) continue;
    int top = -1;  // the most frequent error of this operation
    for (int r = 1; r < kResultRows; ++r)
      if (r != kRowPositive && g_op_results[i][r] && (top < 0 || g_op_results[i][r] > g_op_results[i][top])) top = r;
    cos::printf("fuzz: op %2lu %-12s %8lu calls, %8lu succeeded, most frequent error: %s (%lu)\n",
                static_cast<unsigned long>(i), i < kNumOps ? kOpNames[i] : "(invalid)",
                static_cast<unsigned long>(g_op_calls[i]), static_cast<unsigned long>(g_op_ok[i]),
                top < 0 ? "none" : top == kRowOther ? "undocumented" : kErrorNames[top],
                top < 0 ? 0ul : static_cast<unsigned long>(g_op_results[i][top]));
  }
  for (int i = 0; i < kResultRows; ++i) {
    if (!g_results[i]) continue;
    if (i == kRowPositive)
      cos::printf("fuzz: result >0 value: %lu\n", static_cast<unsigned long>(g_results[i]));
    else if (i == kRowOther)
      cos::printf("fuzz: result <%d other (e.g. %ld): %lu\n", kMinError, static_cast<long>(g_other_example),
                  static_cast<unsigned long>(g_results[i]));
    else
      cos::printf("fuzz: result %d %s: %lu\n", -i, kErrorNames[i], static_cast<unsigned long>(g_results[i]));
  }
}

// What is left in our table, by object type.
void census() {
  uint64_t by_type[kTypes + 1] = {}, used = 0;
  for (uint64_t slot = 1; slot < g_table_size; ++slot) {
    int64_t r = sys::cap_info(slot);
    if (r < 0) continue;
    ++used;
    uint64_t t = static_cast<uint64_t>(r) & 0xff;
    ++by_type[t < kTypes ? t : kTypes];
  }
  static const char* const kTypeNames[kTypes + 1] = {"none",  "untyped", "captbl", "pgtbl", "frame", "comp",
                                                     "thread", "sinv",   "rcv",    "asnd",  "ioport", "irq",
                                                     "timer", "vm",      "vcpu",   "console", "?"};
  char buf[256];
  size_t n = 0;
  for (int t = 0; t <= kTypes; ++t)
    if (by_type[t] && n < sizeof(buf))
      n += cos::fmt::snformat(buf + n, sizeof(buf) - n, " %s %lu", kTypeNames[t], static_cast<unsigned long>(by_type[t]));
  cos::printf("fuzz: its table at the end: %lu of %lu slots in use:%s\n", static_cast<unsigned long>(used),
              static_cast<unsigned long>(g_table_size - 1), n ? buf : " none");
}

// Revokes and deletes every capability in our table except the booter's
// grants (which also stops every vCPU we made, unless a copy that lost its
// source keeps it), revokes our untyped memory and measures how much of it
// can be retyped again (greedily, as frames): memory still held afterwards
// belongs to objects that stay alive without a capability in our table
// (reference cycles through child capability tables, threads that have not
// run yet), or is leaked.
void reclaim() {
  if (!g_ut) return;
  uint64_t deleted = 0;
  for (uint64_t slot = g_first_free; slot < g_table_size; ++slot) {
    sys::cap_revoke(slot);  // its copies in children's tables first
    deleted += sys::cap_delete(slot) == 0;
  }
  int64_t r = sys::cap_revoke(g_ut);
  uint64_t kept[256], nkept = 0, total = 0;
  uint64_t slot = g_first_free;
  while (nkept < 256) {
    while (slot < g_table_size && sys::cap_info(slot) != static_cast<int64_t>(Error::empty_slot)) ++slot;
    if (slot >= g_table_size) break;
    const uint64_t lo = cos::largest_frame_pages(g_ut, slot, cos::self().untyped_bytes / 4096);
    if (lo == 0 || sys::retype(g_ut, slot, ObjType::frame, lo) != 0) break;
    kept[nkept++] = slot;
    total += lo;
  }
  for (uint64_t i = 0; i < nkept; ++i) sys::cap_delete(kept[i]);
  cos::printf("fuzz: after deleting its %lu capabilities and revoking its untyped memory (%ld): %lu of %lu KiB "
              "retypable again, in %lu pieces\n",
              static_cast<unsigned long>(deleted), static_cast<long>(r), static_cast<unsigned long>(total * 4),
              static_cast<unsigned long>(cos::self().untyped_bytes / 1024), static_cast<unsigned long>(nkept));
}

bool verify_canary() {
  if (!g_canary) {
    cos::printf("fuzz: no canary (dependency 'canary' missing)\n");
    return false;
  }
  sys::SinvResult r = cos::invoke(g_canary, canary::kOpVerify);
  if (r.r0 == 0 && r.r1 == 0) {
    cos::printf("fuzz: canary memory intact, capabilities intact\n");
    return true;
  }
  if (r.r0 < 0) {
    cos::printf("fuzz: CANARY BROKEN: verify failed with %ld\n", static_cast<long>(r.r0));
    return false;
  }
  cos::printf("fuzz: CANARY BROKEN: memory %s (%ld words changed), capabilities %s (%ld changed)\n",
              r.r0 ? "CORRUPTED" : "intact", static_cast<long>(r.r0), r.r1 ? "CHANGED" : "intact",
              static_cast<long>(r.r1));
  return false;
}

}  // namespace

int main() {
  const cos::boot::CompInfo& me = cos::self();
  uint64_t seed = cos::param_u64("seed", 1);
  uint64_t calls = cos::param_u64("calls", 1000000);
  uint64_t progress = cos::param_u64("progress", 100000);
  g_ops_mask = cos::param_u64("ops", ~0ull) & ((1ull << kOpRows) - 1);
  g_priority = cos::param_u64("priority", 250);
  if (g_priority > 254) g_priority = 254;
  if (!g_ops_mask) g_ops_mask = 1;
  g_rng.state = seed;
  g_ut = me.untyped_slot;
  g_ct = me.captbl_slot;
  g_canary = cos::dep("canary");
  g_first_free = me.first_free_slot ? me.first_free_slot : 1;
  g_table_size = probe_table_size();
  g_cpus = static_cast<uint64_t>(sys::cpu_count());
  cos::printf("fuzz: seed %lu, %lu calls, %lu CPUs\n", static_cast<unsigned long>(seed), static_cast<unsigned long>(calls),
              static_cast<unsigned long>(g_cpus));
  if (g_ops_mask != (1ull << kOpRows) - 1) cos::printf("fuzz: only operations %#lx\n", static_cast<unsigned long>(g_ops_mask));
  cos::printf("fuzz: %lu slots, first free %lu; untyped in slot %lu (%lu KiB), own table in slot %lu, canary gate in "
              "slot %lu\n",
              static_cast<unsigned long>(g_table_size), static_cast<unsigned long>(g_first_free),
              static_cast<unsigned long>(g_ut), static_cast<unsigned long>(me.untyped_bytes / 1024),
              static_cast<unsigned long>(g_ct), static_cast<unsigned long>(g_canary));
  if (!g_ut || !g_ct) cos::printf("fuzz: warning: no untyped memory or capability table granted; few calls can succeed\n");

  // The canary runs first (higher priority); make sure it is set up.
  if (g_canary) {
    for (int i = 0; i < 1000; ++i) {
      sys::SinvResult r = cos::invoke(g_canary, canary::kOpReady);
      if (r.r0 == 1) break;
      sys::thd_yield();
    }
  }

  for (uint64_t i = 0; i < calls; ++i) {
    Call c = make_call();
    int64_t r = issue(c, i);
    check_result(c, r, i);
    count(c, r);
    after(c, r);
    if (progress && (i + 1) % progress == 0)
      cos::printf("fuzz: %lu calls, %lu succeeded, %lu components and %lu threads created, %lu violations\n",
                  static_cast<unsigned long>(i + 1), static_cast<unsigned long>(g_results[0] + g_results[kRowPositive]),
                  static_cast<unsigned long>(g_op_ok[static_cast<uint64_t>(Op::comp_create)]),
                  static_cast<unsigned long>(g_op_ok[static_cast<uint64_t>(Op::thd_create)]),
                  static_cast<unsigned long>(g_violations));
  }

  report();
  census();
  reclaim();
  bool canary_ok = verify_canary();
  if (g_violations) cos::printf("fuzz: %lu contract violations (first 20 printed above)\n", static_cast<unsigned long>(g_violations));
  cos::printf("fuzz: done, %lu calls returned%s\n", static_cast<unsigned long>(calls),
              canary_ok && !g_violations ? "" : " (WITH FAILURES)");
  return 0;
}
