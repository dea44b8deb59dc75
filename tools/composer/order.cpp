#include "composer/order.hpp"

#include <algorithm>
#include <string>

namespace composer {
namespace {

// Called when no unplaced component is ready: every unplaced component has an
// unplaced server, so walking "first unplaced server" edges from any of them
// must revisit a node. Reports that cycle, rotated to start at its earliest
// declared member.
[[noreturn]] void report_cycle(const Script& script, const std::vector<std::vector<ResolvedDep>>& deps,
                               const std::vector<bool>& placed) {
  auto next = [&](size_t n) -> const ResolvedDep& {
    for (const ResolvedDep& d : deps[n])
      if (!placed[d.server]) return d;
    return deps[n].front();  // unreachable: n would have been ready
  };
  size_t start = 0;
  while (placed[start]) ++start;
  std::vector<size_t> path;
  std::vector<long> seen_at(script.components.size(), -1);
  size_t n = start;
  while (seen_at[n] < 0) {
    seen_at[n] = long(path.size());
    path.push_back(n);
    n = next(n).server;
  }
  std::vector<size_t> cycle(path.begin() + seen_at[n], path.end());
  std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());

  std::string text;
  for (size_t c : cycle) text += script.components[c].name + " -> ";
  text += script.components[cycle.front()].name;
  fail(next(cycle.front()).pos, "dependency cycle: " + text);
}

}  // namespace

std::vector<size_t> construction_order(const Script& script, const std::vector<std::vector<ResolvedDep>>& deps) {
  const size_t n = script.components.size();
  std::vector<bool> placed(n, false);
  std::vector<size_t> order;
  auto place = [&](size_t i) {
    placed[i] = true;
    order.push_back(i);
  };
  for (size_t i = 0; i < n; ++i)
    if (script.components[i].constructed_by_kernel) place(i);

  while (order.size() < n) {
    size_t ready = n;
    for (size_t i = 0; i < n && ready == n; ++i) {
      if (placed[i]) continue;
      const bool servers_placed =
          std::all_of(deps[i].begin(), deps[i].end(), [&](const ResolvedDep& d) { return placed[d.server]; });
      if (servers_placed) ready = i;
    }
    if (ready == n) report_cycle(script, deps, placed);
    place(ready);
  }
  return order;
}

}  // namespace composer
