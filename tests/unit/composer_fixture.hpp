// The composer tests' fixtures: a temporary directory with component
// images and a kernel, scripts run through composer::run with their exact
// diagnostics checked, and fake guest files (composer_test.cpp,
// composer_limits_test.cpp).
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "composer/cli.hpp"
#include "composer/composer.hpp"
#include "composer/deps.hpp"
#include "composer/ioports.hpp"
#include "elf/elf64.hpp"
#include "unit/elf_builder.hpp"
#include "composer/guests.hpp"
#include "manifest/manifest_reader.hpp"
#include "composer/order.hpp"
#include "composer/script_checks.hpp"
#include "composer/script_parser.hpp"
#include "composer/size.hpp"

namespace {

namespace fs = std::filesystem;
namespace c = composer;
namespace m = cos::manifest;

// [system] and a kernel-constructed booter: lines 1-8, so a case's own text
// starts on line 9.
constexpr const char* prefix =
    "[system]\n"              // 1
    "name = \"t\"\n"          // 2
    "\n"                      // 3
    "[[component]]\n"         // 4
    "name = \"booter\"\n"     // 5
    "image = \"booter\"\n"    // 6
    "constructor = \"kernel\"\n"  // 7
    "\n";                     // 8

/// `prefix` with `memory = "<memory>"` on its (otherwise empty) line 3, so
/// that line numbers stay those of `prefix`.
inline std::string prefix_with_memory(const std::string& memory) {
  std::string p = prefix;
  const std::string blank = "name = \"t\"\n\n";
  return p.replace(p.find(blank), blank.size(), "name = \"t\"\nmemory = \"" + memory + "\"\n");
}

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
std::string read_text(const fs::path& p) {
  const auto b = read_bytes(p);
  return std::string(b.begin(), b.end());
}
void write_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}
void write_text(const fs::path& p, const std::string& s) { write_bytes(p, std::vector<uint8_t>(s.begin(), s.end())); }
std::string str(m::Str s) { return std::string(s.data, s.size); }

struct Outcome {
  int status;
  std::string out, err;
};

// A temporary directory with component images, a kernel and room for scripts.
class ComposerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           ("cos-composer-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "images");
    for (const char* name : {"booter", "ping", "client"}) write_bytes(image(name), cos::test::component_elf(false));
    for (const char* name : {"pong", "a", "b", "c", "d", "logger"}) write_bytes(image(name), cos::test::component_elf(true));
    write_bytes(image("nosinv"), cos::test::component_elf(false));
    write_text(image("garbage"), std::string(100, 'x'));
    cos::test::ElfSpec pie;
    pie.type = 3;
    write_bytes(image("pie"), cos::test::build_elf(pie));
    cos::test::ElfSpec data_sinv;  // __cos_sinv_entry in a non-executable segment
    data_sinv.segments = {cos::test::SegmentSpec{1, 5, 0x400000, 0x1000, 0x10, 0},
                          cos::test::SegmentSpec{1, 6, 0x402000, 0x1000, 0x10, 0}};
    data_sinv.symbols = {{"__cos_sinv_entry", 0x402010, false}};
    write_bytes(image("datasinv"), cos::test::build_elf(data_sinv));
    write_bytes(dir_ / "scripts" / "lib" / "custom.elf", cos::test::component_elf(true));
    write_bytes(dir_ / "scripts" / "other" / "custom.elf", cos::test::component_elf(false));
    write_bytes(dir_ / "kernel-image.elf", {0x7f, 'E', 'L', 'F', 1, 2, 3});
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path image(const std::string& name) const { return dir_ / "images" / (name + ".elf"); }
  fs::path outdir() const { return dir_ / "out"; }

  c::Options options(const std::string& script_text) {
    script_ = (dir_ / "scripts" / "sys.toml").string();
    write_text(script_, script_text);
    c::Options o;
    o.script = script_;
    o.outdir = outdir();
    o.images_dir = dir_ / "images";
    o.kernel = dir_ / "kernel-image.elf";
    o.make_iso = false;
    o.guest_inputs = guest_inputs_;
    return o;
  }

  Outcome run(const c::Options& o) {
    std::ostringstream out, err;
    const int status = c::run(o, out, err);
    return {status, out.str(), err.str()};
  }
  Outcome run(const std::string& script_text) { return run(options(script_text)); }

  // Nothing but the fixtures: no outdir, no staging leftovers.
  void expect_no_output() {
    EXPECT_FALSE(fs::exists(outdir()));
    for (const auto& e : fs::directory_iterator(dir_))
      EXPECT_EQ(e.path().filename().string().rfind(".out.", 0), std::string::npos) << e.path();
  }

  // Runs `text`, expecting exit 2 and exactly one line
  // "<script>:<line>:<col>: error: ..." that contains `needle`.
  void expect_error(const std::string& text, int line, int col, const std::string& needle) {
    const Outcome r = run(text);
    EXPECT_EQ(r.status, c::exit_script_error) << r.err;
    const std::string where = script_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": error: ";
    EXPECT_EQ(r.err.rfind(where, 0), 0u) << "expected " << where << "\n got " << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.out.empty());
    expect_no_output();
  }

  m::Reader open_manifest() {
    manifest_bytes_ = read_bytes(outdir() / "manifest.bin");
    m::Reader r;
    EXPECT_EQ(m::Reader::open(manifest_bytes_.data(), manifest_bytes_.size(), r), m::Error::ok);
    return r;
  }

  fs::path dir_;
  c::GuestInputs guest_inputs_;  ///< what "debian-cloud" / "default" stand for (GuestTest sets them)
  std::string script_;
  std::vector<uint8_t> manifest_bytes_;
};

