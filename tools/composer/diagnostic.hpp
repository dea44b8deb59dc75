// Errors the composer reports.
//
// Namespace note: the composer lives in namespace `composer`, not `cos::`,
// because a global namespace named `cos` cannot coexist with ::cos(double)
// from <math.h>, which TOML++ includes. For the same reason only
// toml_schema.cpp and script_parser.cpp include TOML++, and they must not
// include the cos::elf / cos::manifest codec headers. A ScriptError is a problem in the composition
// script (exit status 2) and always carries a source position; a ToolError is
// anything else (I/O, grub-mkrescue, bad outdir; exit status 1).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace composer {

/// A 1-based line/column position in a script file.
struct SourcePos {
  std::string path;  ///< the script path as given on the command line
  uint32_t line = 1;
  uint32_t column = 1;

  /// "line:column", for mentioning another position inside a message.
  std::string line_col() const;
};

/// One script diagnostic.
struct Diagnostic {
  SourcePos pos;
  std::string message;

  /// The single line printed on stderr: "path:line:col: error: message".
  std::string format() const;
};

/// Thrown for any invalid composition script; the composer exits with 2.
class ScriptError : public std::runtime_error {
 public:
  explicit ScriptError(Diagnostic d);
  const Diagnostic& diagnostic() const { return diag_; }

 private:
  Diagnostic diag_;
};

/// Thrown for failures that are not the script's fault; the composer exits
/// with 1 and prints "cos-composer: error: <what()>".
class ToolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws a ScriptError at `pos`.
[[noreturn]] void fail(const SourcePos& pos, std::string message);

}  // namespace composer
