// The `canary` interface of fuzz_canary, shared with its client syscall_fuzz.
#pragma once
#include <stdint.h>

namespace canary {

/// ready() -> (1 once the canary has set up its memory and capabilities, or 0;
/// the number of capabilities it watches).
inline constexpr uint64_t kOpReady = 1;
/// verify() -> (memory words that changed, capabilities that changed). The
/// canary prints one line per difference and a summary.
inline constexpr uint64_t kOpVerify = 0x7e51f1ed;
/// verify_quiet() -> as verify(), but prints only the differences (for
/// clients that check after every test case).
inline constexpr uint64_t kOpVerifyQuiet = 0x7e51f1ee;

}  // namespace canary