// ---------------------------------------------------------------- [component.guest]

// A bzImage-shaped file: the setup-header fields the composer reads (Linux
// Documentation/arch/x86/boot.rst), consistent with each other like a real
// kernel's: syssize covers the protected-mode code, a gzip payload lies in
// it, init_size is larger, a relocatable kernel with 2 MiB alignment that
// prefers 16 MiB.
void put_le(std::vector<uint8_t>& b, size_t at, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b[at + size_t(i)] = uint8_t(v >> (8 * i));
}
std::vector<uint8_t> fake_bzimage(uint16_t version = 0x020f, uint8_t loadflags = 1, uint8_t setup_sects = 4,
                                  size_t pm_bytes = 0x10000, uint32_t init_size = 0x100000) {
  const size_t setup = (setup_sects == 0 ? 5u : setup_sects + 1u) * 512;
  std::vector<uint8_t> b(setup, 0);
  b.resize(b.size() + pm_bytes, 0xf4);
  b[0x1f1] = setup_sects;
  put_le(b, 0x1f4, pm_bytes / 16, 4);  // syssize
  b[0x1fe] = 0x55;
  b[0x1ff] = 0xaa;
  std::memcpy(&b[0x202], "HdrS", 4);
  put_le(b, 0x206, version, 2);
  b[0x211] = loadflags;
  put_le(b, 0x22c, 0x7fffffff, 4);  // initrd_addr_max
  put_le(b, 0x230, 0x200000, 4);    // kernel_alignment
  b[0x234] = 1;                     // relocatable_kernel
  put_le(b, 0x238, 0x7ff, 4);       // cmdline_size
  if (pm_bytes >= 0x200) {
    put_le(b, 0x248, 0x100, 4);             // payload_offset
    put_le(b, 0x24c, pm_bytes - 0x100, 4);  // payload_length
    b[setup + 0x100] = 0x1f;                // gzip
    b[setup + 0x101] = 0x8b;
  }
  put_le(b, 0x258, 0x1000000, 8);  // pref_address
  put_le(b, 0x260, init_size, 4);
  return b;
}

// A VMM component on lines 9-13; a case's [component.guest] keys start on line 14.
constexpr const char* vmm_comp =
    "[[component]]\n"       // 9
    "name = \"vmm\"\n"      // 10
    "image = \"client\"\n"  // 11
    "untyped = \"300M\"\n"  // 12
    "[component.guest]\n";  // 13

class GuestTest : public ComposerTest {
 protected:
  void SetUp() override {
    ComposerTest::SetUp();
    write_bytes(dir_ / "scripts" / "bz" / "vmlinuz", fake_bzimage());
    write_bytes(dir_ / "cache" / "debian-vmlinuz", fake_bzimage(0x020c));
    write_bytes(dir_ / "build" / "initramfs.cpio.gz", {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3, 1, 2, 3});
    write_text(dir_ / "scripts" / "i.cpio", "070701 and so on");
    write_text(dir_ / "scripts" / "files" / "hello.sh", "#!/bin/sh\necho hello\n");
    write_bytes(dir_ / "images" / "guest.img", std::vector<uint8_t>(2048, 0x90));
    write_bytes(dir_ / "images" / "big.img", std::vector<uint8_t>(0x7001, 0x90));
    write_bytes(dir_ / "scripts" / "old", fake_bzimage(0x0204));
    write_bytes(dir_ / "scripts" / "zimage", fake_bzimage(0x020f, 0));
    std::vector<uint8_t> no_hdrs = fake_bzimage();
    no_hdrs[0x202] = 'X';
    write_bytes(dir_ / "scripts" / "nohdrs", no_hdrs);
    write_bytes(dir_ / "scripts" / "truncated", fake_bzimage(0x020f, 1, 40, 0));
    guest_inputs_.kernel = dir_ / "cache" / "debian-vmlinuz";
    guest_inputs_.initramfs["vmm"] = dir_ / "build" / "initramfs.cpio.gz";
  }
  std::string guest(const std::string& keys) { return std::string(prefix) + vmm_comp + keys; }
};

}  // namespace
