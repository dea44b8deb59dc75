// Nested page table entries (AMD APM Vol. 2, 15.25.5): the ordinary x86-64
// long-mode format; every nested access counts as a user access, so the U
// bit is set at all levels. Pure logic, host-testable.
#pragma once
#include <stdint.h>

#include "cos/abi.hpp"

namespace cos::svm::npt {

inline constexpr uint64_t kPresent = 1ull << 0, kWrite = 1ull << 1, kUser = 1ull << 2,
                          kNoExecute = 1ull << 63, kAddrMask = 0x000ffffffffff000ull;

constexpr uint64_t table_entry(uint64_t table_pa) { return (table_pa & kAddrMask) | kPresent | kWrite | kUser; }

constexpr uint64_t leaf_entry(uint64_t hpa, uint64_t rights) {
  return (hpa & kAddrMask) | kPresent | kUser | ((rights & abi::Rights::write) ? kWrite : 0) |
         ((rights & abi::Rights::exec) ? 0 : kNoExecute);
}

constexpr bool present(uint64_t e) { return (e & kPresent) != 0; }

}  // namespace cos::svm::npt
