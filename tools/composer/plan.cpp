#include "composer/plan.hpp"

#include "composer/address_space.hpp"
#include "composer/boot_modules.hpp"
#include "composer/deps.hpp"
#include "composer/files.hpp"
#include "composer/manifest_builder.hpp"
#include "composer/order.hpp"
#include "composer/script_checks.hpp"
#include "composer/script_parser.hpp"

namespace composer {

Plan make_plan(const std::string& script_path, const std::filesystem::path& images_dir,
               const GuestInputs& guest_inputs, const std::vector<std::string>& overrides) {
  Plan plan;
  plan.script = load_script(script_path, overrides);
  check_components(plan.script);
  const std::vector<std::vector<ResolvedDep>> deps = resolve_deps(plan.script);
  plan.order = construction_order(plan.script, deps);
  ModuleBudget budget(plan.script.memory_bytes);
  plan.images = load_images(plan.script, images_dir, budget);
  plan.guests = load_guests(plan.script, images_dir, guest_inputs, budget);
  load_files(plan.script, guest_inputs, budget, plan.guests);

  std::vector<bool> listed(plan.images.files.size(), false);
  for (size_t i : plan.order) {
    const size_t f = plan.images.file_of[i];
    if (!listed[f]) plan.image_order.push_back(f);
    listed[f] = true;
  }
  check_boot_modules(plan.script, plan.images, plan.image_order, plan.guests, plan.order);
  check_address_spaces(plan.script, plan.images, plan.guests, plan.order);
  plan.manifest = build_manifest(plan.script, deps, plan.images, plan.guests, plan.order);
  return plan;
}

}  // namespace composer
