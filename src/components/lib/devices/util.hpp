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

namespace cos::dev {

/// Little-endian loads and stores of byte arrays (PCI configuration space,
/// ACPI tables and virtio structures are all little-endian).
inline uint16_t load_le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
inline uint32_t load_le32(const uint8_t* p) { return uint32_t(load_le16(p)) | uint32_t(load_le16(p + 2)) << 16; }
inline uint64_t load_le64(const uint8_t* p) { return uint64_t(load_le32(p)) | uint64_t(load_le32(p + 4)) << 32; }
inline void store_le16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline void store_le32(uint8_t* p, uint32_t v) {
  store_le16(p, static_cast<uint16_t>(v));
  store_le16(p + 2, static_cast<uint16_t>(v >> 16));
}
inline void store_le64(uint8_t* p, uint64_t v) {
  store_le32(p, static_cast<uint32_t>(v));
  store_le32(p + 4, static_cast<uint32_t>(v >> 32));
}
/// True if v is a power of two (0 is not).
inline constexpr bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

}  // namespace cos::dev
