#include "composer/iso.hpp"

#include "composer/diagnostic.hpp"
#include "composer/process.hpp"

namespace composer {
namespace {

namespace fs = std::filesystem;

// Hard link if possible (same file system, no copy), else copy.
void link_or_copy(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_hard_link(from, to, ec);
  if (ec) fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

}  // namespace

void build_iso(const fs::path& stage, const std::vector<std::string>& boot_files, const std::string& program) {
  const fs::path root = stage / ".isoroot";
  try {
    fs::create_directories(root / "boot" / "grub");
    for (const std::string& f : boot_files) link_or_copy(stage / f, root / "boot" / f);
    link_or_copy(stage / "grub.cfg", root / "boot" / "grub" / "grub.cfg");
  } catch (const fs::filesystem_error& e) {
    throw ToolError(std::string("cannot prepare the ISO root: ") + e.what());
  }

  const ProcessResult r =
      run_process({program, "-o", (stage / "cos.iso").string(), root.string()}, stage / ".grub-mkrescue.log");
  std::error_code ec;
  fs::remove_all(root, ec);
  if (r.exit_status != 0)
    throw ToolError(program + " failed with status " + std::to_string(r.exit_status) + ":\n" +
                    tail_lines(r.output, 20));
  if (!fs::is_regular_file(stage / "cos.iso", ec)) throw ToolError(program + " did not produce " + (stage / "cos.iso").string());
}

}  // namespace composer
