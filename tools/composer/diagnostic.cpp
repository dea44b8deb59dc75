#include "composer/diagnostic.hpp"

namespace composer {

std::string SourcePos::line_col() const { return std::to_string(line) + ":" + std::to_string(column); }

std::string Diagnostic::format() const { return pos.path + ":" + pos.line_col() + ": error: " + message; }

ScriptError::ScriptError(Diagnostic d) : std::runtime_error(d.format()), diag_(std::move(d)) {}

void fail(const SourcePos& pos, std::string message) { throw ScriptError(Diagnostic{pos, std::move(message)}); }

}  // namespace composer
