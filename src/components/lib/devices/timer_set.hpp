// cos::dev::TimerSet — the VMM's list of TimerDevices: the earliest deadline
// to sleep until, and advancing all of them after waking.
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class TimerSet {
 public:
  static constexpr unsigned kMax = 16;

  /// False if the set is full.
  bool add(TimerDevice& t);
  /// The earliest next_deadline_ns() of all members (kNoDeadline: none).
  uint64_t next_deadline_ns() const;
  /// advance(now_ns) on every member.
  void advance(uint64_t now_ns);
  /// Nanoseconds from now_ns until the earliest deadline: 0 if it has
  /// passed, kNoDeadline if there is none.
  uint64_t ns_until_deadline(uint64_t now_ns) const;
  /// The same as a wait timeout in microseconds in vmrt's convention
  /// (RunOptions::timeout_us / dynamic_timeout_us): 0 = wait forever (no
  /// deadline), otherwise at least 1 (a deadline that has passed), rounded
  /// up so the wait never ends before the deadline.
  uint64_t timeout_us(uint64_t now_ns) const;

 private:
  TimerDevice* timers_[kMax] = {};
  unsigned count_ = 0;
};

}  // namespace cos::dev
