// Reading the files a composition script names (component images, guest
// kernels, initramfs files, bootloaders) and checking overlay sources: only
// regular files (and, for overlays, directories of them) are accepted, and a
// file's size is checked against its limit before a byte of it is read, so
// /dev/zero, a FIFO or a huge file is refused with a clear error instead of
// exhausting memory or blocking.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace composer {

/// The outcome of read_bounded().
struct InputFile {
  enum class Status {
    ok,
    missing,      ///< nothing at the path
    not_regular,  ///< a directory, FIFO, device or socket (`kind` says which)
    too_large,    ///< `size` is above the limit; nothing was read
    unreadable,   ///< open or read failed (`kind` has the reason)
  };
  Status status = Status::missing;
  uint64_t size = 0;           ///< bytes (for ok and too_large)
  std::string kind;            ///< "a directory", "a FIFO", ...; or the error for unreadable
  std::vector<uint8_t> bytes;  ///< the contents (ok only)
};

/// Reads the regular file at `path` (symlinks followed) if it holds at most
/// `max_bytes` bytes. Opens without blocking (a FIFO is never waited on),
/// checks the type and size of what it opened, and reads at most that size.
InputFile read_bounded(const std::filesystem::path& path, uint64_t max_bytes);

/// "a directory", "a FIFO", "a character device", "a block device", "a
/// socket" or "not a regular file" for what is at `path` (symlinks followed).
std::string describe_file_type(const std::filesystem::path& path);

/// Why `path` cannot be an overlay source, or "" if it can: it must be a
/// regular file or a directory whose entries are, recursively, regular files
/// and directories (symlinks are followed for files; a symlink to a directory
/// inside a directory is not). On success adds the regular files' sizes to
/// `bytes`.
std::string overlay_source_problem(const std::filesystem::path& path, uint64_t& bytes);

/// What the boot modules of a system may still occupy, in bytes. GRUB loads
/// every module (component images, guest files) into the machine's RAM
/// ([system] memory), below 4 GiB (Multiboot2 module addresses are 32-bit),
/// so together they must be smaller than both.
class ModuleBudget {
 public:
  explicit ModuleBudget(uint64_t memory_bytes);
  uint64_t left() const { return left_; }
  /// Counts `bytes` against the budget (at most left()).
  void take(uint64_t bytes) { left_ -= bytes < left_ ? bytes : left_; }
  /// "the boot modules together must fit in 512M ([system] memory, and below
  /// 4 GiB): 300M of it is left", for messages.
  std::string describe() const;

 private:
  uint64_t memory_;
  uint64_t left_;
};

}  // namespace composer
