#include "kernel/console_input.hpp"

namespace cos {

int ConsoleInput::find(const void* key) const {
  if (!key) return -1;
  for (unsigned i = 0; i < kReaders; ++i)
    if (readers_[i].key == key) return static_cast<int>(i);
  return -1;
}

int ConsoleInput::bind(const void* key) {
  if (!key || find(key) >= 0 || bound_ == kReaders) return -1;
  for (unsigned i = 0; i < kReaders; ++i) {
    if (readers_[i].key) continue;
    readers_[i].key = key;
    readers_[i].head = readers_[i].count = 0;
    order_[bound_++] = i;
    if (focus_ < 0) focus_ = static_cast<int>(i);
    return static_cast<int>(i);
  }
  return -1;
}

bool ConsoleInput::unbind(const void* key) {
  int i = find(key);
  if (i < 0) return false;
  readers_[i].key = nullptr;
  readers_[i].count = 0;
  unsigned k = 0;
  for (unsigned j = 0; j < bound_; ++j)
    if (order_[j] != static_cast<unsigned>(i)) order_[k++] = order_[j];
  bound_ = k;
  if (focus_ == i) focus_ = bound_ ? static_cast<int>(order_[0]) : -1;
  return true;
}

bool ConsoleInput::can_feed() const {
  return focus_ >= 0 && readers_[focus_].count < kQueueBytes;
}

ConsoleInput::Fed ConsoleInput::feed(uint8_t byte, int& reader) {
  reader = focus_;
  if (in_escape_) {
    in_escape_ = false;
    if (byte >= '1' && byte < '1' + kReaders) {
      unsigned n = byte - '1';
      if (n < bound_) {
        focus_ = static_cast<int>(order_[n]);
        reader = focus_;
        return Fed::focus;
      }
      ++dropped_;
      return Fed::dropped;
    }
    if (byte != kEscape) {
      ++dropped_;
      return Fed::dropped;
    }
    // Ctrl-A Ctrl-A: one literal Ctrl-A, queued below.
  } else if (byte == kEscape) {
    in_escape_ = true;
    return Fed::escape;
  }
  if (focus_ < 0 || readers_[focus_].count == kQueueBytes) {
    ++dropped_;
    return Fed::dropped;
  }
  Reader& r = readers_[focus_];
  r.queue[(r.head + r.count) % kQueueBytes] = byte;
  ++r.count;
  return Fed::queued;
}

size_t ConsoleInput::read(const void* key, uint8_t* out, size_t max) {
  int i = find(key);
  if (i < 0) return 0;
  Reader& r = readers_[i];
  size_t n = 0;
  while (n < max && r.count > 0) {
    out[n++] = r.queue[r.head];
    r.head = (r.head + 1) % kQueueBytes;
    --r.count;
  }
  return n;
}

size_t ConsoleInput::queued(const void* key) const {
  int i = find(key);
  return i < 0 ? 0 : readers_[i].count;
}

}  // namespace cos
