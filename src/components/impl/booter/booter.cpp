// The booter: the first user-level component. It reads the boot manifest the
// composer wrote, builds every other component in manifest order (capability
// table, page table, ELF image, stack, heap, info page, sinv gates for its
// dependencies, main thread) and starts them. It grants a component nothing
// but what its composition script names.
#include "cos.hpp"
#include "cos/bootinfo.hpp"
#include "elf/elf64.hpp"
#include "manifest/manifest_reader.hpp"

namespace {

using cos::abi::ObjType;
namespace Rights = cos::abi::Rights;
namespace sys = cos::sys;
constexpr uint64_t kPage = 4096;
/// Where the booter temporarily maps frames to fill them.
constexpr uint64_t kScratchVaddr = 0x0000500000000000ull;
/// Component i's heap lives at (i + 1) * kHeapStride, so heaps of different
/// components never share addresses.
constexpr uint64_t kHeapStride = 1ull << 32;

const cos::boot::BootInfo& g_boot = *reinterpret_cast<const cos::boot::BootInfo*>(cos::boot::kInfoVaddr);
uint64_t g_next_slot;

struct Built {
  uint64_t comp_slot = 0;
  uint64_t thread_slot = 0;
  uint64_t ct_slot = 0;
};
Built g_built[64];

[[noreturn]] void fail(const char* what, const char* comp, long err) {
  cos::printf("booter: cannot build '%s': %s (error %ld); stopping\n", comp, what, err);
  sys::thd_exit();
}

uint64_t new_slot() {
  if (g_next_slot >= g_boot.captbl_size) {
    cos::printf("booter: capability table full\n");
    sys::thd_exit();
  }
  return g_next_slot++;
}

// Retypes from whichever untyped capability has room.
int64_t retype_any(uint64_t dest, ObjType type, uint64_t pages) {
  int64_t r = static_cast<int64_t>(cos::abi::Error::out_of_memory);
  for (uint32_t i = 0; i < g_boot.untyped_count; ++i) {
    r = sys::retype(g_boot.untyped[i].slot, dest, type, pages);
    if (r != static_cast<int64_t>(cos::abi::Error::out_of_memory)) return r;
  }
  return r;
}

// Object creation calls take an untyped slot; try each until one has room.
template <typename F>
int64_t with_untyped(F f) {
  int64_t r = static_cast<int64_t>(cos::abi::Error::out_of_memory);
  for (uint32_t i = 0; i < g_boot.untyped_count; ++i) {
    r = f(g_boot.untyped[i].slot);
    if (r != static_cast<int64_t>(cos::abi::Error::out_of_memory)) return r;
  }
  return r;
}

const cos::boot::Module* find_module(const cos::manifest::Str& name) {
  for (uint32_t i = 0; i < g_boot.module_count; ++i) {
    const char* m = g_boot.modules[i].name;
    uint32_t n = 0;
    while (m[n]) ++n;
    if (n == name.size && __builtin_memcmp(m, name.data, n) == 0) return &g_boot.modules[i];
  }
  return nullptr;
}

void copy_str(char* dst, size_t cap, const cos::manifest::Str& s) {
  size_t n = s.size < cap - 1 ? s.size : cap - 1;
  __builtin_memcpy(dst, s.data, n);
  dst[n] = '\0';
}

// Maps `frame` page `page` at `va` in the component's page table.
void map_into(const char* comp, uint64_t pt, uint64_t va, uint64_t frame, uint64_t page, uint64_t rights) {
  int64_t r = with_untyped([&](uint64_t ut) { return sys::pgtbl_map(pt, va, frame, page, rights, ut); });
  if (r != 0) fail("mapping a page", comp, r);
}

// Fills frame pages through a temporary mapping in the booter itself.
struct Scratch {
  uint64_t va = 0;
  void* map(const char* comp, uint64_t frame, uint64_t page) {
    va = kScratchVaddr;
    map_into(comp, cos::boot::kSlotPgtbl, va, frame, page, Rights::read | Rights::write);
    return reinterpret_cast<void*>(va);
  }
  void unmap() { sys::pgtbl_unmap(cos::boot::kSlotPgtbl, va); }
};

// Allocates, fills (from `src`, `len` bytes at offset `offset` of the region)
// and maps a region of `pages` pages at `va`.
void build_region(const char* comp, uint64_t pt, uint64_t va, uint64_t pages, uint64_t rights,
                  const uint8_t* src, uint64_t offset, uint64_t len) {
  uint64_t frame = new_slot();
  int64_t r = retype_any(frame, ObjType::frame, pages);
  if (r != 0) fail("allocating memory", comp, r);
  for (uint64_t p = 0; p < pages && src; ++p) {
    uint64_t lo = p * kPage, hi = lo + kPage;
    uint64_t from = offset > lo ? offset : lo;
    uint64_t to = offset + len < hi ? offset + len : hi;
    if (to <= from) continue;
    Scratch s;
    auto* dst = static_cast<uint8_t*>(s.map(comp, frame, p));
    __builtin_memcpy(dst + (from - lo), src + (from - offset), to - from);
    s.unmap();
  }
  for (uint64_t p = 0; p < pages; ++p) map_into(comp, pt, va + p * kPage, frame, p, rights);
  sys::cap_delete(frame);  // the mappings keep the memory; the booter keeps no access
}

void load_image(const char* comp, uint64_t pt, const cos::elf::Image& img) {
  for (size_t i = 0; i < img.segment_count(); ++i) {
    cos::elf::Segment s = img.segment(i);
    uint64_t first = s.vaddr & ~(kPage - 1);
    uint64_t last = (s.vaddr + s.memsz + kPage - 1) & ~(kPage - 1);
    uint64_t rights = Rights::read | (s.writable ? Rights::write : 0) | (s.executable ? Rights::exec : 0);
    build_region(comp, pt, first, (last - first) / kPage, rights, img.data() + s.file_offset,
                 s.vaddr - first, s.filesz);
  }
}

void build(const cos::manifest::Reader& m, uint32_t index) {
  cos::manifest::ComponentView cv = m.component(index);
  char name[32];
  copy_str(name, sizeof(name), cv.name);
  Built& b = g_built[index];

  const cos::boot::Module* mod = find_module(cv.image);
  if (!mod) fail("its image is not among the boot modules", name, 0);
  cos::elf::Image img;
  cos::elf::Error ee = cos::elf::Image::parse(reinterpret_cast<const void*>(mod->vaddr), mod->size, img);
  if (ee != cos::elf::Error::ok) {
    cos::printf("booter: image of '%s': %s\n", name, cos::elf::error_string(ee));
    fail("invalid ELF image", name, 0);
  }

  b.ct_slot = new_slot();
  uint64_t pt = new_slot();
  b.comp_slot = new_slot();
  int64_t r = retype_any(b.ct_slot, ObjType::captbl, 1);
  if (r == 0) r = retype_any(pt, ObjType::pgtbl, 1);
  if (r == 0)
    r = with_untyped([&](uint64_t ut) {
      return sys::comp_create(ut, b.comp_slot, b.ct_slot, pt, name, cv.name.size < 31 ? cv.name.size : 31);
    });
  if (r != 0) fail("creating the component", name, r);

  load_image(name, pt, img);
  build_region(name, pt, cos::boot::kStackTop - cv.stack_bytes, cv.stack_bytes / kPage,
               Rights::read | Rights::write, nullptr, 0, 0);
  uint64_t heap_base = (index + 1ull) * kHeapStride;
  build_region(name, pt, heap_base, cv.heap_bytes / kPage, Rights::read | Rights::write, nullptr, 0, 0);

  // The info page, and a sinv gate per dependency in slots 1..n of its table.
  static cos::boot::CompInfo info;
  info = cos::boot::CompInfo{};
  info.magic = cos::boot::kCompInfoMagic;
  copy_str(info.name, sizeof(info.name), cv.name);
  info.id = index;
  info.heap_base = heap_base;
  info.heap_size = cv.heap_bytes;
  info.stack_top = cos::boot::kStackTop;
  for (uint32_t j = 0; j < cv.dep_count && j < cos::boot::kMaxDeps; ++j) {
    cos::manifest::DepView d = m.dep(index, j);
    cos::manifest::ComponentView server = m.component(d.server);
    if (g_built[d.server].comp_slot == 0) fail("a dependency was not built before it", name, 0);
    uint64_t gate = new_slot();
    r = with_untyped([&](uint64_t ut) {
      return sys::sinv_create(ut, gate, g_built[d.server].comp_slot, server.sinv_entry, d.token);
    });
    if (r == 0) r = sys::cap_copy(b.ct_slot, 1 + j, gate, Rights::all);
    if (r != 0) fail("creating a sinv gate", name, r);
    copy_str(info.deps[j].interface, sizeof(info.deps[j].interface), d.interface);
    info.deps[j].slot = 1 + j;
    info.dep_count = j + 1;
  }
  for (uint32_t j = 0; j < cv.param_count && j < cos::boot::kMaxParams; ++j) {
    cos::manifest::ParamView p = m.param(index, j);
    copy_str(info.params[j].key, sizeof(info.params[j].key), p.key);
    copy_str(info.params[j].value, sizeof(info.params[j].value), p.value);
    info.param_count = j + 1;
  }
  build_region(name, pt, cos::boot::kInfoVaddr, 1, Rights::read,
               reinterpret_cast<const uint8_t*>(&info), 0, sizeof(info));

  b.thread_slot = new_slot();
  r = with_untyped([&](uint64_t ut) {
    return sys::thd_create(ut, b.thread_slot, b.comp_slot, img.entry(), cos::boot::kInfoVaddr);
  });
  if (r != 0) fail("creating its thread", name, r);
  cos::printf("booter: built '%s' (image %.*s, priority %u, %lu KiB heap, %u deps)\n", name,
              static_cast<int>(cv.image.size), cv.image.data, cv.priority, cv.heap_bytes / 1024,
              cv.dep_count);
}

}  // namespace

