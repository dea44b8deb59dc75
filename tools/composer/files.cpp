#include "composer/files.hpp"

#include <system_error>

#include "composer/size.hpp"
#include "cos/limits.hpp"

namespace composer {
namespace {

namespace fs = std::filesystem;

uint64_t min(uint64_t a, uint64_t b) { return a < b ? a : b; }

fs::path script_relative(const Script& script, const std::string& value) {
  const fs::path p(value);
  return (p.is_absolute() ? p : script.directory / p).lexically_normal();
}

// A raw file the script names: a regular file within a blob and the budget.
std::vector<uint8_t> read_raw(const fs::path& path, ModuleBudget& budget, const FileSpec& f) {
  InputFile in = read_bounded(path, min(cos_limits::kMaxBlobBytes, budget.left()));
  const std::string name = "file '" + path.string() + "'";
  switch (in.status) {
    case InputFile::Status::ok: break;
    case InputFile::Status::missing: fail(f.src_pos, name + " not found");
    case InputFile::Status::not_regular: fail(f.src_pos, name + " is not a regular file (it is " + in.kind + ")");
    case InputFile::Status::unreadable: fail(f.src_pos, "cannot read " + name + ": " + in.kind);
    case InputFile::Status::too_large:
      if (in.size > cos_limits::kMaxBlobBytes)
        fail(f.src_pos, name + " is " + std::to_string(in.size) + " bytes; a blob holds at most " +
                            std::to_string(cos_limits::kMaxBlobBytes));
      fail(f.src_pos, name + " is " + std::to_string(in.size) + " bytes: " + budget.describe());
  }
  budget.take(in.size);
  return std::move(in.bytes);
}

// The ext2 image ./cos compose built from the directory `src`.
std::vector<uint8_t> read_ext2(const Script& script, const ComponentSpec& c, const FileSpec& f,
                               const GuestInputs& inputs, ModuleBudget& budget) {
  const fs::path dir = script_relative(script, f.src);
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail(f.src_pos, "directory '" + dir.string() + "' not found");
  if (!fs::is_directory(dir, ec))
    fail(f.src_pos, "'" + dir.string() + "' is " + describe_file_type(dir) +
                        ", not a directory; format = \"ext2\" builds an image from a directory");
  if (f.size_bytes > budget.left())
    fail(f.size_pos, "an ext2 image of " + format_size(f.size_bytes) + ": " + budget.describe());
  const std::string key = c.name + "." + f.name;
  const auto it = inputs.files.find(key);
  if (it == inputs.files.end())
    throw ToolError("file '" + f.name + "' of component '" + c.name + "' (" + f.pos.path + ":" + f.pos.line_col() +
                    ") is an ext2 image built from '" + dir.string() +
                    "': compose with ./cos compose, which builds it, or pass --file " + key + "=<image>");
  InputFile in = read_bounded(it->second, f.size_bytes);
  const std::string name = "ext2 image '" + it->second.string() + "'";
  switch (in.status) {
    case InputFile::Status::ok: break;
    case InputFile::Status::missing: throw ToolError(name + " not found");
    case InputFile::Status::not_regular: throw ToolError(name + " is not a regular file (it is " + in.kind + ")");
    case InputFile::Status::unreadable: throw ToolError("cannot read " + name + ": " + in.kind);
    case InputFile::Status::too_large:
      throw ToolError(name + " is " + std::to_string(in.size) + " bytes, not the " + std::to_string(f.size_bytes) +
                      " of its 'size'");
  }
  const std::string why = ext2_problem(in.bytes, f.size_bytes);
  if (!why.empty()) throw ToolError(name + " is unusable: " + why);
  budget.take(in.size);
  return std::move(in.bytes);
}

}  // namespace

std::string ext2_problem(const std::vector<uint8_t>& bytes, uint64_t size) {
  if (bytes.size() != size)
    return "it is " + std::to_string(bytes.size()) + " bytes, not " + std::to_string(size);
  constexpr size_t magic_at = 1024 + 56;  // s_magic in the superblock at byte 1024
  if (bytes.size() < magic_at + 2 || bytes[magic_at] != 0x53 || bytes[magic_at + 1] != 0xef)
    return "no ext2 superblock (magic 0xEF53 at byte 1080)";
  return "";
}

void load_files(const Script& script, const GuestInputs& inputs, ModuleBudget& budget, GuestSet& set) {
  set.files.resize(script.components.size());
  for (size_t i = 0; i < script.components.size(); ++i) {
    const ComponentSpec& c = script.components[i];
    for (const FileSpec& f : c.files) {
      GuestFile g;
      g.module = c.name + ".file." + f.name;
      g.blob = "file." + f.name;
      g.writable = f.writable;
      if (f.format == FileFormat::ext2) {
        g.bytes = read_ext2(script, c, f, inputs, budget);
        g.source = inputs.files.at(c.name + "." + f.name);
      } else {
        g.source = script_relative(script, f.src);
        g.bytes = read_raw(g.source, budget, f);
      }
      set.files[i].push_back(std::move(g));
    }
  }
}

}  // namespace composer
