// Boot manifest reader (format: FORMAT.md, version 5).
//
// Freestanding-safe like the ELF reader: only <stdint.h>/<stddef.h>, no
// allocation, no exceptions, byte-wise little-endian loads (no alignment
// requirement on the buffer). Reader::open validates the checksum and every
// offset, count and string reference up front, so the accessors never read
// outside the buffer. A Reader and the Str views it hands out borrow the
// buffer passed to open(); it must outlive them.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace cos::manifest {

/// A string inside the manifest: `size` bytes at `data`, no embedded NUL, and
/// always followed by a NUL (so `data` is also a valid C string).
struct Str {
  const char* data;
  uint32_t size;

  /// True if this string equals the NUL-terminated `cstr` (exact, bytewise).
  bool equals(const char* cstr) const;
};

/// Why Reader::open rejected a buffer. `ok` is the only success value.
enum class Error : int {
  ok,
  too_small,     ///< shorter than the 96-byte header
  bad_magic,     ///< does not start with "COSM"
  bad_version,   ///< version other than 5 (or an unexpected header size)
  bad_size,      ///< total_size smaller than the header or larger than the buffer (truncated)
  bad_checksum,  ///< CRC-32 mismatch (corrupted)
  bad_offset,    ///< a table, record range or component index out of bounds (channel ends included)
  bad_string,    ///< a string reference out of the pool, unterminated, or with an embedded NUL
  bad_value,     ///< a grant out of its range: untyped size, caps bits, I/O ports, IRQ lines, guest RAM size,
                 ///< channel size or ends (the same component twice, or the booter)
};

/// Bits of ComponentView::caps_mask: capabilities to the component's own
/// capability table, page table and component object.
inline constexpr uint32_t kCapCaptbl = 1, kCapPgtbl = 2, kCapComp = 4;

/// A granted I/O-port range: ports [first, first + count), count >= 1,
/// first + count <= 0x10000.
struct IoPortRange {
  uint32_t first, count;
};

/// Static, human-readable description of `e` (never null).
const char* error_string(Error e);

/// One component, in construction order. Sizes are in bytes.
struct ComponentView {
  Str name;                    ///< unique component name
  Str image;                   ///< image file name, "<img>.elf" (= the GRUB module's command line)
  uint32_t priority;           ///< scheduling priority of the main thread, 0 = highest
  uint64_t heap_bytes;         ///< heap size, multiple of 4096
  uint64_t stack_bytes;        ///< main-thread stack size, multiple of 4096
  uint64_t sinv_entry;         ///< address of __cos_sinv_entry if it implements anything, else 0
  uint32_t implements_count;   ///< entries for implements(comp, j)
  uint32_t dep_count;          ///< entries for dep(comp, j)
  uint32_t param_count;        ///< entries for param(comp, j)
  bool constructed_by_kernel;  ///< true for exactly the booter
  // What the composition script grants (the booter itself is granted nothing here).
  uint64_t untyped_bytes;      ///< untyped memory, multiple of 4096; 0 = none
  uint32_t caps_mask;          ///< kCapCaptbl | kCapPgtbl | kCapComp bits
  bool timer;                  ///< the periodic-timer capability
  bool console;                ///< console input
  uint32_t ioport_count;       ///< entries for ioport(comp, j)
  uint32_t irq_count;          ///< entries for irq(comp, j)
  // Boot modules copied into the component, and its guest (VMM components).
  uint32_t blob_count;         ///< entries for blob(comp, j)
  uint64_t guest_ram_bytes;    ///< guest RAM, multiple of 4096; 0 = no [component.guest]
  Str guest_cmdline;           ///< the guest kernel's command line ("" without a guest)
  /// The highest priority (lowest number, 0..255) threads and vCPUs the
  /// component creates may get (the kernel's comp_ceiling).
  uint32_t priority_ceiling;
  bool essential;              ///< `essential`: its failure stops the system
  uint32_t guest_kind;         ///< format::guest_kind_* ([component.guest] kind)
  bool guest_debug_exit;       ///< exit_status = "debug-exit"
  uint32_t cpu;                ///< `cpu`: the CPU its first thread starts on (< cos_limits::kMaxCpus)
};

/// A boot module the booter copies into a component, e.g. a guest kernel:
/// `name` is what the component looks it up by ("guest.kernel"), `module`
/// the GRUB module's command line ("vmm.guest.kernel"); `writable`: the
/// component's copy is mapped read-write (else read-only).
struct BlobView {
  Str name, module;
  bool writable;
};

