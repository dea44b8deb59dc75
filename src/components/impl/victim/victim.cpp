// victim: keeps a secret in its heap and serves one operation that reveals
// only the secret's address. Its peers can call it but must not read it.
#include "runtime/cos.hpp"

namespace {
constexpr uint64_t kPattern = 0x5ec2e75ec2e75ec2ull;
constexpr int kWords = 512;
uint64_t* g_secret;
}  // namespace

extern "C" cos::sys::SinvResult cos_serve(uint64_t, uint64_t op, uint64_t, uint64_t, uint64_t) {
  if (op == 0) return {static_cast<int64_t>(reinterpret_cast<uint64_t>(g_secret)), 0};
  return {static_cast<int64_t>(cos::abi::Error::bad_op), 0};
}

int main() {
  g_secret = new uint64_t[kWords];
  for (int i = 0; i < kWords; ++i) g_secret[i] = kPattern ^ static_cast<uint64_t>(i);
  cos::printf("victim: secret at %p\n", static_cast<void*>(g_secret));
  // Let the peeking components run (they are at the same priority).
  for (int i = 0; i < 20; ++i) cos::sys::thd_yield();
  int bad = 0;
  for (int i = 0; i < kWords; ++i) bad += g_secret[i] != (kPattern ^ static_cast<uint64_t>(i));
  cos::printf("victim: secret %s after the peeks (%d words changed)\n", bad ? "CORRUPTED" : "intact", bad);
  return 0;
}
