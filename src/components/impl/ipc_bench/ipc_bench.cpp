// ipc_bench: kernel IPC micro-benchmarks (composition_scripts/ipc_bench.toml,
// `./cos bench ipc`).
//
// Each benchmark runs `warmup` untimed-for-the-result iterations, then
// `iterations` timed ones (rdtsc serialized with lfence on both sides), keeps
// every sample on the heap, sorts them and reports the median and minimum in
// TSC cycles:
//   null_syscall        Op::nop
//   sinv_roundtrip      sinv into ipc_bench_srv (dependency "ipc_bench") and sret back
//   asnd_rcv_roundtrip  thread A: asnd to B's endpoint, rcv on its own; thread B
//                       does the reverse (same priority, same component)
//   thread_switch       two threads of the same priority calling thd_yield
//                       alternately; one sample = from just before one thread's
//                       thd_yield to just after the other thread's thd_yield returns
//   rdtsc_overhead      two back-to-back timestamps (included in every sample above)
//
// The second thread needs `untyped = "..."` and `caps = ["captbl", "pgtbl",
// "comp"]`: the benchmark maps a stack for it in its own page table, creates
// the endpoints and the thread (in itself, on its comp capability). Parameter
// `priority` must equal the component's own priority (the thread gets it).
//
// Output: one line per result,
//   ipc_bench: <name> median <m> min <n> cycles (<iters> iterations)
// and one machine-readable line `ipc_bench: json {...}`.
#include "runtime/cos.hpp"
#include "fmt/format.hpp"

extern "C" void bench_thread_entry();

namespace {

using cos::abi::ObjType;
namespace Rights = cos::abi::Rights;
namespace sys = cos::sys;

// In-place heapsort (no libc here; n is small enough that O(n log n) matters
// under emulation, so no insertion sort).
void sift(uint64_t* a, uint64_t start, uint64_t end) {
  uint64_t root = start;
  while (2 * root + 1 < end) {
    uint64_t child = 2 * root + 1;
    if (child + 1 < end && a[child] < a[child + 1]) ++child;
    if (a[root] >= a[child]) return;
    uint64_t t = a[root];
    a[root] = a[child];
    a[child] = t;
    root = child;
  }
}
void sort(uint64_t* a, uint64_t n) {
  if (n < 2) return;
  for (uint64_t i = n / 2; i-- > 0;) sift(a, i, n);
  for (uint64_t end = n - 1; end > 0; --end) {
    uint64_t t = a[0];
    a[0] = a[end];
    a[end] = t;
    sift(a, 0, end);
  }
}

struct Result {
  const char* name;
  uint64_t median = 0, min = 0, n = 0;
  bool ran = false;
};
constexpr int kResults = 6;
Result g_results[kResults] = {{"null_syscall"}, {"sinv_roundtrip"}, {"asnd_rcv_roundtrip"}, {"thread_switch"},
                              {"rdtsc_overhead"}, {"asnd_rcv_cross_cpu"}};
enum { kNull, kSinv, kAsnd, kSwitch, kTsc, kCrossCpu };

void summarize(Result& r, uint64_t* s, uint64_t n) {
  sort(s, n);
  r.n = n;
  r.ran = n > 0;
  if (n) {
    r.min = s[0];
    r.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  }
}

uint64_t g_warmup, g_iters;

// Runs `body` warmup + iterations times and summarizes the timed samples.
template <typename F>
void measure(Result& r, F body) {
  uint64_t* s = new uint64_t[g_iters];
  for (uint64_t i = 0; i < g_warmup + g_iters; ++i) {
    uint64_t t0 = cos::tsc_fenced();
    body();
    uint64_t t1 = cos::tsc_fenced();
    if (i >= g_warmup) s[i - g_warmup] = t1 - t0;
  }
  summarize(r, s, g_iters);
  delete[] s;
}

// ---------------------------------------------------------------- the two-thread benchmarks

constexpr uint64_t kStackVaddr = 0x30000000;  // thread B's stack (unused in every component)
constexpr uint64_t kStackPages = 4;

uint64_t g_rcv_a, g_rcv_b, g_snd_a, g_snd_b;  // endpoints: rcv_x is thread x's, snd_x notifies it
volatile int g_last_who = -1;                 // thread that yielded last (0 = A, 1 = B)
volatile uint64_t g_last_ts;
volatile uint64_t g_switches;                 // switch samples seen (warm-up included)
uint64_t* g_switch_samples;
uint64_t g_switch_cap;
volatile bool g_b_done;
volatile int64_t g_b_error;

void yield_loop(int me) {
  for (uint64_t i = 0; i < g_warmup + g_iters; ++i) {
    uint64_t now = cos::tsc_fenced();
    if (g_last_who == 1 - me) {
      uint64_t k = g_switches;
      g_switches = k + 1;
      if (k >= g_warmup && k - g_warmup < g_switch_cap) g_switch_samples[k - g_warmup] = now - g_last_ts;
    }
    g_last_who = me;
    g_last_ts = cos::tsc_fenced();
    sys::thd_yield();
  }
}

}  // namespace

