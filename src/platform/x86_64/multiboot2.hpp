// Reading the multiboot2 boot information (Multiboot2 specification 1.0,
// section 3.6 "Boot information format").
#pragma once
#include <stdint.h>

#include "cos/limits.hpp"
#include "kernel/boot.hpp"

namespace cos::x86::mb2 {

inline constexpr uint32_t kBootloaderMagic = 0x36d76289;
/// Modules kept (cos/limits.hpp: the booter sees this many at most).
inline constexpr unsigned kMaxModules = cos_limits::kMaxBootModules;
inline constexpr unsigned kMaxRanges = 32;

struct Info {
  BootModule modules[kMaxModules];
  unsigned module_count = 0;
  MemRange ram[kMaxRanges];  ///< available RAM (type 1), page aligned
  unsigned ram_count = 0;
  uint64_t info_start = 0, info_end = 0;  ///< the info structure itself
};

/// Parses the information at physical address `pa`. Panics if malformed.
void parse(uint64_t pa, Info& out);

/// Removes [start, end) from the set of ranges (splitting as needed).
void subtract(MemRange* ranges, unsigned& count, unsigned capacity, uint64_t start, uint64_t end);

}  // namespace cos::x86::mb2