/// A channel ([[channel]]): `bytes` of memory shared by components `end[0]`
/// and `end[1]` (indices in the manifest, distinct, neither the booter), in
/// the order of the script's `ends`.
struct ChannelView {
  Str name;
  uint32_t end[2];
  uint64_t bytes;  ///< a multiple of 4096 in [kMinChannelBytes, kMaxChannelBytes] (cos/limits.hpp)
};

/// One dependency of a client component on an interface of a server.
struct DepView {
  Str interface;    ///< interface name
  uint32_t server;  ///< index of the server component in the manifest (< component_count())
  uint32_t token;   ///< index of the interface in the server's implements list
};

/// One component parameter (both strings; the composer stringifies integers
/// and booleans as decimal and "true"/"false").
struct ParamView {
  Str key, value;
};

/// A validated manifest. Index arguments out of range yield empty views
/// (null-free empty strings, zero numbers), never out-of-bounds reads.
class Reader {
 public:
  /// Validates `data[0, size)` (size may exceed the manifest's total_size;
  /// trailing bytes are ignored) and on success fills `out`. Checks, in
  /// order: version prefix present (too_small), magic, version and header
  /// size, whole header present (too_small), total size, CRC-32, table bounds
  /// and per-component ranges and dependency indices (bad_offset), every
  /// string reference (bad_string), grant values, guest RAM sizes, channel
  /// sizes and ends (bad_value). On error `out`
  /// is left unchanged.
  static Error open(const void* data, size_t size, Reader& out);

  /// The system's name.
  Str system_name() const;
  /// Number of components.
  uint32_t component_count() const { return component_count_; }
  /// Component `i` (0 <= i < component_count()); components are in
  /// construction order, index 0 is the kernel-constructed booter.
  ComponentView component(uint32_t i) const;
  /// Interface `j` (< implements_count) implemented by component `comp`.
  Str implements(uint32_t comp, uint32_t j) const;
  /// Dependency `j` (< dep_count) of component `comp`.
  DepView dep(uint32_t comp, uint32_t j) const;
  /// Parameter `j` (< param_count) of component `comp`.
  ParamView param(uint32_t comp, uint32_t j) const;
  /// Granted I/O-port range `j` (< ioport_count) of component `comp`.
  IoPortRange ioport(uint32_t comp, uint32_t j) const;
  /// Granted IRQ line `j` (< irq_count) of component `comp` (0..15, never 2).
  uint32_t irq(uint32_t comp, uint32_t j) const;
  /// Blob `j` (< blob_count) of component `comp`.
  BlobView blob(uint32_t comp, uint32_t j) const;
  /// Number of channels of the system.
  uint32_t channel_count() const { return channel_count_; }
  /// Channel `j` (< channel_count()), in script order.
  ChannelView channel(uint32_t j) const;

  /// Finds the component named `name`; sets `index` and returns true if found.
  bool find_component(const char* name, uint32_t& index) const;
  /// Finds parameter `key` of component `comp`; sets `value`, returns true if found.
  bool find_param(uint32_t comp, const char* key, Str& value) const;

  /// Total manifest size in bytes.
  uint32_t size() const { return total_size_; }

 private:
  Str str_at(uint32_t record_offset) const;
  uint16_t u16(uint32_t offset) const;
  uint32_t u32(uint32_t offset) const;
  uint64_t u64(uint32_t offset) const;
  // Offset of the `first + j`-th record of a table, or 0 if j >= count.
  uint32_t record(uint32_t comp, uint32_t first_field, uint32_t count_field, uint32_t table_offset,
                  uint32_t record_size, uint32_t j) const;

  const uint8_t* base_ = nullptr;
  uint32_t total_size_ = 0;
  uint32_t component_count_ = 0;
  uint32_t components_offset_ = 0;
  uint32_t implements_offset_ = 0;
  uint32_t deps_offset_ = 0;
  uint32_t params_offset_ = 0;
  uint32_t ioports_offset_ = 0;
  uint32_t irqs_offset_ = 0;
  uint32_t blobs_offset_ = 0;
  uint32_t channel_count_ = 0;
  uint32_t channels_offset_ = 0;
  uint32_t strings_offset_ = 0;
  uint32_t strings_size_ = 0;
};

}  // namespace cos::manifest