// Thread B: echo every notification back, then take part in the yield test
// (`cross_cpu` 0); on CPU 1 (`cross_cpu` 1) only the echo.
extern "C" [[noreturn]] void bench_thread_main(uint64_t cross_cpu) {
  for (uint64_t i = 0; i < g_warmup + g_iters; ++i) {
    int64_t r = sys::rcv(g_rcv_b, 0, 0);
    if (r < 0 && !g_b_error) g_b_error = r;
    sys::asnd(g_snd_a);
  }
  if (!cross_cpu) yield_loop(1);
  g_b_done = true;
  sys::thd_exit();
}

namespace {

// Creates endpoints, a stack and thread B; false (with a message) if it cannot.
bool start_thread_b(uint64_t priority) {
  const cos::boot::CompInfo& me = cos::self();
  uint64_t ut = me.untyped_slot, pt = me.pgtbl_slot, comp = me.comp_slot;
  if (!ut || !pt || !comp) {
    cos::printf("ipc_bench: asnd/rcv and thread switch need untyped memory and caps = [\"pgtbl\", \"comp\"]; "
                "skipped\n");
    return false;
  }
  uint64_t s = me.first_free_slot;
  uint64_t frame = s++, thd = s++;
  g_rcv_a = s++, g_rcv_b = s++, g_snd_a = s++, g_snd_b = s++;
  const char* step = "a stack frame";
  int64_t r = sys::retype(ut, frame, ObjType::frame, kStackPages);
  for (uint64_t p = 0; r == 0 && p < kStackPages; ++p)
    step = "mapping the stack", r = sys::pgtbl_map(pt, kStackVaddr + p * 4096, frame, p, Rights::read | Rights::write, ut);
  if (r == 0) step = "receive endpoint A", r = sys::retype(ut, g_rcv_a, ObjType::rcv, 1);
  if (r == 0) step = "receive endpoint B", r = sys::retype(ut, g_rcv_b, ObjType::rcv, 1);
  if (r == 0) step = "send endpoint to A", r = sys::asnd_create(ut, g_snd_a, g_rcv_a);
  if (r == 0) step = "send endpoint to B", r = sys::asnd_create(ut, g_snd_b, g_rcv_b);
  if (r == 0)
    step = "thread B", r = sys::thd_create(ut, thd, comp, reinterpret_cast<uint64_t>(&bench_thread_entry), 0);
  if (r == 0) step = "starting thread B", r = sys::thd_start(thd, kStackVaddr + kStackPages * 4096, priority);
  if (r != 0) {
    cos::printf("ipc_bench: creating %s failed (%ld); asnd/rcv and thread switch skipped\n", step, static_cast<long>(r));
    return false;
  }
  return true;
}

// After thread B has ended: a second echo thread on CPU 1, on B's stack and
// endpoints, for the cross-CPU round trip; false (with a message) if not.
bool start_echo_on_cpu1(uint64_t priority) {
  const cos::boot::CompInfo& me = cos::self();
  const uint64_t thd = me.first_free_slot + 6;  // after start_thread_b's slots
  int64_t r = sys::thd_create(me.untyped_slot, thd, me.comp_slot, reinterpret_cast<uint64_t>(&bench_thread_entry), 1);
  if (r == 0) r = sys::thd_cpu(thd, 1);
  if (r == 0) r = sys::thd_start(thd, kStackVaddr + kStackPages * 4096, priority);
  if (r != 0) cos::printf("ipc_bench: the echo thread on CPU 1 failed (%ld); cross-CPU round trip skipped\n",
                          static_cast<long>(r));
  return r == 0;
}

void print_result(const Result& r) {
  if (r.ran)
    cos::printf("ipc_bench: %s median %lu min %lu cycles (%lu iterations)\n", r.name, static_cast<unsigned long>(r.median),
                static_cast<unsigned long>(r.min), static_cast<unsigned long>(r.n));
  else
    cos::printf("ipc_bench: %s not measured\n", r.name);
}

void print_json() {
  char buf[1024];
  size_t n = 0;
  auto add = [&](const char* fmt, auto... a) {
    n += cos::fmt::snformat(buf + n, sizeof(buf) - n, fmt, a...);
    if (n >= sizeof(buf)) n = sizeof(buf) - 1;
  };
  add("{\"unit\":\"tsc_cycles\",\"warmup\":%lu,\"iterations\":%lu,\"results\":{", static_cast<unsigned long>(g_warmup),
      static_cast<unsigned long>(g_iters));
  bool first = true;
  for (const Result& r : g_results) {
    if (!r.ran) continue;
    add("%s\"%s\":{\"median\":%lu,\"min\":%lu,\"samples\":%lu}", first ? "" : ",", r.name,
        static_cast<unsigned long>(r.median), static_cast<unsigned long>(r.min), static_cast<unsigned long>(r.n));
    first = false;
  }
  add("}}");
  cos::printf("ipc_bench: json %s\n", buf);
}

}  // namespace

