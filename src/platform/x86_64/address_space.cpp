// User address spaces: 4-level page tables per component (Intel SDM Vol. 3A,
// 4.5 "4-Level Paging"), built over the direct map with table pages carved
// from untyped memory, and checked copies from user memory.
#include "kernel/kernel.hpp"
#include "kernel/platform.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/address_space.hpp"
#include "x86_64/kernel_paging.hpp"
#include "x86_64/layout.hpp"
#include "x86_64/page_table.hpp"
#include "x86_64/percpu.hpp"

namespace cos::platform {
namespace {

using x86::kPageSize;

/// The root loaded in this CPU's CR3 (0: the boot tables).
uint64_t& loaded_root() { return x86::percpu().loaded_root; }

/// Another CPU has `root` in its CR3, so it may hold translations from it
/// (also while idle or in the kernel: CR3 stays until the next switch).
/// Stable while the kernel lock is held: CR3 changes under it, or to the
/// kernel's tables in cpu_sync_poll.
bool loaded_elsewhere(uint64_t root) {
  const unsigned me = this_cpu();
  for (unsigned cpu = 0; cpu < cos_limits::kMaxCpus; ++cpu)
    if (cpu != me && x86::percpu_of(cpu).online && x86::percpu_of(cpu).loaded_root == root) return true;
  return false;
}

}  // namespace

void* phys_to_kernel(uint64_t pa) { return x86::phys_to_virt(pa); }
uint64_t kernel_to_phys(const void* va) { return x86::virt_to_phys(va); }

void zero_pages(uint64_t pa, uint64_t pages) {
  auto* p = x86::phys_to_virt<uint64_t>(pa);
  for (uint64_t i = 0; i < pages * kPageSize / 8; ++i) p[i] = 0;
}

void address_space_init(uint64_t root_pa) {
  auto* dst = x86::phys_to_virt<uint64_t>(root_pa);
  auto* src = x86::phys_to_virt<uint64_t>(x86::read_cr3() & x86::pte::kAddrMask);
  for (unsigned i = 256; i < 512; ++i) dst[i] = src[i];
}

abi::Error map_user_page(uint64_t root, uint64_t va, uint64_t pa, uint64_t rights, Untyped* ut) {
  if (va >= x86::kUserTop || (va & (kPageSize - 1))) return abi::Error::bad_address;
  x86::KernelMem mem{ut};
  x86::PageTable<x86::KernelMem> pt(mem, root);
  uint64_t e = x86::pte::user_page(pa, rights & abi::Rights::write, rights & abi::Rights::exec);
  return x86::map_error(pt.map(va, e));
}

abi::Error unmap_user_page(uint64_t root, uint64_t va, uint64_t& pa) {
  if (va >= x86::kUserTop || (va & (kPageSize - 1))) return abi::Error::bad_address;
  x86::KernelMem mem{nullptr};
  x86::PageTable<x86::KernelMem> pt(mem, root);
  uint64_t old;
  if (pt.unmap(va, old) != x86::MapResult::ok) return abi::Error::not_mapped;
  if (root == loaded_root()) x86::invlpg(va);
  if (loaded_elsewhere(root)) cpus_sync(0);  // before the page can be reused
  pa = x86::pte::address(old);
  return abi::Error::ok;
}

bool address_space_teardown(uint64_t root, uint64_t& cursor, WorkBudget& budget) {
  if (root == loaded_root()) {
    x86::write_cr3(x86::kernel_root());
    loaded_root() = 0;
  }
  if (loaded_elsewhere(root)) cpus_sync(root);  // no CPU keeps the dying tables in CR3
  x86::KernelMem mem{nullptr};
  x86::PageTable<x86::KernelMem> pt(mem, root);
  return pt.teardown(cursor, x86::kUserTop, budget, frame_page_unmapped, pgtable_page_freed);
}

void address_space_switch(uint64_t root) {
  uint64_t& loaded = loaded_root();
  if (root == loaded) return;
  x86::write_cr3(root);
  loaded = root;
}

namespace {

/// Calls f(kernel pointer, bytes) for each page piece of [uva, uva + len)
/// when every page is mapped user-accessible (and writable if asked);
/// returns false, calling nothing, otherwise.
template <typename F>
bool each_user_piece(uint64_t root, uint64_t uva, size_t len, bool write, F f) {
  if (uva >= x86::kUserTop || len > x86::kUserTop - uva) return false;
  x86::KernelMem mem{nullptr};
  x86::PageTable<x86::KernelMem> pt(mem, root);
  for (uint64_t va = uva & ~(kPageSize - 1); va < uva + len; va += kPageSize) {
    uint64_t e = pt.lookup(va);
    if (!x86::pte::present(e) || !x86::pte::user(e) || (write && !x86::pte::writable(e))) return false;
  }
  while (len > 0) {
    uint64_t e = pt.lookup(uva & ~(kPageSize - 1));
    uint64_t off = uva & (kPageSize - 1);
    size_t n = kPageSize - off < len ? kPageSize - off : len;
    f(x86::phys_to_virt<uint8_t>(x86::pte::address(e) + off), n);
    uva += n;
    len -= n;
  }
  return true;
}

}  // namespace

bool user_writable(uint64_t root, uint64_t uva, size_t len) {
  return each_user_piece(root, uva, len, true, [](uint8_t*, size_t) {});
}

bool copy_to_user(uint64_t root, uint64_t uva, const void* src, size_t len) {
  const auto* in = static_cast<const uint8_t*>(src);
  return each_user_piece(root, uva, len, true, [&](uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) p[i] = in[i];
    in += n;
  });
}

bool copy_from_user(uint64_t root, uint64_t uva, void* dst, size_t len) {
  auto* out = static_cast<uint8_t*>(dst);
  return each_user_piece(root, uva, len, false, [&](uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = p[i];
    out += n;
  });
}

}  // namespace cos::platform
