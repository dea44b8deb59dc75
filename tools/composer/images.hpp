// Component images: resolving `image` references, loading and validating the
// ELF files, and finding each server's synchronous-invocation entry point.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "composer/input_files.hpp"
#include "composer/script.hpp"

namespace composer {

/// Symbol a component that implements interfaces must define: the address
/// the kernel enters for synchronous invocations.
inline constexpr const char* sinv_entry_symbol = "__cos_sinv_entry";

/// One distinct image file.
struct ImageFile {
  std::string file_name;              ///< "<img>.elf": output file name and GRUB module command line
  std::filesystem::path source;       ///< where it was read from
  std::vector<uint8_t> bytes;         ///< file contents (validated by cos::elf::Image::parse)
};

/// All images of a script.
struct ImageSet {
  std::vector<ImageFile> files;     ///< distinct images, in order of first use (declaration order)
  std::vector<size_t> file_of;      ///< per component (declaration order): index into files
  std::vector<uint64_t> sinv_entry; ///< per component: __cos_sinv_entry if it implements anything, else 0
};

/// Resolves every component's `image`: a bare name N means
/// `images_dir`/N.elf; a value containing '/' or ending in ".elf" is a path
/// relative to the script's directory (output name: its file name, with
/// ".elf" appended if missing). Each distinct file counts against `budget`
/// and is read only if it fits. Throws ScriptError (at the image value) for an
/// invalid name, the reserved name kernel.elf, a missing or unreadable file,
/// one that is not a regular file or does not fit the budget,
/// an invalid ELF (message includes cos::elf::error_string), two different
/// files with the same output name, or another component sharing the
/// booter's image; and (at `implements`) for a server whose image lacks
/// __cos_sinv_entry or has it outside an executable segment.
ImageSet load_images(const Script& script, const std::filesystem::path& images_dir, ModuleBudget& budget);

}  // namespace composer
