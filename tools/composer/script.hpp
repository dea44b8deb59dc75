// The composition script after schema validation: plain data plus the source
// positions later checks need for their diagnostics.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "composer/diagnostic.hpp"

namespace composer {

/// One entry of a component's `deps` array.
struct DepSpec {
  std::string interface;
  std::optional<std::string> component;  ///< set for the table form
  SourcePos pos;                         ///< the array element (string or inline table)
  SourcePos interface_pos;               ///< the interface value
  SourcePos component_pos;               ///< the component value (table form only)
};

/// One component parameter, value already stringified.
struct ParamSpec {
  std::string key, value;
  SourcePos pos;        ///< the key
  SourcePos value_pos;  ///< the value
};

/// One `hardware.ioports` entry: ports [first, first + count).
struct IoPortSpec {
  uint32_t first = 0, count = 0;
  SourcePos pos;  ///< the string
};

/// One `hardware.irqs` entry.
struct IrqSpec {
  uint32_t line = 0;
  SourcePos pos;  ///< the integer
};

/// One `overlays` entry of [component.guest]: a file or directory copied into
/// the default initramfs (by `./cos compose`, which builds it).
struct OverlaySpec {
  std::string src;  ///< as written (relative to the script's directory unless absolute)
  std::string dst;  ///< absolute path inside the initramfs
  SourcePos pos;    ///< the inline table
  SourcePos src_pos, dst_pos;
};

/// One `modules` entry of a Multiboot guest: a file the VMM loads as a
/// Multiboot module, with its command line.
struct ModuleSpec {
  std::string src;      ///< as written: a file in the images directory without '/', else relative to the script
  std::string cmdline;  ///< the module's string (default: src as written)
  SourcePos pos;        ///< the inline table
  SourcePos src_pos, cmdline_pos;
};

/// `kind` of [component.guest].
enum class GuestKind { linux, multiboot };
/// `exit_status` of [component.guest]: how the guest's end becomes the run's status.
enum class GuestExitStatus { vm, debug_exit };

/// The default command line of a guest kernel (`cmdline`).
inline constexpr const char* default_guest_cmdline =
    "console=ttyS0 earlyprintk=serial,ttyS0 reboot=k panic=-1 tsc=reliable no_timer_check";
/// `kernel` value meaning the Debian cloud kernel `./cos guest fetch` caches.
inline constexpr const char* debian_cloud_kernel = "debian-cloud";
/// `initramfs` value meaning the busybox initramfs `./cos guest build` makes.
inline constexpr const char* default_initramfs = "default";
/// Default `bootloader`: <images dir>/guest.img.
inline constexpr const char* default_bootloader = "guest.img";

/// [component.guest]: the guest a VMM component runs (docs/composition.md).
struct GuestSpec {
  SourcePos pos;  ///< the [component.guest] header (or the inline table)
  GuestKind kind = GuestKind::linux;
  SourcePos kind_pos;  ///< the value, or pos if absent
  GuestExitStatus exit_status = GuestExitStatus::vm;
  SourcePos exit_status_pos;
  std::string kernel = debian_cloud_kernel;
  SourcePos kernel_pos;  ///< the value, or pos if absent
  std::string initramfs = default_initramfs;
  SourcePos initramfs_pos;
  std::string bootloader = default_bootloader;
  SourcePos bootloader_pos;
  uint64_t ram_bytes = 256ull << 20;
  SourcePos ram_pos;
  std::string cmdline = default_guest_cmdline;
  SourcePos cmdline_pos;
  std::vector<OverlaySpec> overlays;
  SourcePos overlays_pos;  ///< the `overlays` key, or pos if absent
  std::vector<ModuleSpec> modules;  ///< Multiboot guests only
  SourcePos modules_pos;            ///< the `modules` key, or pos if absent
  /// Linux kernel module source directories (`module_sources`), built by
  /// ./cos compose against the Debian kernel's headers into the default
  /// initramfs; each with the position of its string.
  std::vector<std::pair<std::string, SourcePos>> module_sources;
};

/// `format` of a `files` entry.
enum class FileFormat {
  raw,   ///< the file as it is
  ext2,  ///< an ext2 image `./cos compose` builds from the directory `src` (mke2fs -d)
};

/// One `files` entry of a component: a boot module the booter copies into
/// it as blob "file.<name>" (docs/composition.md, "Files").
struct FileSpec {
  std::string name;  ///< [a-z][a-z0-9_]*; the blob is "file.<name>", the module "<component>.file.<name>"
  std::string src;   ///< as written (relative to the script's directory unless absolute)
  FileFormat format = FileFormat::raw;
  uint64_t size_bytes = 0;  ///< the image's size (ext2 only)
  bool writable = false;    ///< mapped read-write (else read-only)
  SourcePos pos;            ///< the inline table
  SourcePos name_pos, src_pos, format_pos, size_pos;
};

/// Bits of ComponentSpec::caps_mask (equal to cos::manifest::kCap*).
enum CapBit : uint32_t { cap_captbl = 1, cap_pgtbl = 2, cap_comp = 4 };

/// One [[component]] table.
struct ComponentSpec {
  SourcePos pos;  ///< the [[component]] header
  std::string name;
  SourcePos name_pos;
  std::string image;  ///< as written in the script
  SourcePos image_pos;
  bool constructed_by_kernel = false;
  SourcePos constructor_pos;  ///< the constructor value, or pos if absent
  uint32_t priority = 128;
  /// The highest priority its threads and vCPUs may get (default: priority).
  uint32_t priority_ceiling = 128;
  /// The CPU its first thread runs on (`cpu`; below [system] cpus).
  uint32_t cpu = 0;
  SourcePos cpu_pos;  ///< the `cpu` value, or pos if absent
  uint64_t heap_bytes = 64 * 1024;
  uint64_t stack_bytes = 16 * 1024;
  std::vector<std::string> implements;
  SourcePos implements_pos;  ///< the `implements` key, or pos if absent
  std::vector<DepSpec> deps;
  SourcePos deps_pos;  ///< the `deps` key, or pos if absent
  std::vector<ParamSpec> params;
  // Grants (see docs/composition.md, "Grants").
  uint64_t untyped_bytes = 0;  ///< `untyped`; 0 = none
  uint32_t caps_mask = 0;      ///< `caps`, CapBit bits
  std::vector<IoPortSpec> ioports;  ///< `hardware.ioports`, script order
  std::vector<IrqSpec> irqs;        ///< `hardware.irqs`, script order
  bool timer = false;               ///< `hardware.timer`
  bool console = false;             ///< `hardware.console`
  /// Position of the first (in file order) of the keys `untyped`, `caps` and
  /// `hardware`, for "the booter cannot be granted" errors; unset if none.
  std::optional<SourcePos> first_grant_key;
  std::string first_grant_key_name;
  /// `files`, script order.
  std::vector<FileSpec> files;
  SourcePos files_pos;  ///< the `files` key, or pos if absent
  /// [component.guest], for VMM components.
  std::optional<GuestSpec> guest;
  SourcePos guest_key_pos;  ///< the `guest` key
  /// `essential` as written (unset: the default, true with a guest).
  std::optional<bool> essential_key;
  SourcePos essential_pos;  ///< the value, or pos if absent
  /// Whether the system cannot do without it: its fault or failed exit stops
  /// the machine (docs/running.md). The kernel-constructed booter always is.
  bool essential() const { return constructed_by_kernel || essential_key.value_or(guest.has_value()); }
};

/// One [[channel]] table: memory shared by two components plus a
/// notification endpoint each (docs/composition.md, "Channels").
struct ChannelSpec {
  SourcePos pos;  ///< the [[channel]] header
  std::string name;
  SourcePos name_pos;
  std::string ends[2];  ///< component names, in script order
  SourcePos ends_pos[2];
  SourcePos ends_key_pos;  ///< the `ends` array
  uint64_t bytes = 64 * 1024;
  SourcePos size_pos;  ///< the value, or pos if absent
};

/// A whole script, components in declaration order.
struct Script {
  std::string path;                ///< as given (used in diagnostics)
  std::filesystem::path directory;  ///< directory containing the script (image paths are relative to it)
  std::string name;
  std::string description;
  uint64_t memory_bytes = 512ull << 20;  ///< emulator RAM
  unsigned cpus = 1;                      ///< emulated CPUs ([system] cpus, 1..cos_limits::kMaxCpus)
  SourcePos system_pos;                   ///< the [system] header (or 1:1)
  std::vector<ComponentSpec> components;
  std::vector<ChannelSpec> channels;  ///< declaration order
};

}  // namespace composer
