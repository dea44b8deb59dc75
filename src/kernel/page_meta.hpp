// Per-page bookkeeping of all memory handed out as untyped: what each page
// currently is, and for user frames how often it is mapped. This is how the
// kernel guarantees that no page is both a kernel object and user-mapped and
// that a frame is not reused while mapped or named by a capability.
#pragma once
#include <stdint.h>

namespace cos {

struct Untyped;

enum class PageKind : uint8_t { free = 0, kernel = 1, frame = 2, pgtable = 3, untyped = 4 };

/// Most page-table entries (user and guest) that may map one frame page.
inline constexpr uint16_t kMaxPageMaps = 0xffff;

struct PageMeta {
  PageKind kind;
  uint8_t reserved;
  uint16_t maps;      ///< frames: number of page-table entries mapping this page
  uint32_t head;      ///< frames: index delta back to the first page of the frame object
  uint32_t caps;      ///< frame head: capabilities naming the frame object
  uint32_t pages;     ///< frame head: size of the frame object in pages
  /// Frame head: pages of the frame with maps > 0, so that whether the frame
  /// can be freed is known without looking at every page.
  uint32_t mapped_pages;
  uint32_t reserved2;
  Untyped* origin;    ///< frame head and page-table pages: where the memory returns
};
static_assert(sizeof(PageMeta) == 32);

/// Registers a range of physical memory whose pages get metadata; `meta` must
/// have one entry per page. Up to 32 ranges.
void page_meta_add_range(uint64_t base, uint64_t pages, PageMeta* meta);
/// The metadata of the page at physical address `pa`, or nullptr if the page
/// is not in a registered range (kernel image, modules, MMIO).
PageMeta* page_meta(uint64_t pa);

}  // namespace cos
