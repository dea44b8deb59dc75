// vmrt guest-physical memory table (host-compilable).
#include "vmrt/guest_memory.hpp"

namespace vmrt {
namespace {

void copy_bytes(uint8_t* d, const uint8_t* s, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) d[i] = s[i];
}

}  // namespace

Status GuestMemory::add_region(uint64_t gpa, uint64_t size, uint8_t* host, uint32_t rights) {
  if (size == 0 || (gpa | size) & (kPage - 1) || !host || gpa + size < gpa)
    return make_error(Errc::bad_argument, "adding a guest memory region", gpa, size);
  if (count_ == kMaxRegions) return make_error(Errc::too_many_regions, "adding a guest memory region", gpa);
  unsigned at = 0;
  while (at < count_ && regions_[at].gpa < gpa) ++at;
  if (at > 0 && regions_[at - 1].gpa + regions_[at - 1].size > gpa)
    return make_error(Errc::region_overlap, "adding a guest memory region", gpa, size);
  if (at < count_ && gpa + size > regions_[at].gpa)
    return make_error(Errc::region_overlap, "adding a guest memory region", gpa, size);
  for (unsigned i = count_; i > at; --i) regions_[i] = regions_[i - 1];
  regions_[at] = Region{gpa, size, host, rights};
  ++count_;
  return {};
}

Status GuestMemory::remove_region(uint64_t gpa) {
  for (unsigned i = 0; i < count_; ++i) {
    if (regions_[i].gpa != gpa) continue;
    for (unsigned j = i; j + 1 < count_; ++j) regions_[j] = regions_[j + 1];
    --count_;
    regions_[count_] = Region{};
    return {};
  }
  return make_error(Errc::not_ram, "removing a guest memory region", gpa);
}

const Region* GuestMemory::find(uint64_t gpa) const {
  // Binary search over the sorted table.
  unsigned lo = 0, hi = count_;
  while (lo < hi) {
    unsigned mid = (lo + hi) / 2;
    const Region& r = regions_[mid];
    if (gpa < r.gpa)
      hi = mid;
    else if (gpa - r.gpa >= r.size)
      lo = mid + 1;
    else
      return &r;
  }
  return nullptr;
}

bool GuestMemory::contains(uint64_t gpa, uint64_t len) const {
  while (len > 0) {
    const Region* r = find(gpa);
    if (!r) return false;
    uint64_t avail = r->gpa + r->size - gpa;
    if (avail >= len) return true;
    gpa += avail;
    len -= avail;
  }
  return true;
}

Result<uint8_t*> GuestMemory::host_ptr(uint64_t gpa, uint64_t len) const {
  if (len == 0) len = 1;
  const Region* r = find(gpa);
  if (!r) return make_error(Errc::not_ram, "guest-physical address", gpa);
  uint64_t off = gpa - r->gpa;
  if (len > r->size - off) return make_error(Errc::not_ram, "guest-physical range", r->gpa + r->size);
  return r->host + off;
}

Status GuestMemory::read(uint64_t gpa, void* dst, uint64_t len) const {
  if (gpa + len < gpa) return make_error(Errc::not_ram, "reading guest memory", gpa);
  if (!contains(gpa, len)) {
    // Report the first address that is not RAM.
    uint64_t a = gpa;
    while (const Region* r = find(a)) a = r->gpa + r->size;
    return make_error(Errc::not_ram, "reading guest memory", a);
  }
  auto* d = static_cast<uint8_t*>(dst);
  while (len > 0) {
    const Region* r = find(gpa);
    uint64_t off = gpa - r->gpa, n = r->size - off;
    if (n > len) n = len;
    copy_bytes(d, r->host + off, n);
    d += n, gpa += n, len -= n;
  }
  return {};
}

Status GuestMemory::write(uint64_t gpa, const void* src, uint64_t len) {
  if (gpa + len < gpa) return make_error(Errc::not_ram, "writing guest memory", gpa);
  if (!contains(gpa, len)) {
    uint64_t a = gpa;
    while (const Region* r = find(a)) a = r->gpa + r->size;
    return make_error(Errc::not_ram, "writing guest memory", a);
  }
  const auto* s = static_cast<const uint8_t*>(src);
  while (len > 0) {
    const Region* r = find(gpa);
    uint64_t off = gpa - r->gpa, n = r->size - off;
    if (n > len) n = len;
    copy_bytes(r->host + off, s, n);
    s += n, gpa += n, len -= n;
  }
  return {};
}

Status GuestMemory::fill(uint64_t gpa, uint8_t byte, uint64_t len) {
  if (gpa + len < gpa || !contains(gpa, len)) return make_error(Errc::not_ram, "filling guest memory", gpa);
  while (len > 0) {
    const Region* r = find(gpa);
    uint64_t off = gpa - r->gpa, n = r->size - off;
    if (n > len) n = len;
    for (uint64_t i = 0; i < n; ++i) r->host[off + i] = byte;
    gpa += n, len -= n;
  }
  return {};
}

uint64_t GuestMemory::total_bytes() const {
  uint64_t t = 0;
  for (unsigned i = 0; i < count_; ++i) t += regions_[i].size;
  return t;
}

}  // namespace vmrt
