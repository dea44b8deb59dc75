// The boot modules of a system (GRUB module2 lines: the manifest, each
// distinct component image, each guest's files) against what the kernel
// passes on to the booter.
#pragma once

#include <cstddef>
#include <vector>

#include "composer/guests.hpp"
#include "composer/images.hpp"
#include "composer/script.hpp"

namespace composer {

/// Checks that the system has at most cos_limits::kMaxBootModules boot
/// modules: the manifest, the images in `image_order` (indices into
/// images.files, construction order of first use) and every guest's files in
/// construction `order` (grub.cfg lists them in this order; the kernel keeps
/// the first 32). Throws ScriptError at the first module over the limit: the
/// `image` of the first component using that image, or the [component.guest]
/// of the component whose guest file it is.
void check_boot_modules(const Script& script, const ImageSet& images, const std::vector<size_t>& image_order,
                        const GuestSet& guests, const std::vector<size_t>& order);

}  // namespace composer
