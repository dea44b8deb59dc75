// Where the booter (and, for the booter itself, the kernel) puts things in a
// component's address space, against the component's image: an image whose
// segments overlap the info page, the stack, the heap, a blob or channel window
// would make the booter's mapping fail at boot.
#pragma once

#include <cstddef>
#include <vector>

#include "composer/guests.hpp"
#include "composer/images.hpp"
#include "composer/script.hpp"

namespace composer {

/// Checks every component's image segments (page-rounded) against the
/// regions the booter maps for it (cos/bootinfo.hpp, cos/compinfo.hpp,
/// cos/limits.hpp): the info page, the main-thread stack below kStackTop,
/// its heap at (manifest index + 1) * 4 GiB, its blobs' windows and its
/// channels' windows (kChannelWindow + j * kChannelStride); for the
/// kernel-constructed booter the info page, its stack, the boot-module
/// window and its scratch page. `order` is the construction order (the
/// manifest index of order[k] is k). Throws ScriptError at the `image` of
/// the first component in construction order whose image overlaps one.
void check_address_spaces(const Script& script, const ImageSet& images, const GuestSet& guests,
                          const std::vector<size_t>& order);

}  // namespace composer
