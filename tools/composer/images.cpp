#include "composer/images.hpp"

#include <map>
#include <sstream>

#include "elf/elf64.hpp"
#include "composer/input_files.hpp"
#include "composer/names.hpp"

namespace composer {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view elf_suffix = ".elf";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// File names derived from paths: [A-Za-z0-9_][A-Za-z0-9_.-]*, at most 43 chars
// before ".elf" (they become GRUB module command lines, which the kernel
// keeps up to 47 bytes, and output files).
bool valid_file_stem(std::string_view stem) {
  if (stem.empty() || stem.size() > max_image_stem_length || stem[0] == '.' || stem[0] == '-') return false;
  for (char c : stem) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

// Where an image reference points and the name it gets in the output.
struct ImageRef {
  fs::path path;
  std::string file_name;
};

ImageRef resolve_ref(const ComponentSpec& c, const Script& script, const fs::path& images_dir) {
  ImageRef ref;
  if (c.image.find('/') != std::string::npos || ends_with(c.image, elf_suffix)) {
    const fs::path p(c.image);
    ref.path = p.is_absolute() ? p : script.directory / p;
    std::string stem = p.filename().string();
    if (ends_with(stem, elf_suffix)) stem.resize(stem.size() - elf_suffix.size());
    if (!valid_file_stem(stem))
      fail(c.image_pos, "invalid image file name '" + p.filename().string() +
                            "' (must match [A-Za-z0-9_][A-Za-z0-9_.-]* and be at most " +
                            std::to_string(max_image_stem_length) +
                            " characters before \".elf\": it names a boot module)");
    ref.file_name = stem + std::string(elf_suffix);
  } else {
    if (!valid_name(NameKind::image, c.image)) fail(c.image_pos, invalid_name_message(NameKind::image, c.image));
    ref.path = images_dir / (c.image + std::string(elf_suffix));
    ref.file_name = c.image + std::string(elf_suffix);
  }
  if (ref.file_name == "kernel.elf") fail(c.image_pos, "image file name 'kernel.elf' is reserved for the kernel");
  return ref;
}

std::vector<uint8_t> read_image(const ComponentSpec& c, const fs::path& path, ModuleBudget& budget) {
  InputFile f = read_bounded(path, budget.left());
  switch (f.status) {
    case InputFile::Status::ok: break;
    case InputFile::Status::missing: fail(c.image_pos, "image file '" + path.string() + "' not found");
    case InputFile::Status::not_regular:
      fail(c.image_pos, "image file '" + path.string() + "' is not a regular file (it is " + f.kind + ")");
    case InputFile::Status::too_large:
      fail(c.image_pos, "image file '" + path.string() + "' is " + std::to_string(f.size) + " bytes: " +
                            budget.describe());
    case InputFile::Status::unreadable:
      fail(c.image_pos, "cannot read image file '" + path.string() + "': " + f.kind);
  }
  budget.take(f.size);
  std::vector<uint8_t> bytes = std::move(f.bytes);
  cos::elf::Image img;
  const cos::elf::Error e = cos::elf::Image::parse(bytes.data(), bytes.size(), img);
  if (e != cos::elf::Error::ok)
    fail(c.image_pos, "image '" + path.string() + "' is not a valid component image: " + cos::elf::error_string(e));
  return bytes;
}

// __cos_sinv_entry of a server's image; must lie in an executable segment.
uint64_t find_sinv_entry(const ComponentSpec& c, const ImageFile& file) {
  cos::elf::Image img;
  cos::elf::Image::parse(file.bytes.data(), file.bytes.size(), img);  // validated in read_image
  uint64_t entry = 0;
  if (!img.find_symbol(sinv_entry_symbol, entry))
    fail(c.implements_pos, "component '" + c.name + "' implements interfaces, but its image '" +
                               file.source.string() + "' has no symbol " + sinv_entry_symbol);
  for (size_t i = 0; i < img.segment_count(); ++i) {
    const cos::elf::Segment s = img.segment(i);
    if (s.executable && entry >= s.vaddr && entry - s.vaddr < s.memsz) return entry;
  }
  fail(c.implements_pos, "symbol " + std::string(sinv_entry_symbol) + " (" + hex(entry) + ") of image '" +
                             file.source.string() + "' is not in an executable segment");
}

}  // namespace

ImageSet load_images(const Script& script, const fs::path& images_dir, ModuleBudget& budget) {
  ImageSet set;
  std::map<std::string, size_t> by_file_name;
  std::vector<const ComponentSpec*> first_user;
  for (const ComponentSpec& c : script.components) {
    ImageRef ref = resolve_ref(c, script, images_dir);
    const auto it = by_file_name.find(ref.file_name);
    if (it != by_file_name.end()) {
      const ImageFile& seen = set.files[it->second];
      std::error_code ec;
      if (!fs::equivalent(seen.source, ref.path, ec)) {
        if (!fs::exists(ref.path, ec)) fail(c.image_pos, "image file '" + ref.path.string() + "' not found");
        fail(c.image_pos, "image file name '" + ref.file_name + "' of '" + ref.path.string() + "' clashes with '" +
                              seen.source.string() + "' (used by component '" + first_user[it->second]->name +
                              "' at " + first_user[it->second]->image_pos.line_col() + ")");
      }
      set.file_of.push_back(it->second);
      continue;
    }
    std::vector<uint8_t> bytes = read_image(c, ref.path, budget);
    by_file_name.emplace(ref.file_name, set.files.size());
    set.file_of.push_back(set.files.size());
    set.files.push_back(ImageFile{ref.file_name, ref.path, std::move(bytes)});
    first_user.push_back(&c);
  }

  for (size_t i = 0; i < script.components.size(); ++i) {
    const ComponentSpec& c = script.components[i];
    if (c.constructed_by_kernel) continue;
    for (size_t b = 0; b < script.components.size(); ++b)
      if (script.components[b].constructed_by_kernel && set.file_of[b] == set.file_of[i])
        fail(c.image_pos, "component '" + c.name + "' uses the booter's image '" + set.files[set.file_of[i]].file_name +
                              "'; the booter's image cannot be shared");
  }

  for (size_t i = 0; i < script.components.size(); ++i) {
    const ComponentSpec& c = script.components[i];
    set.sinv_entry.push_back(c.implements.empty() ? 0 : find_sinv_entry(c, set.files[set.file_of[i]]));
  }
  return set;
}

}  // namespace composer
