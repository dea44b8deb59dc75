#include "composer/guests.hpp"

#include <algorithm>
#include <limits>
#include <sstream>

#include "composer/grant_limits.hpp"
#include "composer/size.hpp"
#include "cos/guest_modules.hpp"
#include "cos/limits.hpp"
#include "multiboot/multiboot.hpp"

namespace composer {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

uint64_t sat_add(uint64_t a, uint64_t b) { return a > kNone - b ? kNone : a + b; }
uint64_t page_up(uint64_t n) { return n > kNone - 4095 ? kNone : (n + 4095) & ~uint64_t(4095); }

// Largest file of each role read at all: it has to fit in the largest guest
// RAM (the bzImage file above 64 MiB), and in what the boot modules have left.
// (Guest files go below the 32-bit MMIO hole: cos_limits::kGuestLowRamTop.)
constexpr uint64_t max_kernel_file = cos_limits::kGuestLowRamTop - cos_limits::kGuestKernelFileGpa;
constexpr uint64_t max_initramfs_file = cos_limits::kGuestLowRamTop;
static_assert(cos_limits::kGuestLowRamTop <= cos_limits::kMaxBlobBytes, "a guest file fits a blob window");

uint64_t min(uint64_t a, uint64_t b) { return a < b ? a : b; }

// A file the script names: read it if it is a regular file within `max`
// bytes (`limit` says why) and the module budget, or fail at `pos`.
std::vector<uint8_t> read_named(const fs::path& path, uint64_t max, const std::string& limit, ModuleBudget& budget,
                                const SourcePos& pos, const std::string& what) {
  InputFile f = read_bounded(path, min(max, budget.left()));
  const std::string name = what + " '" + path.string() + "'";
  switch (f.status) {
    case InputFile::Status::ok: break;
    case InputFile::Status::missing: fail(pos, name + " not found");
    case InputFile::Status::not_regular: fail(pos, name + " is not a regular file (it is " + f.kind + ")");
    case InputFile::Status::unreadable: fail(pos, "cannot read " + name + ": " + f.kind);
    case InputFile::Status::too_large:
      if (f.size > max) fail(pos, name + " is " + std::to_string(f.size) + " bytes; " + limit);
      fail(pos, name + " is " + std::to_string(f.size) + " bytes: " + budget.describe());
  }
  budget.take(f.size);
  return std::move(f.bytes);
}

// A file ./cos compose made for a symbolic value: failures are not the script's.
std::vector<uint8_t> read_input(const fs::path& path, uint64_t max, ModuleBudget& budget, const std::string& what) {
  InputFile f = read_bounded(path, min(max, budget.left()));
  const std::string name = what + " '" + path.string() + "'";
  switch (f.status) {
    case InputFile::Status::ok: break;
    case InputFile::Status::missing: throw ToolError(name + " not found");
    case InputFile::Status::not_regular: throw ToolError(name + " is not a regular file (it is " + f.kind + ")");
    case InputFile::Status::unreadable: throw ToolError("cannot read " + name + ": " + f.kind);
    case InputFile::Status::too_large:
      throw ToolError(name + " is " + std::to_string(f.size) + " bytes; " +
                      (f.size > max ? "at most " + std::to_string(max) + " fit in the largest guest RAM"
                                    : budget.describe()));
  }
  budget.take(f.size);
  return std::move(f.bytes);
}

fs::path script_relative(const Script& script, const std::string& value) {
  const fs::path p(value);
  return (p.is_absolute() ? p : script.directory / p).lexically_normal();
}

// Overlay sources must exist and be regular files or directories of them
// (./cos compose packed them into the default initramfs); the files, which
// the guest unpacks into its RAM, must not hold more than that RAM.
void check_overlays(const Script& script, const GuestSpec& g) {
  uint64_t bytes = 0;
  for (const OverlaySpec& o : g.overlays) {
    const fs::path src = script_relative(script, o.src);
    const std::string why = overlay_source_problem(src, bytes);
    if (why == "not found") fail(o.src_pos, "overlay source '" + src.string() + "' not found");
    if (!why.empty()) fail(o.src_pos, "overlay source '" + src.string() + "' " + why);
    if (bytes > g.ram_bytes)
      fail(o.src_pos, "the overlays up to this one hold " + std::to_string(bytes) + " bytes, more than the guest's " +
                          format_size(g.ram_bytes) + " of RAM, which the guest unpacks its initramfs into");
  }
}

// Module sources must be directories with a Kbuild or Makefile, which
// ./cos compose builds with `make -C <headers> M=<a copy> modules`.
void check_module_sources(const Script& script, const GuestSpec& g) {
  for (const auto& [dir, pos] : g.module_sources) {
    const fs::path src = script_relative(script, dir);
    std::error_code ec;
    const fs::file_status st = fs::status(src, ec);
    if (!fs::exists(st)) fail(pos, "module source '" + src.string() + "' not found");
    if (!fs::is_directory(st))
      fail(pos, "module source '" + src.string() + "' is not a directory (name the directory holding the module's "
                "Kbuild or Makefile)");
    if (!fs::is_regular_file(src / "Kbuild", ec) && !fs::is_regular_file(src / "Makefile", ec))
      fail(pos, "module source '" + src.string() + "' has no Kbuild or Makefile (one with obj-m := <name>.o)");
  }
}

// The layout of cos/guest_boot.hpp, as simple_vmm makes it and the guest
// bootloader checks it: does everything fit in the guest's RAM?
void check_layout(const GuestSpec& g, const std::vector<GuestFile>& files) {
  const std::vector<uint8_t>& kernel = files[0].bytes;
  const uint64_t initrd_bytes = files[1].bytes.size();
  const uint64_t needed = guest_ram_needed(kernel, initrd_bytes);
  const uint64_t mib = uint64_t(1) << 20;
  if (needed > cos_limits::guest_low_ram(g.ram_bytes))
    fail(g.ram_pos, "guest RAM of " + format_size(g.ram_bytes) + " is too small for its kernel and initramfs: " +
                        "they need at least " + std::to_string(needed / mib + (needed % mib != 0)) +
                        "M (the bzImage file at " + hex(guest_kernel_file_gpa) +
                        ", the running kernel from 0x100000, the initramfs above both)");
  const BzImageHeader h = read_bzimage_header(kernel);
  const uint64_t kernel_top = std::max(guest_kernel_end(kernel), guest_kernel_file_gpa + kernel.size());
  if (initrd_bytes != 0) {
    const uint64_t at = guest_initrd_gpa(g.ram_bytes, initrd_bytes);
    if (at == kNone || at < kernel_top)
      fail(g.initramfs_pos, "the guest initramfs (" + std::to_string(initrd_bytes) +
                                " bytes) does not fit between its kernel (up to " + hex(kernel_top) + ") and " +
                                hex(std::min<uint64_t>(g.ram_bytes, cos_limits::kGuestInitrdTop)) +
                                ", below which the VMM puts it");
    if (at + initrd_bytes - 1 > h.initrd_addr_max)
      fail(g.initramfs_pos, "the guest initramfs would end at " + hex(at + initrd_bytes - 1) +
                                ", above the guest kernel's initrd_addr_max " + hex(h.initrd_addr_max));
  }
  if (g.cmdline.size() > h.cmdline_size)
    fail(g.cmdline_pos, "the command line is " + std::to_string(g.cmdline.size()) +
                            " bytes; the guest kernel takes at most " + std::to_string(h.cmdline_size) +
                            " (its cmdline_size)");
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
// Every file is read bounded (the largest guest RAM, the module budget).
void load_multiboot(const Script& script, const ComponentSpec& c, const fs::path& images_dir, ModuleBudget& budget,
                    std::vector<GuestFile>& files) {
  const GuestSpec& g = *c.guest;
  const std::string ram_limit =
      "at most " + format_size(cos_limits::kGuestLowRamTop) + " fit in the largest guest RAM below 4 GiB";
  const fs::path kpath = multiboot_path(script, images_dir, g.kernel);
  std::vector<uint8_t> kernel =
      read_named(kpath, cos_limits::kGuestLowRamTop, ram_limit, budget, g.kernel_pos, "guest kernel");
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
    data.push_back(read_named(p, cos_limits::kGuestLowRamTop, ram_limit, budget, m.src_pos, "guest module"));
    end = sat_add(end, page_up(data.back().size()));
  }
  if (end > cos_limits::guest_low_ram(g.ram_bytes)) {
    const uint64_t mib = uint64_t(1) << 20;
    fail(g.ram_pos, "guest RAM of " + format_size(g.ram_bytes) + " is too small for its Multiboot kernel and modules: " +
                        "they need at least " + std::to_string(end / mib + (end % mib != 0)) + "M (the kernel at " +
                        hex(img.load_start) + "-" + hex(img.load_end) + ", the modules page-aligned above it)");
  }
  files.push_back(GuestFile{c.name + ".guest.kernel", "guest.kernel", kpath, std::move(kernel)});
  if (g.modules.empty()) return;

  // The module pack (cos/guest_modules.hpp).
  using namespace cos::guest;
  uint64_t data_bytes = 0;
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
    data_bytes += data[i].size();
  }
  if (pack.size() > UINT32_MAX) fail(g.modules_pos, "the modules are larger than 4 GiB together");
  // The module data was counted as it was read; the header, command lines
  // and page padding of the pack are boot-module bytes too.
  const uint64_t overhead = pack.size() - data_bytes;
  if (overhead > budget.left())
    fail(g.modules_pos, "the module pack of '" + c.name + "' is " + std::to_string(pack.size()) +
                            " bytes: " + budget.describe());
  budget.take(overhead);
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
      else if (bytes.size() > 0x202 + 4 && bytes[0x202] == 'H' && bytes[0x203] == 'd' && bytes[0x204] == 'r' &&
               bytes[0x205] == 'S')
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
  const uint64_t kernel_end = guest_kernel_end(k);
  const uint64_t file_end = sat_add(guest_kernel_file_gpa, k.size());
  return sat_add(page_up(std::max(kernel_end, file_end)), page_up(initramfs_bytes));
}

