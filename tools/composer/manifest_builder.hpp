// Script + resolved deps + images + order -> the boot manifest's contents.
#pragma once

#include <cstddef>
#include <vector>

#include "composer/deps.hpp"
#include "composer/guests.hpp"
#include "composer/images.hpp"
#include "manifest/manifest_writer.hpp"
#include "composer/script.hpp"

namespace composer {

/// Builds the cos::manifest::System: components in `order` (declaration indices),
/// dependency servers renumbered to construction-order indices, image names
/// "<img>.elf", sinv entries from `images`, grants (untyped memory, caps,
/// I/O ports, IRQ lines, timer) as the script names them, and for VMM
/// components their guest (RAM, command line); a component's guest files
/// and `files` as blobs; the channels with their ends renumbered to
/// construction-order indices.
cos::manifest::System build_manifest(const Script& script, const std::vector<std::vector<ResolvedDep>>& deps,
                                     const ImageSet& images, const GuestSet& guests,
                                     const std::vector<size_t>& order);

}  // namespace composer
