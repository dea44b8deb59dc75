#include "x86_64/svm/guest_memory.hpp"

#include "kernel/platform.hpp"
#include "x86_64/svm/npt.hpp"

namespace cos::svm {
namespace {

constexpr uint64_t kPresent = 1, kLarge = 1ull << 7;
constexpr uint64_t kAddr = 0x000ffffffffff000ull;
constexpr size_t kMaxInstructionBytes = 15;  // Intel SDM Vol. 2A, 2.3.11

/// Host-physical address of `gpa`, from the cache when it has the page.
bool translate_gpa(GuestPhys& mem, uint64_t gpa, uint64_t& hpa) {
  NptCache& c = mem.cache;
  if (c.unmaps != mem.unmaps) {
    for (unsigned i = 0; i < NptCache::kEntries; ++i) c.gpa_page[i] = 0;
    c.unmaps = mem.unmaps;
  }
  const uint64_t key = (gpa & ~0xfffull) | 1;
  for (unsigned i = 0; i < NptCache::kEntries; ++i) {
    if (c.gpa_page[i] == key) {
      hpa = c.hpa_page[i] | (gpa & 0xfff);
      return true;
    }
  }
  if (!npt_lookup(mem.root, gpa, hpa)) return false;
  const unsigned slot = c.next++ % NptCache::kEntries;  // round robin
  c.gpa_page[slot] = key;
  c.hpa_page[slot] = hpa & ~0xfffull;
  return true;
}

// Reads a naturally aligned page-table entry (never crosses a page).
bool read_gpa(GuestPhys& mem, uint64_t gpa, void* out, size_t size) {
  uint64_t hpa;
  if (!translate_gpa(mem, gpa, hpa)) return false;
  const auto* src = static_cast<const uint8_t*>(platform::phys_to_kernel(hpa));
  auto* dst = static_cast<uint8_t*>(out);
  for (size_t i = 0; i < size; ++i) dst[i] = src[i];
  return true;
}

// Guest-virtual to guest-physical for the paging mode in the VMCB.
bool translate(GuestPhys& root, const Vmcb& c, uint64_t gva, uint64_t& gpa) {
  if (!(c.cr0 & Cr0::pg)) {
    gpa = gva & 0xffffffffull;
    return true;
  }
  if (c.efer & Efer::lma) {
    uint64_t table = c.cr3 & kAddr;
    for (int level = 3; level >= 0; --level) {
      uint64_t e;
      if (!read_gpa(root, table + ((gva >> (12 + 9 * level)) & 0x1ff) * 8, &e, 8) || !(e & kPresent)) return false;
      if (level > 0 && level < 3 && (e & kLarge)) {
        uint64_t size = 1ull << (12 + 9 * level);
        gpa = (e & kAddr & ~(size - 1)) | (gva & (size - 1));
        return true;
      }
      table = e & kAddr;
    }
    gpa = table | (gva & 0xfff);
    return true;
  }
  if (c.cr4 & Cr4::pae) {
    uint64_t pdpte, pde, pte;
    if (!read_gpa(root, (c.cr3 & 0xffffffe0ull) + ((gva >> 30) & 3) * 8, &pdpte, 8) || !(pdpte & kPresent)) return false;
    if (!read_gpa(root, (pdpte & kAddr) + ((gva >> 21) & 0x1ff) * 8, &pde, 8) || !(pde & kPresent)) return false;
    if (pde & kLarge) {
      gpa = (pde & kAddr & ~0x1fffffull) | (gva & 0x1fffff);
      return true;
    }
    if (!read_gpa(root, (pde & kAddr) + ((gva >> 12) & 0x1ff) * 8, &pte, 8) || !(pte & kPresent)) return false;
    gpa = (pte & kAddr) | (gva & 0xfff);
    return true;
  }
  uint32_t pde, pte;
  if (!read_gpa(root, (c.cr3 & 0xfffff000ull) + ((gva >> 22) & 0x3ff) * 4, &pde, 4) || !(pde & kPresent)) return false;
  if ((pde & kLarge) && (c.cr4 & Cr4::pse)) {
    gpa = (pde & 0xffc00000u) | (gva & 0x3fffff);
    return true;
  }
  if (!read_gpa(root, (pde & 0xfffff000u) + ((gva >> 12) & 0x3ff) * 4, &pte, 4) || !(pte & kPresent)) return false;
  gpa = (pte & 0xfffff000u) | (gva & 0xfff);
  return true;
}

}  // namespace

bool npt_lookup(uint64_t root, uint64_t gpa, uint64_t& hpa) {
  struct Mem {
    uint64_t* table(uint64_t pa) { return static_cast<uint64_t*>(platform::phys_to_kernel(pa)); }
  } mem;
  bool writable;
  return npt::translate(mem, root, gpa, hpa, writable);
}

size_t read_guest_code(GuestPhys& mem, const Vmcb& c, uint8_t* buf, size_t n) {
  bool long_code = (c.efer & Efer::lma) && (c.cs.attr & SegAttr::l);
  uint64_t lin = long_code ? c.rip : ((c.cs.base + c.rip) & 0xffffffffull);
  size_t done = 0;
  // One translation per guest page (the bytes may straddle two).
  while (done < n) {
    uint64_t gpa, hpa;
    if (!translate(mem, c, lin + done, gpa) || !translate_gpa(mem, gpa, hpa)) break;
    size_t chunk = 4096 - (hpa & 0xfff);
    if (chunk > n - done) chunk = n - done;
    const auto* src = static_cast<const uint8_t*>(platform::phys_to_kernel(hpa));
    if (chunk == kMaxInstructionBytes) __builtin_memcpy(buf + done, src, kMaxInstructionBytes);  // the usual case
    else
      for (size_t i = 0; i < chunk; ++i) buf[done + i] = src[i];
    done += chunk;
  }
  return done;
}

}  // namespace cos::svm
