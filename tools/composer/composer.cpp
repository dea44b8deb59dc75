#include "composer/composer.hpp"

#include <vector>

#include "composer/diagnostic.hpp"
#include "composer/grub_cfg.hpp"
#include "composer/iso.hpp"
#include "manifest/manifest_writer.hpp"
#include "composer/plan.hpp"
#include "composer/staging_dir.hpp"
#include "composer/system_json.hpp"

namespace composer {
namespace {

namespace fs = std::filesystem;

// Writes every output of `plan` into a staging directory and moves it to
// opts.outdir. Throws ToolError.
void write_outputs(const Plan& plan, const Options& opts) {
  std::error_code ec;
  if (!fs::is_regular_file(opts.kernel, ec)) throw ToolError("kernel '" + opts.kernel.string() + "' not found");

  StagingDir stage(opts.outdir);
  const fs::path& dir = stage.path();
  if (!fs::copy_file(opts.kernel, dir / "kernel.elf", ec) || ec)
    throw ToolError("cannot copy kernel '" + opts.kernel.string() + "': " + ec.message());

  std::vector<std::string> boot_files = {"kernel.elf", "manifest.bin"};
  for (size_t f : plan.image_order) {
    const ImageFile& img = plan.images.files[f];
    write_file(dir / img.file_name, img.bytes.data(), img.bytes.size());
    boot_files.push_back(img.file_name);
  }
  for (size_t i : plan.order) {
    for (const GuestFile& g : plan.guests.files[i]) {
      write_file(dir / g.module, g.bytes.data(), g.bytes.size());
      boot_files.push_back(g.module);
    }
  }
  const std::vector<uint8_t> manifest = cos::manifest::encode(plan.manifest);
  write_file(dir / "manifest.bin", manifest.data(), manifest.size());
  write_file(dir / "grub.cfg", grub_cfg(plan));
  const std::string script_abs = fs::absolute(plan.script.path).lexically_normal().string();
  write_file(dir / "system.json", system_json(plan, script_abs, opts.make_iso, opts.overrides));
  if (opts.make_iso) build_iso(dir, boot_files, opts.grub_mkrescue);
  stage.commit();
}

}  // namespace

int run(const Options& opts, std::ostream& out, std::ostream& err) {
  try {
    const Plan plan = make_plan(opts.script, opts.images_dir, opts.guest_inputs, opts.overrides);
    write_outputs(plan, opts);
    out << "cos-composer: composed '" << plan.script.name << "' (" << plan.manifest.components.size()
        << " components) into " << opts.outdir.string() << "\n";
    return exit_ok;
  } catch (const ScriptError& e) {
    err << e.diagnostic().format() << "\n";
    return exit_script_error;
  } catch (const ToolError& e) {
    err << "cos-composer: error: " << e.what() << "\n";
  } catch (const std::exception& e) {
    err << "cos-composer: error: " << e.what() << "\n";
  }
  return exit_failure;
}

}  // namespace composer
