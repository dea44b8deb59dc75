// ping: a client. Calls pong through the kernel's synchronous invocation and
// checks each answer.
#include "runtime/cos.hpp"

int main() {
  uint64_t gate = cos::dep("pong");
  if (!gate) {
    cos::printf("ping: no capability for interface 'pong'\n");
    return 1;
  }
  int failures = 0;
  const int64_t args[] = {20, 21, -5};
  for (int64_t x : args) {
    cos::sys::SinvResult r = cos::invoke(gate, 0, static_cast<uint64_t>(x));
    bool ok = r.r0 == 2 * x + 1;
    cos::printf("ping: pong(%ld) = %ld (call #%ld) %s\n", static_cast<long>(x), static_cast<long>(r.r0),
                static_cast<long>(r.r1), ok ? "ok" : "WRONG");
    if (!ok) ++failures;
  }
  cos::printf("ping: done, %d wrong answers\n", failures);
  return 0;
}
