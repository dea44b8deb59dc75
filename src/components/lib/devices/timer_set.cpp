#include "devices/timer_set.hpp"

namespace cos::dev {

bool TimerSet::add(TimerDevice& t) {
  if (count_ == kMax) return false;
  timers_[count_++] = &t;
  return true;
}

uint64_t TimerSet::next_deadline_ns() const {
  uint64_t d = kNoDeadline;
  for (unsigned i = 0; i < count_; ++i) {
    uint64_t t = timers_[i]->next_deadline_ns();
    if (t < d) d = t;
  }
  return d;
}

void TimerSet::advance(uint64_t now_ns) {
  for (unsigned i = 0; i < count_; ++i) timers_[i]->advance(now_ns);
}

uint64_t TimerSet::ns_until_deadline(uint64_t now_ns) const {
  uint64_t d = next_deadline_ns();
  if (d == kNoDeadline) return kNoDeadline;
  return d > now_ns ? d - now_ns : 0;
}

uint64_t TimerSet::timeout_us(uint64_t now_ns) const {
  uint64_t ns = ns_until_deadline(now_ns);
  if (ns == kNoDeadline) return 0;
  uint64_t us = ns / 1000 + (ns % 1000 ? 1 : 0);
  return us ? us : 1;
}

}  // namespace cos::dev
