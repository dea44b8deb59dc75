// Fixed-priority run queues with round robin inside a priority. Pure logic
// (Boost.Intrusive lists), host-compilable.
#pragma once
#include <stdint.h>

#include <boost/intrusive/list.hpp>

namespace cos {

/// Priority 0 is the highest, 255 the lowest.
inline constexpr unsigned kPriorities = 256;

/// What a schedulable entity embeds.
struct SchedEntity
    : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::safe_link>> {
  uint8_t priority = 128;
  /// Kernel ticks left of its round-robin quantum (0: a fresh one at its
  /// next dispatch). Kept while a higher priority preempts it.
  uint16_t quantum_left = 0;
  bool queued() const { return is_linked(); }
};

class RunQueue {
 public:
  /// Appends `e` at the tail of its priority (must not be queued).
  void push_back(SchedEntity& e) {
    lists_[e.priority].push_back(e);
    bitmap_[e.priority / 64] |= 1ull << (e.priority % 64);
  }
  /// Puts `e` at the head of its priority (must not be queued): a thread
  /// preempted by a higher priority keeps its place among its equals.
  void push_front(SchedEntity& e) {
    lists_[e.priority].push_front(e);
    bitmap_[e.priority / 64] |= 1ull << (e.priority % 64);
  }
  /// Removes `e` if queued.
  void remove(SchedEntity& e) {
    if (!e.queued()) return;
    auto& l = lists_[e.priority];
    l.erase(l.iterator_to(e));
    if (l.empty()) bitmap_[e.priority / 64] &= ~(1ull << (e.priority % 64));
  }
  /// Highest priority with a queued entity, or -1 when empty.
  int top_priority() const {
    for (unsigned w = 0; w < kWords; ++w)
      if (bitmap_[w]) return static_cast<int>(w * 64 + __builtin_ctzll(bitmap_[w]));
    return -1;
  }
  /// Dequeues the head of the highest priority, or nullptr when empty.
  SchedEntity* pop() {
    int p = top_priority();
    if (p < 0) return nullptr;
    SchedEntity& e = lists_[p].front();
    remove(e);
    return &e;
  }
  bool empty() const { return top_priority() < 0; }

 private:
  static constexpr unsigned kWords = kPriorities / 64;
  using List = boost::intrusive::list<SchedEntity, boost::intrusive::constant_time_size<false>>;
  List lists_[kPriorities];
  uint64_t bitmap_[kWords] = {};
};

}  // namespace cos
