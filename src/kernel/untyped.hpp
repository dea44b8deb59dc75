// Untyped memory: a region of physical pages from which kernel objects and
// user frames are carved, and to which they return when destroyed.
#pragma once
#include <stdint.h>

#include "kernel/free_runs.hpp"
#include "kernel/object.hpp"
#include "kernel/page_meta.hpp"

namespace cos {

struct Untyped : KObject {
  static constexpr abi::ObjType kType = abi::ObjType::untyped;
  uint64_t base;   ///< physical address of the region
  uint64_t size;   ///< bytes
  FreeRuns free;   ///< what is not carved out
  Untyped(FreeRuns::NodeAt node_at) : free(node_at) {}
};

/// Carves `pages` zeroed pages (aligned to `align_pages`) of kind `kind` and
/// takes a reference on `ut` for them. Errors: out_of_memory.
Error untyped_alloc(Untyped* ut, uint64_t pages, uint64_t align_pages, PageKind kind, uint64_t& pa);
/// Takes `pages` pages from `ut` as they are (not zeroed, their metadata
/// still free) and references `ut`: a reservation that
/// untyped_prepare_frame turns into a frame in steps. A reservation of 512
/// pages or more starts on a 2 MiB boundary when `ut` has such a free run
/// (first fit), so that 2 MiB guest mappings (vm_map with kVmMapLarge) can
/// map it; otherwise anywhere it fits. Errors: out_of_memory.
Error untyped_reserve(Untyped* ut, uint64_t pages, uint64_t& pa);
/// Zeroes pages [first, first + n) of a reservation at `pa` from `ut` and
/// records them as pages of a frame (page metadata kind frame, head index).
void untyped_prepare_frame(Untyped* ut, uint64_t pa, uint64_t first, uint64_t n);
/// Carves an untyped object of `pages` pages (plus its header page) from
/// `ut` in constant time: only the header is zeroed, because the memory of
/// an untyped is zeroed when it is handed out of it. Errors: out_of_memory.
Error untyped_carve(Untyped* ut, uint64_t pages, Untyped*& out);
/// Returns pages to `ut` and drops the reference untyped_alloc took.
void untyped_free(Untyped* ut, uint64_t pa, uint64_t pages);
/// Builds an untyped object: header page at `header_pa`, memory [base, base+size).
Untyped* untyped_init(uint64_t header_pa, uint64_t base, uint64_t size, Untyped* origin);

}  // namespace cos