int main() {
  if (g_boot.magic != cos::boot::kBootInfoMagic) {
    cos::printf("booter: no boot info from the kernel\n");
    return 1;
  }
  g_next_slot = g_boot.first_free_slot;
  const cos::boot::Module* mm = nullptr;
  for (uint32_t i = 0; i < g_boot.module_count; ++i)
    if (__builtin_strcmp(g_boot.modules[i].name, "manifest") == 0) mm = &g_boot.modules[i];
  if (!mm) {
    cos::printf("booter: no 'manifest' boot module\n");
    return 1;
  }
  cos::manifest::Reader m;
  cos::manifest::Error e = cos::manifest::Reader::open(reinterpret_cast<const void*>(mm->vaddr), mm->size, m);
  if (e != cos::manifest::Error::ok) {
    cos::printf("booter: bad boot manifest: %s\n", cos::manifest::error_string(e));
    return 1;
  }
  if (m.component_count() > sizeof(g_built) / sizeof(g_built[0])) {
    cos::printf("booter: too many components (%u)\n", m.component_count());
    return 1;
  }
  cos::manifest::Str sysname = m.system_name();
  cos::printf("booter: system '%.*s', %u components\n", static_cast<int>(sysname.size), sysname.data,
              m.component_count());
  for (uint32_t i = 0; i < m.component_count(); ++i)
    if (!m.component(i).constructed_by_kernel) build(m, i);
  for (uint32_t i = 0; i < m.component_count(); ++i) {
    cos::manifest::ComponentView cv = m.component(i);
    if (cv.constructed_by_kernel) continue;
    int64_t r = sys::thd_start(g_built[i].thread_slot, cos::boot::kStackTop, cv.priority);
    if (r != 0) cos::printf("booter: starting '%.*s' failed (%ld)\n", static_cast<int>(cv.name.size), cv.name.data, static_cast<long>(r));
  }
  cos::printf("booter: all components started\n");
  return 0;
}
