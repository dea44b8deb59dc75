#include "composer/guests.hpp"

#include <fstream>
#include <iterator>
#include <sstream>

#include "composer/grant_limits.hpp"
#include "composer/size.hpp"
#include "cos/guest_modules.hpp"
#include "multiboot/multiboot.hpp"

namespace composer {
namespace {

namespace fs = std::filesystem;

uint32_t le(const std::vector<uint8_t>& b, size_t at, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[at + size_t(i)];
  return v;
}

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

uint64_t page_up(uint64_t n) { return (n + 4095) & ~uint64_t(4095); }

// A file the script names: read it, or fail at `pos`.
std::vector<uint8_t> read_named(const fs::path& path, const SourcePos& pos, const std::string& what) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(pos, what + " '" + path.string() + "' not found");
  if (!fs::is_regular_file(path, ec)) fail(pos, what + " '" + path.string() + "' is not a regular file");
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) fail(pos, "cannot read " + what + " '" + path.string() + "'");
  return bytes;
}

// A file ./cos compose made for a symbolic value: failures are not the script's.
std::vector<uint8_t> read_input(const fs::path& path, const std::string& what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw ToolError(what + " '" + path.string() + "' not found");
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw ToolError("cannot read " + what + " '" + path.string() + "'");
  return bytes;
}

fs::path script_relative(const Script& script, const std::string& value) {
  const fs::path p(value);
  return (p.is_absolute() ? p : script.directory / p).lexically_normal();
}

// A file of a Multiboot guest: with '/' relative to the script, else a file
// in the images directory (a build product such as a test kernel).
fs::path multiboot_path(const Script& script, const fs::path& images_dir, const std::string& value) {
  return value.find('/') != std::string::npos ? script_relative(script, value) : images_dir / value;
}

void put32(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  for (int i = 0; i < 4; ++i) b[at + size_t(i)] = uint8_t(v >> (8 * i));
}
void put64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  put32(b, at, v);
  put32(b, at + 4, v >> 32);
}

// A Multiboot guest: the kernel (checked like the VMM loads it) and the
// module pack; the kernel and the page-aligned modules above it must fit.
void load_multiboot(const Script& script, const ComponentSpec& c, const fs::path& images_dir,
                    std::vector<GuestFile>& files) {
  const GuestSpec& g = *c.guest;
  const fs::path kpath = multiboot_path(script, images_dir, g.kernel);
  std::vector<uint8_t> kernel = read_named(kpath, g.kernel_pos, "guest kernel");
  const std::string why = multiboot_problem(kernel);
  if (!why.empty()) fail(g.kernel_pos, "guest kernel '" + kpath.string() + "' is not a Multiboot kernel: " + why);
  cos::multiboot::Image img;
  cos::multiboot::parse(kernel.data(), kernel.size(), img);
  if (img.load_start < multiboot_min_load)
    fail(g.kernel_pos, "guest kernel '" + kpath.string() + "' loads at " + hex(img.load_start) +
                           ", below 1 MiB; simple_vmm loads Multiboot kernels at 0x100000 or above (as GRUB does)");
  uint64_t end = page_up(img.load_end);

  std::vector<std::vector<uint8_t>> data;
  for (const ModuleSpec& m : g.modules) {
    const fs::path p = multiboot_path(script, images_dir, m.src);
    data.push_back(read_named(p, m.src_pos, "guest module"));
    end += page_up(data.back().size());
  }
  if (end > g.ram_bytes) {
    const uint64_t mib = uint64_t(1) << 20;
    fail(g.ram_pos, "guest RAM of " + format_size(g.ram_bytes) + " is too small for its Multiboot kernel and modules: " +
                        "they need at least " + std::to_string((end + mib - 1) / mib) + "M (the kernel at " +
                        hex(img.load_start) + "-" + hex(img.load_end) + ", the modules page-aligned above it)");
  }
  files.push_back(GuestFile{c.name + ".guest.kernel", "guest.kernel", kpath, std::move(kernel)});
  if (g.modules.empty()) return;

  // The module pack (cos/guest_modules.hpp).
  using namespace cos::guest;
  std::vector<uint8_t> pack(kModulesHeaderBytes + kModuleEntryBytes * g.modules.size(), 0);
  for (size_t i = 0; i < g.modules.size(); ++i) {
    const size_t e = kModulesHeaderBytes + kModuleEntryBytes * i;
    put32(pack, e + 16, pack.size());
    put32(pack, e + 20, g.modules[i].cmdline.size());
    pack.insert(pack.end(), g.modules[i].cmdline.begin(), g.modules[i].cmdline.end());
    pack.push_back(0);
  }
  for (size_t i = 0; i < g.modules.size(); ++i) {
    pack.resize(page_up(pack.size()), 0);
    const size_t e = kModulesHeaderBytes + kModuleEntryBytes * i;
    put64(pack, e, pack.size());
    put64(pack, e + 8, data[i].size());
    pack.insert(pack.end(), data[i].begin(), data[i].end());
  }
  if (pack.size() > UINT32_MAX) fail(g.modules_pos, "the modules are larger than 4 GiB together");
  put32(pack, 0, kModulesMagic);
  put32(pack, 4, kModulesVersion);
  put32(pack, 8, g.modules.size());
  put32(pack, 12, pack.size());
  files.push_back(GuestFile{c.name + ".guest.modules", "guest.modules", c.name + ".guest.modules", std::move(pack)});
}

}  // namespace

