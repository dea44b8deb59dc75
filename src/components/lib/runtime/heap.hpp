// The component heap: a first-fit allocator with coalescing over the heap
// region the booter mapped (CompInfo::heap_base/heap_size).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::heap {

/// Takes over [base, base + size) as the heap.
void init(uint64_t base, uint64_t size);
/// 16-byte aligned block of at least `size` bytes, or nullptr.
void* alloc(size_t size);
/// Returns a block from alloc (nullptr is ignored).
void free(void* p);
/// Bytes currently free (for diagnostics and tests).
size_t free_bytes();

}  // namespace cos::heap
