// Bounded kernel work. The kernel runs with interrupts masked, so work whose
// amount a component controls (revoking a derivation tree it built,
// destroying the objects that dies with it: capability tables, page tables,
// memory) is cut into constant-time steps that each take one unit of a budget.
// When the budget is spent the operation stops with its state consistent and
// continues at a later kernel entry, after pending interrupts have been taken
// (docs/kernel.md, "Bounded kernel work"). Pure logic, host-compilable.
#pragma once
#include <stdint.h>

namespace cos {

/// Units one kernel entry may spend: a system call's own work plus the
/// destruction it caused gets one budget, the scheduler's background
/// destruction another. A unit is at most a few hundred instructions (one
/// capability removed, one capability-table slot or page-table entry looked
/// at, one page returned to its untyped), so an entry stays in the tens of
/// microseconds on current hardware.
constexpr uint32_t kWorkPerEntry = 1024;

class WorkBudget {
 public:
  explicit WorkBudget(uint32_t units) : left_(units) {}

  /// Takes one unit; false (and nothing taken) when none is left.
  bool take() {
    if (left_ == 0) return false;
    --left_;
    return true;
  }
  /// Takes up to `want` units and returns how many it took (0 when spent).
  uint64_t take_up_to(uint64_t want) {
    uint64_t n = want < left_ ? want : left_;
    left_ -= static_cast<uint32_t>(n);
    return n;
  }
  uint32_t left() const { return left_; }
  bool spent() const { return left_ == 0; }

 private:
  uint32_t left_;
};

}  // namespace cos
