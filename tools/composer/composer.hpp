// The composer as a library: composition script -> output directory with
// kernel.elf, component images, manifest.bin, grub.cfg, system.json and
// (optionally) cos.iso. main.cpp is a thin wrapper around run().
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "composer/guests.hpp"

namespace composer {

/// Exit statuses of cos-composer.
enum ExitStatus : int {
  exit_ok = 0,
  exit_failure = 1,       ///< not the script's fault: I/O, missing kernel, grub-mkrescue, unusable outdir
  exit_script_error = 2,  ///< the composition script is invalid (one "path:line:col: error: ..." line)
  exit_usage = 64,        ///< bad command line
};

/// What to compose and where.
struct Options {
  std::string script;                  ///< composition script (as given; used in diagnostics)
  std::filesystem::path outdir;        ///< output directory (replaced atomically on success)
  std::filesystem::path images_dir;    ///< where bare image names are looked up (<dir>/<name>.elf)
  std::filesystem::path kernel;        ///< kernel ELF, copied to <outdir>/kernel.elf
  bool make_iso = true;                ///< run grub-mkrescue to produce <outdir>/cos.iso
  std::string grub_mkrescue = "grub-mkrescue";  ///< program used for the ISO
  GuestInputs guest_inputs;            ///< --guest-kernel, --guest-initramfs: what "debian-cloud" / "default" are
  std::vector<std::string> overrides;  ///< --set <target>.<key>=<value>, applied in order
};

/// Composes according to `opts`. On success writes the output directory,
/// prints one summary line to `out` and returns exit_ok. On failure prints
/// exactly one diagnostic (script errors: "path:line:col: error: message";
/// others: "cos-composer: error: message", possibly followed by a tool's
/// output) to `err`, leaves any existing output directory untouched and no
/// temporary files behind, and returns exit_script_error or exit_failure.
int run(const Options& opts, std::ostream& out, std::ostream& err);

}  // namespace composer
