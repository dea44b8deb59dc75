// kernel_tests_server: the server kernel_tests invokes through the gate the
// booter makes for its dependency "ktest" (composition_scripts/kernel_tests.toml).
// Operations (a0..a2 are the invocation's arguments):
//   0 sum:   returns (a0 + a1 + a2, token)
//   1 count: returns (invocations so far, including this one; component id)
//   other:   returns (bad_op, 0)
// Every invocation counts, so a client can check that the state persists.
#include "runtime/cos.hpp"

namespace {
uint64_t g_calls;  // touched only by invocations; one client thread at a time here
}

extern "C" cos::sys::SinvResult cos_serve(uint64_t token, uint64_t op, uint64_t a0, uint64_t a1,
                                          uint64_t a2) {
  __atomic_add_fetch(&g_calls, 1, __ATOMIC_RELAXED);
  switch (op) {
    case 0:
      return {static_cast<int64_t>(a0 + a1 + a2), static_cast<int64_t>(token)};
    case 1:
      return {static_cast<int64_t>(__atomic_load_n(&g_calls, __ATOMIC_RELAXED)),
              static_cast<int64_t>(cos::self().id)};
    default:
      return {static_cast<int64_t>(cos::abi::Error::bad_op), 0};
  }
}

int main() {
  cos::printf("kernel_tests_server: ready (component %u)\n", cos::self().id);
  return 0;
}
