// vmtest: a small framework for in-system test suites of VMM components
// (vm_tests, hostile_guests). Cases register themselves at static
// initialisation with VT_CASE; the suite's main runs them with run_case()
// and prints one line per case:
//
//   PASS <prefix><name>[ (<note>)]
//   SKIP <prefix><name>: <why>
//   FAIL <prefix><name>: <expression> at <file>:<line> (got X, expected Y)
//
// The first failure of a case is reported; the VT_* macros return from the
// case function on failure. Component code (prints on the console).
#pragma once
#include <stdint.h>

#include "vmrt/error.hpp"

namespace vmtest {

using CaseFn = void (*)();
struct Case {
  const char* name;
  CaseFn fn;
};

/// Cases a suite can register.
inline constexpr int kMaxCases = 128;

/// Registers a case (VT_CASE makes one per case at static initialisation).
struct Register {
  Register(const char* name, CaseFn fn);
};

/// The registered cases, in registration (source) order.
int case_count();
const Case& case_at(int i);

enum class Verdict : uint8_t { pass, fail, skip };
/// Runs one case under `prefix` (e.g. "own_thread/", or "") and prints its
/// PASS/SKIP line (a FAIL line is printed when the failure happens).
Verdict run_case(const Case& c, const char* prefix = "");

/// Called after every case function, as part of the case (its checks can
/// still fail it), before the PASS/SKIP line: e.g. to tear down and check
/// what the case left behind. nullptr: none.
void set_after_case(void (*fn)());

/// The case running now and its prefix.
const char* current();
const char* prefix();
/// Renames the running case for the messages that follow (a case looping
/// over sub-cases names the one that fails); restore it afterwards.
void set_current(const char* name);
/// True once the running case failed or was skipped.
bool failed();

/// Records the case's first failure and prints its FAIL line.
void fail(const char* what, const char* file, int line);
void fail_eq(const char* what, const char* file, int line, uint64_t got, uint64_t want);
void fail_err(const char* what, const char* file, int line, const vmrt::Error& e);
/// Ends the case as skipped with a reason (the caller returns).
void skip(const char* why);
/// A short remark printed in parentheses after PASS (static text or a
/// buffer that lives until the case ends); the last one wins.
void note(const char* text);

}  // namespace vmtest

#define VT_CASE(name)                                                 \
  void vt_case_##name();                                              \
  ::vmtest::Register vt_register_##name(#name, vt_case_##name);       \
  void vt_case_##name()

#define VT_ASSERT(expr)                                  \
  do {                                                   \
    if (!(expr)) {                                       \
      ::vmtest::fail(#expr, __FILE__, __LINE__);         \
      return;                                            \
    }                                                    \
  } while (0)

#define VT_EQ(a, b)                                                           \
  do {                                                                        \
    uint64_t vt_got_ = static_cast<uint64_t>(a);                              \
    uint64_t vt_want_ = static_cast<uint64_t>(b);                             \
    if (vt_got_ != vt_want_) {                                                \
      ::vmtest::fail_eq(#a " == " #b, __FILE__, __LINE__, vt_got_, vt_want_); \
      return;                                                                 \
    }                                                                         \
  } while (0)

/// A vmrt call that must succeed.
#define VT_OK(expr)                                                 \
  do {                                                              \
    auto vt_r_ = (expr);                                            \
    if (!vt_r_.ok()) {                                              \
      ::vmtest::fail_err(#expr, __FILE__, __LINE__, vt_r_.error()); \
      return;                                                       \
    }                                                               \
  } while (0)

/// A raw system call that must return `error` (a cos::abi::Error name).
#define VT_SYS_ERR(call, error) \
  VT_EQ(static_cast<int64_t>(call), static_cast<int64_t>(::cos::abi::Error::error))
