#include "manifest_builder.hpp"

namespace composer {

cos::manifest::System build_manifest(const Script& script, const std::vector<std::vector<ResolvedDep>>& deps,
                                const ImageSet& images, const std::vector<size_t>& order) {
  std::vector<uint32_t> position(script.components.size());
  for (size_t k = 0; k < order.size(); ++k) position[order[k]] = uint32_t(k);

  cos::manifest::System sys;
  sys.name = script.name;
  for (size_t i : order) {
    const ComponentSpec& c = script.components[i];
    cos::manifest::Component m;
    m.name = c.name;
    m.image = images.files[images.file_of[i]].file_name;
    m.priority = c.priority;
    m.heap_bytes = c.heap_bytes;
    m.stack_bytes = c.stack_bytes;
    m.sinv_entry = images.sinv_entry[i];
    m.constructed_by_kernel = c.constructed_by_kernel;
    m.implements = c.implements;
    for (const ResolvedDep& d : deps[i]) m.deps.push_back(cos::manifest::Dep{d.interface, position[d.server], d.token});
    for (const ParamSpec& p : c.params) m.params.push_back(cos::manifest::Param{p.key, p.value});
    sys.components.push_back(std::move(m));
  }
  return sys;
}

}  // namespace composer
