// vmrt: guest-physical memory as the VMM sees it — a table of regions, each
// a guest-physical range backed by a contiguous host (VMM-virtual) range.
// Translation gpa -> host pointer and bounded copies in and out.
//
// Host-compilable: in the VMM component the host pointers are the window
// where vmrt::Vm maps guest RAM into the component's own page table; in the
// unit tests they point into ordinary host buffers.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "vmrt/error.hpp"

namespace vmrt {

/// One guest-physical range backed by host memory.
struct Region {
  uint64_t gpa;    ///< first guest-physical address (4 KiB aligned)
  uint64_t size;   ///< bytes (a multiple of 4 KiB)
  uint8_t* host;   ///< where the VMM reads and writes the region's first byte
  uint32_t rights; ///< the guest's mapping rights (cos::abi::Rights bits), informational
};

/// The guest's RAM as a sorted table of non-overlapping regions.
class GuestMemory {
 public:
  static constexpr unsigned kMaxRegions = 32;
  static constexpr uint64_t kPage = 4096;

  /// Adds a region. gpa and size must be 4 KiB aligned, size > 0, host
  /// non-null, gpa + size must not wrap. Errors: bad_argument,
  /// region_overlap (addr = gpa), too_many_regions.
  Status add_region(uint64_t gpa, uint64_t size, uint8_t* host, uint32_t rights);
  /// Removes the region that starts exactly at gpa. Errors: not_ram.
  Status remove_region(uint64_t gpa);
  /// The region containing gpa, or nullptr.
  const Region* find(uint64_t gpa) const;
  /// True if [gpa, gpa + len) is entirely RAM (possibly across adjacent regions).
  bool contains(uint64_t gpa, uint64_t len) const;

  /// Host pointer for [gpa, gpa + len) when the whole range lies in one
  /// region (len 0 counts as 1). Errors: not_ram (addr = first address that
  /// is not in the same region).
  Result<uint8_t*> host_ptr(uint64_t gpa, uint64_t len = 1) const;
  /// Copies len bytes from guest-physical gpa to dst; the range may span
  /// adjacent regions. Nothing is copied on error. Errors: not_ram.
  Status read(uint64_t gpa, void* dst, uint64_t len) const;
  /// Copies len bytes from src to guest-physical gpa. Errors: not_ram.
  Status write(uint64_t gpa, const void* src, uint64_t len);
  /// Sets len bytes at gpa to `byte`. Errors: not_ram.
  Status fill(uint64_t gpa, uint8_t byte, uint64_t len);

  /// Reads a trivially copyable T at gpa (no alignment needed).
  template <class T>
  Result<T> read_obj(uint64_t gpa) const {
    T v{};
    VMRT_TRY(read(gpa, &v, sizeof(T)));
    return v;
  }
  /// Writes a trivially copyable T at gpa.
  template <class T>
  Status write_obj(uint64_t gpa, const T& v) {
    return write(gpa, &v, sizeof(T));
  }

  unsigned region_count() const { return count_; }
  const Region& region(unsigned i) const { return regions_[i]; }
  /// Sum of all region sizes in bytes.
  uint64_t total_bytes() const;

 private:
  Region regions_[kMaxRegions] = {};
  unsigned count_ = 0;
};

}  // namespace vmrt
