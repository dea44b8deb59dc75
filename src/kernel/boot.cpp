#include "boot.hpp"

#include "console.hpp"
#include "cos/bootinfo.hpp"
#include "elf/elf64.hpp"
#include "kernel.hpp"
#include "machine.hpp"

namespace cos {
namespace {

constexpr uint64_t kPage = 4096;

struct Booter {
  Capability* slots;
  uint32_t nslots;
  Capability* ut;  // untyped capability the booter's own objects come from
  uint64_t root;
};

uint64_t carve(Booter& b, uint64_t pages) {
  uint64_t pa;
  if (untyped_carve(*b.ut, pages, 1, pa) != Error::ok) panic("boot: out of memory building the booter");
  machine::zero_pages(pa, pages);
  return pa;
}

void map(Booter& b, uint64_t va, uint64_t pa, uint64_t rights) {
  Error e = machine::map_user_page(b.root, va, pa, rights, b.ut);
  if (e != Error::ok) panic("boot: mapping booter page %#lx failed (%ld)", va, static_cast<long>(e));
}

void copy_bytes(uint8_t* dst, const uint8_t* src, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) dst[i] = src[i];
}

void load_elf(Booter& b, const BootModule& m, uint64_t& entry) {
  const auto* data = static_cast<const uint8_t*>(machine::phys_to_kernel(m.start));
  elf::Image img;
  elf::Error e = elf::Image::parse(data, m.end - m.start, img);
  if (e != elf::Error::ok) panic("boot: booter image is not a valid ELF: %s", elf::error_string(e));
  for (size_t i = 0; i < img.segment_count(); ++i) {
    elf::Segment s = img.segment(i);
    uint64_t first = s.vaddr & ~(kPage - 1);
    uint64_t last = (s.vaddr + s.memsz + kPage - 1) & ~(kPage - 1);
    uint64_t rights = abi::Rights::read | (s.writable ? abi::Rights::write : 0) |
                      (s.executable ? abi::Rights::exec : 0);
    for (uint64_t va = first; va < last; va += kPage) {
      uint64_t pa = carve(b, 1);
      auto* page = static_cast<uint8_t*>(machine::phys_to_kernel(pa));
      // Copy the part of the file image that falls in this page.
      uint64_t lo = va > s.vaddr ? va : s.vaddr;
      uint64_t hi = va + kPage < s.vaddr + s.filesz ? va + kPage : s.vaddr + s.filesz;
      if (hi > lo) copy_bytes(page + (lo - va), data + s.file_offset + (lo - s.vaddr), hi - lo);
      map(b, va, pa, rights);
    }
  }
  entry = img.entry();
}

void set_cap(Booter& b, uint64_t slot, ObjType type, uint64_t w0, uint64_t w1 = 0, uint64_t w2 = 0) {
  b.slots[slot] = Capability{static_cast<uint8_t>(type), static_cast<uint8_t>(abi::Rights::all), 0,
                             0, w0, w1, w2};
}

bool name_is(const char* s, const char* want) {
  while (*s && *s == *want) ++s, ++want;
  return *s == *want;
}

}  // namespace

void boot_create_booter(const BootModule* modules, unsigned module_count, const MemRange* free,
                        unsigned free_count) {
  const BootModule* image = nullptr;
  for (unsigned i = 0; i < module_count; ++i)
    if (name_is(modules[i].name, "booter")) image = &modules[i];
  if (!image) panic("boot: no multiboot2 module named 'booter' (check grub.cfg)");
  if (free_count == 0) panic("boot: no free memory");
  if (free_count > boot::kMaxUntyped) free_count = boot::kMaxUntyped;

  // The largest free range pays for the booter's own objects.
  unsigned biggest = 0;
  for (unsigned i = 1; i < free_count; ++i)
    if (free[i].size > free[biggest].size) biggest = i;
  Capability boot_ut{static_cast<uint8_t>(ObjType::untyped), 0, 0, 0, free[biggest].base,
                     free[biggest].size, 0};

  Booter b{};
  b.ut = &boot_ut;
  uint64_t ct_pa = carve(b, boot::kBooterCaptblPages);
  b.slots = static_cast<Capability*>(machine::phys_to_kernel(ct_pa));
  b.nslots = boot::kBooterCaptblPages * abi::kSlotsPerCaptblPage;
  b.root = carve(b, 1);
  machine::address_space_init(b.root);

  auto* comp = static_cast<Component*>(machine::phys_to_kernel(carve(b, 1)));
  comp->captbl = CapTable(b.slots, b.nslots);
  comp->pgtbl_root = b.root;
  comp->id = 0;
  comp->alive = true;
  const char* nm = "booter";
  for (unsigned i = 0; nm[i]; ++i) comp->name[i] = nm[i];

  uint64_t entry;
  load_elf(b, *image, entry);

  // Stack, with the page below left unmapped as a guard.
  for (uint64_t off = kPage; off <= boot::kBooterStackBytes; off += kPage)
    map(b, boot::kStackTop - off, carve(b, 1), abi::Rights::read | abi::Rights::write);

  // Boot-info page and the modules, read-only.
  uint64_t info_pa = carve(b, 1);
  auto* info = static_cast<boot::BootInfo*>(machine::phys_to_kernel(info_pa));
  info->magic = boot::kBootInfoMagic;
  uint64_t next_va = boot::kModulesVaddr;
  for (unsigned i = 0; i < module_count && i < boot::kMaxModules; ++i) {
    const BootModule& m = modules[i];
    uint64_t first = m.start & ~(kPage - 1);
    for (uint64_t pa = first; pa < m.end; pa += kPage) map(b, next_va + (pa - first), pa, abi::Rights::read);
    boot::Module& bm = info->modules[info->module_count++];
    for (unsigned j = 0; j + 1 < sizeof(bm.name) && m.name[j]; ++j) bm.name[j] = m.name[j];
    bm.vaddr = next_va + (m.start - first);
    bm.size = m.end - m.start;
    next_va += ((m.end - first + kPage - 1) & ~(kPage - 1)) + kPage;
  }
  map(b, boot::kInfoVaddr, info_pa, abi::Rights::read);

  void* tpage = machine::phys_to_kernel(carve(b, 1));
  Thread* t = thread_init(tpage, comp, entry, boot::kInfoVaddr);

  set_cap(b, boot::kSlotCaptbl, ObjType::captbl, reinterpret_cast<uint64_t>(b.slots), b.nslots);
  set_cap(b, boot::kSlotPgtbl, ObjType::pgtbl, b.root);
  set_cap(b, boot::kSlotComp, ObjType::comp, reinterpret_cast<uint64_t>(comp));
  set_cap(b, boot::kSlotThread, ObjType::thread, reinterpret_cast<uint64_t>(t));

  // Untyped capabilities: all free memory, the booter's range minus what it used.
  uint64_t slot = boot::kSlotFirstUntyped;
  uint64_t total = 0;
  for (unsigned i = 0; i < free_count; ++i) {
    uint64_t used = i == biggest ? boot_ut.w2 : 0;
    set_cap(b, slot, ObjType::untyped, free[i].base, free[i].size, used);
    info->untyped[info->untyped_count++] = boot::Untyped{slot, free[i].base, free[i].size};
    total += free[i].size - used;
    ++slot;
  }
  info->captbl_size = b.nslots;
  info->first_free_slot = static_cast<uint32_t>(slot);

  kprintf("cos: booter: entry %#lx, %u modules, %lu KiB untyped memory in %u ranges\n", entry,
          info->module_count, total / 1024, free_count);
  thread_start(t, boot::kStackTop, 0);
}

}  // namespace cos
