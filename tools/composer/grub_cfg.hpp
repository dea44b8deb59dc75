// grub.cfg for a composed system.
#pragma once

#include <string>

#include "composer/plan.hpp"

namespace composer {

/// The GRUB configuration: no menu delay, one entry "cos: <name>" loading
/// /boot/kernel.elf (multiboot2), the manifest (module command line
/// "manifest"), the booter's image ("booter") and every other distinct image
/// ("<img>.elf") in construction order of first use.
std::string grub_cfg(const Plan& plan);

}  // namespace composer
