#include "composer/cli.hpp"

#include <string_view>
#include <vector>

namespace composer {

const char* const usage_text =
    "usage: cos-composer <script.toml> <outdir> --images <dir> --kernel <kernel.elf> [--no-iso]\n"
    "                    [--guest-kernel <bzImage>] [--guest-initramfs <component>=<file>]...\n"
    "                    [--file <component>.<file>=<image>]... [--set <target>.<key>=<value>]...\n"
    "  Checks a composition script and writes <outdir>/{kernel.elf, <image>.elf..., manifest.bin,\n"
    "  grub.cfg, system.json, cos.iso} (and <component>.guest.{kernel,initramfs,bootloader} for\n"
    "  VMM components with a guest). --guest-kernel is what kernel = \"debian-cloud\" means,\n"
    "  --guest-initramfs what a component's initramfs = \"default\" means, --file the ext2 image a\n"
    "  `files` entry with format = \"ext2\" means. --set overrides a key of\n"
    "  the script (<target> is \"system\" or a component's name; e.g. vm.priority=50,\n"
    "  vm.params.trace=100, vm.guest.ram=2G); overrides are checked like the script's own keys.\n"
    "  Exit status: 0 ok, 1 failure, 2 script error, 64 usage.\n";

Options parse_args(int argc, const char* const* argv) {
  Options opts;
  std::vector<std::string> positional;
  bool have_images = false, have_kernel = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string value;
    auto take_value = [&](std::string_view name) {
      if (arg.size() > name.size() && arg[name.size()] == '=') {
        value = std::string(arg.substr(name.size() + 1));
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        throw UsageError(std::string(name) + " needs a value");
      }
      if (value.empty()) throw UsageError(std::string(name) + " needs a non-empty value");
    };
    auto is = [&](std::string_view name) {
      return arg == name || (arg.substr(0, name.size()) == name && arg.size() > name.size() && arg[name.size()] == '=');
    };
    if (is("--images")) {
      take_value("--images");
      opts.images_dir = value;
      have_images = true;
    } else if (is("--kernel")) {
      take_value("--kernel");
      opts.kernel = value;
      have_kernel = true;
    } else if (is("--guest-kernel")) {
      take_value("--guest-kernel");
      opts.guest_inputs.kernel = value;
    } else if (is("--guest-initramfs")) {
      take_value("--guest-initramfs");
      const size_t eq = value.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == value.size())
        throw UsageError("--guest-initramfs needs <component>=<file>, not '" + value + "'");
      opts.guest_inputs.initramfs[value.substr(0, eq)] = value.substr(eq + 1);
    } else if (is("--file")) {
      take_value("--file");
      const size_t eq = value.find('=');
      const size_t dot = value.find('.');
      if (eq == std::string::npos || dot == std::string::npos || dot == 0 || dot + 1 >= eq || eq + 1 == value.size())
        throw UsageError("--file needs <component>.<file name>=<image>, not '" + value + "'");
      opts.guest_inputs.files[value.substr(0, eq)] = value.substr(eq + 1);
    } else if (is("--set")) {
      take_value("--set");
      opts.overrides.push_back(value);
    } else if (arg == "--no-iso") {
      opts.make_iso = false;
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw UsageError("unknown option '" + std::string(arg) + "'");
    } else {
      positional.emplace_back(arg);
    }
  }
  if (positional.size() != 2) throw UsageError("expected <script.toml> and <outdir>");
  if (!have_images) throw UsageError("missing --images <dir>");
  if (!have_kernel) throw UsageError("missing --kernel <kernel.elf>");
  opts.script = positional[0];
  opts.outdir = positional[1];
  return opts;
}

}  // namespace composer
