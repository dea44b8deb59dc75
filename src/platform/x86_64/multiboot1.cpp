#include "x86_64/multiboot1.hpp"

#include "kernel/console.hpp"
#include "x86_64/layout.hpp"

namespace cos::x86::mb1 {
namespace {

constexpr uint32_t kFlagModules = 1u << 3, kFlagMmap = 1u << 6;
constexpr uint32_t kMemAvailable = 1;
constexpr unsigned kNameBytes = 64;

struct InfoHeader {  // the fields up to the memory map (0.6.96, 3.3)
  uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
  uint32_t syms[4];
  uint32_t mmap_length, mmap_addr;
};
struct Module {
  uint32_t mod_start, mod_end, string, reserved;
};
struct __attribute__((packed)) MmapEntry {
  uint32_t size;  // of the rest of the entry
  uint64_t base, length;
  uint32_t type;
};

char g_names[mb2::kMaxModules][kNameBytes];

// Copies the module's name: its command line after the first word, or the
// whole line if it has one word; at most kNameBytes - 1 bytes.
void copy_name(uint32_t string_pa, char* out) {
  const char* s = string_pa ? phys_to_virt<const char>(string_pa) : "";
  const char* p = s;
  while (*p && *p != ' ') ++p;
  if (*p == ' ') {
    while (*p == ' ') ++p;
    s = p;
  }
  unsigned n = 0;
  while (s[n] && n + 1 < kNameBytes) out[n] = s[n], ++n;
  out[n] = 0;
}

}  // namespace

void parse(uint64_t pa, mb2::Info& out) {
  const auto* h = phys_to_virt<const InfoHeader>(pa);
  if (!(h->flags & kFlagMmap)) panic("multiboot: the loader gave no memory map");
  if (h->flags & kFlagModules) {
    const auto* mods = phys_to_virt<const Module>(h->mods_addr);
    for (uint32_t i = 0; i < h->mods_count; ++i) {
      if (out.module_count == mb2::kMaxModules) {
        kprintf("cos: multiboot: %u modules, only the first %u are used\n", h->mods_count, mb2::kMaxModules);
        break;
      }
      char* name = g_names[out.module_count];
      copy_name(mods[i].string, name);
      out.modules[out.module_count++] = BootModule{mods[i].mod_start, mods[i].mod_end, name};
    }
  }
  const auto* mm = phys_to_virt<const uint8_t>(h->mmap_addr);
  for (uint32_t off = 0; off + sizeof(MmapEntry) <= h->mmap_length;) {
    const auto* e = reinterpret_cast<const MmapEntry*>(mm + off);
    if (e->type == kMemAvailable && out.ram_count < mb2::kMaxRanges) {
      uint64_t lo = (e->base + kPageSize - 1) & ~(kPageSize - 1);
      uint64_t hi = (e->base + e->length) & ~(kPageSize - 1);
      if (hi > kDirectMapSize) hi = kDirectMapSize;
      if (hi > lo) out.ram[out.ram_count++] = MemRange{lo, hi - lo};
    }
    off += e->size + 4;
  }
  out.info_start = out.info_end = 0;  // nothing of it is needed any more
}

}  // namespace cos::x86::mb1
