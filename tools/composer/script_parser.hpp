// Composition script -> Script: TOML syntax and the per-table schema (keys,
// types, names, numbers, sizes). Cross-component rules live in
// script_checks.hpp; images and dependencies are resolved later.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "composer/script.hpp"

namespace composer {

/// Parses the script text `text`; `path` is used in diagnostics and to find
/// the script's directory. `overrides` ("<target>.<key>=<value>", see
/// apply_override) are applied to the parsed TOML before any check, so they
/// are checked like the script's own keys. Throws ScriptError on the first
/// problem (an override's own errors point at "--set <override>:1:<col>").
Script parse_script_text(std::string_view text, const std::string& path,
                         const std::vector<std::string>& overrides = {});

/// Largest script file read (bytes): a composition script is a short text.
inline constexpr uint64_t max_script_bytes = 1 << 20;

/// Reads and parses the script file at `path`. Throws ToolError if the file
/// cannot be read, is not a regular file (never blocks on a FIFO) or is
/// larger than max_script_bytes; ScriptError if it is invalid.
Script load_script(const std::string& path, const std::vector<std::string>& overrides = {});

}  // namespace composer
