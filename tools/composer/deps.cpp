#include "composer/deps.hpp"

#include <map>

namespace composer {
namespace {

// Index of `iface` in c.implements, or -1.
long token_of(const ComponentSpec& c, const std::string& iface) {
  for (size_t j = 0; j < c.implements.size(); ++j)
    if (c.implements[j] == iface) return long(j);
  return -1;
}

std::string join_names(const Script& script, const std::vector<size_t>& indices) {
  std::string out;
  for (size_t i : indices) out += (out.empty() ? "'" : ", '") + script.components[i].name + "'";
  return out;
}

class Resolver {
 public:
  explicit Resolver(const Script& script) : script_(script) {
    for (size_t i = 0; i < script.components.size(); ++i) {
      by_name_[script.components[i].name] = i;
      for (const std::string& iface : script.components[i].implements) implementers_[iface].push_back(i);
    }
  }

  ResolvedDep resolve(size_t client, const DepSpec& d) const {
    const size_t server = d.component ? named_server(d) : unique_server(d);
    const ComponentSpec& c = script_.components[client];
    if (server == client)
      fail(d.component ? d.component_pos : d.pos,
           "component '" + c.name + "' depends on itself (interface '" + d.interface + "')");
    return ResolvedDep{d.interface, server, uint32_t(token_of(script_.components[server], d.interface)), d.pos};
  }

 private:
  size_t named_server(const DepSpec& d) const {
    const auto it = by_name_.find(*d.component);
    if (it == by_name_.end()) fail(d.component_pos, "unknown component '" + *d.component + "'");
    if (token_of(script_.components[it->second], d.interface) < 0)
      fail(d.interface_pos, "component '" + *d.component + "' does not implement interface '" + d.interface + "'");
    return it->second;
  }

  size_t unique_server(const DepSpec& d) const {
    const auto it = implementers_.find(d.interface);
    if (it == implementers_.end()) fail(d.pos, "no component implements interface '" + d.interface + "'");
    if (it->second.size() > 1)
      fail(d.pos, "ambiguous dependency: interface '" + d.interface + "' is implemented by " +
                      join_names(script_, it->second) + "; name one with { interface = \"" + d.interface +
                      "\", component = \"...\" }");
    return it->second.front();
  }

  const Script& script_;
  std::map<std::string, size_t> by_name_;
  std::map<std::string, std::vector<size_t>> implementers_;
};

}  // namespace

std::vector<std::vector<ResolvedDep>> resolve_deps(const Script& script) {
  const Resolver resolver(script);
  std::vector<std::vector<ResolvedDep>> result(script.components.size());
  for (size_t i = 0; i < script.components.size(); ++i) {
    for (const DepSpec& d : script.components[i].deps) {
      ResolvedDep r = resolver.resolve(i, d);
      for (const ResolvedDep& earlier : result[i])
        if (earlier.server == r.server && earlier.interface == r.interface)
          fail(d.pos, "duplicate dependency on interface '" + r.interface + "' of component '" +
                          script.components[r.server].name + "' (first at " + earlier.pos.line_col() + ")");
      result[i].push_back(std::move(r));
    }
  }
  return result;
}

}  // namespace composer
