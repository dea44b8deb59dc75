// Thread: a user register context, its FPU/SSE state, and the stack of
// synchronous invocations it has made (Composite-style thread migration: the
// thread itself runs in the server, the frame records where to return).
// Lives in one page retyped from untyped memory.
#pragma once
#include <stdint.h>

#include "cos/abi.hpp"
#include "regs.hpp"
#include "run_queue.hpp"

namespace cos {

struct Component;

/// One entry of the invocation stack: the client context to resume on sret.
struct InvocationFrame {
  Component* client;
  uint64_t rip, rsp, rflags;
};

enum class ThreadState : uint8_t { created, ready, running, dead };

struct Thread : SchedEntity {
  /// Entries from ring 3 push the interrupt frame at the end of `regs`; the
  /// CPU aligns that stack pointer to 16 bytes first (Intel SDM Vol. 3A,
  /// 6.14.2), so the frame's end must be 16-byte aligned.
  alignas(16) x86::Regs regs;
  alignas(16) uint8_t fpu[512];  ///< FXSAVE image (Intel SDM Vol. 1, 10.5.1)
  Component* home;               ///< component the thread was created in
  Component* current;            ///< component it executes in now
  InvocationFrame inv[abi::kMaxInvocationDepth];
  uint32_t depth;                ///< number of valid entries in inv
  uint32_t id;
  ThreadState state;
};
static_assert(sizeof(Thread) <= 4096);
static_assert(sizeof(x86::Regs) % 16 == 0);

}  // namespace cos
