#include "kernel/boot.hpp"

#include "kernel/console.hpp"
#include "cos/bootinfo.hpp"
#include "elf/elf64.hpp"
#include "kernel/kernel.hpp"
#include "kernel/platform.hpp"

namespace cos {
namespace {

constexpr uint64_t kPage = 4096;

struct Booter {
  Untyped* ut;  // untyped memory the booter's own objects come from
  uint64_t root;
};

[[noreturn]] void out_of_memory() { panic("boot: out of memory building the booter"); }

// A single-page frame mapped into the booter (it owns no capability to it:
// the booter keeps its own image, stack and info page for its whole life).
uint64_t map_new_frame(Booter& b, uint64_t va, uint64_t rights) {
  uint64_t pa;
  if (untyped_alloc(b.ut, 1, 1, PageKind::frame, pa) != Error::ok) out_of_memory();
  page_meta(pa)->pages = 1;
  Error e = platform::map_user_page(b.root, va, pa, rights, b.ut);
  if (e != Error::ok) panic("boot: mapping booter page %#lx failed (%ld)", va, static_cast<long>(e));
  frame_page_mapped(pa);
  return pa;
}

void copy_bytes(uint8_t* dst, const uint8_t* src, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) dst[i] = src[i];
}

void load_elf(Booter& b, const BootModule& m, uint64_t& entry) {
  const auto* data = static_cast<const uint8_t*>(platform::phys_to_kernel(m.start));
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
      uint64_t pa = map_new_frame(b, va, rights);
      auto* page = static_cast<uint8_t*>(platform::phys_to_kernel(pa));
      // Copy the part of the file image that falls in this page.
      uint64_t lo = va > s.vaddr ? va : s.vaddr;
      uint64_t hi = va + kPage < s.vaddr + s.filesz ? va + kPage : s.vaddr + s.filesz;
      if (hi > lo) copy_bytes(page + (lo - va), data + s.file_offset + (lo - s.vaddr), hi - lo);
    }
  }
  entry = img.entry();
}

bool name_is(const char* s, const char* want) {
  while (*s && *s == *want) ++s, ++want;
  return *s == *want;
}

// Gives a free range page metadata (carved from its start) and an untyped
// object; returns nullptr if the range is too small.
Untyped* make_root_untyped(const MemRange& r) {
  uint64_t pages = r.size / kPage;
  uint64_t meta_pages = (pages * sizeof(PageMeta) + kPage - 1) / kPage;
  if (pages < meta_pages + 2) return nullptr;
  uint64_t base = r.base + meta_pages * kPage;
  uint64_t usable = pages - meta_pages;
  platform::zero_pages(r.base, meta_pages);
  page_meta_add_range(base, usable, static_cast<PageMeta*>(platform::phys_to_kernel(r.base)));
  Untyped* u = untyped_init(base, base + kPage, (usable - 1) * kPage, nullptr);
  page_meta(base)->kind = PageKind::untyped;
  obj_ref(u);  // boot memory is never given back
  return u;
}

Capability make_cap(ObjType type, uint64_t w0, uint64_t w1 = 0) {
  Capability c{};
  c.type = static_cast<uint8_t>(type);
  c.w0 = w0;
  c.w1 = w1;
  return c;
}

}  // namespace

