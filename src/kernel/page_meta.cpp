#include "kernel/page_meta.hpp"

namespace cos {
namespace {

struct Range {
  uint64_t base, pages;
  PageMeta* meta;
};
Range g_ranges[32];
unsigned g_count;

}  // namespace

void page_meta_add_range(uint64_t base, uint64_t pages, PageMeta* meta) {
  if (g_count < 32) g_ranges[g_count++] = Range{base, pages, meta};
}

PageMeta* page_meta(uint64_t pa) {
  for (unsigned i = 0; i < g_count; ++i) {
    const Range& r = g_ranges[i];
    if (pa >= r.base && pa < r.base + r.pages * 4096) return &r.meta[(pa - r.base) / 4096];
  }
  return nullptr;
}

}  // namespace cos
