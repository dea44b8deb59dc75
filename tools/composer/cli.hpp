// Command-line parsing for cos-composer.
#pragma once

#include <stdexcept>
#include <string>

#include "composer/composer.hpp"

namespace composer {

/// One-paragraph usage text.
extern const char* const usage_text;

/// Thrown for a malformed command line (exit_usage).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Parses `cos-composer <script.toml> <outdir> --images <dir> --kernel
/// <kernel.elf> [--no-iso] [--guest-kernel <bzImage>] [--guest-initramfs
/// <component>=<file>]... [--file <component>.<name>=<image>]... [--set <target>.<key>=<value>]...` (options may appear anywhere; "--opt=value" is
/// accepted too). Throws UsageError.
Options parse_args(int argc, const char* const* argv);

}  // namespace composer
