// The component runtime API: what a component's code uses.
//
// A component defines `int main()` (run by its initial thread; returning 0
// ends the thread, returning another status ends the component like
// cos::exit(status, "main returned <status>")) and, if it implements interfaces, `cos_serve()` (run by each
// client thread that invokes it).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cos/compinfo.hpp"
#include "runtime/sinv_stacks.h"
#include "runtime/syscall.hpp"

namespace cos {

/// This component's info page (name, heap, dependencies, parameters).
const boot::CompInfo& self();

/// Capability slot of the sinv gate for dependency `interface`, or 0.
uint64_t dep(const char* interface);

/// Value of parameter `key` from the composition script, or nullptr.
const char* param(const char* key);

/// Parameter `key` as an unsigned number, decimal or 0x-hex; `dflt` when it
/// is absent or empty. A value that is not such a number (or overflows 64
/// bits) also gives `dflt`, and a console line says so.
uint64_t param_u64(const char* key, uint64_t dflt);

/// The time-stamp counter (RDTSC, Intel SDM Vol. 2B).
inline uint64_t tsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}
/// The TSC ordered against the code around it (LFENCE; RDTSC; LFENCE), for
/// benchmarks.
inline uint64_t tsc_fenced() {
  uint32_t lo, hi;
  asm volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

/// The largest frame (in pages, 0..max_pages) untyped `ut` can still give
/// in one piece: a binary search with retype(frame) and cap_delete in the
/// empty slot `scratch_slot`, which is empty again on return. A measure of
/// the memory an untyped holds back (tests and the fuzzers).
uint64_t largest_frame_pages(uint64_t ut, uint64_t scratch_slot, uint64_t max_pages);

/// printf-style output on the system console, prefixed by nothing.
void printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
/// Writes a string to the console.
void print(const char* s);

/// Ends this component (every thread of it) with an exit status (0..255;
/// cos/exit_status.hpp has the common ones) and a one-line reason, formatted
/// printf-style and cut to abi::kExitReasonMax bytes (Op::comp_exit). If the
/// component is essential (the composition script's `essential`) and status
/// is not 0, the machine stops and `./cos run` exits with that status and
/// the line `cos: run failed: <component>: <reason>`.
[[noreturn]] void exit(unsigned status, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

/// What an invocation returns in r0 when every one of the server's
/// COS_SINV_STACKS invocation stacks is in use (runtime/sinv.S).
inline constexpr int64_t kErrNoSinvStack = COS_SINV_ERR_NO_STACK;

/// Invokes operation `op` of the interface behind gate `slot`.
inline sys::SinvResult invoke(uint64_t slot, uint64_t op, uint64_t a0 = 0, uint64_t a1 = 0,
                              uint64_t a2 = 0) {
  return sys::cos_sinv_call(slot, op, a0, a1, a2);
}

}  // namespace cos

/// Server side of synchronous invocation: called on a client's thread with
/// the interface token (its index in the component's `implements` list), the
/// operation and three arguments. Its two results return to the client.
/// Components that implement nothing need not define it.
extern "C" cos::sys::SinvResult cos_serve(uint64_t token, uint64_t op, uint64_t a0, uint64_t a1,
                                          uint64_t a2);

int main();
