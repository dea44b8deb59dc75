// The files of each component's [component.guest]: the guest kernel (a
// bzImage), initramfs and bootloader, resolved, read and checked. They are
// copied into the output directory and loaded by GRUB as modules named
// "<component>.guest.kernel" etc.; the booter copies them into the VMM
// component (see docs/composition.md, "Guests").
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "composer/bzimage.hpp"
#include "composer/input_files.hpp"
#include "composer/script.hpp"

namespace composer {

/// What the symbolic values of [component.guest] stand for; `./cos compose`
/// fetches and builds them (tools/cos/coslib/guest.py) and passes them as
/// --guest-kernel and --guest-initramfs.
struct GuestInputs {
  std::filesystem::path kernel;                        ///< kernel = "debian-cloud"
  std::map<std::string, std::filesystem::path> initramfs;  ///< per component: initramfs = "default"
  /// Per "<component>.<file name>": the image ./cos compose built for a
  /// `files` entry with format = "ext2" (--file).
  std::map<std::string, std::filesystem::path> files;
};

/// One blob of a component: a file of its guest or of its `files`.
struct GuestFile {
  std::string module;             ///< "<component>.guest.kernel": output file name and GRUB module command line
  std::string blob;               ///< "guest.kernel": the name the component finds it by
  std::filesystem::path source;   ///< where it was read from
  std::vector<uint8_t> bytes;
  bool writable = false;          ///< mapped read-write (`files` with writable = true)
};

/// Per component (declaration order): its guest's files in the order kernel,
/// initramfs, bootloader (Linux) or kernel, modules (Multiboot, the module
/// pack of cos/guest_modules.hpp, only with modules), then its `files`
/// ("file.<name>", script order, added by load_files in files.hpp); empty
/// for components with neither.
struct GuestSet {
  std::vector<std::vector<GuestFile>> files;
};

/// Why `bytes` is not a Multiboot kernel simple_vmm can load (header,
/// flags, a.out kludge or ELF: multiboot/multiboot.hpp), or "" if it is one.
std::string multiboot_problem(const std::vector<uint8_t>& bytes);

/// Why `bytes` is not an initramfs (a newc cpio archive, or one compressed
/// with gzip, bzip2, xz, lzma, lzo, lz4 or zstd), or "" if it is one.
std::string initramfs_problem(const std::vector<uint8_t>& bytes);

/// Guest RAM the files need with the layout of cos/guest_boot.hpp: the
/// bzImage file at 64 MiB, the kernel running from 1 MiB up to
/// guest_kernel_end(), the initramfs above both. Saturating (never wraps).
uint64_t guest_ram_needed(const std::vector<uint8_t>& kernel, uint64_t initramfs_bytes);

/// Where the VMM puts an initramfs of `initramfs_bytes` in `ram_bytes` of
/// guest RAM: as high as it fits below min(ram, cos_limits::kGuestInitrdTop),
/// page aligned; UINT64_MAX if it does not fit at all.
uint64_t guest_initrd_gpa(uint64_t ram_bytes, uint64_t initramfs_bytes);

/// Resolves, reads and checks every guest's files. `kernel` and `initramfs`
/// values are paths relative to the script's directory unless absolute,
/// except "debian-cloud" / "default", which mean inputs.kernel /
/// inputs.initramfs[component]; `bootloader` is a path if it contains '/',
/// else a file in `images_dir`. Files must be regular files and are read
/// only if they fit `budget` (which they are counted against) and the
/// largest guest RAM. Throws ScriptError (at the value) for a missing,
/// unreadable or oversized file, a kernel that is not a bzImage (see
/// bzimage_problem), an initramfs that is not one, a bootloader that is empty
/// or larger than 0x7000 bytes, an overlay source that is missing or not a
/// regular file or directory of them, or whose files hold more than the
/// guest's RAM (at its `src`), guest RAM too small for the files (at `ram`),
/// an initramfs that cannot be placed below 0x38000000 or the kernel's
/// initrd_addr_max (at `initramfs`), a command line longer than the kernel's
/// cmdline_size (at `cmdline`); throws ToolError if a symbolic value was
/// used but its input was not given or is unusable. A Multiboot guest
/// (kind = "multiboot"): `kernel` and each module's `src` are paths if they
/// contain '/', else files in `images_dir`; refused are a kernel that is not
/// a Multiboot kernel (multiboot_problem) or loads below 1 MiB (at
/// `kernel`), guest RAM too small for the kernel and the page-aligned
/// modules (at `ram`), and a module pack beyond the module budget (at
/// `modules`).
GuestSet load_guests(const Script& script, const std::filesystem::path& images_dir, const GuestInputs& inputs,
                     ModuleBudget& budget);

}  // namespace composer
