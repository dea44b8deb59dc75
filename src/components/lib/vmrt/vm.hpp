// vmrt: VMs and the capabilities the library works with (component only:
// these make system calls).
//
//   vmrt::Env   the component's untyped memory, its own page table, a
//               capability-slot allocator and the VMM-virtual window where
//               guest RAM and state pages are mapped for the VMM.
//   vmrt::Vm    a VM object (guest-physical address space) and its RAM:
//               frames retyped from the untyped memory, mapped into the VM
//               (vm_map) and into the VMM's window (pgtbl_map), so the VMM
//               reads and writes guest memory directly.
//
// A component that uses vmrt needs `untyped = "<size>"` and
// `caps = ["pgtbl"]` (captbl and comp are not needed by the library) in its
// composition script. Untyped memory pays for guest RAM (one page per guest
// page), page-table pages of both address spaces (about 2 pages per 2 MiB
// mapped, more for sparse layouts), 2 pages per VM and 5 per vCPU (vCPU
// object 3, state page, receive endpoint).
#pragma once
#include <stdint.h>

#include "cos/abi.hpp"
#include "vmrt/error.hpp"
#include "vmrt/guest_memory.hpp"
#include "vmrt/slots.hpp"

namespace vmrt {

/// Where the VMM sees guest memory: [kWindowBase, kWindowBase + kWindowBytes)
/// of its own address space, handed out in order and never reused.
inline constexpr uint64_t kWindowBase = 0x0000600000000000ull;
inline constexpr uint64_t kWindowBytes = 0x0000100000000000ull;  // 16 TiB

/// The capabilities and address space the library allocates from.
struct Env {
  uint64_t untyped = 0;  ///< untyped memory slot (needs write)
  uint64_t pgtbl = 0;    ///< the component's own page table (needs write)
  /// Untyped memory for the page-table pages of the VMM window in `pgtbl`
  /// (0: `untyped`). Those pages stay in the component's page table after
  /// the window is unmapped; a VMM that revokes `untyped` to take a VM's
  /// memory back keeps them in another untyped with this.
  uint64_t window_tables_untyped = 0;
  SlotAllocator slots;   ///< free slots of the component's capability table
  uint64_t window_next = kWindowBase;
  uint64_t window_end = kWindowBase + kWindowBytes;

  /// Reserves `bytes` (rounded up to pages) of the VMM window plus one
  /// unmapped guard page after it. Errors: window_full.
  Result<uint64_t> reserve_window(uint64_t bytes);
  /// Maps pages [first, first + count) of the frame in frame_slot at
  /// window address hva (read/write). Errors: syscall (pgtbl_map).
  Status map_into_window(uint64_t hva, uint64_t frame_slot, uint64_t first, uint64_t count);
  /// Unmaps count pages at hva from the VMM's page table (errors ignored).
  void unmap_window(uint64_t hva, uint64_t count);
  /// The untyped slot the window's page-table pages come from.
  uint64_t window_untyped() const { return window_tables_untyped ? window_tables_untyped : untyped; }
};

/// The Env of this component, initialised on first use from its info page
/// (untyped_slot, pgtbl_slot, slots first_free_slot..255). Errors:
/// not_created when the script did not grant untyped memory or `pgtbl`.
Result<Env*> default_env();

/// A VM: a guest-physical address space with RAM.
class Vm {
 public:
  /// RAM chunks (retyped frames) a VM can hold; add_ram uses one per call
  /// unless the untyped memory is fragmented.
  static constexpr unsigned kMaxChunks = 64;

  Vm() = default;
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  /// Creates the VM object (retype ObjType::vm) with capabilities and
  /// memory from env (nullptr: default_env()). Errors: not_created (no
  /// env), out_of_slots, syscall (retype: no_virtualization when the CPU
  /// has no usable VMX/SVM, out_of_memory).
  Status create(Env* env = nullptr);
  bool created() const { return slot_ != 0; }

