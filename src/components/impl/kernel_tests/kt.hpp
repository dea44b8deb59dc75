// kernel_tests: the in-system test suite of the system-call ABI
// (src/include/cos/abi.hpp), in the spirit of sel4test. This header is the
// tiny test framework shared by the test files:
//
//   KT_CASE(name) { ... }      defines and registers a test case; cases run in
//                              registration order (file order in CMake, then
//                              definition order inside a file).
//   KT_ASSERT(expr)            fails the case (and returns from it) unless expr
//   KT_EQ(a, b)                fails unless a == b (as int64_t), printing both
//   KT_CMP(a, op, b)           fails unless a op b (op: < <= > >= !=), printing both
//   KT_ERR(call, error)        KT_EQ(call, cos::abi::Error::error)
//   KT_OK(call)                KT_EQ(call, 0)
//   KT_CHECK*(...)             the same for helpers returning bool
//
// Every case prints `PASS <name>` or `FAIL <name>: <expr> at <file>:<line>`
// (for KT_EQ/KT_CMP followed by ` (got X, expected [op] Y)`); only the first failure of a
// case is reported. At the end the runner prints
// `kernel_tests: N passed, M failed` and the plain line `N passed, M failed`.
//
// Resources a case takes through this header are released after it, even
// when it fails half way: slots from kt::slot() are deleted (newest first),
// the scratch pages kt::scratch(0..kScratchPages-1) of the component's own
// page table are unmapped, and helper threads are waited for.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "runtime/cos.hpp"

namespace kt {

namespace sys = cos::sys;
using cos::abi::Error;
using cos::abi::ObjType;
using cos::abi::Op;
namespace Rights = cos::abi::Rights;

constexpr uint64_t kPage = 4096;

// ---------------------------------------------------------------------------
// Registry and assertions

using CaseFn = void (*)();
struct Register {
  Register(const char* name, CaseFn fn);
};

/// Records the first failure of the running case; always returns false.
bool fail(const char* expr, const char* file, int line);
bool fail_eq(const char* expr, const char* file, int line, int64_t got, int64_t want);
bool fail_cmp(const char* expr, const char* file, int line, int64_t got, const char* op, int64_t bound);
/// True once the running case has failed.
bool failed();
/// Name of an abi::Error value ("empty_slot"), or "" for other numbers.
const char* error_name(int64_t v);

inline int64_t E(Error e) { return static_cast<int64_t>(e); }

}  // namespace kt

#define KT_CASE(name)                                              \
  static void kt_case_##name();                                    \
  static ::kt::Register kt_register_##name(#name, kt_case_##name); \
  static void kt_case_##name()

