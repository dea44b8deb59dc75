// The component info page: what the booter tells each component it builds,
// mapped read-only at cos::boot::kInfoVaddr and passed to its entry in rdi.
#pragma once
#include <stdint.h>

namespace cos::boot {

inline constexpr uint64_t kCompInfoMagic = 0x4f464e49504d4f43ull;  // "COMPINFO"
inline constexpr unsigned kMaxDeps = 24;
inline constexpr unsigned kMaxParams = 16;

struct CompInfo {
  uint64_t magic;
  char name[32];
  uint32_t id;         ///< index in the boot manifest
  uint32_t dep_count;
  uint32_t param_count;
  uint32_t reserved;
  uint64_t heap_base;  ///< user address of the heap
  uint64_t heap_size;  ///< bytes
  uint64_t stack_top;
  struct Dep {
    char interface[32];
    uint64_t slot;  ///< sinv capability slot in the component's table
  } deps[kMaxDeps];
  struct Param {
    char key[32];
    char value[96];
  } params[kMaxParams];
};
static_assert(sizeof(CompInfo) <= 4096);

}  // namespace cos::boot
