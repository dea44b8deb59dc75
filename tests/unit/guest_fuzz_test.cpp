// The guest-code fuzzer's generator (src/components/impl/guest_fuzz/
// program.hpp): programs are reproducible from the seed and their index,
// encodings respect the architectural length limit and the mode, and the
// random state keeps to what it promises.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <vector>

#include "guest_fuzz/program.hpp"
#include "vmrt_cpu_fixture.hpp"

namespace {

using guest_fuzz::encode_one;
using guest_fuzz::random_encodings;
using vmtest::Mode;
using vmtest::Rng;

std::vector<uint8_t> program(uint64_t seed, uint64_t index, Mode mode) {
  Rng rng = Rng::for_item(seed, index);
  std::vector<uint8_t> code(1024);
  unsigned count = 0;
  code.resize(random_encodings(rng, mode, code.data(), code.size(), count));
  return code;
}

TEST(GuestFuzzProgram, ReproducibleFromSeedAndIndex) {
  for (Mode m : {Mode::real, Mode::protected32, Mode::long64}) {
    EXPECT_EQ(program(7, 1234, m), program(7, 1234, m));
    EXPECT_NE(program(7, 1234, m), program(7, 1235, m));
    EXPECT_NE(program(7, 1234, m), program(8, 1234, m));
  }
}

TEST(GuestFuzzProgram, EncodingsAreAtMostFifteenBytesAndFillTheBuffer) {
  Rng rng(42);
  for (Mode m : {Mode::real, Mode::protected32, Mode::long64}) {
    for (int i = 0; i < 20000; ++i) {
      uint8_t insn[guest_fuzz::kMaxInstruction] = {};
      const unsigned len = encode_one(rng, m, insn);
      ASSERT_GE(len, 1u);
      ASSERT_LE(len, guest_fuzz::kMaxInstruction);
    }
    uint8_t code[300];
    unsigned count = 0;
    const unsigned n = random_encodings(rng, m, code, sizeof(code), count);
    EXPECT_LE(n, sizeof(code));
    EXPECT_GT(n, sizeof(code) - guest_fuzz::kMaxInstruction);
    EXPECT_GT(count, 10u);
  }
}

TEST(GuestFuzzProgram, LegacyOnlyOpcodesStayOutOfLongMode) {
  // PUSHA (60), POPA (61), JMP/CALL far (EA, 9A), INTO (CE), BOUND (62) and
  // the segment pushes/pops 07/17/1F are invalid in 64-bit mode: the
  // templates never put them first in a 64-bit instruction without prefixes.
  Rng rng(3);
  std::set<uint8_t> firsts;
  for (int i = 0; i < 50000; ++i) {
    uint8_t insn[guest_fuzz::kMaxInstruction];
    encode_one(rng, Mode::long64, insn);
    firsts.insert(insn[0]);
  }
  for (uint8_t b : {0x60, 0x61, 0xea, 0x9a, 0xce, 0x62, 0x07, 0x17, 0x1f}) EXPECT_EQ(firsts.count(b), 0u) << int(b);
}

class GuestFuzzState : public vmrt_test::CpuFixture {};

TEST_F(GuestFuzzState, RandomStateIsReproducibleAndKeepsBit1OfRflags) {
  long_mode();
  for (uint64_t i = 0; i < 2000; ++i) {
    Rng a = Rng::for_item(5, i), b = Rng::for_item(5, i);
    guest_fuzz::randomize_state(a, Mode::long64, v, 0x20000);
    const cos::vm::StatePage first = *page;
    long_mode();
    guest_fuzz::randomize_state(b, Mode::long64, v, 0x20000);
    ASSERT_EQ(std::memcmp(&first, page.get(), sizeof(first)), 0) << i;
    ASSERT_TRUE(page->regs.rflags & 2) << i;
    long_mode();
  }
}

}  // namespace
