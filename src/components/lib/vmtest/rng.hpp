// vmtest: a small deterministic pseudo-random generator for fuzzers
// (splitmix64, Steele, Lea and Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014). Header-only, host-compilable.
#pragma once
#include <stdint.h>

namespace vmtest {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  /// The generator of item `index` of a run seeded with `seed`: every item
  /// can be reproduced on its own.
  static Rng for_item(uint64_t seed, uint64_t index) {
    Rng r(seed ^ (index * 0xd1342543de82ef95ull));
    r.next();
    return r;
  }
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) (0 for n = 0).
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  /// True with probability percent / 100.
  bool chance(unsigned percent) { return below(100) < percent; }
  uint8_t byte() { return static_cast<uint8_t>(next()); }
  template <typename T, uint64_t N>
  const T& pick(const T (&a)[N]) {
    return a[below(N)];
  }

 private:
  uint64_t state_;
};

}  // namespace vmtest
