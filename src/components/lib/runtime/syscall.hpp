// Raw system-call stubs (see src/include/cos/abi.hpp for the contract).
#pragma once
#include <stdint.h>

#include "cos/abi.hpp"

namespace cos::sys {

inline int64_t call(abi::Op op, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                    uint64_t a4 = 0, uint64_t a5 = 0) {
  int64_t ret;
  register uint64_t r10 asm("r10") = a3;
  register uint64_t r8 asm("r8") = a4;
  register uint64_t r9 asm("r9") = a5;
  asm volatile("syscall"
               : "=a"(ret), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10), "+r"(r8), "+r"(r9)
               : "a"(static_cast<uint64_t>(op))
               : "rcx", "r11", "memory");
  return ret;
}

inline int64_t print(const char* s, uint64_t len) {
  return call(abi::Op::print, reinterpret_cast<uint64_t>(s), len);
}
inline int64_t retype(uint64_t ut, uint64_t dest, abi::ObjType type, uint64_t pages) {
  return call(abi::Op::retype, ut, dest, static_cast<uint64_t>(type), pages);
}
inline int64_t comp_create(uint64_t ut, uint64_t dest, uint64_t captbl, uint64_t pgtbl,
                           const char* name, uint64_t name_len) {
  return call(abi::Op::comp_create, ut, dest, captbl, pgtbl, reinterpret_cast<uint64_t>(name),
              name_len);
}
inline int64_t thd_create(uint64_t ut, uint64_t dest, uint64_t comp, uint64_t entry, uint64_t arg) {
  return call(abi::Op::thd_create, ut, dest, comp, entry, arg);
}
inline int64_t thd_start(uint64_t thd, uint64_t stack_top, uint64_t prio) {
  return call(abi::Op::thd_start, thd, stack_top, prio);
}
inline int64_t sinv_create(uint64_t ut, uint64_t dest, uint64_t comp, uint64_t entry, uint64_t token) {
  return call(abi::Op::sinv_create, ut, dest, comp, entry, token);
}
inline int64_t cap_copy(uint64_t captbl, uint64_t dst_index, uint64_t src, uint64_t rights) {
  return call(abi::Op::cap_copy, captbl, dst_index, src, rights);
}
inline int64_t cap_delete(uint64_t slot) { return call(abi::Op::cap_delete, slot); }
inline int64_t pgtbl_map(uint64_t pgtbl, uint64_t va, uint64_t frame, uint64_t page, uint64_t rights,
                         uint64_t ut) {
  return call(abi::Op::pgtbl_map, pgtbl, va, frame, page, rights, ut);
}
inline int64_t pgtbl_unmap(uint64_t pgtbl, uint64_t va) { return call(abi::Op::pgtbl_unmap, pgtbl, va); }
inline int64_t thd_yield() { return call(abi::Op::thd_yield); }
[[noreturn]] inline void thd_exit() {
  call(abi::Op::thd_exit);
  __builtin_unreachable();
}

/// Result of a synchronous invocation: the server's two return words.
struct SinvResult {
  int64_t r0;
  int64_t r1;
};

/// Synchronous invocation through the gate in `slot` (implemented in
/// sinv.S: it preserves the callee-saved registers around the migration).
extern "C" SinvResult cos_sinv_call(uint64_t slot, uint64_t op, uint64_t a0, uint64_t a1, uint64_t a2);

}  // namespace cos::sys