#define KT_ASSERT(expr)                           \
  do {                                            \
    if (!(expr)) {                                \
      ::kt::fail(#expr, __FILE__, __LINE__);      \
      return;                                     \
    }                                             \
  } while (0)

#define KT_EQ(a, b)                                                      \
  do {                                                                   \
    int64_t kt_got_ = static_cast<int64_t>(a);                           \
    int64_t kt_want_ = static_cast<int64_t>(b);                          \
    if (kt_got_ != kt_want_) {                                           \
      ::kt::fail_eq(#a " == " #b, __FILE__, __LINE__, kt_got_, kt_want_); \
      return;                                                            \
    }                                                                    \
  } while (0)

// Ordered comparisons: KT_CMP(a, >=, b) fails unless a >= b (as int64_t).
#define KT_CMP(a, op, b)                                                          \
  do {                                                                            \
    int64_t kt_got_ = static_cast<int64_t>(a);                                    \
    int64_t kt_want_ = static_cast<int64_t>(b);                                   \
    if (!(kt_got_ op kt_want_)) {                                                 \
      ::kt::fail_cmp(#a " " #op " " #b, __FILE__, __LINE__, kt_got_, #op, kt_want_); \
      return;                                                                     \
    }                                                                             \
  } while (0)

#define KT_ERR(call, err) KT_EQ(call, ::cos::abi::Error::err)
#define KT_OK(call) KT_EQ(call, 0)

// Variants for helpers that return bool (false = the case has failed).
#define KT_CHECK(expr)                       \
  do {                                       \
    if (!(expr)) {                           \
      return ::kt::fail(#expr, __FILE__, __LINE__); \
    }                                        \
  } while (0)

#define KT_CHECK_EQ(a, b)                                                       \
  do {                                                                          \
    int64_t kt_got_ = static_cast<int64_t>(a);                                  \
    int64_t kt_want_ = static_cast<int64_t>(b);                                 \
    if (kt_got_ != kt_want_)                                                    \
      return ::kt::fail_eq(#a " == " #b, __FILE__, __LINE__, kt_got_, kt_want_); \
  } while (0)

#define KT_CHECK_OK(call) KT_CHECK_EQ(call, 0)

namespace kt {

// ---------------------------------------------------------------------------
// What the composition script granted (see composition_scripts/kernel_tests.toml)

struct Env {
  uint64_t ut;          ///< untyped memory
  uint64_t ut_bytes;
  uint64_t captbl;      ///< our own capability table
  uint64_t pgtbl;       ///< our own page table
  uint64_t comp;        ///< ourselves
  uint64_t timer;
  uint64_t console;     ///< console input (hardware.console)
  uint64_t io;          ///< I/O ports [io_first, io_first + io_count)
  uint32_t io_first, io_count;
  uint64_t irq;         ///< the IRQ line irq_line
  uint32_t irq_line;
  uint64_t gate;        ///< sinv gate into kernel_tests_server ("ktest")
  uint64_t first_free;  ///< first slot the booter left empty
  uint64_t table_size;  ///< slots in our table (probed: first bad_slot)
  uint64_t main_prio;   ///< priority of our main thread (script, param main_priority)
  uint64_t ceiling;     ///< our priority ceiling (script's priority_ceiling, param priority_ceiling)
};
const Env& env();

/// A fresh empty slot of our table, deleted after the case; 0 (and a
/// recorded failure) when the table is full.
uint64_t slot();

/// Scratch page n (0 <= n < kScratchPages) of our own address space, at
/// 0x0000300000000000 + n * 4096; every one is unmapped after each case.
constexpr unsigned kScratchPages = 32;
constexpr uint64_t kScratchBase = 0x0000300000000000ull;
inline uint64_t scratch(unsigned n) { return kScratchBase + n * kPage; }
template <typename T = uint64_t>
inline volatile T* at(uint64_t va) {
  return reinterpret_cast<volatile T*>(va);
}

/// A new object of `type` (npages) from the main untyped in a fresh slot, or 0.
uint64_t make(ObjType type, uint64_t npages = 1);
/// A child untyped of `pages` pages in a fresh slot, or 0.
uint64_t make_untyped(uint64_t pages);
/// The largest frame (in pages, up to `max`) untyped `ut` can still give:
/// its biggest free run. Binary search with retype/cap_delete in one slot.
uint64_t largest_run(uint64_t ut, uint64_t max);
/// A copy of `src` with `rights` in a fresh slot of our own table, or 0.
uint64_t copy(uint64_t src, uint64_t rights);
/// Maps page `page` of `frame` at scratch page n of our own table with `rights`.
bool map_scratch(unsigned n, uint64_t frame, uint64_t page = 0,
                 uint64_t rights = Rights::read | Rights::write);
/// A rcv endpoint (rcv) and an asnd endpoint to it (asnd), fresh slots.
bool make_endpoint(uint64_t& rcv, uint64_t& asnd);

/// Blocks for about `us` microseconds (rcv with a timeout on an endpoint
/// nobody notifies); lets lower-priority threads run meanwhile.
void sleep_us(uint64_t us);

/// cap_info helpers.
inline int64_t info_type(int64_t info) { return info < 0 ? info : (info & 0xff); }
inline int64_t info_rights(int64_t info) { return info < 0 ? info : (info >> 8); }
inline int64_t info_of(ObjType t, uint64_t rights) {
  return static_cast<int64_t>(static_cast<uint64_t>(t) | rights << 8);
}

// ---------------------------------------------------------------------------
// Helper threads in our own component (stack from a small static pool).

struct Helper {
  volatile int state = 0;  ///< 0 idle, 1 started, 2 finished (set just before thd_exit)
  void (*fn)(Helper&) = nullptr;
  uint64_t a = 0, b = 0, c = 0;  ///< arguments (slots, counts)
  volatile int64_t r0 = 0, r1 = 0;
  volatile int flag = 0;
  volatile int stop = 0;    ///< set by the case to end a spinning helper
  volatile uint64_t t = 0;  ///< a timestamp or order number
  uint64_t thd = 0;         ///< thread capability slot
  int stack = -1;           ///< index in the stack pool
};
/// A reset Helper from a static pool, valid until the end of the case (a
/// helper still running when its case returns must not point at the case's
/// stack frame).
Helper& helper();
/// Creates and starts a thread running fn(h) at `prio` in component `comp`
/// (0: ourselves; another component must share our page table, as fn runs
/// our code on a stack of ours, and it makes its system calls with that
/// component's capability table). The thread object comes from untyped `ut`
/// (0: the main untyped).
bool start_helper(Helper& h, void (*fn)(Helper&), uint64_t prio, uint64_t ut = 0, uint64_t comp = 0);
/// Sleeps in 1 ms steps until the helper has finished (its stack is then free
/// for the next start_helper, and h may be started again); false on timeout.
bool wait_helper(Helper& h, uint64_t timeout_us = 2000000);

/// A monotonically increasing counter helpers use to record their order.
int next_order();

/// What a long kernel operation does to interrupt latency (t_revoke.cpp,
/// t_untyped.cpp): a helper at a higher priority than ours that the periodic
/// timer wakes every tick records when each wakeup happened.
///   TickProbe p;  KT_ASSERT(p.start());  ... t0 = now; operation; t1 = now ...
///   TickProbe::Gaps g = p.gaps(t0, t1);  KT_ASSERT(p.stop());
/// The timer is unbound when the probe goes out of scope, however the case ends.
class TickProbe {
 public:
  struct Gaps {
    int64_t ran_ticks;  ///< (t1 - t0) in ticks
    int during;         ///< wakeups in [t0, t1]
    int64_t worst_us;   ///< the longest stretch of [t0, t1] without one
  };
  ~TickProbe();
  /// Binds the timer (one tick) to a fresh endpoint and starts the helper at
  /// our priority - 1; waits 5 ticks so it runs. False (recorded) on failure.
  bool start();
  /// The wakeups recorded so far; gaps() looks at those after `from`.
  Gaps gaps(int64_t t0, int64_t t1) const;
  /// Ends the helper; false (recorded) if it saw an unexpected rcv result.
  bool stop();

 private:
  Helper* h_ = nullptr;
  uint64_t ep_ = 0;
  int from_ = 0;
};

/// Gates with this token into a component sharing our address space run
/// spin_until_released (t_sched.cpp): the invoking thread spins inside the
/// server, counting, until the case releases it; returns (1, spins).
constexpr uint64_t kSpinToken = 78;
cos::sys::SinvResult spin_until_released();

// ---------------------------------------------------------------------------
// Child components running hand-assembled code (kt_blobs.S).

/// A code blob: the bytes between two labels of kt_blobs.S.
struct Blob {
  const uint8_t* start;
  const uint8_t* end;
  uint64_t size() const { return static_cast<uint64_t>(end - start); }
};

/// Child layout: code page at kChildCode (read + exec), a data page at
/// kChildData (read + write unless asked otherwise), stack top kChildStackTop.
/// Child capability table: kChildAsnd (an asnd capability, if given),
/// kChildSelfGate (a gate into the child itself, if made).
constexpr uint64_t kChildCode = 0x400000;
constexpr uint64_t kChildData = 0x600000;
constexpr uint64_t kChildStackTop = 0x601000;
constexpr uint64_t kChildAsnd = 1;
constexpr uint64_t kChildSelfGate = 2;
/// Offset of the second blob in the child's code page.
constexpr uint64_t kBlob2 = 0x800;

struct Child {
  uint64_t ct = 0, pt = 0, comp = 0;  ///< capability table, page table, component
  uint64_t code = 0, data = 0;        ///< frames
  /// Builds the component with `blob` copied to kChildCode and `blob2` (if
  /// any) to kChildCode + kBlob2. data_rights: how the data page is mapped in
  /// the child. asnd: if non-zero, copied to the child's slot kChildAsnd with
  /// write rights.
  bool build(const Blob& blob, uint64_t asnd = 0,
             uint64_t data_rights = Rights::read | Rights::write, const Blob* blob2 = nullptr);
  /// A gate into the child at kChildCode + offset, in a fresh slot (0 on error).
  uint64_t gate(uint64_t offset = 0, uint64_t token = 0);
  /// Creates (in a fresh slot) and starts a child thread at kChildCode +
  /// offset (or at `entry` if offset is ~0) with rdi = arg. 0 on error.
  uint64_t thread(uint64_t offset, uint64_t arg, uint64_t prio, uint64_t entry = 0);
};

}  // namespace kt

// Blobs and helpers in kt_blobs.S.
extern "C" {
#define KT_BLOB(n) extern const uint8_t kt_blob_##n##_start[], kt_blob_##n##_end[];
KT_BLOB(asnd_exit)
KT_BLOB(asnd_n_exit)
KT_BLOB(asnd_comp_exit)
KT_BLOB(sret_echo)
KT_BLOB(ud2)
KT_BLOB(asnd_store_asnd_exit)
KT_BLOB(spin)
KT_BLOB(recurse)
KT_BLOB(regleak)
KT_BLOB(tf_syscall)
KT_BLOB(fpu_probe)
KT_BLOB(read_count)
#undef KT_BLOB
/// Fills every FPU/SSE register with markers, invokes `gate` with a raw sinv
/// and stores the FPU/SSE state the kernel returns with in out (512-byte
/// FXSAVE image, 16-byte aligned). Returns the server's r0 (kt_blobs.S).
int64_t kt_fpu_sinv_probe(uint64_t gate, void* out);
/// Thread entry for helper threads: calls kt_thread_main(rdi), marks the
/// helper finished and exits.
void kt_thread_entry();
/// sinv(slot, op 0, 0, 0, 0) with rbx, rbp, r9, r12..r15 holding known
/// non-zero values; returns rax.
int64_t kt_sinv_with_secrets(uint64_t slot);
/// The runtime's server-side sinv entry (lib/runtime/sinv.S).
void __cos_sinv_entry();
}

#define KT_BLOB_OF(n) (::kt::Blob{kt_blob_##n##_start, kt_blob_##n##_end})
