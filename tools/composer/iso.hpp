// Bootable ISO image via grub-mkrescue.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace composer {

/// Builds `stage`/cos.iso with `program` (normally "grub-mkrescue"): creates
/// the ISO root `stage`/.isoroot with boot/<f> for every name in `boot_files`
/// (files already in `stage`) and boot/grub/grub.cfg (from `stage`/grub.cfg),
/// runs `program -o <stage>/cos.iso <isoroot>`, then removes the ISO root.
/// Throws ToolError, including the last lines of the tool's output, if it
/// cannot be run or fails.
void build_iso(const std::filesystem::path& stage, const std::vector<std::string>& boot_files,
               const std::string& program);

}  // namespace composer
