#include "composer/staging_dir.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "composer/diagnostic.hpp"

namespace composer {
namespace {

namespace fs = std::filesystem;

fs::path sibling(const fs::path& dir, const char* tag) {
  return dir.parent_path() / ("." + dir.filename().string() + tag + std::to_string(::getpid()));
}

bool is_previous_output(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_empty(dir, ec)) return true;
  return fs::is_regular_file(dir / "system.json", ec) && fs::is_regular_file(dir / "manifest.bin", ec);
}

// Removes ".<name>.tmp-<pid>" siblings of `dir` left by composer runs that
// were killed (their pid no longer exists).
void remove_stale_staging(const fs::path& dir) {
  const std::string prefix = "." + dir.filename().string() + ".tmp-";
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir.parent_path(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid = name.substr(prefix.size());
    if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (::kill(pid_t(std::stol(pid)), 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
  }
}

}  // namespace

StagingDir::StagingDir(const fs::path& outdir) {
  outdir_ = fs::absolute(outdir).lexically_normal();
  if (!outdir_.has_filename()) outdir_ = outdir_.parent_path();  // trailing separator
  const std::string name = outdir_.filename().string();
  if (outdir_ == outdir_.root_path() || name.empty() || name == "." || name == "..")
    throw ToolError("unusable output directory '" + outdir.string() + "'");

  std::error_code ec;
  if (fs::exists(outdir_, ec)) {
    if (!fs::is_directory(outdir_, ec))
      throw ToolError("output path '" + outdir.string() + "' exists and is not a directory");
    if (!is_previous_output(outdir_))
      throw ToolError("refusing to replace '" + outdir.string() +
                      "': it is not empty and not a previous cos-composer output");
  }
  try {
    fs::create_directories(outdir_.parent_path());
    remove_stale_staging(outdir_);
    tmp_ = sibling(outdir_, ".tmp-");
    fs::remove_all(tmp_);  // left over from a killed run that had the same pid
    fs::create_directory(tmp_);
  } catch (const fs::filesystem_error& e) {
    throw ToolError(std::string("cannot create staging directory: ") + e.what());
  }
}

StagingDir::~StagingDir() {
  if (committed_ || tmp_.empty()) return;
  std::error_code ec;
  fs::remove_all(tmp_, ec);
}

void StagingDir::commit() {
  std::error_code ec;
  if (!fs::exists(outdir_, ec)) {
    fs::rename(tmp_, outdir_, ec);
    if (ec) throw ToolError("cannot move output into '" + outdir_.string() + "': " + ec.message());
    committed_ = true;
    return;
  }
  const fs::path old = sibling(outdir_, ".old-");
  fs::remove_all(old, ec);
  fs::rename(outdir_, old, ec);
  if (ec) throw ToolError("cannot move old output '" + outdir_.string() + "' aside: " + ec.message());
  fs::rename(tmp_, outdir_, ec);
  if (ec) {
    std::error_code ignored;
    fs::rename(old, outdir_, ignored);
    throw ToolError("cannot move output into '" + outdir_.string() + "': " + ec.message());
  }
  committed_ = true;
  fs::remove_all(old, ec);
}

void write_file(const fs::path& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), std::streamsize(size));
  out.close();
  if (!out) throw ToolError("cannot write '" + path.string() + "'");
}

void write_file(const fs::path& path, const std::string& text) { write_file(path, text.data(), text.size()); }

}  // namespace composer
