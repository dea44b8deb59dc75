// kernel_tests: the runner (main), the case registry, failure reporting and
// the resource helpers of kt.hpp.
#include <stddef.h>

#include "kernel_tests/kt.hpp"

namespace kt {
namespace {

// ---------------------------------------------------------------------------
// Registry

struct Case {
  const char* name;
  CaseFn fn;
};
constexpr int kMaxCases = 256;
Case g_cases[kMaxCases];
int g_case_count;

// The running case and its first failure.
struct Failure {
  bool failed;
  bool has_values;
  const char* expr;
  const char* file;
  int line;
  int64_t got, want;
  const char* op;  ///< "" for equality, else the comparison that failed
};
Failure g_fail;

const char* base_name(const char* path) {
  const char* b = path;
  for (const char* p = path; *p; ++p)
    if (*p == '/') b = p + 1;
  return b;
}

// ---------------------------------------------------------------------------
// Slots, scratch pages, helpers

Env g_env;
constexpr uint64_t kMaxTrackedSlots = 4096;
uint8_t g_slot_reserved[kMaxTrackedSlots];  // 1 = taken by a case (or permanently)
uint64_t g_case_slots[256];                 // slots of the running case, in order
unsigned g_case_slot_count;
uint64_t g_sleep_rcv;                       // endpoint nobody notifies (sleep_us)

constexpr int kHelperStacks = 6;
constexpr uint64_t kHelperStackBytes = 16384;
alignas(16) uint8_t g_stacks[kHelperStacks][kHelperStackBytes];
bool g_stack_busy[kHelperStacks];
Helper* g_stack_owner[kHelperStacks];

constexpr int kHelperPool = 8;
Helper g_helpers[kHelperPool];
int g_helpers_used;  // per case
int g_order;

uint64_t reserve_slot() {
  uint64_t limit = g_env.table_size < kMaxTrackedSlots ? g_env.table_size : kMaxTrackedSlots;
  for (uint64_t s = g_env.first_free; s < limit; ++s) {
    if (g_slot_reserved[s]) continue;
    if (sys::cap_info(s) != E(Error::empty_slot)) continue;  // left over: never reuse
    g_slot_reserved[s] = 1;
    return s;
  }
  return 0;
}

void release_stacks(bool wait) {
  for (int i = 0; i < kHelperStacks; ++i) {
    if (!g_stack_busy[i] || !g_stack_owner[i]) continue;
    Helper* h = g_stack_owner[i];
    if (wait && h->state == 1) wait_helper(*h);
    if (h->state == 2) {
      g_stack_busy[i] = false;
      g_stack_owner[i] = nullptr;
      h->stack = -1;
    } else {
      // A helper that never finished keeps its stack (and Helper) for good.
      cos::printf("kernel_tests: warning: a helper thread did not finish; its stack stays reserved\n");
      g_stack_owner[i] = nullptr;  // keep busy
    }
  }
}

void cleanup_case() {
  release_stacks(true);
  for (unsigned n = 0; n < kScratchPages; ++n) sys::pgtbl_unmap(g_env.pgtbl, scratch(n));
  for (unsigned i = g_case_slot_count; i-- > 0;) {
    sys::cap_delete(g_case_slots[i]);
    g_slot_reserved[g_case_slots[i]] = 0;
  }
  g_case_slot_count = 0;
  g_helpers_used = 0;
}

void init_env() {
  const cos::boot::CompInfo& ci = cos::self();
  g_env.ut = ci.untyped_slot;
  g_env.ut_bytes = ci.untyped_bytes;
  g_env.captbl = ci.captbl_slot;
  g_env.pgtbl = ci.pgtbl_slot;
  g_env.comp = ci.comp_slot;
  g_env.timer = ci.timer_slot;
  g_env.console = ci.console_slot;
  if (ci.ioport_count > 0) {
    g_env.io = ci.ioports[0].slot;
    g_env.io_first = ci.ioports[0].first;
    g_env.io_count = ci.ioports[0].count;
  }
  if (ci.irq_count > 0) {
    g_env.irq = ci.irqs[0].slot;
    g_env.irq_line = ci.irqs[0].line;
  }
  g_env.gate = cos::dep("ktest");
  g_env.first_free = ci.first_free_slot;
  g_env.main_prio = cos::param_u64("main_priority", 100);
  g_env.ceiling = cos::param_u64("priority_ceiling", g_env.main_prio);
  // The table size is not in the info page: it is the first slot cap_info
  // calls bad_slot (the table test checks that this is a whole number of pages).
  g_env.table_size = 0;
  for (uint64_t s = g_env.first_free ? g_env.first_free : 1; s < (1u << 16); ++s) {
    if (sys::cap_info(s) == E(Error::bad_slot)) {
      g_env.table_size = s;
      break;
    }
  }
  if (g_env.table_size == 0) {
    cos::printf("kernel_tests: warning: no bad_slot found probing the table; assuming 64 slots\n");
    g_env.table_size = 64;
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Registry and assertions

Register::Register(const char* name, CaseFn fn) {
  if (g_case_count < kMaxCases) g_cases[g_case_count++] = Case{name, fn};
}

bool fail(const char* expr, const char* file, int line) {
  if (!g_fail.failed) g_fail = Failure{true, false, expr, file, line, 0, 0, ""};
  return false;
}

bool fail_eq(const char* expr, const char* file, int line, int64_t got, int64_t want) {
  if (!g_fail.failed) g_fail = Failure{true, true, expr, file, line, got, want, ""};
  return false;
}

bool fail_cmp(const char* expr, const char* file, int line, int64_t got, const char* op, int64_t bound) {
  if (!g_fail.failed) g_fail = Failure{true, true, expr, file, line, got, bound, op};
  return false;
}

bool failed() { return g_fail.failed; }

const char* error_name(int64_t v) { return v == 0 ? "ok" : cos::abi::error_name(v); }

const Env& env() { return g_env; }

// ---------------------------------------------------------------------------
// Resources

uint64_t slot() {
  uint64_t s = 0;
  if (g_case_slot_count < sizeof(g_case_slots) / sizeof(g_case_slots[0])) s = reserve_slot();
  if (s == 0) {
    fail("a free slot in our capability table (kt::slot)", __FILE__, __LINE__);
    return 0;
  }
  g_case_slots[g_case_slot_count++] = s;
  return s;
}

uint64_t make(ObjType type, uint64_t npages) {
  uint64_t s = slot();
  if (!s) return 0;
  int64_t r = sys::retype(g_env.ut, s, type, npages);
  if (r != 0) {
    fail_eq("kt::make: sys::retype(env().ut, s, type, npages) == 0", __FILE__, __LINE__, r, 0);
    return 0;
  }
  return s;
}

uint64_t make_untyped(uint64_t pages) { return make(ObjType::untyped, pages); }

uint64_t largest_run(uint64_t ut, uint64_t max) {
  const uint64_t s = slot();
  return s ? cos::largest_frame_pages(ut, s, max) : 0;
}

uint64_t copy(uint64_t src, uint64_t rights) {
  uint64_t s = slot();
  if (!s) return 0;
  int64_t r = sys::cap_copy(g_env.captbl, s, src, rights);
  if (r != 0) {
    fail_eq("kt::copy: sys::cap_copy(env().captbl, s, src, rights) == 0", __FILE__, __LINE__, r, 0);
    return 0;
  }
  return s;
}

bool map_scratch(unsigned n, uint64_t frame, uint64_t page, uint64_t rights) {
  KT_CHECK(n < kScratchPages);
  KT_CHECK_OK(sys::pgtbl_map(g_env.pgtbl, scratch(n), frame, page, rights, g_env.ut));
  return true;
}

bool make_endpoint(uint64_t& rcv, uint64_t& asnd) {
  rcv = make(ObjType::rcv, 1);
  KT_CHECK(rcv != 0);
  asnd = slot();
  KT_CHECK(asnd != 0);
  KT_CHECK_OK(sys::asnd_create(g_env.ut, asnd, rcv));
  return true;
}

void sleep_us(uint64_t us) {
  if (g_sleep_rcv) sys::rcv(g_sleep_rcv, us, 0);
}

int next_order() { return ++g_order; }

namespace {
constexpr int kMaxWakeups = 8192;
int64_t g_wake_at[kMaxWakeups];

// h.a: an endpoint bound to the periodic timer. Records when each rcv
// returns until h.stop; r0 = wakeups recorded, r1 = the first unexpected result.
void record_ticks(Helper& h) {
  int n = 0;
  h.flag = 1;
  while (!h.stop && n < kMaxWakeups) {
    int64_t r = sys::rcv(h.a, 1000000, 0);
    if (r < 1) {
      h.r1 = r;
      break;
    }
    g_wake_at[n++] = sys::time_now();
    h.r0 = n;
  }
}
}  // namespace

TickProbe::~TickProbe() {
  if (ep_) sys::timer_bind(env().timer, ep_, 0);
}

bool TickProbe::start() {
  ep_ = make(ObjType::rcv, 1);
  KT_CHECK(ep_ != 0);
  h_ = &helper();
  h_->a = ep_;
  KT_CHECK_OK(sys::timer_bind(env().timer, ep_, cos::abi::kTickUs));
  KT_CHECK(start_helper(*h_, record_ticks, env().main_prio - 1));
  KT_CHECK_EQ(h_->flag, 1);  // it ran at once (higher priority) and now waits for the timer
  sleep_us(5 * cos::abi::kTickUs);
  from_ = static_cast<int>(h_->r0);
  return true;
}

TickProbe::Gaps TickProbe::gaps(int64_t t0, int64_t t1) const {
  const int to = static_cast<int>(h_->r0);
  int64_t last = t0, worst = 0;
  int during = 0;
  for (int i = from_; i < to; ++i) {
    if (g_wake_at[i] < t0 || g_wake_at[i] > t1) continue;
    ++during;
    if (g_wake_at[i] - last > worst) worst = g_wake_at[i] - last;
    last = g_wake_at[i];
  }
  if (t1 - last > worst) worst = t1 - last;
  return Gaps{(t1 - t0) / static_cast<int64_t>(cos::abi::kTickUs), during, worst};
}

bool TickProbe::stop() {
  h_->stop = 1;
  KT_CHECK(wait_helper(*h_));
  KT_CHECK_EQ(h_->r1, 0);
  return true;
}

bool start_helper(Helper& h, void (*fn)(Helper&), uint64_t prio, uint64_t ut, uint64_t comp) {
  int st = -1;
  for (int i = 0; i < kHelperStacks; ++i)
    if (!g_stack_busy[i]) {
      st = i;
      break;
    }
  KT_CHECK(st >= 0);  // the helper stack pool is exhausted
  h.fn = fn;
  h.state = 1;
  h.thd = slot();
  KT_CHECK(h.thd != 0);
  KT_CHECK_OK(sys::thd_create(ut ? ut : g_env.ut, h.thd, comp ? comp : g_env.comp,
                              reinterpret_cast<uint64_t>(&kt_thread_entry), reinterpret_cast<uint64_t>(&h)));
  g_stack_busy[st] = true;
  g_stack_owner[st] = &h;
  h.stack = st;
  uint64_t top = reinterpret_cast<uint64_t>(&g_stacks[st][kHelperStackBytes]);
  int64_t r = sys::thd_start(h.thd, top, prio);
  if (r != 0) {
    h.state = 2;  // never ran: the stack is free again
    return fail_eq("kt::start_helper: sys::thd_start(h.thd, top, prio) == 0", __FILE__, __LINE__, r, 0);
  }
  return true;
}

bool wait_helper(Helper& h, uint64_t timeout_us) {
  uint64_t waited = 0;
  while (h.state == 1 && waited < timeout_us) {
    sleep_us(1000);
    waited += 1000;
  }
  if (h.state == 1) return false;
  // state 2 is set just before the helper's thd_exit: give a lower-priority
  // helper the time to make that call too. Then its stack may serve another.
  sleep_us(1000);
  if (h.stack >= 0 && g_stack_owner[h.stack] == &h) {
    g_stack_busy[h.stack] = false;
    g_stack_owner[h.stack] = nullptr;
    h.stack = -1;
  }
  return true;
}

Helper& helper() {
  // Pool entries still owning a stack (a helper that never finished) are skipped.
  while (g_helpers_used < kHelperPool && g_helpers[g_helpers_used].stack >= 0) ++g_helpers_used;
  if (g_helpers_used >= kHelperPool) {
    fail("a free kt::Helper (pool exhausted)", __FILE__, __LINE__);
    static Helper dummy;
    dummy = Helper{};
    return dummy;
  }
  Helper& h = g_helpers[g_helpers_used++];
  h = Helper{};
  return h;
}

// ---------------------------------------------------------------------------
// Child components

bool Child::build(const Blob& blob, uint64_t asnd, uint64_t data_rights, const Blob* blob2) {
  const Env& e = g_env;
  KT_CHECK(blob.size() > 0 && blob.size() <= kBlob2);
  KT_CHECK(!blob2 || blob2->size() <= kPage - kBlob2);
  ct = make(ObjType::captbl, 1);
  KT_CHECK(ct != 0);
  pt = make(ObjType::pgtbl, 1);
  KT_CHECK(pt != 0);
  comp = slot();
  KT_CHECK(comp != 0);
  KT_CHECK_OK(sys::comp_create(e.ut, comp, ct, pt, "kt_child", 8));
  code = make(ObjType::frame, 1);
  KT_CHECK(code != 0);
  data = make(ObjType::frame, 1);
  KT_CHECK(data != 0);
  // Fill the code page through the last scratch page of our own table.
  constexpr unsigned kFill = kScratchPages - 1;
  KT_CHECK(map_scratch(kFill, code, 0, Rights::read | Rights::write));
  auto* dst = reinterpret_cast<volatile uint8_t*>(scratch(kFill));
  for (uint64_t i = 0; i < blob.size(); ++i) dst[i] = blob.start[i];
  if (blob2)
    for (uint64_t i = 0; i < blob2->size(); ++i) dst[kBlob2 + i] = blob2->start[i];
  KT_CHECK_OK(sys::pgtbl_unmap(e.pgtbl, scratch(kFill)));
  KT_CHECK_OK(sys::pgtbl_map(pt, kChildCode, code, 0, Rights::read | Rights::exec, e.ut));
  KT_CHECK_OK(sys::pgtbl_map(pt, kChildData, data, 0, data_rights, e.ut));
  if (asnd) KT_CHECK_OK(sys::cap_copy(ct, kChildAsnd, asnd, Rights::write));
  return true;
}

uint64_t Child::gate(uint64_t offset, uint64_t token) {
  uint64_t g = slot();
  if (!g) return 0;
  int64_t r = sys::sinv_create(g_env.ut, g, comp, kChildCode + offset, token);
  if (r != 0) {
    fail_eq("Child::gate: sys::sinv_create(env().ut, g, comp, entry, token) == 0", __FILE__, __LINE__, r, 0);
    return 0;
  }
  return g;
}

uint64_t Child::thread(uint64_t offset, uint64_t arg, uint64_t prio, uint64_t entry) {
  uint64_t t = slot();
  if (!t) return 0;
  uint64_t pc = entry ? entry : kChildCode + offset;
  int64_t r = sys::thd_create(g_env.ut, t, comp, pc, arg);
  if (r != 0) {
    fail_eq("Child::thread: sys::thd_create(env().ut, t, comp, pc, arg) == 0", __FILE__, __LINE__, r, 0);
    return 0;
  }
  r = sys::thd_start(t, kChildStackTop, prio);
  if (r != 0) {
    fail_eq("Child::thread: sys::thd_start(t, kChildStackTop, prio) == 0", __FILE__, __LINE__, r, 0);
    return 0;
  }
  return t;
}

}  // namespace kt

static_assert(offsetof(kt::Helper, state) == 0, "kt_thread_entry stores Helper::state at offset 0");

extern "C" void kt_thread_main(kt::Helper* h) { h->fn(*h); }

// Our own sinv entry (gates made with sinv_create into ourselves; no
// interface is declared in the script). Tokens:
//   77: op 0 returns (a0 * 2, token); op 1 invokes kernel_tests_server op 0
//       with (a0, a1, a2) from inside this invocation and returns its result.
extern "C" cos::sys::SinvResult cos_serve(uint64_t token, uint64_t op, uint64_t a0, uint64_t a1,
                                          uint64_t a2) {
  if (token == 77 && op == 0) return {static_cast<int64_t>(a0 * 2), static_cast<int64_t>(token)};
  if (token == 77 && op == 1) return cos::invoke(kt::env().gate, 0, a0, a1, a2);
  if (token == kt::kSpinToken) return kt::spin_until_released();
  return {static_cast<int64_t>(cos::abi::Error::bad_op), 0};
}

namespace {
bool starts_with(const char* s, const char* prefix) {
  while (*prefix && *s == *prefix) ++s, ++prefix;
  return *prefix == 0;
}
}  // namespace

int main() {
  using namespace kt;
  init_env();
  // Permanent resources: the sleep endpoint.
  uint64_t s = reserve_slot();
  if (s && sys::retype(g_env.ut, s, ObjType::rcv, 1) == 0) {
    g_sleep_rcv = s;
  } else {
    cos::printf("kernel_tests: warning: cannot create the sleep endpoint; sleeps do not block\n");
  }
  cos::printf("kernel_tests: %d cases; table of %lu slots (first free %lu), untyped %lu KiB, "
              "main priority %lu\n",
              g_case_count, static_cast<unsigned long>(g_env.table_size),
              static_cast<unsigned long>(g_env.first_free), static_cast<unsigned long>(g_env.ut_bytes / 1024),
              static_cast<unsigned long>(g_env.main_prio));
  // Param `only`: run just the cases whose names start with it.
  const char* only = cos::param("only");
  if (only) cos::printf("kernel_tests: only the cases starting with '%s'\n", only);
  int passed = 0, failed_count = 0;
  for (int i = 0; i < g_case_count; ++i) {
    if (only && !starts_with(g_cases[i].name, only)) continue;
    g_fail = Failure{};
    g_cases[i].fn();
    cleanup_case();
    if (!g_fail.failed) {
      ++passed;
      cos::printf("PASS %s\n", g_cases[i].name);
    } else {
      ++failed_count;
      if (g_fail.has_values)
        cos::printf("FAIL %s: %s at %s:%d (got %ld%s%s, expected %s%s%ld%s%s)\n", g_cases[i].name, g_fail.expr,
                    base_name(g_fail.file), g_fail.line, static_cast<long>(g_fail.got),
                    *error_name(g_fail.got) ? " " : "", error_name(g_fail.got), g_fail.op, *g_fail.op ? " " : "",
                    static_cast<long>(g_fail.want), *error_name(g_fail.want) ? " " : "", error_name(g_fail.want));
      else
        cos::printf("FAIL %s: %s at %s:%d\n", g_cases[i].name, g_fail.expr, base_name(g_fail.file), g_fail.line);
    }
  }
  cos::printf("kernel_tests: %d passed, %d failed\n", passed, failed_count);
  cos::printf("%d passed, %d failed\n", passed, failed_count);
  return 0;
}
