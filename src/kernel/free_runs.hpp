// The page allocator inside an untyped object: free runs of pages kept in an
// address-ordered tree whose nodes live in the first page of each free run
// (free memory is never mapped, so the kernel may use it). First fit with
// alignment; freeing merges with both neighbours. Pure logic: `Mem` maps a
// physical address to the node storage, so host tests can run it on an array.
#pragma once
#include <stdint.h>

#include <boost/intrusive/set.hpp>

namespace cos {

struct FreeRun : boost::intrusive::set_base_hook<boost::intrusive::link_mode<boost::intrusive::normal_link>> {
  uint64_t pa;
  uint64_t pages;
  bool operator<(const FreeRun& o) const { return pa < o.pa; }
};

class FreeRuns {
 public:
  static constexpr uint64_t kPage = 4096;
  /// Maps a physical page address to where its FreeRun node may be stored.
  using NodeAt = FreeRun* (*)(uint64_t pa);

  explicit FreeRuns(NodeAt node_at) : node_at_(node_at) {}
  FreeRuns(const FreeRuns&) = delete;
  FreeRuns& operator=(const FreeRuns&) = delete;

  /// Adds [pa, pa + pages * 4 KiB) as free (must not overlap free memory).
  void release(uint64_t pa, uint64_t pages) {
    FreeRun* n = node_at_(pa);
    n->pa = pa;
    n->pages = pages;
    auto it = set_.insert(*n).first;
    // Merge with the successor, then with the predecessor.
    auto next = it;
    ++next;
    if (next != set_.end() && it->pa + it->pages * kPage == next->pa) {
      it->pages += next->pages;
      set_.erase(next);
    }
    if (it != set_.begin()) {
      auto prev = it;
      --prev;
      if (prev->pa + prev->pages * kPage == it->pa) {
        prev->pages += it->pages;
        set_.erase(it);
      }
    }
    free_pages_ += pages;
  }

  /// Takes `pages` pages aligned to `align_pages` (a power of two) from the
  /// lowest free run that fits. False if none does.
  bool take(uint64_t pages, uint64_t align_pages, uint64_t& pa_out) {
    if (pages == 0) return false;
    uint64_t align = align_pages * kPage;
    for (auto it = set_.begin(); it != set_.end(); ++it) {
      uint64_t start = (it->pa + align - 1) & ~(align - 1);
      uint64_t end = it->pa + it->pages * kPage;
      if (start >= end || (end - start) / kPage < pages) continue;
      uint64_t run_pa = it->pa, run_end = end;
      set_.erase(it);
      free_pages_ -= (run_end - run_pa) / kPage;
      if (start > run_pa) release(run_pa, (start - run_pa) / kPage);
      uint64_t taken_end = start + pages * kPage;
      if (taken_end < run_end) release(taken_end, (run_end - taken_end) / kPage);
      pa_out = start;
      return true;
    }
    return false;
  }

  uint64_t free_pages() const { return free_pages_; }
  size_t runs() const { return set_.size(); }

 private:
  using Set = boost::intrusive::set<FreeRun, boost::intrusive::constant_time_size<true>>;
  Set set_;
  NodeAt node_at_;
  uint64_t free_pages_ = 0;
};

}  // namespace cos
