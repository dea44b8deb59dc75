// ipc_bench_srv: the server half of the IPC benchmark (composition_scripts/
// ipc_bench.toml). Operation 0 returns at once, so a sinv/sret round trip
// measures the kernel's invocation path plus the runtime's entry stub.
#include "runtime/cos.hpp"

extern "C" cos::sys::SinvResult cos_serve(uint64_t, uint64_t op, uint64_t a0, uint64_t, uint64_t) {
  if (op == 0) return {0, static_cast<int64_t>(a0)};
  return {static_cast<int64_t>(cos::abi::Error::bad_op), 0};
}

int main() { return 0; }
