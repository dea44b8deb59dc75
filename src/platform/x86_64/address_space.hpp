// What address_space.cpp and guest_space.cpp share: page-table memory for
// x86::PageTable<> in the kernel (tables reached through the direct map, new
// ones carved from an untyped object).
#pragma once
#include <stdint.h>

#include "cos/abi.hpp"
#include "kernel/untyped.hpp"
#include "x86_64/layout.hpp"
#include "x86_64/page_table.hpp"

namespace cos::x86 {

struct KernelMem {
  Untyped* ut;  ///< where new table pages come from (nullptr: none may be created)
  uint64_t* table(uint64_t pa) { return phys_to_virt<uint64_t>(pa); }
  bool alloc_table(uint64_t& pa) { return ut && untyped_alloc(ut, 1, 1, PageKind::pgtable, pa) == abi::Error::ok; }
};

/// The system-call error for a PageTable<>::map result.
constexpr abi::Error map_error(MapResult r) {
  switch (r) {
    case MapResult::ok: return abi::Error::ok;
    case MapResult::already_mapped: return abi::Error::already_mapped;
    case MapResult::no_memory: return abi::Error::out_of_memory;
    default: return abi::Error::bad_address;
  }
}

}  // namespace cos::x86
