#include "x86_64/multiboot2.hpp"

#include "kernel/console.hpp"
#include "x86_64/layout.hpp"

namespace cos::x86::mb2 {
namespace {

constexpr uint32_t kTagEnd = 0, kTagModule = 3, kTagMmap = 6;
constexpr uint32_t kMemAvailable = 1;

struct Tag {
  uint32_t type, size;
};
struct ModuleTag {
  uint32_t type, size, mod_start, mod_end;
  char cmdline[];
};
struct MmapTag {
  uint32_t type, size, entry_size, entry_version;
};
struct MmapEntry {
  uint64_t base, length;
  uint32_t type, reserved;
};

}  // namespace

void parse(uint64_t pa, Info& out) {
  const auto* base = phys_to_virt<const uint8_t>(pa);
  uint32_t total = *reinterpret_cast<const uint32_t*>(base);
  out.info_start = pa;
  out.info_end = pa + total;
  for (uint32_t off = 8; off + sizeof(Tag) <= total;) {
    const auto* tag = reinterpret_cast<const Tag*>(base + off);
    if (tag->type == kTagEnd) break;
    if (tag->size < sizeof(Tag) || off + tag->size > total) panic("multiboot2: malformed tag at %u", off);
    if (tag->type == kTagModule && out.module_count < kMaxModules) {
      const auto* m = reinterpret_cast<const ModuleTag*>(tag);
      out.modules[out.module_count++] = BootModule{m->mod_start, m->mod_end, m->cmdline};
    } else if (tag->type == kTagMmap) {
      const auto* mm = reinterpret_cast<const MmapTag*>(tag);
      for (uint32_t e = sizeof(MmapTag); e + sizeof(MmapEntry) <= mm->size; e += mm->entry_size) {
        const auto* ent = reinterpret_cast<const MmapEntry*>(reinterpret_cast<const uint8_t*>(mm) + e);
        if (ent->type != kMemAvailable || out.ram_count >= kMaxRanges) continue;
        uint64_t lo = (ent->base + kPageSize - 1) & ~(kPageSize - 1);
        uint64_t hi = (ent->base + ent->length) & ~(kPageSize - 1);
        if (hi > kDirectMapSize) hi = kDirectMapSize;
        if (hi > lo) out.ram[out.ram_count++] = MemRange{lo, hi - lo};
      }
    }
    off += (tag->size + 7) & ~7u;
  }
}

void subtract(MemRange* r, unsigned& count, unsigned capacity, uint64_t start, uint64_t end) {
  start &= ~(kPageSize - 1);
  end = (end + kPageSize - 1) & ~(kPageSize - 1);
  for (unsigned i = 0; i < count;) {
    uint64_t lo = r[i].base, hi = r[i].base + r[i].size;
    if (end <= lo || start >= hi) {
      ++i;
      continue;
    }
    if (start > lo && end < hi) {  // split in two
      if (count < capacity) r[count++] = MemRange{end, hi - end};
      r[i].size = start - lo;
      ++i;
    } else if (start > lo) {
      r[i].size = start - lo;
      ++i;
    } else if (end < hi) {
      r[i] = MemRange{end, hi - end};
      ++i;
    } else {
      r[i] = r[--count];
    }
  }
}

}  // namespace cos::x86::mb2
