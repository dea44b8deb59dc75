// cos-composer: composition script -> boot manifest, GRUB config and ISO.
// All logic is in cos_composer_lib (composer.hpp); see docs/composition.md.
#include <iostream>
#include <string_view>

#include "composer/cli.hpp"
#include "composer/composer.hpp"

int main(int argc, char** argv) {
  using namespace composer;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      std::cout << usage_text;
      return exit_ok;
    }
  }
  Options opts;
  try {
    opts = parse_args(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "cos-composer: " << e.what() << "\n" << usage_text;
    return exit_usage;
  }
  return run(opts, std::cout, std::cerr);
}
