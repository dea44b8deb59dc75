// Virtual memory layout of the kernel on x86-64.
//   0x0000000000000000..0x00007fffffffffff  user half (per component)
//   0xffff800000000000..                    direct map of physical memory (kDirectMapSize, 64 GiB)
//   0xffffffff80000000..                    kernel image (linked at kKernelVirtBase + phys)
#pragma once
#include <stdint.h>

namespace cos::x86 {

inline constexpr uint64_t kKernelVirtBase = 0xffffffff80000000ull;
inline constexpr uint64_t kDirectMapBase = 0xffff800000000000ull;
/// The kernel's page tables map the first 64 GiB of physical memory with
/// 2 MiB pages (kernel_paging.cpp: 64 page directories, 256 KiB); RAM the
/// memory map reports above that is not used (documented limit). The boot
/// tables (boot.S) map only the first 4 GiB, enough to reach them.
inline constexpr uint64_t kDirectMapSize = 64ull << 30;
inline constexpr uint64_t kUserTop = 0x0000800000000000ull;
inline constexpr uint64_t kPageSize = 4096;

/// Kernel virtual address of physical address `pa` through the direct map.
template <typename T = void>
inline T* phys_to_virt(uint64_t pa) { return reinterpret_cast<T*>(pa + kDirectMapBase); }
/// Physical address of a direct-map or kernel-image virtual address.
inline uint64_t virt_to_phys(const void* va) {
  auto v = reinterpret_cast<uint64_t>(va);
  return v >= kKernelVirtBase ? v - kKernelVirtBase : v - kDirectMapBase;
}

}  // namespace cos::x86
