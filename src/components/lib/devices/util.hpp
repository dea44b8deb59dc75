// cos::dev — small arithmetic helpers shared by the device models.
#pragma once
#include <stdint.h>

namespace cos::dev {

inline constexpr uint64_t kNsPerSec = 1'000'000'000;

/// floor(a * b / c) without intermediate overflow (c != 0). The result is
/// truncated to 64 bits (callers keep it in range).
inline uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(a) * b / c);
}
/// ceil(a * b / c) (c != 0).
inline uint64_t muldiv_ceil(uint64_t a, uint64_t b, uint64_t c) {
  unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>((p + c - 1) / c);
}
/// a + b, saturating at UINT64_MAX.
inline uint64_t sat_add(uint64_t a, uint64_t b) {
  uint64_t r = a + b;
  return r < a ? ~uint64_t(0) : r;
}

inline constexpr uint8_t to_bcd(unsigned v) { return static_cast<uint8_t>(((v / 10) % 10) << 4 | (v % 10)); }
inline constexpr unsigned from_bcd(uint8_t v) { return (v >> 4) * 10 + (v & 0x0f); }

}  // namespace cos::dev
