// A fully checked composition: everything needed to write the outputs.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "composer/guests.hpp"
#include "composer/images.hpp"
#include "manifest/manifest_writer.hpp"
#include "composer/script.hpp"

namespace composer {

/// Result of checking a script against its images.
struct Plan {
  Script script;
  std::vector<size_t> order;        ///< declaration indices in construction order (order[0] = booter)
  ImageSet images;
  std::vector<size_t> image_order;  ///< indices into images.files in construction order of first use (booter's first)
  GuestSet guests;                  ///< per component (declaration order): its guest's files, then its `files`
  cos::manifest::System manifest;        ///< components in construction order
};

/// Loads the script at `script_path`, applies the --set `overrides`, and runs
/// every check in this order:
/// TOML syntax and schema, cross-component rules, dependency resolution,
/// cycles, images, guest files, `files` (all read only within the boot
/// modules' budget: ModuleBudget), the number of boot modules, images against the
/// booter's address-space layout. Throws ScriptError (first problem only) or
/// ToolError (the script or a file ./cos compose made cannot be read).
Plan make_plan(const std::string& script_path, const std::filesystem::path& images_dir,
               const GuestInputs& guest_inputs = {}, const std::vector<std::string>& overrides = {});

}  // namespace composer