int main() {
  g_iters = cos::param_u64("iterations", 10000);
  g_warmup = cos::param_u64("warmup", 1000);
  uint64_t priority = cos::param_u64("priority", 128);
  if (g_iters == 0) g_iters = 1;
  uint64_t gate = cos::dep("ipc_bench");
  cos::printf("ipc_bench: %lu iterations after %lu warm-up, rdtsc with lfence\n", static_cast<unsigned long>(g_iters),
              static_cast<unsigned long>(g_warmup));

  measure(g_results[kTsc], [] {});
  measure(g_results[kNull], [] { sys::nop(); });
  if (gate)
    measure(g_results[kSinv], [gate] { cos::invoke(gate, 0, 1); });
  else
    cos::printf("ipc_bench: no dependency 'ipc_bench'; sinv skipped\n");

  if (start_thread_b(priority)) {
    // asnd -> B wakes and asnds back -> rcv returns.
    measure(g_results[kAsnd], [] {
      sys::asnd(g_snd_b);
      sys::rcv(g_rcv_a, 0, 0);
    });
    if (g_b_error) cos::printf("ipc_bench: thread B's rcv failed (%ld)\n", static_cast<long>(g_b_error));
    g_switch_cap = 2 * (g_warmup + g_iters);
    g_switch_samples = new uint64_t[g_switch_cap];
    yield_loop(0);
    while (!g_b_done) sys::thd_yield();
    uint64_t n = g_switches > g_warmup ? g_switches - g_warmup : 0;
    if (n > g_iters) n = g_iters;  // both threads sampled: keep the first `iterations`
    if (n < g_iters)
      cos::printf("ipc_bench: only %lu thread switches observed (is parameter 'priority' the component's priority?)\n",
                  static_cast<unsigned long>(n));
    summarize(g_results[kSwitch], g_switch_samples, n);
    // With a second CPU: the same round trip with B's successor on CPU 1
    // (asnd wakes it with an IPI, its asnd back wakes us with one).
    if (sys::cpu_count() >= 2) {
      g_b_done = false;
      if (start_echo_on_cpu1(priority)) {
        measure(g_results[kCrossCpu], [] {
          sys::asnd(g_snd_b);
          sys::rcv(g_rcv_a, 0, 0);
        });
        while (!g_b_done) sys::thd_yield();
      }
    }
  }

  for (const Result& r : g_results)
    if (r.ran || &r != &g_results[kCrossCpu]) print_result(r);  // one CPU: no cross-CPU row
  print_json();
  cos::printf("ipc_bench: done\n");
  return 0;
}
