#include "x86_64/kernel_paging.hpp"

#include "kernel/console.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/layout.hpp"
#include "x86_64/pte.hpp"

extern "C" char __text_start[], __text_end[], __rodata_start[], __rodata_end[], __data_start[], __data_end[];

namespace cos::x86 {
namespace {

using namespace pte;

/// Page tables for the image: enough for an 8 MiB image (boot checks).
constexpr unsigned kImagePts = 4;
/// The direct map with 2 MiB pages.
constexpr unsigned kDirectMapPds = static_cast<unsigned>(kDirectMapSize >> 30);

struct alignas(4096) Table {
  uint64_t e[512];
};
Table g_pml4;
Table g_pdpt_image;               // PML4[511]
Table g_pd_image;                 // PDPT[510]: -2 GiB
Table g_pt_image[kImagePts];
Table g_pdpt_direct;              // PML4[256]
Table g_pd_direct[kDirectMapPds];

uint64_t phys(const void* p) { return virt_to_phys(p); }
/// Kernel non-leaf entries: present, writable, supervisor (the leaf decides).
uint64_t kernel_table(const Table& t) { return (phys(&t) & kAddrMask) | kPresent | kWritable; }

}  // namespace

void kernel_paging_init() {
  const KernelImage img{reinterpret_cast<uint64_t>(__text_start),   reinterpret_cast<uint64_t>(__text_end),
                        reinterpret_cast<uint64_t>(__rodata_start), reinterpret_cast<uint64_t>(__rodata_end),
                        reinterpret_cast<uint64_t>(__data_start),   reinterpret_cast<uint64_t>(__data_end)};
  // The image lies in the first GiB above kKernelVirtBase: PDPT[510], and
  // within kImagePts * 2 MiB of its start.
  const uint64_t first = img.text_start & ~((2ull << 20) - 1);
  if (img.data_end - first > kImagePts * (2ull << 20))
    panic("kernel image (%lu KiB) larger than its page tables cover", (img.data_end - img.text_start) >> 10);
  for (uint64_t va = img.text_start; va < img.data_end; va += kPageSize) {
    const unsigned pt = static_cast<unsigned>((va - first) >> 21);
    g_pt_image[pt].e[index(va, 0)] = kernel_image_entry(img, va);
  }
  for (unsigned pt = 0; pt < kImagePts; ++pt)
    g_pd_image.e[index(first, 1) + pt] = kernel_table(g_pt_image[pt]);
  g_pdpt_image.e[index(kKernelVirtBase, 2)] = kernel_table(g_pd_image);
  g_pml4.e[index(kKernelVirtBase, 3)] = kernel_table(g_pdpt_image);

  for (unsigned gib = 0; gib < kDirectMapPds; ++gib) {
    for (unsigned i = 0; i < 512; ++i)
      g_pd_direct[gib].e[i] = direct_map_entry((static_cast<uint64_t>(gib) << 30) + (static_cast<uint64_t>(i) << 21));
    g_pdpt_direct.e[gib] = kernel_table(g_pd_direct[gib]);
  }
  g_pml4.e[index(kDirectMapBase, 3)] = kernel_table(g_pdpt_direct);
  write_cr3(phys(&g_pml4));
  // The boot tables' global translations survive a CR3 write: toggling
  // CR4.PGE flushes them (Intel SDM Vol. 3A, 4.10.4.1).
  const uint64_t cr4 = read_cr4();
  write_cr4(cr4 & ~Cr4::pge);
  write_cr4(cr4 | Cr4::pge);
  struct Mem {
    uint64_t* table(uint64_t pa) { return phys_to_virt<uint64_t>(pa); }
  } mem;
  if (unsigned n = count_writable_executable(mem, phys(&g_pml4)))
    panic("%u kernel mappings are both writable and executable", n);
}

namespace {
/// The CR4 bits protection_init turned on, for the other CPUs.
uint64_t g_protection_cr4;
}  // namespace

void protection_this_cpu() { write_cr4(read_cr4() | g_protection_cr4); }

const char* protection_init() {
  static char summary[64];
  uint32_t a, b, c, d;
  cpuid(0, 0, a, b, c, d);
  uint32_t leaf7_b = 0, leaf7_c = 0;
  if (a >= 7) cpuid(7, 0, a, leaf7_b, leaf7_c, d);
  uint64_t cr4 = read_cr4();
  unsigned n = 0;
  auto add = [&](const char* s) {
    for (const char* q = s; *q && n + 1 < sizeof(summary); ++q) summary[n++] = *q;
  };
  add("W^X");  // checked by kernel_paging_init
  // CPUID.(EAX=7,ECX=0):EBX bit 7 SMEP, bit 20 SMAP; ECX bit 2 UMIP
  // (Intel SDM Vol. 2A, CPUID). The kernel reaches user memory only
  // through the direct map, so SMAP needs no STAC/CLAC anywhere.
  if (leaf7_b & (1u << 7)) cr4 |= Cr4::smep, add(", SMEP");
  if (leaf7_b & (1u << 20)) cr4 |= Cr4::smap, add(", SMAP");
  if (leaf7_c & (1u << 2)) cr4 |= Cr4::umip, add(", UMIP");
  g_protection_cr4 = cr4 & (Cr4::smep | Cr4::smap | Cr4::umip);
  write_cr4(cr4);
  summary[n] = 0;
  return summary;
}

uint64_t kernel_root() { return phys(&g_pml4); }

}  // namespace cos::x86