void boot_create_booter(const BootModule* modules, unsigned module_count, const MemRange* free,
                        unsigned free_count) {
  const BootModule* image = nullptr;
  for (unsigned i = 0; i < module_count; ++i)
    if (name_is(modules[i].name, "booter")) image = &modules[i];
  if (!image) panic("boot: no multiboot2 module named 'booter' (check grub.cfg)");
  if (free_count > boot::kMaxUntyped) free_count = boot::kMaxUntyped;

  Untyped* roots[boot::kMaxUntyped];
  unsigned nroots = 0;
  Untyped* biggest = nullptr;
  for (unsigned i = 0; i < free_count; ++i) {
    Untyped* u = make_root_untyped(free[i]);
    if (!u) continue;
    roots[nroots++] = u;
    if (!biggest || u->size > biggest->size) biggest = u;
  }
  if (!biggest) panic("boot: no usable free memory");

  Booter b{biggest, 0};
  Captbl* ct;
  Pgtbl* pt;
  Component* comp;
  Thread* t;
  if (obj_create(b.ut, ObjType::captbl, boot::kBooterCaptblPages, ct) != Error::ok ||
      obj_create(b.ut, ObjType::pgtbl, 2, pt) != Error::ok ||
      obj_create(b.ut, ObjType::comp, 1, comp) != Error::ok ||
      obj_create(b.ut, ObjType::thread, 1, t) != Error::ok)
    out_of_memory();
  ct->nslots = boot::kBooterCaptblPages * abi::kSlotsPerCaptblPage;
  pt->root = pt->pa + kPage;
  platform::address_space_init(pt->root);
  b.root = pt->root;
  comp->captbl_obj = ct;
  comp->pgtbl_obj = pt;
  obj_ref(ct);
  obj_ref(pt);
  comp->captbl = CapTable(ct->slots(), ct->nslots);
  comp->pgtbl_root = pt->root;
  comp->id = 0;
  comp->alive = true;
  comp->essential = true;  // the system cannot run without its booter
  const char* nm = "booter";
  for (unsigned i = 0; nm[i]; ++i) comp->name[i] = nm[i];

  uint64_t entry;
  load_elf(b, *image, entry);

  // Stack, with the page below left unmapped as a guard.
  for (uint64_t off = kPage; off <= boot::kBooterStackBytes; off += kPage)
    map_new_frame(b, boot::kStackTop - off, abi::Rights::read | abi::Rights::write);

  // Boot-info page and the modules, read-only (modules have no page metadata:
  // they are not untyped memory and can never be reused).
  uint64_t info_pa = map_new_frame(b, boot::kInfoVaddr, abi::Rights::read);
  auto* info = static_cast<boot::BootInfo*>(platform::phys_to_kernel(info_pa));
  info->magic = boot::kBootInfoMagic;
  uint64_t next_va = boot::kModulesVaddr;
  for (unsigned i = 0; i < module_count && i < boot::kMaxModules; ++i) {
    const BootModule& m = modules[i];
    uint64_t first = m.start & ~(kPage - 1);
    for (uint64_t pa = first; pa < m.end; pa += kPage) {
      Error e = platform::map_user_page(b.root, next_va + (pa - first), pa, abi::Rights::read, b.ut);
      if (e != Error::ok) panic("boot: mapping module %u failed (%ld)", i, static_cast<long>(e));
    }
    boot::Module& bm = info->modules[info->module_count++];
    for (unsigned j = 0; j + 1 < sizeof(bm.name) && m.name[j]; ++j) bm.name[j] = m.name[j];
    bm.vaddr = next_va + (m.start - first);
    bm.size = m.end - m.start;
    next_va += ((m.end - first + kPage - 1) & ~(kPage - 1)) + kPage;
  }

  thread_init(t, comp, entry, boot::kInfoVaddr);

  Capability* slots = ct->slots();
  uint8_t all = static_cast<uint8_t>(abi::Rights::all);
  cap_install(&slots[boot::kSlotCaptbl], make_cap(ObjType::captbl, reinterpret_cast<uint64_t>(ct), ct->nslots), all, nullptr);
  cap_install(&slots[boot::kSlotPgtbl], make_cap(ObjType::pgtbl, reinterpret_cast<uint64_t>(pt)), all, nullptr);
  cap_install(&slots[boot::kSlotComp], make_cap(ObjType::comp, reinterpret_cast<uint64_t>(comp)), all, nullptr);
  cap_install(&slots[boot::kSlotThread], make_cap(ObjType::thread, reinterpret_cast<uint64_t>(t)), all, nullptr);
  cap_install(&slots[boot::kSlotIoports], make_cap(ObjType::ioport, 0, 0x10000), all, nullptr);
  cap_install(&slots[boot::kSlotIrqs], make_cap(ObjType::irq, 0, abi::kIrqLines), all, nullptr);
  cap_install(&slots[boot::kSlotTimer], make_cap(ObjType::timer, 0), all, nullptr);
  cap_install(&slots[boot::kSlotConsole], make_cap(ObjType::console, 0), all, nullptr);

  uint64_t slot = boot::kSlotFirstUntyped;
  uint64_t total = 0;
  for (unsigned i = 0; i < nroots; ++i) {
    Untyped* u = roots[i];
    cap_install(&slots[slot], make_cap(ObjType::untyped, reinterpret_cast<uint64_t>(u)), all, nullptr);
    info->untyped[info->untyped_count++] = boot::Untyped{slot, u->base, u->size};
    total += u->free.free_pages() * kPage;
    ++slot;
  }
  info->captbl_size = ct->nslots;
  info->first_free_slot = static_cast<uint32_t>(slot);

  kprintf("cos: booter: entry %#lx, %u modules, %lu KiB untyped memory in %u ranges\n", entry,
          info->module_count, total / 1024, nroots);
  thread_start(t, boot::kStackTop, 0);
}

}  // namespace cos