  /// Adds RAM at guest-physical [gpa, gpa + bytes) (4 KiB aligned, bytes >
  /// 0): retypes zeroed frames, maps them into the guest with `rights`
  /// (cos::abi::Rights read|write|exec by default) and into the VMM window.
  /// Each 2 MiB-aligned 2 MiB of the range whose frame pages are 2 MiB
  /// aligned in host memory is one 2 MiB guest mapping (vm_map with
  /// kVmMapLarge), the rest 4 KiB mappings; unmap()/protect() of part of a
  /// 2 MiB mapping split it into 4 KiB pages.
  /// On error everything this call did is undone. Errors: bad_argument,
  /// region_overlap, too_many_regions, window_full, out_of_slots, syscall
  /// (retype out_of_memory; vm_map/pgtbl_map).
  Status add_ram(uint64_t gpa, uint64_t bytes, uint64_t rights = cos::abi::Rights::read | cos::abi::Rights::write |
                                                                 cos::abi::Rights::exec);
  /// Removes the guest's mappings of the RAM pages in [gpa, gpa + bytes)
  /// (vm_unmap; the guest then faults with vm::ExitReason::gpa_fault). The
  /// VMM keeps its view, so it can still read and write them. Errors:
  /// bad_argument, not_ram, syscall (vm_unmap: not_mapped).
  Status unmap(uint64_t gpa, uint64_t bytes);
  /// Maps RAM pages in [gpa, gpa + bytes) into the guest again with
  /// `rights` (after unmap(); or to change rights, which unmaps first).
  /// Errors: bad_argument, not_ram, syscall.
  Status map(uint64_t gpa, uint64_t bytes, uint64_t rights);
  /// map() with new rights for pages that are mapped now: unmap, then map.
  Status protect(uint64_t gpa, uint64_t bytes, uint64_t rights);

  /// Copies len bytes into guest-physical memory. Errors: not_ram.
  Status copy_to_guest(uint64_t gpa, const void* src, uint64_t len) { return mem_.write(gpa, src, len); }
  /// Copies len bytes out of guest-physical memory. Errors: not_ram.
  Status copy_from_guest(void* dst, uint64_t gpa, uint64_t len) const { return mem_.read(gpa, dst, len); }
  /// The VMM's pointer to guest-physical [gpa, gpa + len) (one RAM
  /// region). Errors: not_ram.
  Result<uint8_t*> gpa_to_hva(uint64_t gpa, uint64_t len = 1) const { return mem_.host_ptr(gpa, len); }
  GuestMemory& memory() { return mem_; }
  const GuestMemory& memory() const { return mem_; }

  /// Whether add_ram may use 2 MiB guest mappings (default true; false maps
  /// every page with 4 KiB, for comparisons).
  void set_large_pages(bool on) { large_pages_ = on; }
  /// Guest mappings add_ram made so far: 2 MiB ones and 4 KiB ones.
  uint64_t large_mappings() const { return large_maps_; }
  uint64_t small_mappings() const { return small_maps_; }

  /// The VM capability's slot (0 before create()).
  uint64_t slot() const { return slot_; }
  Env* env() const { return env_; }

  /// Deletes the VM's RAM frames (after unmapping them from the VMM) and the
  /// VM capability, and frees their slots. Destroy the VM's vCPUs first.
  /// Errors: syscall (cap_delete), reported after everything else was done.
  Status destroy();

 private:
  struct Chunk {
    uint64_t gpa = 0, pages = 0, frame = 0, hva = 0;
  };
  const Chunk* chunk_of(uint64_t gpa) const;
  Status map_pages(uint64_t gpa, uint64_t bytes, uint64_t rights);

  Env* env_ = nullptr;
  uint64_t slot_ = 0;
  Chunk chunks_[kMaxChunks];
  unsigned chunk_count_ = 0;
  bool large_pages_ = true;
  uint64_t large_maps_ = 0, small_maps_ = 0;
  GuestMemory mem_;
};

}  // namespace vmrt