uint64_t guest_initrd_gpa(uint64_t ram_bytes, uint64_t initramfs_bytes) {
  const uint64_t top = std::min<uint64_t>(ram_bytes, cos_limits::kGuestInitrdTop);
  if (initramfs_bytes == 0 || initramfs_bytes > top) return kNone;
  return (top - initramfs_bytes) & ~uint64_t(4095);
}

GuestSet load_guests(const Script& script, const fs::path& images_dir, const GuestInputs& inputs,
                     ModuleBudget& budget) {
  const std::string ram_limit = "at most " + format_size(max_kernel_file) + " fit in the largest guest RAM (" +
                                format_size(cos_limits::kGuestLowRamTop) + ") above 64 MiB";
  const std::string initrd_limit = "at most " + format_size(max_initramfs_file) + " fit in the largest guest RAM";
  const std::string boot_limit = "it must hold 1 to " + std::to_string(max_bootloader_bytes) +
                                 " bytes (it is loaded at 0x8000, below 0xf000)";
  GuestSet set;
  set.files.resize(script.components.size());
  for (size_t i = 0; i < script.components.size(); ++i) {
    const ComponentSpec& c = script.components[i];
    if (!c.guest) continue;
    const GuestSpec& g = *c.guest;
    if (g.kind == GuestKind::multiboot) {
      load_multiboot(script, c, images_dir, budget, set.files[i]);
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
      std::vector<uint8_t> bytes = read_input(inputs.kernel, max_kernel_file, budget, "guest kernel");
      const std::string why = bzimage_problem(bytes);
      if (!why.empty()) throw ToolError("guest kernel '" + inputs.kernel.string() + "' is not a bzImage: " + why);
      add("kernel", inputs.kernel, std::move(bytes));
    } else {
      const fs::path path = script_relative(script, g.kernel);
      std::vector<uint8_t> bytes = read_named(path, max_kernel_file, ram_limit, budget, g.kernel_pos, "guest kernel");
      const std::string why = bzimage_problem(bytes);
      if (!why.empty()) fail(g.kernel_pos, "guest kernel '" + path.string() + "' is not a bzImage: " + why);
      add("kernel", path, std::move(bytes));
    }

    // The initramfs, with the overlays ./cos compose packed into it.
    check_overlays(script, g);
    check_module_sources(script, g);
    if (g.initramfs == default_initramfs) {
      const auto it = inputs.initramfs.find(c.name);
      if (it == inputs.initramfs.end())
        throw ToolError("initramfs = \"default\" of component '" + c.name + "' (" + g.initramfs_pos.path + ":" +
                        g.initramfs_pos.line_col() +
                        ") needs the default initramfs: compose with ./cos compose, which builds it, or pass "
                        "--guest-initramfs " + c.name + "=<file>");
      std::vector<uint8_t> bytes = read_input(it->second, max_initramfs_file, budget, "guest initramfs");
      const std::string why = initramfs_problem(bytes);
      if (!why.empty()) throw ToolError("guest initramfs '" + it->second.string() + "' is unusable: " + why);
      add("initramfs", it->second, std::move(bytes));
    } else {
      const fs::path path = script_relative(script, g.initramfs);
      std::vector<uint8_t> bytes =
          read_named(path, max_initramfs_file, initrd_limit, budget, g.initramfs_pos, "guest initramfs");
      const std::string why = initramfs_problem(bytes);
      if (!why.empty()) fail(g.initramfs_pos, "guest initramfs '" + path.string() + "' is unusable: " + why);
      add("initramfs", path, std::move(bytes));
    }

    // The bootloader (guest.img).
    const fs::path boot = g.bootloader.find('/') != std::string::npos ? script_relative(script, g.bootloader)
                                                                       : images_dir / g.bootloader;
    std::vector<uint8_t> boot_bytes =
        read_named(boot, max_bootloader_bytes, boot_limit, budget, g.bootloader_pos, "guest bootloader");
    if (boot_bytes.empty())
      fail(g.bootloader_pos, "guest bootloader '" + boot.string() + "' is 0 bytes; " + boot_limit);
    add("bootloader", boot, std::move(boot_bytes));

    // Does it all fit in the guest's RAM, as simple_vmm lays it out?
    check_layout(g, set.files[i]);
  }
  return set;
}

}  // namespace composer
