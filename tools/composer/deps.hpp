// Dependency resolution: each `deps` entry of the script -> (server, token).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "composer/script.hpp"

namespace composer {

/// A dependency bound to its server.
struct ResolvedDep {
  std::string interface;
  size_t server = 0;   ///< declaration index of the server component
  uint32_t token = 0;  ///< index of `interface` in the server's implements list
  SourcePos pos;       ///< the deps entry, for diagnostics
};

/// Resolves every component's deps (result[i] belongs to script.components[i],
/// entries in script order). A string entry binds to the unique component
/// implementing that interface; a table entry to the named component, which
/// must implement it. Throws ScriptError for: no implementer, several
/// implementers (ambiguous), unknown component, component not implementing
/// the interface, a component depending on itself, the same dependency twice.
std::vector<std::vector<ResolvedDep>> resolve_deps(const Script& script);

}  // namespace composer