std::string multiboot_problem(const std::vector<uint8_t>& bytes) {
  cos::multiboot::Image img;
  cos::multiboot::Detail d;
  const cos::multiboot::Error e = cos::multiboot::parse(bytes.data(), bytes.size(), img, &d);
  using E = cos::multiboot::Error;
  std::string text = cos::multiboot::error_string(e);
  switch (e) {
    case E::ok: return "";
    case E::no_header:
      if (bytes.size() >= 4 && bytes[0] == 0x7f && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F')
        text += " (an ELF file without one)";
      else if (bytes.size() > 0x202 + 4 && le(bytes, 0x202, 4) == 0x53726448)
        text += " (a Linux bzImage? use kind = \"linux\")";
      break;
    case E::bad_checksum: text += " (header at offset " + hex(d.offset) + ")"; break;
    case E::unsupported_flags: text += " (bits " + hex(d.value) + ")"; break;
    case E::segment_outside_file:
    case E::segment_above_4g: text += " (segment " + std::to_string(d.index) + ")"; break;
    case E::entry_outside_image: text += " (entry " + hex(d.value) + ")"; break;
    default: break;
  }
  return text;
}

std::string bzimage_problem(const std::vector<uint8_t>& b) {
  if (b.size() < 0x400) return "it is too small to hold a Linux setup header (" + std::to_string(b.size()) + " bytes)";
  if (le(b, 0x1fe, 2) != 0xaa55) {
    if (b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F')
      return "it is an ELF file (a vmlinux?): no boot flag 0xAA55 at offset 0x1fe";
    return "no boot flag 0xAA55 at offset 0x1fe";
  }
  if (le(b, 0x202, 4) != 0x53726448) return "no \"HdrS\" signature at offset 0x202 (a pre-2.0 boot sector?)";
  const uint32_t version = le(b, 0x206, 2);
  if (version < 0x0206)
    return "its boot protocol is " + std::to_string(version >> 8) + "." + (((version & 0xff) < 10) ? "0" : "") +
           std::to_string(version & 0xff) + "; the guest bootloader needs 2.06 or later";
  if ((b[0x211] & 1) == 0) return "loadflags LOADED_HIGH is not set (a zImage, which cannot run from 1 MiB)";
  const uint32_t setup_sects = b[0x1f1] == 0 ? 4 : b[0x1f1];
  if (uint64_t(setup_sects + 1) * 512 >= b.size())
    return "the file ends inside its real-mode setup code (" + std::to_string(setup_sects) +
           " setup sectors): truncated?";
  return "";
}

std::string initramfs_problem(const std::vector<uint8_t>& b) {
  auto starts = [&](std::initializer_list<uint8_t> magic) {
    if (b.size() < magic.size()) return false;
    size_t i = 0;
    for (uint8_t m : magic)
      if (b[i++] != m) return false;
    return true;
  };
  if (b.empty()) return "the file is empty";
  if (starts({'0', '7', '0', '7', '0', '1'}) || starts({'0', '7', '0', '7', '0', '2'})) return "";  // newc cpio
  if (starts({0x1f, 0x8b}) || starts({0x1f, 0x9e}) ||                // gzip
      starts({'B', 'Z', 'h'}) ||                                      // bzip2
      starts({0xfd, '7', 'z', 'X', 'Z', 0x00}) ||                     // xz
      starts({0x5d, 0x00, 0x00}) ||                                   // lzma
      starts({0x89, 'L', 'Z', 'O'}) ||                                // lzop
      starts({0x02, 0x21, 0x4c, 0x18}) ||                             // lz4 (legacy, what the kernel reads)
      starts({0x28, 0xb5, 0x2f, 0xfd}))                               // zstd
    return "";
  return "it is not a newc cpio archive (\"070701\") nor one compressed with gzip, bzip2, xz, lzma, lzo, lz4 or "
         "zstd";
}

uint64_t guest_ram_needed(const std::vector<uint8_t>& k, uint64_t initramfs_bytes) {
  const uint32_t setup_sects = k[0x1f1] == 0 ? 4 : k[0x1f1];
  const uint64_t pm_bytes = k.size() - uint64_t(setup_sects + 1) * 512;
  uint64_t kernel_end = guest_kernel32_gpa + pm_bytes;
  if (le(k, 0x206, 2) >= 0x020a) {  // pref_address (0x258) and init_size (0x260)
    const uint64_t pref = uint64_t(le(k, 0x258, 4)) | uint64_t(le(k, 0x25c, 4)) << 32;
    const uint64_t run = pref > guest_kernel32_gpa ? pref : guest_kernel32_gpa;
    if (run + le(k, 0x260, 4) > kernel_end) kernel_end = run + le(k, 0x260, 4);
  }
  const uint64_t file_end = guest_kernel_file_gpa + k.size();
  return page_up(kernel_end > file_end ? kernel_end : file_end) + page_up(initramfs_bytes);
}

GuestSet load_guests(const Script& script, const fs::path& images_dir, const GuestInputs& inputs) {
  GuestSet set;
  set.files.resize(script.components.size());
  for (size_t i = 0; i < script.components.size(); ++i) {
    const ComponentSpec& c = script.components[i];
    if (!c.guest) continue;
    const GuestSpec& g = *c.guest;
    if (g.kind == GuestKind::multiboot) {
      load_multiboot(script, c, images_dir, set.files[i]);
      continue;
    }
    auto add = [&](const char* role, fs::path source, std::vector<uint8_t> bytes) {
      set.files[i].push_back(GuestFile{c.name + ".guest." + role, std::string("guest.") + role, std::move(source),
                                       std::move(bytes)});
    };

    // The kernel: a bzImage.
    if (g.kernel == debian_cloud_kernel) {
      if (inputs.kernel.empty())
        throw ToolError("kernel = \"debian-cloud\" (" + g.kernel_pos.path + ":" + g.kernel_pos.line_col() +
                        ") needs the Debian kernel: compose with ./cos compose, which fetches it, or pass "
                        "--guest-kernel <bzImage>");
      std::vector<uint8_t> bytes = read_input(inputs.kernel, "guest kernel");
      const std::string why = bzimage_problem(bytes);
      if (!why.empty()) throw ToolError("guest kernel '" + inputs.kernel.string() + "' is not a bzImage: " + why);
      add("kernel", inputs.kernel, std::move(bytes));
    } else {
      const fs::path path = script_relative(script, g.kernel);
      std::vector<uint8_t> bytes = read_named(path, g.kernel_pos, "guest kernel");
      const std::string why = bzimage_problem(bytes);
      if (!why.empty()) fail(g.kernel_pos, "guest kernel '" + path.string() + "' is not a bzImage: " + why);
      add("kernel", path, std::move(bytes));
    }

    // The initramfs; overlay sources must exist (./cos compose copied them in).
    for (const OverlaySpec& o : g.overlays) {
      std::error_code ec;
      const fs::path src = script_relative(script, o.src);
      if (!fs::exists(src, ec)) fail(o.src_pos, "overlay source '" + src.string() + "' not found");
    }
    if (g.initramfs == default_initramfs) {
      const auto it = inputs.initramfs.find(c.name);
      if (it == inputs.initramfs.end())
        throw ToolError("initramfs = \"default\" of component '" + c.name + "' (" + g.initramfs_pos.path + ":" +
                        g.initramfs_pos.line_col() +
                        ") needs the default initramfs: compose with ./cos compose, which builds it, or pass "
                        "--guest-initramfs " + c.name + "=<file>");
      std::vector<uint8_t> bytes = read_input(it->second, "guest initramfs");
      const std::string why = initramfs_problem(bytes);
      if (!why.empty()) throw ToolError("guest initramfs '" + it->second.string() + "' is unusable: " + why);
      add("initramfs", it->second, std::move(bytes));
    } else {
      const fs::path path = script_relative(script, g.initramfs);
      std::vector<uint8_t> bytes = read_named(path, g.initramfs_pos, "guest initramfs");
      const std::string why = initramfs_problem(bytes);
      if (!why.empty()) fail(g.initramfs_pos, "guest initramfs '" + path.string() + "' is unusable: " + why);
      add("initramfs", path, std::move(bytes));
    }

    // The bootloader (guest.img).
    const fs::path boot = g.bootloader.find('/') != std::string::npos ? script_relative(script, g.bootloader)
                                                                       : images_dir / g.bootloader;
    std::vector<uint8_t> boot_bytes = read_named(boot, g.bootloader_pos, "guest bootloader");
    if (boot_bytes.empty() || boot_bytes.size() > max_bootloader_bytes)
      fail(g.bootloader_pos, "guest bootloader '" + boot.string() + "' is " + std::to_string(boot_bytes.size()) +
                                 " bytes; it must hold 1 to " + std::to_string(max_bootloader_bytes) +
                                 " bytes (it is loaded at 0x8000, below 0xf000)");
    add("bootloader", boot, std::move(boot_bytes));

    // Does it all fit in the guest's RAM?
    const uint64_t needed = guest_ram_needed(set.files[i][0].bytes, set.files[i][1].bytes.size());
    if (needed > g.ram_bytes) {
      const uint64_t mib = uint64_t(1) << 20;
      fail(g.ram_pos, "guest RAM of " + format_size(g.ram_bytes) + " is too small for its kernel and initramfs: " +
                          "they need at least " + std::to_string((needed + mib - 1) / mib) +
                          "M (the bzImage file at " + hex(guest_kernel_file_gpa) +
                          ", the running kernel from 0x100000, the initramfs above both)");
    }
  }
  return set;
}

}  // namespace composer
