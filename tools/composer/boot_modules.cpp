#include "composer/boot_modules.hpp"

#include <string>

#include "cos/limits.hpp"

namespace composer {

void check_boot_modules(const Script& script, const ImageSet& images, const std::vector<size_t>& image_order,
                        const GuestSet& guests, const std::vector<size_t>& order) {
  size_t guest_files = 0;
  for (size_t i : order) guest_files += guests.files[i].size();
  const size_t total = 1 + image_order.size() + guest_files;
  if (total <= cos_limits::kMaxBootModules) return;

  const std::string why = "the system has " + std::to_string(total) + " boot modules (the manifest, " +
                          std::to_string(image_order.size()) + " component images, " + std::to_string(guest_files) +
                          " guest files), but the kernel passes only the first " +
                          std::to_string(cos_limits::kMaxBootModules) + " to the booter";
  // Module n (0-based) in grub.cfg order is the first one dropped.
  const size_t first_dropped = cos_limits::kMaxBootModules;
  if (first_dropped < 1 + image_order.size()) {
    const size_t file = image_order[first_dropped - 1];
    for (size_t i : order)
      if (images.file_of[i] == file)
        fail(script.components[i].image_pos, "image '" + images.files[file].file_name + "' is boot module " +
                                                 std::to_string(first_dropped + 1) + ": " + why);
  }
  size_t n = 1 + image_order.size();
  for (size_t i : order) {
    const ComponentSpec& c = script.components[i];
    for (const GuestFile& f : guests.files[i]) {
      if (n == first_dropped)
        fail(c.guest->pos, "guest file '" + f.module + "' of component '" + c.name + "' is boot module " +
                               std::to_string(n + 1) + ": " + why);
      ++n;
    }
  }
}

}  // namespace composer
