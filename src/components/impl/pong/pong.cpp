// pong: a server. Operation 0 returns 2 * x + 1 for argument x, computed in
// pong's own address space on the calling (migrated) thread.
#include "runtime/cos.hpp"

namespace {
int g_calls;  // pong's private state: counts invocations
}

extern "C" cos::sys::SinvResult cos_serve(uint64_t, uint64_t op, uint64_t a0, uint64_t, uint64_t) {
  if (op != 0) return {static_cast<int64_t>(cos::abi::Error::bad_op), 0};
  ++g_calls;
  int64_t result = 2 * static_cast<int64_t>(a0) + 1;
  cos::printf("pong: call %d: got %ld, returning %ld\n", g_calls, static_cast<long>(a0),
              static_cast<long>(result));
  return {result, g_calls};
}

int main() {
  cos::printf("pong: ready to serve (component %u)\n", cos::self().id);
  return 0;
}
