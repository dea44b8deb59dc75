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
/// Copies up to `n` bytes of guest code at CS:RIP; returns how many could be read.
size_t read_guest_code(uint64_t npt_root, const Vmcb& c, uint8_t* buf, size_t n);

}  // namespace cos::svm
