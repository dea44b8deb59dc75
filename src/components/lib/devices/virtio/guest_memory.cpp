#include "devices/virtio/guest_memory.hpp"

namespace cos::dev {

bool GuestMemory::is_ram(uint64_t gpa, uint64_t len) {
  if (gpa + len < gpa) return false;
  while (len) {
    uint64_t n = 0;
    if (!span(gpa, len, n) || n == 0 || n > len) return false;
    gpa += n;
    len -= n;
  }
  return true;
}

bool GuestMemory::read(uint64_t gpa, void* dst, uint64_t len) {
  if (gpa + len < gpa) return false;
  uint8_t* d = static_cast<uint8_t*>(dst);
  while (len) {
    uint64_t n = 0;
    const uint8_t* p = span(gpa, len, n);
    if (!p || n == 0 || n > len) return false;
    for (uint64_t i = 0; i < n; ++i) d[i] = p[i];
    d += n;
    gpa += n;
    len -= n;
  }
  return true;
}

bool GuestMemory::write(uint64_t gpa, const void* src, uint64_t len) {
  if (gpa + len < gpa) return false;
  const uint8_t* s = static_cast<const uint8_t*>(src);
  while (len) {
    uint64_t n = 0;
    uint8_t* p = span(gpa, len, n);
    if (!p || n == 0 || n > len) return false;
    for (uint64_t i = 0; i < n; ++i) p[i] = s[i];
    s += n;
    gpa += n;
    len -= n;
  }
  return true;
}

uint8_t* FlatGuestMemory::span(uint64_t gpa, uint64_t len, uint64_t& contiguous) {
  contiguous = 0;
  if (len == 0 || gpa < gpa_ || gpa - gpa_ >= size_) return nullptr;
  uint64_t off = gpa - gpa_;
  uint64_t room = size_ - off;
  contiguous = len < room ? len : room;
  return base_ + off;
}

}  // namespace cos::dev
