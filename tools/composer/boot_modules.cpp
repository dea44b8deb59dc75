#include "composer/boot_modules.hpp"

#include <string>

#include "cos/limits.hpp"

namespace composer {

void check_boot_modules(const Script& script, const ImageSet& images, const std::vector<size_t>& image_order,
                        const GuestSet& guests, const std::vector<size_t>& order) {
  // `files` entries are blobs "file.<name>", after the guest's.
  auto is_file = [](const GuestFile& f) { return f.blob.rfind("file.", 0) == 0; };
  size_t guest_files = 0, files = 0;
  for (size_t i : order)
    for (const GuestFile& f : guests.files[i]) ++(is_file(f) ? files : guest_files);
  const size_t total = 1 + image_order.size() + guest_files + files;
  if (total <= cos_limits::kMaxBootModules) return;

  const std::string why = "the system has " + std::to_string(total) + " boot modules (the manifest, " +
                          std::to_string(image_order.size()) + " component images, " + std::to_string(guest_files) +
                          " guest files" + (files ? ", " + std::to_string(files) + " files" : std::string()) +
                          "), but the kernel passes only the first " +
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
      if (n == first_dropped && is_file(f)) {
        for (const FileSpec& spec : c.files)
          if ("file." + spec.name == f.blob)
            fail(spec.pos, "file '" + f.module + "' of component '" + c.name + "' is boot module " +
                               std::to_string(n + 1) + ": " + why);
      }
      if (n == first_dropped)
        fail(c.guest->pos, "guest file '" + f.module + "' of component '" + c.name + "' is boot module " +
                               std::to_string(n + 1) + ": " + why);
      ++n;
    }
  }
}

}  // namespace composer
