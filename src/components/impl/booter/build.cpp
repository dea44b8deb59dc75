// Building one component: its capability table, page table and component
// object, its ELF image, stack and heap, its capabilities (grants.cpp), its
// info page and its main thread.
#include <stdarg.h>

#include "booter/booter.hpp"
#include "cos/exit_status.hpp"
#include "elf/elf64.hpp"
#include "fmt/format.hpp"

namespace booter {
namespace {

/// Where the booter temporarily maps frames to fill them.
constexpr uint64_t kScratchVaddr = cos::boot::kBooterScratchVaddr;
/// Component i's heap lives at (i + 1) * kHeapStride, so heaps of different
/// components never share addresses (a heap is at most one stride).
constexpr uint64_t kHeapStride = cos_limits::kHeapStride;
static_assert((kMaxComponents + 1) * kHeapStride <= cos::boot::kBlobWindow);

struct Built {
  uint64_t comp_slot = 0;
  uint64_t thread_slot = 0;
  uint64_t pgtbl_slot = 0;
  uint64_t captbl_slot = 0;
};
Built g_built[kMaxComponents];

const cos::boot::Module* find_module(const cos::manifest::Str& name) {
  const cos::boot::BootInfo& bi = boot_info();
  for (uint32_t i = 0; i < bi.module_count; ++i) {
    const char* m = bi.modules[i].name;
    uint32_t n = 0;
    while (m[n]) ++n;
    if (n == name.size && __builtin_memcmp(m, name.data, n) == 0) return &bi.modules[i];
  }
  return nullptr;
}

void copy_str(char* dst, size_t cap, const cos::manifest::Str& s) {
  size_t n = s.size < cap - 1 ? s.size : cap - 1;
  __builtin_memcpy(dst, s.data, n);
  dst[n] = '\0';
}

// Maps `frame` page `page` at `va` in the page table `pt`.
int64_t map_into(uint64_t pt, uint64_t va, uint64_t frame, uint64_t page, uint64_t rights) {
  return with_untyped([&](uint64_t ut) { return sys::pgtbl_map(pt, va, frame, page, rights, ut); });
}

// Allocates, fills (from `src`, `len` bytes at offset `offset` of the region)
// and maps a region of `pages` pages at `va` in the component's page table.
bool build_region(Build& b, const char* what, uint64_t va, uint64_t pages, uint64_t rights,
                  const uint8_t* src, uint64_t offset, uint64_t len) {
  uint64_t frame = new_slot();
  if (frame == 0) return b.fail(0, "the booter's capability table is full");
  int64_t r = retype_any(frame, ObjType::frame, pages);
  if (r != 0) {
    free_slot(frame);
    return b.fail(r, "allocating %lu KiB for its %s", pages * kPage / 1024, what);
  }
  for (uint64_t p = 0; p < pages && src && r == 0; ++p) {
    uint64_t lo = p * kPage, hi = lo + kPage;
    uint64_t from = offset > lo ? offset : lo;
    uint64_t to = offset + len < hi ? offset + len : hi;
    if (to <= from) continue;
    // Filled through a temporary mapping in the booter itself.
    r = map_into(cos::boot::kSlotPgtbl, kScratchVaddr, frame, p, Rights::read | Rights::write);
    if (r != 0) break;
    auto* dst = reinterpret_cast<uint8_t*>(kScratchVaddr);
    __builtin_memcpy(dst + (from - lo), src + (from - offset), to - from);
    sys::pgtbl_unmap(cos::boot::kSlotPgtbl, kScratchVaddr);
  }
  if (r != 0) {
    free_slot(frame);
    return b.fail(r, "filling its %s", what);
  }
  for (uint64_t p = 0; p < pages && r == 0; ++p) r = map_into(b.pt, va + p * kPage, frame, p, rights);
  free_slot(frame);  // the mappings keep the memory; the booter keeps no access
  if (r != 0) return b.fail(r, "mapping its %s", what);
  return true;
}

// Copies the component's blobs (boot modules such as a guest kernel or its
// `files`) into frames from the booter's untyped memory, maps them at
// kBlobWindow + j * kBlobStride (read-only, or read-write if writable) and
// records them (and its guest) in `info`.
bool load_blobs(Build& b, cos::boot::CompInfo& info) {
  if (b.cv.blob_count > cos::boot::kMaxBlobs)
    return b.fail(0, "%u blobs, its info page holds %u", b.cv.blob_count, cos::boot::kMaxBlobs);
  for (uint32_t j = 0; j < b.cv.blob_count; ++j) {
    cos::manifest::BlobView bv = b.m.blob(b.index, j);
    const cos::boot::Module* mod = find_module(bv.module);
    if (!mod)
      return b.fail(0, "its blob '%s' (boot module '%s') is not among the boot modules", bv.name.data,
                    bv.module.data);
    if (mod->size >= cos::boot::kBlobStride) return b.fail(0, "its blob '%s' is larger than 4 GiB", bv.name.data);
    uint64_t va = cos::boot::kBlobWindow + j * cos::boot::kBlobStride;
    uint64_t pages = (mod->size + kPage - 1) / kPage;
    if (pages == 0) pages = 1;
    char what[48];
    cos::fmt::snformat(what, sizeof(what), "blob '%s'", bv.name.data);
    const uint64_t rights = Rights::read | (bv.writable ? Rights::write : 0);
    if (!build_region(b, what, va, pages, rights, reinterpret_cast<const uint8_t*>(mod->vaddr), 0, mod->size))
      return false;
    cos::boot::CompInfo::Blob& e = info.blobs[j];
    copy_str(e.name, sizeof(e.name), bv.name);
    e.vaddr = va;
    e.size = mod->size;
    e.flags = bv.writable ? cos::boot::kBlobWritable : 0;
    info.blob_count = j + 1;
  }
  info.guest_ram_bytes = b.cv.guest_ram_bytes;
  info.guest_kind = b.cv.guest_kind;
  info.guest_flags = b.cv.guest_debug_exit ? cos::boot::kGuestFlagDebugExit : 0;
  copy_str(info.guest_cmdline, sizeof(info.guest_cmdline), b.cv.guest_cmdline);
  info.guest_cmdline_size = static_cast<uint32_t>(__builtin_strlen(info.guest_cmdline));
  return true;
}

bool load_image(Build& b, const cos::elf::Image& img) {
  for (size_t i = 0; i < img.segment_count(); ++i) {
    cos::elf::Segment s = img.segment(i);
    uint64_t first = s.vaddr & ~(kPage - 1);
    uint64_t last = (s.vaddr + s.memsz + kPage - 1) & ~(kPage - 1);
    uint64_t rights = Rights::read | (s.writable ? Rights::write : 0) | (s.executable ? Rights::exec : 0);
    if (!build_region(b, "image", first, (last - first) / kPage, rights, img.data() + s.file_offset,
                      s.vaddr - first, s.filesz))
      return false;
  }
  return true;
}

// Capability table (kCompCaptblPages pages), page table and component object.
bool create_objects(Build& b) {
  b.ct = new_slot();
  b.pt = new_slot();
  b.comp = new_slot();
  if (b.ct == 0 || b.pt == 0 || b.comp == 0) return b.fail(0, "the booter's capability table is full");
  int64_t r = retype_any(b.ct, ObjType::captbl, kCompCaptblPages);
  if (r != 0) return b.fail(r, "creating its capability table");
  r = retype_any(b.pt, ObjType::pgtbl, 1);
  if (r != 0) return b.fail(r, "creating its page table");
  uint64_t len = b.cv.name.size < 31 ? b.cv.name.size : 31;
  r = with_untyped([&](uint64_t ut) { return sys::comp_create(ut, b.comp, b.ct, b.pt, b.name, len); });
  if (r != 0) return b.fail(r, "creating the component");
  // The script's ceiling (default: its priority): it may not create threads
  // or vCPUs above it. Components made by the booter would otherwise inherit
  // the booter's ceiling, 0.
  r = sys::comp_ceiling(b.comp, b.cv.priority_ceiling);
  if (r != 0) return b.fail(r, "setting its priority ceiling");
  // Its fault or failed exit will stop the system (the booter is essential).
  if (b.cv.essential && (r = sys::comp_essential(b.comp)) != 0) return b.fail(r, "marking it essential");
  return true;
}

// Removes what a failed build made: the capabilities derived from the
// booter's (such as the component's copies of its own objects), then the
// booter's. The objects go when nothing references them any more.
void release(Build& b) {
  uint64_t* slots[] = {&b.thread, &b.comp, &b.pt, &b.ct};
  for (uint64_t* slot : slots) {
    if (*slot == 0) continue;
    sys::cap_revoke(*slot);
    free_slot(*slot);
    *slot = 0;
  }
}

bool build_all(Build& b, cos::boot::CompInfo& info) {
  const cos::boot::Module* mod = find_module(b.cv.image);
  if (!mod)
    return b.fail(0, "its image '%.*s' is not among the boot modules", static_cast<int>(b.cv.image.size),
                  b.cv.image.data);
  cos::elf::Image img;
  cos::elf::Error ee = cos::elf::Image::parse(reinterpret_cast<const void*>(mod->vaddr), mod->size, img);
  if (ee != cos::elf::Error::ok) return b.fail(0, "invalid ELF image: %s", cos::elf::error_string(ee));

  if (!create_objects(b) || !load_image(b, img)) return false;
  if (!build_region(b, "stack", cos::boot::kStackTop - b.cv.stack_bytes, b.cv.stack_bytes / kPage,
                    Rights::read | Rights::write, nullptr, 0, 0))
    return false;
  uint64_t heap_base = (b.index + 1ull) * kHeapStride;
  if (!build_region(b, "heap", heap_base, b.cv.heap_bytes / kPage, Rights::read | Rights::write, nullptr, 0, 0))
    return false;

  info = cos::boot::CompInfo{};
  info.magic = cos::boot::kCompInfoMagic;
  copy_str(info.name, sizeof(info.name), b.cv.name);
  info.id = b.index;
  info.heap_base = heap_base;
  info.heap_size = b.cv.heap_bytes;
  info.stack_top = cos::boot::kStackTop;
  if (b.cv.param_count > cos::boot::kMaxParams)
    return b.fail(0, "%u parameters, its info page holds %u", b.cv.param_count, cos::boot::kMaxParams);
  for (uint32_t j = 0; j < b.cv.param_count; ++j) {
    cos::manifest::ParamView p = b.m.param(b.index, j);
    if (p.key.size >= sizeof(info.params[j].key) || p.value.size >= sizeof(info.params[j].value))
      return b.fail(0, "parameter '%.*s' is longer than its info page holds (%u-byte keys, %u-byte values)",
                    static_cast<int>(p.key.size < 31 ? p.key.size : 31), p.key.data, cos_limits::kMaxParamKeyBytes,
                    cos_limits::kMaxParamValueBytes);
    copy_str(info.params[j].key, sizeof(info.params[j].key), p.key);
    copy_str(info.params[j].value, sizeof(info.params[j].value), p.value);
    info.param_count = j + 1;
  }
  if (!grant_deps(b, info) || !grant_script(b, info) || !load_blobs(b, info)) return false;
  if (!build_region(b, "info page", cos::boot::kInfoVaddr, cos::boot::kInfoBytes / kPage, Rights::read,
                    reinterpret_cast<const uint8_t*>(&info), 0, sizeof(info)))
    return false;

  b.thread = new_slot();
  if (b.thread == 0) return b.fail(0, "the booter's capability table is full");
  int64_t r = with_untyped([&](uint64_t ut) {
    return sys::thd_create(ut, b.thread, b.comp, img.entry(), cos::boot::kInfoVaddr);
  });
  if (r != 0) return b.fail(r, "creating its thread");
  return true;
}

}  // namespace

Build::Build(const cos::manifest::Reader& manifest, uint32_t i) : m(manifest), index(i), cv(manifest.component(i)) {
  copy_str(name, sizeof(name), cv.name);
}

bool Build::fail(int64_t error, const char* fmt, ...) {
  if (what[0] != '\0') return false;
  va_list ap;
  va_start(ap, fmt);
  cos::fmt::vsnformat(what, sizeof(what), fmt, ap);
  va_end(ap);
  if (what[0] == '\0') what[0] = '?';
  err = error;
  return false;
}

bool Build::take_child_slot(uint64_t& slot) {
  if (next_slot >= kCompSlots) return fail(0, "its capability table (%lu slots) is full", kCompSlots);
  slot = next_slot++;
  return true;
}

bool build(const cos::manifest::Reader& m, uint32_t index) {
  if (index >= kMaxComponents) return false;
  Build b(m, index);
  static cos::boot::CompInfo info;  // 4 KiB: not on the booter's stack
  if (!build_all(b, info)) {
    if (b.err != 0)
      cos::printf("booter: cannot build '%s': %s (%s, error %ld); not starting it\n", b.name, b.what,
                  error_name(b.err), static_cast<long>(b.err));
    else
      cos::printf("booter: cannot build '%s': %s; not starting it\n", b.name, b.what);
    release(b);
    if (b.cv.essential && b.err != 0)
      cos::exit(cos::exit_status::kFailed, "cannot build essential component '%s': %s (%s, error %ld)", b.name,
                b.what, error_name(b.err), static_cast<long>(b.err));
    if (b.cv.essential) cos::exit(cos::exit_status::kFailed, "cannot build essential component '%s': %s", b.name, b.what);
    return false;
  }
  g_built[index].comp_slot = b.comp;
  g_built[index].thread_slot = b.thread;
  g_built[index].pgtbl_slot = b.pt;
  g_built[index].captbl_slot = b.ct;
  cos::printf("booter: built '%s' (image %.*s, priority %u, %lu KiB heap, %u deps)\n", b.name,
              static_cast<int>(b.cv.image.size), b.cv.image.data, b.cv.priority, b.cv.heap_bytes / 1024,
              b.cv.dep_count);
  print_grants(info);
  print_channels(m, info);
  if (info.blob_count != 0 || info.guest_ram_bytes != 0) {
    char line[192] = "";
    size_t n = 0;
    auto clamp = [&](size_t len) { n = n + len < sizeof(line) - 1 ? n + len : sizeof(line) - 1; };
    if (info.guest_ram_bytes != 0)
      clamp(cos::fmt::snformat(line + n, sizeof(line) - n, " guest RAM %lu MiB;", info.guest_ram_bytes >> 20));
    if (info.blob_count != 0) clamp(cos::fmt::snformat(line + n, sizeof(line) - n, " blobs"));
    for (uint32_t j = 0; j < info.blob_count; ++j)
      clamp(cos::fmt::snformat(line + n, sizeof(line) - n, " %s %lu KiB%s", info.blobs[j].name,
                               (info.blobs[j].size + 1023) / 1024, j + 1 < info.blob_count ? "," : ""));
    bool writable = false;
    for (uint32_t j = 0; j < info.blob_count; ++j) writable |= m.blob(index, j).writable;
    cos::printf("booter:  %s (%s at 0x%lx)\n", line, writable ? "some writable" : "read-only", cos::boot::kBlobWindow);
  }
  return true;
}

uint64_t built_comp(uint32_t index) {
  return index < kMaxComponents ? g_built[index].comp_slot : 0;
}

uint64_t built_thread(uint32_t index) {
  return index < kMaxComponents ? g_built[index].thread_slot : 0;
}

void unbuild(const cos::manifest::Reader& m, uint32_t index, const char* why) {
  if (index >= kMaxComponents || g_built[index].thread_slot == 0) return;
  const cos::manifest::ComponentView cv = m.component(index);
  cos::printf("booter: not starting '%.*s': %s\n", static_cast<int>(cv.name.size), cv.name.data, why);
  if (cv.essential)
    cos::exit(cos::exit_status::kFailed, "not starting essential component '%.*s': %s", static_cast<int>(cv.name.size),
              cv.name.data, why);
  Built& bt = g_built[index];
  uint64_t* slots[] = {&bt.thread_slot, &bt.comp_slot, &bt.pgtbl_slot, &bt.captbl_slot};
  for (uint64_t* slot : slots) {
    if (*slot == 0) continue;
    sys::cap_revoke(*slot);
    free_slot(*slot);
    *slot = 0;
  }
}

}  // namespace booter
