#include "runtime/heap.hpp"

namespace cos::heap {
namespace {

// Every block starts with a header; free blocks form an address-ordered list
// so neighbours can be merged on free.
struct Block {
  size_t size;  // bytes including this header, multiple of 16
  Block* next;  // next free block (free blocks only)
};
constexpr size_t kAlign = 16;
constexpr size_t kHeader = 16;
static_assert(sizeof(Block) <= kHeader);

Block* g_free;

size_t round_up(size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }

}  // namespace

void init(uint64_t base, uint64_t size) {
  uint64_t start = (base + kAlign - 1) & ~(kAlign - 1);
  if (size < start - base + 2 * kHeader) {
    g_free = nullptr;
    return;
  }
  g_free = reinterpret_cast<Block*>(start);
  g_free->size = (size - (start - base)) & ~(kAlign - 1);
  g_free->next = nullptr;
}

void* alloc(size_t size) {
  if (size == 0) size = 1;
  if (size > (size_t(1) << 40)) return nullptr;
  size_t need = round_up(size) + kHeader;
  for (Block **link = &g_free, *b = g_free; b; link = &b->next, b = b->next) {
    if (b->size < need) continue;
    if (b->size - need >= 2 * kHeader) {  // split, keep the tail free
      auto* rest = reinterpret_cast<Block*>(reinterpret_cast<uint8_t*>(b) + need);
      rest->size = b->size - need;
      rest->next = b->next;
      *link = rest;
      b->size = need;
    } else {
      *link = b->next;
    }
    return reinterpret_cast<uint8_t*>(b) + kHeader;
  }
  return nullptr;
}

void free(void* p) {
  if (!p) return;
  auto* b = reinterpret_cast<Block*>(static_cast<uint8_t*>(p) - kHeader);
  Block* prev = nullptr;
  Block* cur = g_free;
  while (cur && cur < b) prev = cur, cur = cur->next;
  b->next = cur;
  if (prev) prev->next = b; else g_free = b;
  auto end = [](Block* x) { return reinterpret_cast<uint8_t*>(x) + x->size; };
  if (cur && end(b) == reinterpret_cast<uint8_t*>(cur)) {
    b->size += cur->size;
    b->next = cur->next;
  }
  if (prev && end(prev) == reinterpret_cast<uint8_t*>(b)) {
    prev->size += b->size;
    prev->next = b->next;
  }
}

size_t free_bytes() {
  size_t n = 0;
  for (Block* b = g_free; b; b = b->next) n += b->size;
  return n;
}

}  // namespace cos::heap
