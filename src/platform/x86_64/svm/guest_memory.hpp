// Reading guest memory from the kernel: guest-physical through the nested
// page table, and guest-virtual through the guest's own page tables (real
// mode, 32-bit, PAE and 4-level paging; Intel SDM Vol. 3A, chapter 4). Used
// to fetch the bytes of an exiting instruction when SVM does not report its
// length.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "x86_64/svm/vmcb.hpp"

namespace cos::svm {

/// Host-physical address of guest-physical `gpa` under the NPT at `root`.
bool npt_lookup(uint64_t root, uint64_t gpa, uint64_t& hpa);

/// The last few guest-physical -> host-physical page translations a vCPU's
/// instruction fetches needed (the guest's page-table pages and its code),
/// so a fetch reads the guest's own page tables but not the NPT behind them.
/// The guest's page tables are still read on every fetch: they are the
/// guest's to change without telling anyone. The NPT changes only through
/// the kernel, and a translation is kept only while the VM's `unmaps` count
/// (kernel/vcpu.hpp) is what it was when the translation was made.
struct NptCache {
  static constexpr unsigned kEntries = 7;  ///< fully associative, replaced round robin
  uint64_t unmaps;                          ///< Vm::unmaps when the entries were filled
  uint32_t next;                            ///< the entry to replace next
  uint64_t gpa_page[kEntries];              ///< guest page | 1 (0: empty)
  uint64_t hpa_page[kEntries];
};

/// Where a vCPU's guest-physical reads go: the VM's NPT, and the vCPU's cache.
struct GuestPhys {
  uint64_t root;    ///< NPT PML4 (host-physical)
  uint64_t unmaps;  ///< the VM's current Vm::unmaps
  NptCache& cache;
};

/// Copies up to `n` bytes of guest code at CS:RIP; returns how many could be
/// read (fewer where the guest's or the nested page tables do not map them).
size_t read_guest_code(GuestPhys& mem, const Vmcb& c, uint8_t* buf, size_t n);

}  // namespace cos::svm
