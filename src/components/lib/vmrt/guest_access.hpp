// vmrt: memory accesses made on the guest's behalf, the way its CPU would
// make them — segmentation (limits, types, canonical addresses), the guest's
// page tables (vmrt::translate), then guest RAM or, for guest-physical
// addresses that are not RAM, a device bus (PhysBus) or the empty bus (reads
// all ones, writes dropped). Where the CPU would raise an exception the
// access stops and reports it as a GuestFault for the VMM to inject, instead
// of failing the VMM. The instruction emulators (string_io.hpp, mmio.hpp)
// are built on it.
//
// Host-compilable: works on a VcpuState (state page + GuestMemory) only.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "vmrt/error.hpp"
#include "vmrt/vcpu_state.hpp"

namespace vmrt {

/// Exception vectors the emulators raise (Intel SDM Vol. 3A, 6.3.1 table 6-1).
inline constexpr uint8_t kVectorUd = 6, kVectorSs = 12, kVectorGp = 13, kVectorPf = 14;

/// An exception the guest gets where its CPU would have raised it.
struct GuestFault {
  uint8_t vector = 0;
  bool has_error_code = false;  ///< #SS, #GP, #PF push one (SDM Vol. 3A 6.13); #UD does not
  uint32_t error_code = 0;
  uint64_t cr2 = 0;             ///< #PF: the faulting linear address (becomes the guest's CR2)

  static GuestFault ud() { return GuestFault{kVectorUd, false, 0, 0}; }
  static GuestFault gp(uint32_t code = 0) { return GuestFault{kVectorGp, true, code, 0}; }
  static GuestFault ss(uint32_t code = 0) { return GuestFault{kVectorSs, true, code, 0}; }
  static GuestFault pf(uint64_t linear, uint32_t code) { return GuestFault{kVectorPf, true, code, linear}; }
};

/// Short name of a fault's vector ("#GP"), "#?" for others.
const char* fault_name(const GuestFault& f);

/// Queues `f` as the event of the next entry (vm::Load::inject) and, for
/// #PF, writes the guest's CR2 (vm::Load::cr).
void inject_fault(VcpuState& v, const GuestFault& f);

/// Guest-physical accesses outside guest RAM: device MMIO. `read` fills
/// `value` (the low `size` bytes, size 1, 2, 4 or 8) and returns true, or
/// returns false when no device answers at gpa; `write` likewise. A null
/// PhysBus, a null callback or a false return is the empty bus of a PC:
/// reads return all ones, writes are dropped.
struct PhysBus {
  void* ctx = nullptr;
  bool (*read)(void* ctx, uint64_t gpa, unsigned size, uint64_t& value) = nullptr;
  bool (*write)(void* ctx, uint64_t gpa, unsigned size, uint64_t value) = nullptr;
};

/// What an access does (selects the segment-type and page-permission checks).
enum class AccessKind : uint8_t { read, write, fetch };

/// Accesses through one vCPU's segments and page tables. Needs vm::Load::cr
/// and vm::Load::segments in the last exit's save mask (else every call
/// fails with Errc::stale_state). Keeps a small translation cache, valid
/// for the life of the object (one exit: the vCPU is stopped meanwhile).
///
/// Every fallible call returns Errc::guest_fault when the guest's CPU would
/// have raised an exception (fault() holds it; nothing was accessed), or
/// another Errc for a problem of the VMM (stale_state).
class GuestAccess {
 public:
  explicit GuestAccess(VcpuState& v, const PhysBus* bus = nullptr) : v_(v), bus_(bus) {}

  /// The current privilege level: 0 in real mode, 3 in virtual-8086 mode,
  /// else SS.DPL (SDM Vol. 3A 5.5: SS.DPL always equals CPL).
  unsigned cpl() const;
  /// True in 64-bit mode (EFER.LMA and CS.L).
  bool mode64() const { return v_.long_mode_64(); }
  /// The default address size of the code segment in bytes: 8 in 64-bit
  /// mode, 4 with CS.D, else 2.
  unsigned default_address_size() const;

  /// The linear address of `size` bytes at seg:offset for an access of
  /// `kind`, after the checks the CPU makes (SDM Vol. 3A 5.3, 5.4; AMD APM
  /// Vol. 2 4.8, 4.12): outside 64-bit mode the segment must be usable,
  /// data segments writable for writes, code segments readable for reads,
  /// and the bytes inside the limit (expand-down segments: above it) —
  /// real and virtual-8086 mode check the limit only; in 64-bit mode the
  /// address must be canonical (48 bits, 57 with CR4.LA57). A violation is
  /// #GP(0), or #SS(0) for an SS-relative access. `offset` is taken as is
  /// (mask it to the address size first).
  Result<uint64_t> linear(Seg seg, uint64_t offset, unsigned size, AccessKind kind);

  /// Translates [linear, linear + size) (size 1..8; it may cross one page
  /// boundary) without accessing it: #PF as the guest's page tables say
  /// (a table outside guest RAM reads as all ones on the empty bus, so the
  /// walk reports a reserved-bit #PF, SDM Vol. 3A 4.7), #GP(0) for a
  /// non-canonical address. Later reads and writes of the range use the
  /// cached translation.
  Status probe(uint64_t linear, unsigned size, AccessKind kind);
  /// Reads `size` bytes (1..8) at a linear address into `value`
  /// (zero-extended, little endian): guest RAM, else the PhysBus.
  Status read(uint64_t linear, unsigned size, uint64_t& value, AccessKind kind = AccessKind::read);
  /// Writes the low `size` bytes (1..8) of `value` at a linear address.
  /// RAM regions without the write right (ROM) drop the write.
  Status write(uint64_t linear, unsigned size, uint64_t value);

  /// Reads up to `max` (at most 15) instruction bytes at CS:RIP. Returns how
  /// many could be read; when fewer than `max`, fetch_fault() holds the
  /// exception fetching the next byte would raise (the caller injects it
  /// only if the instruction needs that byte). Errors: stale_state.
  Result<size_t> fetch(uint8_t* buf, size_t max);
  const GuestFault& fetch_fault() const { return fetch_fault_; }

  /// The exception of the last call that returned Errc::guest_fault.
  const GuestFault& fault() const { return fault_; }

  /// A guest-physical part of an access (inside one page).
  struct Piece {
    uint64_t gpa = 0;
    unsigned size = 0;
  };
  /// Translates [linear, linear + size) (size 1..8) for `kind`, split at
  /// the page boundary: one or two pieces in out[0..count). Faults as probe().
  Status resolve(uint64_t linear, unsigned size, AccessKind kind, Piece* out, unsigned& count);

  /// Guest-physical access of one piece inside a page: RAM (a region
  /// without the write right drops writes), else the PhysBus, else the
  /// empty bus. For emulators that already hold a gpa.
  uint64_t phys_read(uint64_t gpa, unsigned size);
  void phys_write(uint64_t gpa, unsigned size, uint64_t value);

 private:
  Result<uint64_t> translate_page(uint64_t linear, AccessKind kind);
  Error raise(const GuestFault& f, uint64_t addr);
  Status need_state() const;

  VcpuState& v_;
  const PhysBus* bus_;
  GuestFault fault_{};
  GuestFault fetch_fault_{};
  /// Recently used translations: linear page -> gpa page, per access kind.
  struct CacheEntry {
    bool valid = false;
    AccessKind kind = AccessKind::read;
    uint64_t linear_page = 0, gpa_page = 0;
  };
  CacheEntry cache_[4];
  unsigned next_slot_ = 0;
};

}  // namespace vmrt
