// Atomic replacement of the output directory: everything is written into a
// hidden sibling directory, which replaces the output directory only when
// the whole composition succeeded.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace composer {

/// A temporary directory ".<name>.tmp-<pid>" next to the output directory.
/// Destroying it without commit() removes it and everything in it.
class StagingDir {
 public:
  /// Creates the staging directory (and missing parents of `outdir`),
  /// removing staging directories of killed earlier runs. Throws
  /// ToolError if `outdir` is unusable: it names a root or "."/"..", exists
  /// but is not a directory, or is a non-empty directory that does not look
  /// like a previous composer output (has no system.json and manifest.bin),
  /// which the composer refuses to replace.
  explicit StagingDir(const std::filesystem::path& outdir);
  ~StagingDir();
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  /// The staging directory (write outputs here).
  const std::filesystem::path& path() const { return tmp_; }
  /// The normalized absolute output directory.
  const std::filesystem::path& outdir() const { return outdir_; }

  /// Replaces the output directory with the staging directory (renames; an
  /// old output directory is moved aside first and deleted afterwards).
  /// Throws ToolError on failure, restoring the old output directory.
  void commit();

 private:
  std::filesystem::path outdir_;
  std::filesystem::path tmp_;
  bool committed_ = false;
};

/// Writes `size` bytes to `path` (truncating). Throws ToolError.
void write_file(const std::filesystem::path& path, const void* data, size_t size);
/// Writes a text file. Throws ToolError.
void write_file(const std::filesystem::path& path, const std::string& text);

}  // namespace composer
