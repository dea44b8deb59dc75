// system.json: the description of a composed system read by `./cos run/debug`.
#pragma once

#include <string>
#include <vector>
#include <string_view>

#include "composer/plan.hpp"

namespace composer {

/// `s` as a JSON string literal (with quotes; ", \ and control characters escaped).
std::string json_string(std::string_view s);

/// The JSON document:
/// {"name", "description", "script" (absolute path), "overrides" (the `--set`
/// TARGET.KEY=VALUE strings, to apply again when recomposing), "memory_mib", "kernel":
/// "kernel.elf", "iso": "cos.iso" or null, "components": [{"name", "image",
/// "constructor": "kernel"|"booter", "priority"}] in construction order}.
std::string system_json(const Plan& plan, const std::string& absolute_script, bool with_iso,
                        const std::vector<std::string>& overrides = {});

}  // namespace composer
