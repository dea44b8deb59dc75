// Deterministic pseudo-random numbers for fuzz-style tests. (<random> pulls
// in <cmath>, whose ::cos clashes with namespace cos, so it is not used.)
#pragma once

#include <cstdint>

namespace cos::test {

/// xorshift64*: rng() returns the next 32-bit value.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed ? seed : 1) {}
  uint32_t operator()() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return uint32_t((state_ * 0x2545F4914F6CDD1Dull) >> 32);
  }

 private:
  uint64_t state_;
};

}  // namespace cos::test
