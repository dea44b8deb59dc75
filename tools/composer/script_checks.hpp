// Rules that relate components of one script to each other but need neither
// images nor dependency resolution.
#pragma once

#include "composer/script.hpp"

namespace composer {

/// Checks, in order: at least one component; component names unique (points
/// at the second, mentions the first); exactly one component with
/// constructor = "kernel"; that component has no deps and no grants
/// (`untyped`, `caps`, `hardware`) and no guest; a component with a guest
/// has a name short enough for its guest's boot modules
/// (cos_limits::kMaxGuestComponentNameBytes) and enough `untyped` for the
/// guest's RAM and the VMM's tables (cos_limits::guest_untyped_needed);
/// `files`: not on the booter, each module name "<component>.file.<name>"
/// within cos_limits::kMaxModuleNameBytes, guest blobs plus files at most
/// cos_limits::kMaxBlobs; channels: names unique, both ends existing
/// components other than the booter, two distinct ones, each component an
/// end of at most cos_limits::kMaxChannels; every IRQ line is granted to at most one component (points at the second
/// grant, names the first holder). Throws ScriptError.
void check_components(const Script& script);

}  // namespace composer
