// Pieces of the booter shared between its files: the booter's own capability
// slots and untyped memory (slots.cpp), building one component (build.cpp),
// the capabilities a component is granted (grants.cpp) and its channels
// (channels.cpp). booter.cpp has
// main() and the overview.
#pragma once
#include "runtime/cos.hpp"
#include "cos/bootinfo.hpp"
#include "cos/compinfo.hpp"
#include "cos/limits.hpp"
#include "manifest/manifest_reader.hpp"

namespace booter {

using cos::abi::ObjType;
namespace Rights = cos::abi::Rights;
namespace sys = cos::sys;
inline constexpr uint64_t kPage = 4096;
/// Every component's capability table: 4 pages of 64 slots (slot 0 unused).
inline constexpr uint64_t kCompCaptblPages = 4;
inline constexpr uint64_t kCompSlots = kCompCaptblPages * cos::abi::kSlotsPerCaptblPage;
static_assert(kCompSlots == cos_limits::kComponentSlots);
// Every grant a script can make fits the component's table: slot 0, the
// deps, untyped, captbl/pgtbl/comp, the I/O-port ranges, one slot per
// grantable IRQ line (at most every line), timer and console, the
// notification endpoint and a send endpoint per channel.
static_assert(1 + cos_limits::kMaxDeps + 1 + 3 + cos_limits::kMaxIoportRanges + cos_limits::kMaxIrqs + 2 + 1 +
                  cos_limits::kMaxChannels <=
              kCompSlots);

/// Most components a manifest may have (the booter included); the booter
/// refuses a manifest with more (the composer refuses such a script).
inline constexpr uint32_t kMaxComponents = cos_limits::kMaxComponents;
// The booter keeps 4 slots per built component (captbl, pgtbl, comp,
// thread) after the kernel's (every untyped range) and needs a few
// temporary ones.
static_assert(cos::boot::kSlotFirstUntyped + cos::boot::kMaxUntyped + 4 * kMaxComponents + 4 <=
              cos::boot::kBooterCaptblPages * cos::abi::kSlotsPerCaptblPage);

/// What the kernel handed the booter.
const cos::boot::BootInfo& boot_info();

// ---------------------------------------------------------------- slots.cpp

/// Starts slot allocation at the first slot the kernel left free.
void init_slots();
/// A free slot of the booter's capability table, or 0 if it is full.
uint64_t new_slot();
/// Empties `slot` (cap_delete) and lets new_slot() hand it out again.
void free_slot(uint64_t slot);
/// retype(ut, dest, type, pages) from whichever untyped capability has room.
int64_t retype_any(uint64_t dest, ObjType type, uint64_t pages);
/// Object creation calls take an untyped slot; tries each until one has room.
template <typename F>
int64_t with_untyped(F f) {
  int64_t r = static_cast<int64_t>(cos::abi::Error::out_of_memory);
  for (uint32_t i = 0; i < boot_info().untyped_count; ++i) {
    r = f(boot_info().untyped[i].slot);
    if (r != static_cast<int64_t>(cos::abi::Error::out_of_memory)) return r;
  }
  return r;
}
/// The name of a kernel error code ("out_of_memory"), or "error" if unknown.
const char* error_name(int64_t err);

// ---------------------------------------------------------------- build.cpp

/// One component under construction.
struct Build {
  const cos::manifest::Reader& m;
  uint32_t index;                  ///< in the manifest
  cos::manifest::ComponentView cv;
  char name[32];
  // The booter's capabilities to the component's objects (0: not made yet).
  uint64_t ct = 0, pt = 0, comp = 0, thread = 0;
  /// Next unused slot of the component's own capability table.
  uint64_t next_slot = 1;
  /// The first failure ("" while there is none) and the kernel's error code
  /// for it (0 if the failure is not a kernel error).
  char what[96] = {};
  int64_t err = 0;

  Build(const cos::manifest::Reader& manifest, uint32_t i);
  /// Records the first failure; always returns false.
  bool fail(int64_t error, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  /// Claims the next slot of the component's table; false (and a recorded
  /// failure) if the table is full.
  bool take_child_slot(uint64_t& slot);
};

/// Builds manifest component `index` completely (capability table, page
/// table, component, image, stack, heap, capabilities, info page, thread) but
/// does not start it. On failure prints which component and what failed,
/// releases what it made and returns false.
bool build(const cos::manifest::Reader& m, uint32_t index);
/// The booter's capability to built component `index`'s object / main
/// thread; 0 if it was not built (or failed).
uint64_t built_comp(uint32_t index);
uint64_t built_thread(uint32_t index);
/// Takes back a built component that must not start (`why` is printed
/// after "not starting '<name>': "): revokes and deletes the booter's
/// capabilities to its thread, component, page table and capability table,
/// so the objects and their mappings go; stops the system if it is
/// essential.
void unbuild(const cos::manifest::Reader& m, uint32_t index, const char* why);

// --------------------------------------------------------------- grants.cpp

/// A sinv gate per dependency, in slots 1..n of the component's table, in
/// `deps` order; fills info.deps.
bool grant_deps(Build& b, cos::boot::CompInfo& info);
/// What the composition script grants, in the next consecutive slots:
/// untyped memory, own captbl / pgtbl / comp, I/O-port ranges, IRQ lines,
/// the timer, console input, its channels (grant_channels). Fills the info
/// page's slots and first_free_slot.
bool grant_script(Build& b, cos::boot::CompInfo& info);
/// Prints "booter:   grants: ..." listing what grant_script granted.
void print_grants(const cos::boot::CompInfo& info);
/// Copies the booter's capability in `src` with only `rights` to the next
/// slot of the component's table; the slot is stored in `slot`.
bool give_rights(Build& b, uint64_t src, uint64_t rights, uint64_t& slot, const char* what);

// ------------------------------------------------------------- channels.cpp

/// Before any component is built: a notification endpoint (rcv) for every
/// component that is an end of a channel, and each channel's memory (a
/// frame of its size, zeroed), in the booter's table. A channel that cannot
/// be made is remembered; both its ends then fail in grant_channels.
void prepare_channels(const cos::manifest::Reader& m);
/// For a component that is an end of channels: its notification endpoint
/// (read|write) in the next slot, then per channel (script order; j-th of
/// its channels) the memory mapped read-write at kChannelWindow + j *
/// kChannelStride and a send endpoint (write) to the peer's notification
/// endpoint in the next slot. Fills info.channels, channel_count and
/// notify_rcv_slot. False (and a recorded failure) if a channel was not
/// prepared or a step fails.
bool grant_channels(Build& b, cos::boot::CompInfo& info);
/// Prints "booter:   channels: disk0 (256 KiB, with 'disk') at 0x..." for a
/// component with channels.
void print_channels(const cos::manifest::Reader& m, const cos::boot::CompInfo& info);
/// Whether built component `comp` has a channel whose other end was not
/// built (or was taken back); sets `channel` and `peer` to the first such.
bool channels_unbuilt_peer(const cos::manifest::Reader& m, uint32_t comp, uint32_t& channel, uint32_t& peer);
/// After every component is built: deletes the booter's capabilities to the
/// channels' memory and endpoints (the ends' copies and mappings keep them).
void release_channels();

}  // namespace booter
