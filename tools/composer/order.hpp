// Construction order: the booter first, then servers before their clients.
#pragma once

#include <cstddef>
#include <vector>

#include "composer/deps.hpp"
#include "composer/script.hpp"

namespace composer {

/// Returns declaration indices in construction order: the kernel-constructed
/// component first, then a topological order of the dependency graph
/// (servers before clients) in which, whenever several components are ready,
/// the earliest declared goes first. `deps[i]` are component i's resolved
/// dependencies. Throws ScriptError naming a cycle ("dependency cycle: a -> b
/// -> a"), positioned at the first edge of the reported cycle.
std::vector<size_t> construction_order(const Script& script, const std::vector<std::vector<ResolvedDep>>& deps);

}  // namespace composer
