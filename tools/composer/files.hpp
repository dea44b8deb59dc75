// The `files` of each component: boot modules the booter copies into it as
// blobs "file.<name>" (docs/composition.md, "Files"), resolved, read and
// checked.
#pragma once

#include "composer/guests.hpp"
#include "composer/input_files.hpp"
#include "composer/script.hpp"

namespace composer {

/// Why `bytes` is not an ext2 file system of exactly `size` bytes (the
/// superblock's magic 0xEF53 at byte 1024 + 56), or "" if it is one.
std::string ext2_problem(const std::vector<uint8_t>& bytes, uint64_t size);

/// Appends every component's `files` to set.files[component] (after its
/// guest's), as GuestFile{"<component>.file.<name>", "file.<name>", ...}.
/// format = "raw": `src` (relative to the script's directory unless
/// absolute) must be a regular file of at most cos_limits::kMaxBlobBytes
/// that fits the module budget; it is read without blocking. format =
/// "ext2": `src` must be a directory (./cos compose builds the image from
/// it), and the image is inputs.files["<component>.<name>"], which must be
/// an ext2 file system of exactly `size` bytes within the budget. Throws
/// ScriptError (at `src`, or at `size` for the budget) for the script's
/// problems, ToolError if the ext2 image was not given or is unusable.
void load_files(const Script& script, const GuestInputs& inputs, ModuleBudget& budget, GuestSet& set);

}  // namespace composer
