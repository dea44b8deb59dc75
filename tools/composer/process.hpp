// Running an external program with its output captured.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace composer {

/// How a program ended.
struct ProcessResult {
  int exit_status = 0;  ///< exit code, or 128 + signal number if killed
  std::string output;   ///< stdout and stderr, interleaved
};

/// Runs argv[0] (looked up in PATH) with stdin from /dev/null and stdout +
/// stderr captured via the file `log` (removed afterwards). Throws ToolError
/// if the program cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv, const std::filesystem::path& log);

/// The last `lines` lines of `text`.
std::string tail_lines(const std::string& text, size_t lines);

}  // namespace composer
