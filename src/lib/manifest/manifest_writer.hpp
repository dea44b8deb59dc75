// Boot manifest writer (host only; format: FORMAT.md, version 5). The
// composer fills a System and encodes it; the booter reads the bytes with
// cos::manifest::Reader.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "manifest/manifest_reader.hpp"  // IoPortRange, kCap*

namespace cos::manifest {

/// Dependency of a component on interface `interface` of component `server`.
struct Dep {
  std::string interface;
  uint32_t server = 0;  ///< index of the server in System::components
  uint32_t token = 0;   ///< index of `interface` in the server's implements list
};

/// A component parameter; values are already stringified.
struct Param {
  std::string key, value;
};

/// A boot module copied into a component: `name` as the component sees it,
/// `module` the GRUB module's command line; `writable`: mapped read-write.
struct Blob {
  std::string name, module;
  bool writable = false;
};

/// A channel: `bytes` of memory shared by components ends[0] and ends[1]
/// (indices in System::components) plus a notification endpoint each.
struct Channel {
  std::string name;
  uint32_t ends[2] = {0, 0};
  uint64_t bytes = 0;  ///< multiple of 4096 in [kMinChannelBytes, kMaxChannelBytes]
};

/// One component, mirroring ComponentView. Sizes in bytes.
struct Component {
  std::string name;
  std::string image;  ///< "<img>.elf", the GRUB module command line
  uint32_t priority = 128;
  uint32_t priority_ceiling = 128;  ///< comp_ceiling for the component (<= priority)
  uint64_t heap_bytes = 0;
  uint64_t stack_bytes = 0;
  uint64_t sinv_entry = 0;
  bool constructed_by_kernel = false;
  std::vector<std::string> implements;
  std::vector<Dep> deps;
  std::vector<Param> params;
  // Grants from the composition script.
  uint64_t untyped_bytes = 0;  ///< multiple of 4096; 0 = none
  uint32_t caps_mask = 0;      ///< kCapCaptbl | kCapPgtbl | kCapComp
  bool timer = false;
  bool console = false;  ///< console input (hardware.console)
  std::vector<IoPortRange> ioports;
  std::vector<uint32_t> irqs;  ///< ISA lines 0..15 except 2
  // Boot modules and the guest of a VMM component.
  std::vector<Blob> blobs;
  uint64_t guest_ram_bytes = 0;  ///< multiple of 4096; 0 = no guest
  std::string guest_cmdline;
  uint32_t guest_kind = 0;        ///< format::guest_kind_*
  bool guest_debug_exit = false;  ///< exit_status = "debug-exit"
  uint32_t cpu = 0;               ///< `cpu`: where its first thread starts (< cos_limits::kMaxCpus)
  bool essential = false;         ///< `essential`
};

/// A whole system; `components` must already be in construction order.
struct System {
  std::string name;
  std::vector<Component> components;
  std::vector<Channel> channels;  ///< script order
};

/// Encodes `sys` as a version-5 manifest (header, tables, string pool,
/// CRC-32). Identical strings are stored once. Throws std::invalid_argument
/// if a string contains a NUL byte, a dependency's server/token is out of
/// range or names a different interface than the server's implements[token],
/// or a grant is out of range (untyped_bytes not a multiple of 4096, unknown
/// caps_mask bits, an empty I/O-port range or one past port 0xffff, an IRQ
/// line > 15 or 2, the same IRQ line twice in the system, or guest_ram_bytes
/// not a multiple of 4096, a priority_ceiling above 255, an unknown
/// guest_kind), or a channel is invalid (an end out of range or the
/// kernel-constructed component, both ends the same, a size out of range or
/// not a multiple of 4096); throws
/// std::length_error if the result would exceed 4 GiB. The output always
/// passes Reader::open.
std::vector<uint8_t> encode(const System& sys);

}  // namespace cos::manifest
