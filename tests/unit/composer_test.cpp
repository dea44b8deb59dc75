// Unit tests for the composer (tools/composer): script validation with exact
// diagnostics, construction order, manifest contents and output files.
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
#include "cos/guest_modules.hpp"
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

// ---------------------------------------------------------------- valid scripts

TEST_F(ComposerTest, HelloSystem) {
  const Outcome r = run(std::string(prefix) +
                        "priority = 0\n"
                        "\n"
                        "[[component]]\n"
                        "name = \"ping\"\n"
                        "image = \"ping\"\n"
                        "priority = 10\n"
                        "deps = [\"pong\"]\n"
                        "\n"
                        "[[component]]\n"
                        "name = \"pong\"\n"
                        "image = \"pong\"\n"
                        "priority = 10\n"
                        "implements = [\"pong\"]\n"
                        "[component.params]\n"
                        "greeting = \"hi\"\n"
                        "count = 3\n"
                        "loud = false\n");
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  EXPECT_TRUE(r.err.empty());
  EXPECT_NE(r.out.find("composed 't' (3 components)"), std::string::npos) << r.out;

  for (const char* f : {"kernel.elf", "booter.elf", "pong.elf", "ping.elf", "manifest.bin", "grub.cfg", "system.json"})
    EXPECT_TRUE(fs::is_regular_file(outdir() / f)) << f;
  EXPECT_FALSE(fs::exists(outdir() / "cos.iso"));
  EXPECT_EQ(read_bytes(outdir() / "kernel.elf"), read_bytes(dir_ / "kernel-image.elf"));
  EXPECT_EQ(read_bytes(outdir() / "pong.elf"), read_bytes(image("pong")));

  m::Reader man = open_manifest();
  EXPECT_EQ(str(man.system_name()), "t");
  ASSERT_EQ(man.component_count(), 3u);
  const char* names[] = {"booter", "pong", "ping"};  // servers before clients
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(str(man.component(i).name), names[i]);

  const m::ComponentView booter = man.component(0);
  EXPECT_TRUE(booter.constructed_by_kernel);
  EXPECT_EQ(str(booter.image), "booter.elf");
  EXPECT_EQ(booter.priority, 0u);
  EXPECT_EQ(booter.heap_bytes, 64u * 1024);
  EXPECT_EQ(booter.stack_bytes, 16u * 1024);
  EXPECT_EQ(booter.sinv_entry, 0u);

  const m::ComponentView pong = man.component(1);
  EXPECT_FALSE(pong.constructed_by_kernel);
  EXPECT_EQ(str(pong.image), "pong.elf");
  EXPECT_EQ(pong.priority, 10u);
  EXPECT_EQ(pong.sinv_entry, 0x400010u);
  ASSERT_EQ(pong.implements_count, 1u);
  EXPECT_EQ(str(man.implements(1, 0)), "pong");
  ASSERT_EQ(pong.param_count, 3u);  // in script order
  EXPECT_EQ(str(man.param(1, 0).key), "greeting");
  EXPECT_EQ(str(man.param(1, 0).value), "hi");
  EXPECT_EQ(str(man.param(1, 1).key), "count");
  EXPECT_EQ(str(man.param(1, 1).value), "3");
  EXPECT_EQ(str(man.param(1, 2).value), "false");

  const m::ComponentView ping = man.component(2);
  EXPECT_EQ(ping.sinv_entry, 0u);
  ASSERT_EQ(ping.dep_count, 1u);
  EXPECT_EQ(str(man.dep(2, 0).interface), "pong");
  EXPECT_EQ(man.dep(2, 0).server, 1u);
  EXPECT_EQ(man.dep(2, 0).token, 0u);

  EXPECT_EQ(read_text(outdir() / "grub.cfg"),
            "# Generated by cos-composer from " + script_ +
                "; do not edit.\n"
                "set timeout=0\n"
                "set default=0\n"
                "\n"
                "menuentry \"cos: t\" {\n"
                "  multiboot2 /boot/kernel.elf\n"
                "  module2 /boot/manifest.bin manifest\n"
                "  module2 /boot/booter.elf booter\n"
                "  module2 /boot/pong.elf pong.elf\n"
                "  module2 /boot/ping.elf ping.elf\n"
                "  boot\n"
                "}\n");
  EXPECT_EQ(read_text(outdir() / "system.json"),
            "{\n"
            "  \"name\": \"t\",\n"
            "  \"description\": \"\",\n"
            "  \"script\": \"" + fs::absolute(script_).lexically_normal().string() + "\",\n"
            "  \"overrides\": [],\n"
            "  \"memory_mib\": 512,\n"
            "  \"kernel\": \"kernel.elf\",\n"
            "  \"iso\": null,\n"
            "  \"components\": [\n"
            "    {\"name\": \"booter\", \"image\": \"booter.elf\", \"constructor\": \"kernel\", \"priority\": 0, \"essential\": true},\n"
            "    {\"name\": \"pong\", \"image\": \"pong.elf\", \"constructor\": \"booter\", \"priority\": 10, \"essential\": false},\n"
            "    {\"name\": \"ping\", \"image\": \"ping.elf\", \"constructor\": \"booter\", \"priority\": 10, \"essential\": false}\n"
            "  ]\n"
            "}\n");
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().rfind(".out.", 0), std::string::npos) << e.path();
}

TEST_F(ComposerTest, OverridesAreAppliedAndRecordedInSystemJson) {
  c::Options o = options(std::string(prefix) +
                         "priority = 0\n"
                         "\n"
                         "[[component]]\n"
                         "name = \"pong\"\n"
                         "image = \"pong\"\n"
                         "priority = 10\n");
  o.overrides = {"pong.priority=20", "pong.params.label=\"a \\\"b\\\"\""};
  const Outcome r = run(o);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string json = read_text(outdir() / "system.json");
  EXPECT_NE(json.find("  \"overrides\": [\"pong.priority=20\", \"pong.params.label=\\\"a \\\\\\\"b\\\\\\\"\\\"\"],\n"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("{\"name\": \"pong\", \"image\": \"pong.elf\", \"constructor\": \"booter\", \"priority\": 20, \"essential\": false}"),
            std::string::npos)
      << json;
}

TEST_F(ComposerTest, OrderIsTopologicalWithDeclarationTieBreak) {
  // Declared: client (needs a, c), b, a (needs b), c, and the booter last.
  const Outcome r = run(
      "[system]\nname = \"order\"\n"
      "[[component]]\nname = \"client\"\nimage = \"client\"\ndeps = [\"ia\", \"ic\"]\n"
      "[[component]]\nname = \"b\"\nimage = \"b\"\nimplements = [\"ib\"]\n"
      "[[component]]\nname = \"a\"\nimage = \"a\"\nimplements = [\"ia\"]\ndeps = [\"ib\"]\n"
      "[[component]]\nname = \"c\"\nimage = \"c\"\nimplements = [\"ic\"]\n"
      "[[component]]\nname = \"booter\"\nimage = \"booter\"\nconstructor = \"kernel\"\n");
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  m::Reader man = open_manifest();
  std::vector<std::string> order;
  for (uint32_t i = 0; i < man.component_count(); ++i) order.push_back(str(man.component(i).name));
  EXPECT_EQ(order, (std::vector<std::string>{"booter", "b", "a", "c", "client"}));
  // client's deps point at construction-order indices.
  EXPECT_EQ(man.dep(4, 0).server, 2u);
  EXPECT_EQ(man.dep(4, 1).server, 3u);
  EXPECT_EQ(man.dep(2, 0).server, 1u);
}

TEST_F(ComposerTest, ExplicitDepResolvesAmbiguityAndToken) {
  const Outcome r = run(std::string(prefix) +
                        "[[component]]\nname = \"log1\"\nimage = \"logger\"\nimplements = [\"log\"]\n"
                        "[[component]]\nname = \"log2\"\nimage = \"logger\"\nimplements = [\"stats\", \"log\"]\n"
                        "[[component]]\nname = \"client\"\nimage = \"client\"\n"
                        "deps = [{ interface = \"log\", component = \"log2\" }, \"stats\"]\n");
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  m::Reader man = open_manifest();
  ASSERT_EQ(man.component_count(), 4u);
  EXPECT_EQ(str(man.component(3).name), "client");
  EXPECT_EQ(man.dep(3, 0).server, 2u);
  EXPECT_EQ(man.dep(3, 0).token, 1u);
  EXPECT_EQ(man.dep(3, 1).server, 2u);
  EXPECT_EQ(man.dep(3, 1).token, 0u);
  // One shared image file, listed once.
  EXPECT_EQ(str(man.component(1).image), "logger.elf");
  EXPECT_EQ(str(man.component(2).image), "logger.elf");
  const std::string cfg = read_text(outdir() / "grub.cfg");
  EXPECT_EQ(cfg.find("logger.elf logger.elf"), cfg.rfind("logger.elf logger.elf"));
}

TEST_F(ComposerTest, SizesPrioritiesAndSystemMemory) {
  const Outcome r = run(
      "[system]\nname = \"sizes-1\"\ndescription = \"say \\\"hi\\\"\\n\"\nmemory = \"1G\"\n"
      "[[component]]\nname = \"booter\"\nimage = \"booter\"\nconstructor = \"kernel\"\n"
      "memory = \"1M\"\nstack = 8192\npriority = 255\n"
      "[[component]]\nname = \"x\"\nimage = \"client\"\nmemory = \"4G\"\nstack = \"64k\"\nconstructor = \"booter\"\n");
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  m::Reader man = open_manifest();
  EXPECT_EQ(man.component(0).heap_bytes, 1u << 20);
  EXPECT_EQ(man.component(0).stack_bytes, 8192u);
  EXPECT_EQ(man.component(0).priority, 255u);
  EXPECT_EQ(man.component(1).heap_bytes, 4ull << 30);
  EXPECT_EQ(man.component(1).stack_bytes, 64u << 10);
  EXPECT_EQ(man.component(1).priority, 128u);
  const std::string json = read_text(outdir() / "system.json");
  EXPECT_NE(json.find("\"memory_mib\": 1024,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"description\": \"say \\\"hi\\\"\\n\","), std::string::npos) << json;
}

TEST_F(ComposerTest, GrantsReachTheManifest) {
  const Outcome r = run(std::string(prefix) +
                        "[[component]]\n"
                        "name = \"drv\"\n"
                        "image = \"client\"\n"
                        "untyped = \"4M\"\n"
                        "caps = [\"comp\", \"captbl\"]\n"
                        "[component.hardware]\n"
                        "ioports = [\"0x70-0x71\", \"0x3e8:8\", \"0X2F8:0x8\", \"98-100\", \"0xffff:1\", \"0x80-0x80\"]\n"
                        "irqs = [8, 5, 1, 15]\n"
                        "timer = true\n"
                        "console = true\n"
                        "\n"
                        "[[component]]\n"
                        "name = \"other\"\n"
                        "image = \"ping\"\n"
                        "untyped = 1073741824\n"
                        "caps = [\"pgtbl\", \"captbl\", \"comp\"]\n"
                        "hardware = { irqs = [6, 3], timer = false, ioports = [\"0x70:2\"] }\n"
                        "\n"
                        "[[component]]\n"
                        "name = \"plain\"\n"
                        "image = \"ping\"\n"
                        "caps = []\n"
                        "hardware = { ioports = [], irqs = [] }\n");
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  m::Reader man = open_manifest();
  ASSERT_EQ(man.component_count(), 4u);

  const m::ComponentView booter = man.component(0);
  EXPECT_EQ(booter.untyped_bytes, 0u);
  EXPECT_EQ(booter.caps_mask, 0u);
  EXPECT_FALSE(booter.timer);
  EXPECT_EQ(booter.ioport_count + booter.irq_count, 0u);

  const m::ComponentView drv = man.component(1);
  EXPECT_EQ(str(drv.name), "drv");
  EXPECT_EQ(drv.untyped_bytes, 4u << 20);
  EXPECT_EQ(drv.caps_mask, m::kCapCaptbl | m::kCapComp);
  EXPECT_TRUE(drv.timer);
  EXPECT_TRUE(drv.console);
  EXPECT_FALSE(man.component(2).console);
  ASSERT_EQ(drv.ioport_count, 6u);  // script order, as written
  const uint32_t ports[][2] = {{0x70, 2}, {0x3e8, 8}, {0x2f8, 8}, {98, 3}, {0xffff, 1}, {0x80, 1}};
  for (uint32_t j = 0; j < 6; ++j) {
    EXPECT_EQ(man.ioport(1, j).first, ports[j][0]) << j;
    EXPECT_EQ(man.ioport(1, j).count, ports[j][1]) << j;
  }
  ASSERT_EQ(drv.irq_count, 4u);
  EXPECT_EQ(man.irq(1, 0), 8u);
  EXPECT_EQ(man.irq(1, 1), 5u);
  EXPECT_EQ(man.irq(1, 2), 1u);
  EXPECT_EQ(man.irq(1, 3), 15u);

  // Another component may hold the same I/O ports (only IRQ lines are exclusive).
  const m::ComponentView other = man.component(2);
  EXPECT_EQ(other.untyped_bytes, 1u << 30);
  EXPECT_EQ(other.caps_mask, m::kCapCaptbl | m::kCapPgtbl | m::kCapComp);
  EXPECT_FALSE(other.timer);
  ASSERT_EQ(other.ioport_count, 1u);
  EXPECT_EQ(man.ioport(2, 0).first, 0x70u);
  ASSERT_EQ(other.irq_count, 2u);
  EXPECT_EQ(man.irq(2, 0), 6u);
  EXPECT_EQ(man.irq(2, 1), 3u);

  const m::ComponentView plain = man.component(3);
  EXPECT_EQ(plain.untyped_bytes + plain.caps_mask + plain.ioport_count + plain.irq_count, 0u);
  EXPECT_FALSE(plain.timer);
}

TEST_F(ComposerTest, GrantLimitsAreInclusive) {
  // Eight adjacent (not overlapping) ranges, every grantable IRQ line (all
  // but the kernel's 0, 2 and 4), the smallest untyped grant, the port space
  // above the last kernel-owned port in one range elsewhere.
  const Outcome r = run(std::string(prefix) +
                        "[[component]]\nname = \"a\"\nimage = \"client\"\nuntyped = \"4K\"\n"
                        "hardware.ioports = [\"0:1\", \"1:1\", \"2-3\", \"4:4\", \"8:8\", \"16:16\", \"0x400:32\", \"0x8901-0xfffe\"]\n"
                        "hardware.irqs = [1, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]\n"
                        "[[component]]\nname = \"b\"\nimage = \"client\"\nuntyped = \"1G\"\n"
                        "hardware.ioports = [\"0x8901-0xffff\"]\n");
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  m::Reader man = open_manifest();
  EXPECT_EQ(man.component(1).untyped_bytes, 4096u);
  EXPECT_EQ(man.component(1).ioport_count, 8u);
  EXPECT_EQ(man.ioport(1, 7).first, 0x8901u);
  EXPECT_EQ(man.ioport(1, 7).count, 0xfffeu - 0x8901 + 1);
  EXPECT_EQ(man.component(1).irq_count, 13u);
  EXPECT_EQ(man.component(2).untyped_bytes, 1u << 30);
  EXPECT_EQ(man.ioport(2, 0).first, 0x8901u);
  EXPECT_EQ(man.ioport(2, 0).count, 0x10000u - 0x8901);
}

TEST_F(ComposerTest, TwentyFourDepsAreAllowed) {
  std::string text = std::string(prefix) + "[[component]]\nname = \"s\"\nimage = \"pong\"\nimplements = [";
  for (int i = 0; i < 24; ++i) text += std::string(i ? ", " : "") + "\"i" + std::to_string(i) + "\"";
  text += "]\n[[component]]\nname = \"x\"\nimage = \"client\"\ndeps = [";
  for (int i = 0; i < 24; ++i) text += std::string(i ? ", " : "") + "\"i" + std::to_string(i) + "\"";
  text += "]\n";
  const Outcome r = run(text);
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  EXPECT_EQ(open_manifest().component(2).dep_count, 24u);
}

TEST_F(ComposerTest, PathImagesAreRelativeToTheScript) {
  const Outcome r = run(std::string(prefix) +
                        "[[component]]\nname = \"one\"\nimage = \"lib/custom.elf\"\nimplements = [\"x\"]\n"
                        "[[component]]\nname = \"two\"\nimage = \"" + (dir_ / "scripts/lib/custom.elf").string() +
                        "\"\ndeps = [\"x\"]\n");
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  m::Reader man = open_manifest();
  EXPECT_EQ(str(man.component(1).image), "custom.elf");
  EXPECT_EQ(str(man.component(2).image), "custom.elf");
  EXPECT_EQ(read_bytes(outdir() / "custom.elf"), read_bytes(dir_ / "scripts/lib/custom.elf"));
}

TEST_F(ComposerTest, RerunReplacesOutputAndFailureKeepsIt) {
  ASSERT_EQ(run(std::string(prefix)).status, c::exit_ok);
  write_text(outdir() / "stale.txt", "old");
  ASSERT_EQ(run(std::string(prefix) + "[[component]]\nname = \"ping\"\nimage = \"ping\"\n").status, c::exit_ok);
  EXPECT_FALSE(fs::exists(outdir() / "stale.txt"));
  EXPECT_TRUE(fs::exists(outdir() / "ping.elf"));

  const auto before = read_bytes(outdir() / "manifest.bin");
  const Outcome bad = run(std::string(prefix) + "[[component]]\nname = \"ping\"\nimage = \"nothere\"\n");
  EXPECT_EQ(bad.status, c::exit_script_error);
  EXPECT_EQ(read_bytes(outdir() / "manifest.bin"), before);
  EXPECT_TRUE(fs::exists(outdir() / "ping.elf"));
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().rfind(".out.", 0), std::string::npos) << e.path();
}

TEST_F(ComposerTest, RemovesStagingLeftOverByKilledRuns) {
  write_text(dir_ / ".out.tmp-999999999" / "junk", "x");  // no such pid
  write_text(dir_ / ".other.tmp-999999999" / "junk", "x");  // another outdir's: not ours to touch
  ASSERT_EQ(run(std::string(prefix)).status, c::exit_ok);
  EXPECT_FALSE(fs::exists(dir_ / ".out.tmp-999999999"));
  EXPECT_TRUE(fs::exists(dir_ / ".other.tmp-999999999"));
}

TEST_F(ComposerTest, RefusesToReplaceForeignDirectory) {
  write_text(outdir() / "precious.txt", "keep me");
  const Outcome r = run(std::string(prefix));
  EXPECT_EQ(r.status, c::exit_failure);
  EXPECT_NE(r.err.find("refusing to replace"), std::string::npos) << r.err;
  EXPECT_EQ(read_text(outdir() / "precious.txt"), "keep me");
}

TEST_F(ComposerTest, MissingKernelIsNotAScriptError) {
  c::Options o = options(prefix);
  o.kernel = dir_ / "no-kernel.elf";
  const Outcome r = run(o);
  EXPECT_EQ(r.status, c::exit_failure);
  EXPECT_EQ(r.err.rfind("cos-composer: error: kernel", 0), 0u) << r.err;
  expect_no_output();
}

TEST_F(ComposerTest, UnreadableScriptIsNotAScriptError) {
  c::Options o = options(prefix);
  o.script = (dir_ / "nope.toml").string();
  const Outcome r = run(o);
  EXPECT_EQ(r.status, c::exit_failure);
  EXPECT_NE(r.err.find("cannot read script"), std::string::npos) << r.err;
}

TEST_F(ComposerTest, GrubMkrescueFailureIsReported) {
  c::Options o = options(prefix);
  o.make_iso = true;
  o.grub_mkrescue = "false";
  Outcome r = run(o);
  EXPECT_EQ(r.status, c::exit_failure);
  EXPECT_NE(r.err.find("false failed with status 1"), std::string::npos) << r.err;
  expect_no_output();

  o.grub_mkrescue = "cos-no-such-program";
  r = run(o);
  EXPECT_EQ(r.status, c::exit_failure);
  EXPECT_NE(r.err.find("cannot run 'cos-no-such-program'"), std::string::npos) << r.err;
  expect_no_output();
}

TEST_F(ComposerTest, BuildsBootableIsoWithGrubMkrescue) {
  if (std::system("command -v grub-mkrescue >/dev/null 2>&1") != 0) GTEST_SKIP() << "grub-mkrescue not installed";
  write_bytes(image("booter"), read_bytes(COS_TEST_REAL_IMAGE));
  c::Options o = options(std::string(prefix) + "[[component]]\nname = \"pong\"\nimage = \"pong\"\nimplements = [\"pong\"]\n");
  o.make_iso = true;
  const Outcome r = run(o);
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  const auto iso = read_bytes(outdir() / "cos.iso");
  ASSERT_GT(iso.size(), 0x8006u);
  EXPECT_EQ(std::string(iso.begin() + 0x8001, iso.begin() + 0x8006), "CD001");  // ISO 9660 volume descriptor
  EXPECT_FALSE(fs::exists(outdir() / ".isoroot"));
  EXPECT_NE(read_text(outdir() / "system.json").find("\"iso\": \"cos.iso\""), std::string::npos);
  const std::string all(iso.begin(), iso.end());
  EXPECT_NE(all.find("module2 /boot/pong.elf pong.elf"), std::string::npos);  // grub.cfg is inside
}

// --------------------------------------------------------------- invalid scripts

TEST_F(ComposerTest, TomlSyntaxError) {
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\nimage = \"y\"\n", 10, 10,
               "TOML syntax error in string: unescaped control characters");
  expect_error("[system]\nname = \"t\"\nname = \"u\"\n", 3, 8,
               "TOML syntax error in key-value pair: cannot redefine existing string 'name'");
  expect_error(std::string(prefix) + "constructor = 1\n", 9, 15, "cannot redefine existing string 'constructor'");
  expect_error("[system\nname = \"t\"\n", 1, 8, "TOML syntax error");
}

TEST_F(ComposerTest, UnknownKeys) {
  expect_error(std::string(prefix) + "colour = 1\n", 9, 1, "unknown key 'colour' in [[component]]");
  expect_error("verbose = true\n" + std::string(prefix), 1, 1, "unknown key 'verbose' in the top level");
  expect_error("[system]\nname = \"t\"\nnmae = \"t\"\nmemmory = 1\n", 3, 1, "unknown key 'nmae' in [system]");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"client\"\n"
               "deps = [{ interface = \"pong\", comp = \"pong\" }]\n",
               12, 31, "unknown key 'comp' in dependency table");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"client\"\nzeta = 1\nalpha.beta = 2\n", 12, 1,
               "unknown key 'zeta'");
}

TEST_F(ComposerTest, WrongTypes) {
  expect_error("[system]\nname = 5\n", 2, 8, "'name' must be a string, not an integer");
  expect_error("system = 3\n", 1, 10, "'system' must be a table, not an integer");
  expect_error("component = 5\n[system]\nname = \"t\"\n", 1, 13, "'component' must be an array of tables");
  expect_error(std::string(prefix) + "priority = \"high\"\n", 9, 12, "'priority' must be an integer, not a string");
  expect_error(std::string(prefix) + "implements = \"pong\"\n", 9, 14, "'implements' must be an array, not a string");
  expect_error(std::string(prefix) + "implements = [1]\n", 9, 15, "each element of 'implements' must be a string");
  expect_error(std::string(prefix) + "deps = \"pong\"\n", 9, 8, "'deps' must be an array");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"client\"\ndeps = [\"pong\", 7]\n", 12, 17,
               "each element of 'deps' must be an interface name or a table");
  expect_error(std::string(prefix) + "memory = 1.5\n", 9, 10, "'memory' must be a size");
  expect_error(std::string(prefix) + "params = 5\n", 9, 10, "'params' must be a table, not an integer");
  expect_error(std::string(prefix) + "[component.params]\nratio = 0.5\n", 10, 9,
               "parameter 'ratio' must be a string, integer or boolean, not a float");
  expect_error(std::string(prefix) + "[component.params]\nlist = [1]\n", 10, 8, "not an array");
  expect_error("[system]\nname = \"t\"\ndescription = 1\n", 3, 15, "'description' must be a string");
  expect_error("[system]\nname = \"t\"\n[[component]]\nname = \"b\"\nimage = \"booter\"\nconstructor = 1\n", 6, 15,
               "'constructor' must be a string, not an integer");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"client\"\n"
               "deps = [{ interface = 1, component = \"pong\" }]\n",
               12, 23, "'interface' must be a string");
}

TEST_F(ComposerTest, MissingRequiredKeys) {
  expect_error("# nothing\n", 1, 1, "missing [system] table");
  expect_error("[system]\ndescription = \"d\"\n", 1, 1, "missing required key 'name' in [system]");
  expect_error(std::string(prefix) + "[[component]]\nimage = \"client\"\n", 9, 1,
               "missing required key 'name' in [[component]]");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\n", 9, 1,
               "missing required key 'image' in [[component]]");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"client\"\ndeps = [{ interface = \"pong\" }]\n",
               12, 9, "missing required key 'component' in dependency table");
}

TEST_F(ComposerTest, DuplicateComponentNames) {
  expect_error(std::string(prefix) + "[[component]]\nname = \"booter\"\nimage = \"client\"\n", 10, 8,
               "duplicate component name 'booter' (first defined at 5:8)");
}

TEST_F(ComposerTest, InvalidNames) {
  expect_error("[system]\nname = \"Hello\"\n", 2, 8, "invalid system name 'Hello'");
  expect_error("[system]\nname = \"\"\n", 2, 8, "invalid system name ''");
  expect_error("[system]\nname = \"a-very-long-system-name-indeed-32\"\n", 2, 8, "at most 31 characters");
  expect_error(std::string(prefix) + "[[component]]\nname = \"Ping\"\nimage = \"ping\"\n", 10, 8,
               "invalid component name 'Ping' (must match [a-z][a-z0-9_]*");
  expect_error(std::string(prefix) + "[[component]]\nname = \"my-comp\"\nimage = \"ping\"\n", 10, 8,
               "invalid component name 'my-comp'");
  expect_error(std::string(prefix) + "[[component]]\nname = \"abcdefghijklmnopqrstuvwxyz012345\"\nimage = \"ping\"\n",
               10, 8, "at most 31 characters");
  expect_error(std::string(prefix) + "implements = [\"ok\", \"1bad\"]\n", 9, 21, "invalid interface name '1bad'");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"ping\"\ndeps = [\"Pong\"]\n", 12, 9,
               "invalid interface name 'Pong'");
  expect_error(std::string(prefix) + "[component.params]\n\"Bad-Key\" = 1\n", 10, 1, "invalid parameter name 'Bad-Key'");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"Bad Name\"\n", 11, 9,
               "invalid image name 'Bad Name'");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"kernel\"\n", 11, 9,
               "'kernel.elf' is reserved");
}

TEST_F(ComposerTest, MissingImageFile) {
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"nothere\"\n", 11, 9,
               "image file '" + image("nothere").string() + "' not found");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"lib/nothere.elf\"\n", 11, 9,
               "scripts/lib/nothere.elf' not found");
}

TEST_F(ComposerTest, InvalidElfImages) {
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"garbage\"\n", 11, 9,
               std::string("is not a valid component image: ") + cos::elf::error_string(cos::elf::Error::bad_magic));
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"pie\"\n", 11, 9,
               cos::elf::error_string(cos::elf::Error::not_executable));
}

TEST_F(ComposerTest, ServerWithoutSinvEntry) {
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"nosinv\"\nimplements = [\"x\"]\n", 12, 1,
               "component 'x' implements interfaces, but its image '" + image("nosinv").string() +
                   "' has no symbol __cos_sinv_entry");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"datasinv\"\nimplements = [\"x\"]\n", 12, 1,
               "(0x402010) of image '" + image("datasinv").string() + "' is not in an executable segment");
}

TEST_F(ComposerTest, UnresolvableDeps) {
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"client\"\ndeps = [\"pong\"]\n", 12, 9,
               "no component implements interface 'pong'");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"client\"\n"
               "deps = [{ interface = \"pong\", component = \"nobody\" }]\n",
               12, 43, "unknown component 'nobody'");
  expect_error(std::string(prefix) + "[[component]]\nname = \"p\"\nimage = \"pong\"\nimplements = [\"pong\"]\n"
               "[[component]]\nname = \"x\"\nimage = \"client\"\ndeps = [{ interface = \"ping\", component = \"p\" }]\n",
               16, 23, "component 'p' does not implement interface 'ping'");
}

TEST_F(ComposerTest, AmbiguousDep) {
  expect_error(std::string(prefix) + "[[component]]\nname = \"a\"\nimage = \"a\"\nimplements = [\"log\"]\n"
               "[[component]]\nname = \"b\"\nimage = \"b\"\nimplements = [\"log\"]\n"
               "[[component]]\nname = \"x\"\nimage = \"client\"\ndeps = [\"log\"]\n",
               20, 9,
               "ambiguous dependency: interface 'log' is implemented by 'a', 'b'; name one with "
               "{ interface = \"log\", component = \"...\" }");
}

TEST_F(ComposerTest, SelfDependency) {
  expect_error(std::string(prefix) + "[[component]]\nname = \"a\"\nimage = \"a\"\nimplements = [\"ia\"]\ndeps = [\"ia\"]\n",
               13, 9, "component 'a' depends on itself (interface 'ia')");
  expect_error(std::string(prefix) + "[[component]]\nname = \"a\"\nimage = \"a\"\nimplements = [\"ia\"]\n"
               "deps = [{ interface = \"ia\", component = \"a\" }]\n",
               13, 41, "component 'a' depends on itself");
}

TEST_F(ComposerTest, DependencyCycles) {
  expect_error(std::string(prefix) +
                   "[[component]]\nname = \"a\"\nimage = \"a\"\nimplements = [\"ia\"]\ndeps = [\"ib\"]\n"  // 9-13
                   "[[component]]\nname = \"b\"\nimage = \"b\"\nimplements = [\"ib\"]\ndeps = [\"ia\"]\n",  // 14-18
               13, 9, "dependency cycle: a -> b -> a");
  // d waits on the cycle b -> c -> a -> b; the report starts at the earliest declared member.
  expect_error(std::string(prefix) +
                   "[[component]]\nname = \"d\"\nimage = \"d\"\ndeps = [\"ib\"]\n"                          // 9-12
                   "[[component]]\nname = \"a\"\nimage = \"a\"\nimplements = [\"ia\"]\ndeps = [\"ib\"]\n"  // 13-17
                   "[[component]]\nname = \"b\"\nimage = \"b\"\nimplements = [\"ib\"]\ndeps = [\"ic\"]\n"  // 18-22
                   "[[component]]\nname = \"c\"\nimage = \"c\"\nimplements = [\"ic\"]\ndeps = [\"ia\"]\n",  // 23-27
               17, 9, "dependency cycle: a -> b -> c -> a");
}

TEST_F(ComposerTest, MalformedSizesAndNumbers) {
  const std::string comp = std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"client\"\n";  // value line 12
  expect_error(comp + "memory = \"64KB\"\n", 12, 10, "invalid size \"64KB\" for 'memory': bad suffix 'KB' (use K, M or G)");
  expect_error(comp + "memory = \"64X\"\n", 12, 10, "bad suffix 'X'");
  expect_error(comp + "memory = \"0x1000\"\n", 12, 10, "bad suffix 'x1000'");
  expect_error(comp + "memory = \"\"\n", 12, 10, "expected a number of bytes");
  expect_error(comp + "memory = \" 64K\"\n", 12, 10, "expected a number of bytes");
  expect_error(comp + "memory = \"-4K\"\n", 12, 10, "expected a number of bytes");
  expect_error(comp + "memory = \"99999999999999999999\"\n", 12, 10, "number too large");
  expect_error(comp + "memory = \"99999999999999G\"\n", 12, 10, "number too large");
  expect_error(comp + "memory = -4096\n", 12, 10, "'memory' must not be negative");
  expect_error(comp + "memory = 1000\n", 12, 10, "'memory' must be a multiple of 4096 bytes (4K), not 1000");
  expect_error(comp + "stack = \"6K\"\n", 12, 9, "'stack' must be a multiple of 4096 bytes");
  expect_error(comp + "memory = 0\n", 12, 10, "'memory' must be between 4K and 4G, not 0");
  expect_error(comp + "memory = \"5G\"\n", 12, 10, "must be between 4K and 4G, not 5G");
  expect_error(comp + "stack = \"4100M\"\n", 12, 9, "'stack' must be between 4K and 4G");
  expect_error(comp + "priority = -1\n", 12, 12, "'priority' must be between 0 and 255 (0 = highest), not -1");
  expect_error(comp + "priority = 256\n", 12, 12, "not 256");
  expect_error("[system]\nname = \"t\"\nmemory = \"100\"\n", 3, 10, "multiple of 1048576 bytes (1M)");
  expect_error("[system]\nname = \"t\"\nmemory = \"8M\"\n", 3, 10, "'memory' must be between 16M and 64G, not 8M");
}

TEST_F(ComposerTest, KernelConstructedComponents) {
  expect_error("[system]\nname = \"t\"\n[[component]]\nname = \"a\"\nimage = \"a\"\n", 3, 1,
               "no component has constructor = \"kernel\"");
  expect_error(std::string(prefix) + "[[component]]\nname = \"b2\"\nimage = \"ping\"\nconstructor = \"kernel\"\n", 12, 15,
               "component 'b2' has constructor = \"kernel\", but so does 'booter' (at 7:15)");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"ping\"\nconstructor = \"kernal\"\n", 12, 15,
               "'constructor' must be \"kernel\" or \"booter\", not \"kernal\"");
  expect_error("[system]\nname = \"t\"\n", 1, 1, "the script declares no components");
  expect_error(std::string(prefix) + "deps = [\"ia\"]\n[[component]]\nname = \"a\"\nimage = \"a\"\nimplements = [\"ia\"]\n",
               9, 9, "the kernel-constructed component 'booter' cannot have dependencies");
}

// `essential`: default false, true with a guest (GuestTest.EssentialByDefault),
// always true for the booter; it reaches the manifest and system.json.
TEST_F(ComposerTest, EssentialComponents) {
  const Outcome r = run(std::string(prefix) +
                        "[[component]]\nname = \"pong\"\nimage = \"pong\"\nessential = true\n"
                        "[[component]]\nname = \"ping\"\nimage = \"ping\"\n");
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  m::Reader man = open_manifest();
  EXPECT_TRUE(man.component(0).essential);  // the booter
  EXPECT_TRUE(man.component(1).essential);
  EXPECT_FALSE(man.component(2).essential);
  EXPECT_NE(read_text(outdir() / "system.json").find("\"priority\": 128, \"essential\": true}"), std::string::npos);
  fs::remove_all(outdir());
  expect_error(std::string(prefix) + "[[component]]\nname = \"pong\"\nimage = \"pong\"\nessential = 1\n", 12, 13,
               "'essential' must be a boolean, not an integer");
  expect_error(std::string(prefix) + "essential = false\n", 9, 13,
               "the kernel-constructed component 'booter' is always essential");
  EXPECT_EQ(run(std::string(prefix) + "essential = true\n").status, c::exit_ok);
}

TEST_F(ComposerTest, DuplicatesInsideAComponent) {
  expect_error(std::string(prefix) + "[[component]]\nname = \"a\"\nimage = \"a\"\nimplements = [\"ia\", \"ia\"]\n", 12,
               21, "interface 'ia' listed twice in 'implements'");
  expect_error(std::string(prefix) + "[[component]]\nname = \"a\"\nimage = \"a\"\nimplements = [\"ia\"]\n"
               "[[component]]\nname = \"x\"\nimage = \"client\"\ndeps = [\"ia\", { interface = \"ia\", component = \"a\" }]\n",
               16, 15, "duplicate dependency on interface 'ia' of component 'a' (first at 16:9)");
}

TEST_F(ComposerTest, ImageNameConflicts) {
  expect_error(std::string(prefix) + "[[component]]\nname = \"one\"\nimage = \"lib/custom.elf\"\n"
               "[[component]]\nname = \"two\"\nimage = \"other/custom.elf\"\n",
               14, 9, "image file name 'custom.elf' of '");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"booter\"\n", 11, 9,
               "component 'x' uses the booter's image 'booter.elf'");
  expect_error(std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"lib/.elf\"\n", 11, 9,
               "invalid image file name '.elf'");
}

TEST_F(ComposerTest, ParamWithNulIsRejected) {
  expect_error(std::string(prefix) + "[component.params]\nbad = \"a\\u0000b\"\n", 10, 7,
               "parameter 'bad' must not contain a NUL character");
}

// A component "x" on lines 9-11; a case's own text starts on line 12.
std::string grant_comp() { return std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"client\"\n"; }

TEST_F(ComposerTest, InvalidUntyped) {
  const std::string comp = grant_comp();
  expect_error(comp + "untyped = \"4097\"\n", 12, 11, "'untyped' must be a multiple of 4096 bytes (4K), not 4097");
  expect_error(comp + "untyped = 6000\n", 12, 11, "'untyped' must be a multiple of 4096 bytes");
  expect_error(comp + "untyped = 0\n", 12, 11, "'untyped' must be between 4K and 1G, not 0");
  expect_error(comp + "untyped = \"0K\"\n", 12, 11, "'untyped' must be between 4K and 1G, not 0");
  expect_error(comp + "untyped = \"2G\"\n", 12, 11, "'untyped' must be between 4K and 1G, not 2G");
  expect_error(comp + "untyped = \"1025M\"\n", 12, 11, "not 1025M");
  expect_error(comp + "untyped = -4096\n", 12, 11, "'untyped' must not be negative");
  expect_error(comp + "untyped = \"4MB\"\n", 12, 11, "invalid size \"4MB\" for 'untyped': bad suffix 'MB'");
  expect_error(comp + "untyped = true\n", 12, 11, "'untyped' must be a size (an integer number of bytes or a string");
  expect_error(comp + "untyped = 1.5\n", 12, 11, "'untyped' must be a size");
}

TEST_F(ComposerTest, InvalidCaps) {
  const std::string comp = grant_comp();
  expect_error(comp + "caps = \"captbl\"\n", 12, 8, "'caps' must be an array, not a string");
  expect_error(comp + "caps = [\"captbl\", 3]\n", 12, 19, "each element of 'caps' must be a string, not an integer");
  expect_error(comp + "caps = [\"captbl\", \"thread\"]\n", 12, 19,
               "unknown capability 'thread' in 'caps' (expected one of: captbl, pgtbl, comp)");
  expect_error(comp + "caps = [\"CAPTBL\"]\n", 12, 9, "unknown capability 'CAPTBL'");
  expect_error(comp + "caps = [\"pgtbl\", \"comp\", \"pgtbl\"]\n", 12, 26,
               "capability 'pgtbl' listed twice in 'caps' (first at 12:9)");
}

TEST_F(ComposerTest, InvalidHardwareTable) {
  const std::string comp = grant_comp();
  expect_error(comp + "hardware = 1\n", 12, 12, "'hardware' must be a table, not an integer");
  expect_error(comp + "hardware = [\"timer\"]\n", 12, 12, "'hardware' must be a table, not an array");
  expect_error(comp + "[component.hardware]\ntimer = true\ndma = [1]\n", 14, 1,
               "unknown key 'dma' in [component.hardware] (expected one of: ioports, irqs, timer, console)");
  expect_error(comp + "[component.hardware]\nconsole = 1\n", 13, 11, "'console' must be a boolean, not an integer");
  expect_error(comp + "hardware = { ioport = [\"0x70:2\"] }\n", 12, 14, "unknown key 'ioport' in [component.hardware]");
  expect_error(comp + "[component.hardware]\ntimer = \"yes\"\n", 13, 9, "'timer' must be a boolean, not a string");
  expect_error(comp + "[component.hardware]\ntimer = 1\n", 13, 9, "'timer' must be a boolean, not an integer");
}

TEST_F(ComposerTest, InvalidIoPorts) {
  const std::string hw = grant_comp() + "[component.hardware]\n";  // the key's line is 13
  expect_error(hw + "ioports = \"0x70-0x71\"\n", 13, 11, "'ioports' must be an array, not a string");
  expect_error(hw + "ioports = [\"0x60:1\", 0x70]\n", 13, 22, "each element of 'ioports' must be a string, not an integer");
  const std::string shape = "expected \"first-last\" or \"first:count\" with hexadecimal (0x3f8) or decimal port numbers";
  for (const char* bad : {"0x70", "0x70-", "-0x71", ":4", "0x70..0x71", "0x70-0x71-0x72", "0x70:2:1", "0xg0-0x71",
                          " 0x70-0x71", "0x70-0x71 ", "+1:2", "0x-1", "0x:1", "1e3:1", "70h-71h", ""})
    expect_error(hw + "ioports = [\"" + bad + "\"]\n", 13, 12,
                 "invalid I/O-port range \"" + std::string(bad) + "\": " + shape);
  expect_error(hw + "ioports = [\"0x10000:1\"]\n", 13, 12,
               "invalid I/O-port range \"0x10000:1\": port 0x10000 is beyond 0xffff");
  expect_error(hw + "ioports = [\"0xfff0-0x10000\"]\n", 13, 12, "port 0x10000 is beyond 0xffff");
  expect_error(hw + "ioports = [\"65536-65537\"]\n", 13, 12, "port 65536 is beyond 0xffff");
  expect_error(hw + "ioports = [\"99999999999999999999999-1\"]\n", 13, 12, "port 99999999999999999999999 is beyond 0xffff");
  expect_error(hw + "ioports = [\"0xfff0:0x11\"]\n", 13, 12,
               "invalid I/O-port range \"0xfff0:0x11\": the range ends past port 0xffff");
  expect_error(hw + "ioports = [\"0:0x10001\"]\n", 13, 12, "the range ends past port 0xffff");
  expect_error(hw + "ioports = [\"1:99999999999999999999\"]\n", 13, 12, "the range ends past port 0xffff");
  expect_error(hw + "ioports = [\"0x71-0x70\"]\n", 13, 12,
               "invalid I/O-port range \"0x71-0x70\": the last port 0x70 is below the first 0x71");
  expect_error(hw + "ioports = [\"0x70:0\"]\n", 13, 12, "invalid I/O-port range \"0x70:0\": the count must be at least 1");
}

TEST_F(ComposerTest, OverlappingAndTooManyIoPortRanges) {
  const std::string hw = grant_comp() + "[component.hardware]\n";
  expect_error(hw + "ioports = [\"0x70-0x71\", \"0x3e8:8\", \"0x71:4\"]\n", 13, 36,
               "I/O-port range 0x71-0x74 overlaps 0x70-0x71 (at 13:12)");
  expect_error(hw + "ioports = [\"0x3e8:8\", \"0x3ef\"]\n", 13, 23, "invalid I/O-port range \"0x3ef\"");
  expect_error(hw + "ioports = [\"0x3e8:8\", \"0x3ef-0x3ef\"]\n", 13, 23,
               "I/O-port range 0x3ef overlaps 0x3e8-0x3ef (at 13:12)");
  expect_error(hw + "ioports = [\"0x3e8:8\", \"0x1000-0xffff\"]\n", 13, 23, "I/O-port range 0x1000-0xffff overlaps 0x8900");
  expect_error(hw + "ioports = [\"1:1\", \"1:1\"]\n", 13, 19, "I/O-port range 0x1 overlaps 0x1 (at 13:12)");
  expect_error(hw + "ioports = [\"0:1\", \"1:1\", \"2:1\", \"3:1\", \"4:1\", \"5:1\", \"6:1\", \"7:1\", \"8:1\"]\n", 13, 68,
               "at most 8 I/O-port ranges per component");
}

TEST_F(ComposerTest, InvalidIrqs) {
  const std::string hw = grant_comp() + "[component.hardware]\n";
  expect_error(hw + "irqs = 8\n", 13, 8, "'irqs' must be an array, not an integer");
  expect_error(hw + "irqs = [3, \"8\"]\n", 13, 12, "each element of 'irqs' must be an integer, not a string");
  expect_error(hw + "irqs = [16]\n", 13, 9, "IRQ line 16 does not exist (ISA lines are 0..15)");
  expect_error(hw + "irqs = [3, -1]\n", 13, 12, "IRQ line -1 does not exist");
  expect_error(hw + "irqs = [2]\n", 13, 9, "IRQ line 2 is the PIC cascade and cannot be granted");
  expect_error(hw + "irqs = [8, 3, 8]\n", 13, 15, "IRQ line 8 listed twice in 'irqs' (first at 13:9)");
}

TEST_F(ComposerTest, KernelOwnedHardwareIsNeverGranted) {
  // cos/kernel_hardware.h: the PICs, the PIT and its gate, the kernel
  // console's COM1, the emulators' exit ports, ACPI PM1a control; IRQ 0 and 4.
  const std::string hw = grant_comp() + "[component.hardware]\n";
  expect_error(hw + "ioports = [\"0x3f8:8\"]\n", 13, 12,
               "I/O-port range 0x3f8-0x3ff overlaps 0x3f8-0x3ff, COM1, the kernel console (use hardware.console for "
               "input): the kernel drives it");
  expect_error(hw + "ioports = [\"0x3ff\"]\n", 13, 12, "invalid I/O-port range");
  expect_error(hw + "ioports = [\"0x3ff-0x3ff\"]\n", 13, 12, "overlaps 0x3f8-0x3ff, COM1");
  expect_error(hw + "ioports = [\"0x20:2\"]\n", 13, 12, "overlaps 0x20-0x21, the master 8259 PIC");
  expect_error(hw + "ioports = [\"0xa1:1\"]\n", 13, 12, "overlaps 0xa0-0xa1, the slave 8259 PIC");
  expect_error(hw + "ioports = [\"0x40-0x43\"]\n", 13, 12, "overlaps 0x40-0x43, the 8254 PIT");
  expect_error(hw + "ioports = [\"0x60-0x64\"]\n", 13, 12, "overlaps 0x61, the PIT's gate");
  expect_error(hw + "ioports = [\"0xf4:1\"]\n", 13, 12, "overlaps 0xf4-0xf7, QEMU's isa-debug-exit port");
  expect_error(hw + "ioports = [\"0x604:2\"]\n", 13, 12, "overlaps 0x604-0x605, the ACPI PM1a control block");
  expect_error(hw + "ioports = [\"0x8900\"]\n", 13, 12, "invalid I/O-port range");
  expect_error(hw + "ioports = [\"0x8000-0x8fff\"]\n", 13, 12, "overlaps 0x8900, Bochs' shutdown port");
  expect_error(hw + "ioports = [\"0-0xffff\"]\n", 13, 12, "the kernel drives it");
  expect_error(hw + "irqs = [4]\n", 13, 9, "IRQ line 4 is the kernel's (COM1, the kernel console");
  expect_error(hw + "irqs = [3, 0]\n", 13, 12, "IRQ line 0 is the kernel's (the PIT)");
  // Right next to them is fine.
  const Outcome ok = run(hw.substr(0, 0) + grant_comp() + "[component.hardware]\n"
                         "ioports = [\"0x22-0x3f\", \"0x3f0-0x3f7\", \"0x400-0x603\", \"0x606-0x88ff\"]\nirqs = [1, 3]\n"
                         "console = true\n");
  EXPECT_EQ(ok.status, c::exit_ok) << ok.err;
}

TEST_F(ComposerTest, IrqLineGrantedToTwoComponents) {
  // The error is at the second grant (in declaration order) and names the first holder.
  expect_error(grant_comp() + "hardware.irqs = [3, 8]\n"                                        // 12
                   "[[component]]\nname = \"y\"\nimage = \"client\"\nhardware.timer = true\n"  // 13-16
                   "[[component]]\nname = \"rtc\"\nimage = \"client\"\n"                       // 17-19
                   "[component.hardware]\nirqs = [5, 8]\n",                                     // 20-21
               21, 12,
               "IRQ line 8 is already granted to component 'x' (at 12:21); a line may be granted to one component only");
}

TEST_F(ComposerTest, BooterCannotBeGranted) {
  // prefix's booter table is open on line 8; grants on it are errors at the key.
  expect_error(std::string(prefix) + "untyped = \"4M\"\n", 9, 1,
               "the kernel-constructed component 'booter' cannot be granted 'untyped' (the kernel gives it every "
               "initial capability)");
  expect_error(std::string(prefix) + "caps = []\n", 9, 1, "component 'booter' cannot be granted 'caps'");
  expect_error(std::string(prefix) + "[component.hardware]\ntimer = false\n", 9, 12,
               "component 'booter' cannot be granted 'hardware'");
  expect_error(std::string(prefix) + "hardware = {}\n", 9, 1, "component 'booter' cannot be granted 'hardware'");
  // The earliest key in the file is reported.
  expect_error(std::string(prefix) + "caps = [\"comp\"]\nuntyped = \"4K\"\n", 9, 1, "cannot be granted 'caps'");
  // Booter grants are reported before IRQ conflicts, wherever the booter is.
  expect_error("[system]\nname = \"t\"\n"                                                    // 1-2
               "[[component]]\nname = \"x\"\nimage = \"client\"\nhardware.irqs = [8]\n"   // 3-6
               "[[component]]\nname = \"y\"\nimage = \"client\"\nhardware.irqs = [8]\n"   // 7-10
               "[[component]]\nname = \"b\"\nimage = \"booter\"\nconstructor = \"kernel\"\n"  // 11-14
               "untyped = \"4M\"\n",                                                        // 15
               15, 1, "component 'b' cannot be granted 'untyped'");
}

TEST_F(ComposerTest, TooManyDeps) {
  std::string text = std::string(prefix) + "[[component]]\nname = \"s\"\nimage = \"pong\"\nimplements = [";
  for (int i = 0; i < 25; ++i) text += std::string(i ? ", " : "") + "\"i" + std::to_string(i) + "\"";
  text += "]\n[[component]]\nname = \"x\"\nimage = \"client\"\ndeps = [";
  for (int i = 0; i < 25; ++i) text += std::string(i ? ", " : "") + "\"i" + std::to_string(i) + "\"";
  text += "]\n";
  // Line 16: deps = ["i0", "i1", ... "i9", "i10", ...]: the 25th entry starts at column
  // 9 + 10 * 6 + 14 * 7 = 167.
  expect_error(text, 16, 167, "at most 24 dependencies per component");
}

// ------------------------------------------------------------ pieces and CLI

TEST(ComposerSize, ParsesSizes) {
  uint64_t v = 0;
  std::string why;
  EXPECT_TRUE(c::parse_size_text("0", v, why));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(c::parse_size_text("4096", v, why));
  EXPECT_EQ(v, 4096u);
  EXPECT_TRUE(c::parse_size_text("64K", v, why));
  EXPECT_EQ(v, 65536u);
  EXPECT_TRUE(c::parse_size_text("3m", v, why));
  EXPECT_EQ(v, 3u << 20);
  EXPECT_TRUE(c::parse_size_text("4G", v, why));
  EXPECT_EQ(v, 4ull << 30);
  EXPECT_FALSE(c::parse_size_text("K", v, why));
  EXPECT_FALSE(c::parse_size_text("1KK", v, why));
  EXPECT_FALSE(c::parse_size_text("1.5M", v, why));
  EXPECT_FALSE(c::parse_size_text("18446744073709551616", v, why));
  EXPECT_EQ(c::format_size(4096), "4K");
  EXPECT_EQ(c::format_size(3u << 20), "3M");
  EXPECT_EQ(c::format_size(4ull << 30), "4G");
  EXPECT_EQ(c::format_size(1000), "1000");
  EXPECT_EQ(c::format_size(0), "0");
}

TEST(ComposerIoPorts, ParsesAndFormatsRanges) {
  uint32_t first = 0, count = 0;
  std::string why;
  EXPECT_TRUE(c::parse_ioport_range("0x70-0x71", first, count, why));
  EXPECT_EQ(first, 0x70u);
  EXPECT_EQ(count, 2u);
  EXPECT_TRUE(c::parse_ioport_range("0x3F8:8", first, count, why));
  EXPECT_EQ(first, 0x3f8u);
  EXPECT_EQ(count, 8u);
  EXPECT_TRUE(c::parse_ioport_range("1016:0X8", first, count, why));
  EXPECT_EQ(first, 1016u);
  EXPECT_EQ(count, 8u);
  EXPECT_TRUE(c::parse_ioport_range("0-65535", first, count, why));
  EXPECT_EQ(first, 0u);
  EXPECT_EQ(count, 0x10000u);
  EXPECT_TRUE(c::parse_ioport_range("0x0000ffff:1", first, count, why));
  EXPECT_EQ(first, 0xffffu);
  EXPECT_EQ(count, 1u);
  EXPECT_TRUE(c::parse_ioport_range("007-8", first, count, why));  // leading zeros are decimal, not octal
  EXPECT_EQ(first, 7u);
  EXPECT_EQ(count, 2u);
  first = count = 99;
  EXPECT_FALSE(c::parse_ioport_range("0x80", first, count, why));
  EXPECT_FALSE(c::parse_ioport_range("0x80-0x7f", first, count, why));
  EXPECT_FALSE(c::parse_ioport_range("0x80:0", first, count, why));
  EXPECT_FALSE(c::parse_ioport_range("0xffff:2", first, count, why));
  EXPECT_EQ(first, 99u);  // untouched on failure
  EXPECT_EQ(count, 99u);
  EXPECT_EQ(c::format_ioport_range(0x70, 2), "0x70-0x71");
  EXPECT_EQ(c::format_ioport_range(0x80, 1), "0x80");
  EXPECT_EQ(c::format_ioport_range(0, 0x10000), "0x0-0xffff");
}

TEST(ComposerCli, ParsesArguments) {
  const char* argv[] = {"cos-composer", "s.toml", "--images", "img", "out", "--kernel=k.elf", "--no-iso"};
  const c::Options o = c::parse_args(7, argv);
  EXPECT_EQ(o.script, "s.toml");
  EXPECT_EQ(o.outdir, "out");
  EXPECT_EQ(o.images_dir, "img");
  EXPECT_EQ(o.kernel, "k.elf");
  EXPECT_FALSE(o.make_iso);
  const char* with_iso[] = {"cos-composer", "s.toml", "out", "--images=img", "--kernel", "k.elf"};
  EXPECT_TRUE(c::parse_args(6, with_iso).make_iso);
}

TEST(ComposerCli, RejectsBadArguments) {
  const char* no_kernel[] = {"cos-composer", "s.toml", "out", "--images", "img"};
  EXPECT_THROW(c::parse_args(5, no_kernel), c::UsageError);
  const char* no_images[] = {"cos-composer", "s.toml", "out", "--kernel", "k"};
  EXPECT_THROW(c::parse_args(5, no_images), c::UsageError);
  const char* unknown[] = {"cos-composer", "s.toml", "out", "--images", "i", "--kernel", "k", "--fast"};
  EXPECT_THROW(c::parse_args(8, unknown), c::UsageError);
  const char* dangling[] = {"cos-composer", "s.toml", "out", "--kernel", "k", "--images"};
  EXPECT_THROW(c::parse_args(6, dangling), c::UsageError);
  const char* extra[] = {"cos-composer", "s.toml", "out", "more", "--images", "i", "--kernel", "k"};
  EXPECT_THROW(c::parse_args(8, extra), c::UsageError);
}

// ---------------------------------------------------------------- [component.guest]

// A bzImage-shaped file: the setup-header fields the composer reads.
std::vector<uint8_t> fake_bzimage(uint16_t version = 0x020f, uint8_t loadflags = 1, uint8_t setup_sects = 4,
                                  size_t pm_bytes = 0x10000, uint32_t init_size = 0x100000) {
  std::vector<uint8_t> b((setup_sects + 1u) * 512, 0);
  b.resize(b.size() + pm_bytes, 0xf4);
  b[0x1f1] = setup_sects;
  b[0x1fe] = 0x55;
  b[0x1ff] = 0xaa;
  std::memcpy(&b[0x202], "HdrS", 4);
  b[0x206] = uint8_t(version);
  b[0x207] = uint8_t(version >> 8);
  b[0x211] = loadflags;
  b[0x258 + 3] = 0x01;  // pref_address 0x1000000
  for (int i = 0; i < 4; ++i) b[0x260 + size_t(i)] = uint8_t(init_size >> (8 * i));
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

TEST_F(GuestTest, GuestFilesBecomeModulesAndBlobs) {
  const Outcome r = run(guest("kernel = \"bz/vmlinuz\"\n"
                              "ram = \"128M\"\n"
                              "cmdline = \"console=ttyS0 quiet\"\n"
                              "overlays = [ { src = \"files/hello.sh\", dst = \"/bin/hello.sh\" } ]\n"));
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  EXPECT_EQ(read_bytes(outdir() / "vmm.guest.kernel"), read_bytes(dir_ / "scripts" / "bz" / "vmlinuz"));
  EXPECT_EQ(read_bytes(outdir() / "vmm.guest.initramfs"), read_bytes(dir_ / "build" / "initramfs.cpio.gz"));
  EXPECT_EQ(read_bytes(outdir() / "vmm.guest.bootloader"), read_bytes(dir_ / "images" / "guest.img"));

  const std::string cfg = read_text(outdir() / "grub.cfg");
  EXPECT_NE(cfg.find("  module2 /boot/client.elf client.elf\n"
                     "  module2 --nounzip /boot/vmm.guest.kernel vmm.guest.kernel\n"
                     "  module2 --nounzip /boot/vmm.guest.initramfs vmm.guest.initramfs\n"
                     "  module2 --nounzip /boot/vmm.guest.bootloader vmm.guest.bootloader\n"
                     "  boot\n"),
            std::string::npos)
      << cfg;

  m::Reader man = open_manifest();
  ASSERT_EQ(man.component_count(), 2u);
  EXPECT_EQ(man.component(0).blob_count, 0u);
  EXPECT_EQ(man.component(0).guest_ram_bytes, 0u);
  const m::ComponentView vmm = man.component(1);
  EXPECT_EQ(vmm.guest_ram_bytes, 128u << 20);
  EXPECT_EQ(str(vmm.guest_cmdline), "console=ttyS0 quiet");
  ASSERT_EQ(vmm.blob_count, 3u);
  const char* roles[] = {"kernel", "initramfs", "bootloader"};
  for (uint32_t j = 0; j < 3; ++j) {
    EXPECT_EQ(str(man.blob(1, j).name), std::string("guest.") + roles[j]);
    EXPECT_EQ(str(man.blob(1, j).module), std::string("vmm.guest.") + roles[j]);
  }
  const std::string json = read_text(outdir() / "system.json");
  EXPECT_NE(json.find("\"guest\": {\"ram_mib\": 128, \"cmdline\": \"console=ttyS0 quiet\", \"kernel\": "
                      "\"vmm.guest.kernel\", \"initramfs\": \"vmm.guest.initramfs\", \"bootloader\": "
                      "\"vmm.guest.bootloader\", \"kind\": \"linux\", \"exit_status\": \"vm\"}"),
            std::string::npos)
      << json;
}

TEST_F(GuestTest, Defaults) {
  const Outcome r = run(guest(""));
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  EXPECT_EQ(read_bytes(outdir() / "vmm.guest.kernel"), read_bytes(dir_ / "cache" / "debian-vmlinuz"));
  EXPECT_EQ(read_bytes(outdir() / "vmm.guest.bootloader"), read_bytes(dir_ / "images" / "guest.img"));
  m::Reader man = open_manifest();
  EXPECT_EQ(man.component(1).guest_ram_bytes, 256u << 20);
  EXPECT_EQ(str(man.component(1).guest_cmdline),
            "console=ttyS0 earlyprintk=serial,ttyS0 reboot=k panic=-1 tsc=reliable no_timer_check");
  const c::Script s = c::load_script(script_);
  ASSERT_TRUE(s.components[1].guest.has_value());
  EXPECT_EQ(s.components[1].guest->kernel, "debian-cloud");
  EXPECT_EQ(s.components[1].guest->initramfs, "default");
  EXPECT_EQ(s.components[1].guest->bootloader, "guest.img");
  EXPECT_FALSE(s.components[0].guest.has_value());
}

TEST_F(GuestTest, InlineTableAndPathsForEveryFile) {
  const Outcome r = run(std::string(prefix) +
                        "[[component]]\nname = \"vmm\"\nimage = \"client\"\nuntyped = \"1G\"\n"
                        "guest = { kernel = \"" + (dir_ / "scripts" / "old").string() + "x\" }\n");
  EXPECT_EQ(r.status, c::exit_script_error);  // an absolute path, not found
  EXPECT_NE(r.err.find("/scripts/oldx' not found"), std::string::npos) << r.err;
  const Outcome ok = run(std::string(prefix) +
                         "[[component]]\nname = \"vmm\"\nimage = \"client\"\nuntyped = \"1G\"\n"
                         "guest = { kernel = \"bz/vmlinuz\", initramfs = \"i.cpio\", bootloader = \"../images/guest.img\","
                         " ram = 1073741824 }\n");
  ASSERT_EQ(ok.status, c::exit_ok) << ok.err;
  EXPECT_EQ(read_text(outdir() / "vmm.guest.initramfs"), "070701 and so on");
  EXPECT_EQ(open_manifest().component(1).guest_ram_bytes, 1u << 30);
}

TEST_F(GuestTest, SchemaErrors) {
  expect_error(guest("kernal = \"x\"\n"), 14, 1, "unknown key 'kernal' in [component.guest] (expected one of: kind, "
                                                  "kernel, initramfs, bootloader, ram, cmdline, overlays, modules, "
                                                  "exit_status)");
  expect_error(std::string(prefix) + "[[component]]\nname = \"vmm\"\nimage = \"client\"\nguest = 5\n", 12, 9,
               "'guest' must be a table, not an integer");
  expect_error(guest("kernel = 5\n"), 14, 10, "'kernel' must be a string, not an integer");
  expect_error(guest("kernel = \"\"\n"), 14, 10, "'kernel' must not be empty");
  expect_error(guest("initramfs = []\n"), 14, 13, "'initramfs' must be a string, not an array");
  expect_error(guest("bootloader = \"\"\n"), 14, 14, "'bootloader' must not be empty");
  expect_error(guest("ram = true\n"), 14, 7, "'ram' must be a size");
  expect_error(guest("ram = \"3M\"\n"), 14, 7, "'ram' must be a multiple of 2097152 bytes (2M), not 3145728");
  expect_error(guest("ram = \"8M\"\n"), 14, 7, "'ram' must be between 16M and 3G, not 8M");
  expect_error(guest("ram = \"4G\"\n"), 14, 7, "'ram' must be between 16M and 3G, not 4G");
  expect_error(guest("cmdline = 1\n"), 14, 11, "'cmdline' must be a string, not an integer");
  expect_error(guest("cmdline = \"" + std::string(256, 'a') + "\"\n"), 14, 11,
               "'cmdline' is 256 bytes long; at most 255 are allowed");
  expect_error(guest("cmdline = \"a\\u0000b\"\n"), 14, 11, "'cmdline' must not contain a NUL character");
  expect_error(guest("overlays = 1\n"), 14, 12, "'overlays' must be an array, not an integer");
  expect_error(guest("initramfs = \"i.cpio\"\noverlays = [{ src = \"a\", dst = \"/a\" }]\n"), 15, 1,
               "'overlays' apply to the default initramfs only, but 'initramfs' is \"i.cpio\" (at 14:13)");
  expect_error(guest("overlays = [\"a\"]\n"), 14, 13,
               "each element of 'overlays' must be a table { src = \"...\", dst = \"/...\" }, not a string");
  expect_error(guest("overlays = [{ src = \"a\" }]\n"), 14, 13, "missing required key 'dst' in overlay table");
  expect_error(guest("overlays = [{ dst = \"/a\" }]\n"), 14, 13, "missing required key 'src' in overlay table");
  expect_error(guest("overlays = [{ src = \"a\", dst = \"/a\", mode = 1 }]\n"), 14, 38,
               "unknown key 'mode' in overlay table (expected one of: src, dst)");
  expect_error(guest("overlays = [{ src = 1, dst = \"/a\" }]\n"), 14, 21, "'src' must be a string, not an integer");
  expect_error(guest("overlays = [{ src = \"\", dst = \"/a\" }]\n"), 14, 21, "'src' must be a non-empty path");
  expect_error(guest("overlays = [{ src = \"a\", dst = \"a\" }]\n"), 14, 32,
               "invalid overlay destination \"a\": it must be an absolute path (start with '/')");
  expect_error(guest("overlays = [{ src = \"a\", dst = \"/\" }]\n"), 14, 32,
               "invalid overlay destination \"/\": it must name a file or directory below '/'");
  expect_error(guest("overlays = [{ src = \"a\", dst = \"/a/../b\" }]\n"), 14, 32, "it contains a '..' component");
  expect_error(guest("overlays = [{ src = \"a\", dst = \"/a//b\" }]\n"), 14, 32, "it contains an empty path component");
  expect_error(guest("overlays = [{ src = \"a\", dst = \"/a/\" }]\n"), 14, 32, "it contains an empty path component");
  expect_error(guest("overlays = [\n  { src = \"a\", dst = \"/x\" },\n  { src = \"b\", dst = \"/x\" },\n]\n"), 16, 22,
               "overlay destination \"/x\" listed twice (first at 15:22)");
}

TEST_F(GuestTest, BooterAndUntypedRules) {
  expect_error(std::string(prefix) + "[component.guest]\n", 9, 12,
               "the kernel-constructed component 'booter' cannot have a guest (only a VMM component can)");
  expect_error(guest("ram = \"512M\"\n"), 14, 7,
               "component 'vmm' runs a guest with 512M of RAM but is granted 300M of untyped memory");
  expect_error(std::string(prefix) + "[[component]]\nname = \"vmm\"\nimage = \"client\"\n[component.guest]\n", 12, 1,
               "component 'vmm' runs a guest with 256M of RAM but is granted no untyped memory");
}

TEST_F(GuestTest, EssentialByDefault) {
  ASSERT_EQ(run(guest("")).status, c::exit_ok);
  EXPECT_TRUE(open_manifest().component(1).essential);
  ASSERT_EQ(run(std::string(prefix) + "[[component]]\nname = \"vmm\"\nimage = \"client\"\nuntyped = \"300M\"\n"
                "essential = false\n[component.guest]\n").status,
            c::exit_ok);
  EXPECT_FALSE(open_manifest().component(1).essential);
}

TEST_F(GuestTest, FileErrors) {
  expect_error(guest("kernel = \"nope\"\n"), 14, 10, "guest kernel '" + (dir_ / "scripts" / "nope").string() +
                                                       "' not found");
  expect_error(guest("kernel = \"bz\"\n"), 14, 10, "guest kernel '" + (dir_ / "scripts" / "bz").string() +
                                                     "' is not a regular file");
  expect_error(guest("kernel = \"../images/client.elf\"\n"), 14, 10,
               "guest kernel '" + (dir_ / "images" / "client.elf").string() +
                   "' is not a bzImage: it is an ELF file (a vmlinux?): no boot flag 0xAA55");
  expect_error(guest("kernel = \"i.cpio\"\n"), 14, 10, "is not a bzImage: it is too small to hold a Linux setup header");
  expect_error(guest("kernel = \"nohdrs\"\n"), 14, 10, "is not a bzImage: no \"HdrS\" signature at offset 0x202");
  expect_error(guest("kernel = \"old\"\n"), 14, 10,
               "is not a bzImage: its boot protocol is 2.04; the guest bootloader needs 2.06 or later");
  expect_error(guest("kernel = \"zimage\"\n"), 14, 10, "is not a bzImage: loadflags LOADED_HIGH is not set");
  expect_error(guest("kernel = \"truncated\"\n"), 14, 10,
               "is not a bzImage: the file ends inside its real-mode setup code (40 setup sectors): truncated?");
  expect_error(guest("initramfs = \"nope.cpio\"\n"), 14, 13, "guest initramfs '" +
                                                              (dir_ / "scripts" / "nope.cpio").string() + "' not found");
  expect_error(guest("initramfs = \"bz/vmlinuz\"\n"), 14, 13,
               "is unusable: it is not a newc cpio archive (\"070701\") nor one compressed with gzip");
  expect_error(guest("bootloader = \"nope.img\"\n"), 14, 14,
               "guest bootloader '" + (dir_ / "images" / "nope.img").string() + "' not found");
  expect_error(guest("bootloader = \"big.img\"\n"), 14, 14,
               "guest bootloader '" + (dir_ / "images" / "big.img").string() +
                   "' is 28673 bytes; it must hold 1 to 28672 bytes");
  expect_error(guest("overlays = [{ src = \"files/nope.sh\", dst = \"/bin/nope\" }]\n"), 14, 21,
               "overlay source '" + (dir_ / "scripts" / "files" / "nope.sh").string() + "' not found");
  expect_error(guest("kernel = \"bz/vmlinuz\"\nram = \"64M\"\n"), 15, 7,
               "guest RAM of 64M is too small for its kernel and initramfs: they need at least 65M");
}

TEST_F(GuestTest, MissingInputsAreNotScriptErrors) {
  guest_inputs_ = {};
  Outcome r = run(guest("initramfs = \"i.cpio\"\n"));
  EXPECT_EQ(r.status, c::exit_failure);
  EXPECT_NE(r.err.find("cos-composer: error: kernel = \"debian-cloud\" (" + script_ +
                       ":13:1) needs the Debian kernel: compose with ./cos compose"),
            std::string::npos)
      << r.err;
  r = run(guest("kernel = \"bz/vmlinuz\"\n"));
  EXPECT_EQ(r.status, c::exit_failure);
  EXPECT_NE(r.err.find("initramfs = \"default\" of component 'vmm' (" + script_ +
                       ":13:1) needs the default initramfs"),
            std::string::npos)
      << r.err;
  guest_inputs_.kernel = dir_ / "scripts" / "old";
  r = run(guest("initramfs = \"i.cpio\"\n"));
  EXPECT_EQ(r.status, c::exit_failure);
  EXPECT_NE(r.err.find("is not a bzImage: its boot protocol is 2.04"), std::string::npos) << r.err;
  expect_no_output();
}

// ---------------------------------------------------------------- Multiboot guests

// A flat a.out-kludge Multiboot kernel loaded at `load` (header at offset 0),
// `size` bytes of file and `bss` more in memory.
std::vector<uint8_t> fake_multiboot(uint32_t load = 0x100000, size_t size = 0x2000, uint32_t bss = 0x1000) {
  std::vector<uint8_t> b(size, 0x90);
  auto put = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + size_t(i)] = uint8_t(v >> (8 * i));
  };
  const uint32_t flags = 0x00010003;
  put(0, 0x1BADB002);
  put(4, flags);
  put(8, uint32_t(-(0x1BADB002u + flags)));
  put(12, load);
  put(16, load);
  put(20, load + uint32_t(size));
  put(24, load + uint32_t(size) + bss);
  put(28, load + 0x20);
  return b;
}

class MultibootTest : public GuestTest {
 protected:
  void SetUp() override {
    GuestTest::SetUp();
    write_bytes(dir_ / "images" / "mb.bin", fake_multiboot());
    write_bytes(dir_ / "scripts" / "k" / "low.bin", fake_multiboot(0x10000));
    write_bytes(dir_ / "scripts" / "k" / "big.bin", fake_multiboot(0x100000, 0x2000, 0x10000000));
    write_text(dir_ / "scripts" / "files" / "one.txt", "module one\n");
    write_bytes(dir_ / "images" / "two.bin", std::vector<uint8_t>(5000, 7));
  }
  // [component.guest] with kind = "multiboot" on line 14; more keys from line 15.
  std::string mb(const std::string& keys) { return guest("kind = \"multiboot\"\n" + keys); }
};

TEST_F(MultibootTest, KernelAndModulePack) {
  const Outcome r = run(mb("kernel = \"mb.bin\"\n"
                           "ram = \"16M\"\n"
                           "cmdline = \"test exit=3\"\n"
                           "exit_status = \"debug-exit\"\n"
                           "modules = [ { src = \"files/one.txt\", cmdline = \"one lang=en\" }, { src = \"two.bin\" } ]\n"));
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  EXPECT_EQ(read_bytes(outdir() / "vmm.guest.kernel"), fake_multiboot());
  EXPECT_FALSE(fs::exists(outdir() / "vmm.guest.initramfs"));
  EXPECT_FALSE(fs::exists(outdir() / "vmm.guest.bootloader"));
  const std::string cfg = read_text(outdir() / "grub.cfg");
  EXPECT_NE(cfg.find("  module2 --nounzip /boot/vmm.guest.kernel vmm.guest.kernel\n"
                     "  module2 --nounzip /boot/vmm.guest.modules vmm.guest.modules\n"
                     "  boot\n"),
            std::string::npos)
      << cfg;

  m::Reader man = open_manifest();
  const m::ComponentView vmm = man.component(1);
  EXPECT_EQ(vmm.guest_kind, 1u);
  EXPECT_TRUE(vmm.guest_debug_exit);
  EXPECT_TRUE(vmm.essential);
  EXPECT_EQ(str(vmm.guest_cmdline), "test exit=3");
  ASSERT_EQ(vmm.blob_count, 2u);
  EXPECT_EQ(str(man.blob(1, 0).name), "guest.kernel");
  EXPECT_EQ(str(man.blob(1, 1).name), "guest.modules");
  EXPECT_EQ(str(man.blob(1, 1).module), "vmm.guest.modules");

  const std::vector<uint8_t> pack = read_bytes(outdir() / "vmm.guest.modules");
  const char* why = nullptr;
  ASSERT_EQ(cos::guest::modules_check(pack.data(), pack.size(), &why), 2) << why;
  const cos::guest::ModuleView one = cos::guest::module_at(pack.data(), 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(one.data), one.size), "module one\n");
  EXPECT_STREQ(one.cmdline, "one lang=en");
  const cos::guest::ModuleView two = cos::guest::module_at(pack.data(), 1);
  EXPECT_EQ(std::vector<uint8_t>(two.data, two.data + two.size), std::vector<uint8_t>(5000, 7));
  EXPECT_STREQ(two.cmdline, "two.bin");  // the default: src as written
  EXPECT_EQ((two.data - pack.data()) % 4096, 0);

  const std::string json = read_text(outdir() / "system.json");
  EXPECT_NE(json.find("\"kernel\": \"vmm.guest.kernel\", \"modules\": \"vmm.guest.modules\", \"kind\": \"multiboot\", "
                      "\"exit_status\": \"debug-exit\"}"),
            std::string::npos)
      << json;
}

TEST_F(MultibootTest, WithoutModulesAndDefaults) {
  const Outcome r = run(mb("kernel = \"k/../../images/mb.bin\"\n"));
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  m::Reader man = open_manifest();
  EXPECT_EQ(man.component(1).blob_count, 1u);
  EXPECT_EQ(str(man.component(1).guest_cmdline), "");  // no Linux default for a Multiboot kernel
  EXPECT_FALSE(man.component(1).guest_debug_exit);
  EXPECT_FALSE(fs::exists(outdir() / "vmm.guest.modules"));
}

TEST_F(MultibootTest, SchemaErrors) {
  expect_error(guest("kind = \"bsd\"\n"), 14, 8, "'kind' must be \"linux\" or \"multiboot\", not \"bsd\"");
  expect_error(mb(""), 13, 1, "a Multiboot guest (kind = \"multiboot\" at 14:8) needs 'kernel'");
  expect_error(mb("kernel = \"mb.bin\"\ninitramfs = \"i.cpio\"\n"), 16, 1,
               "'initramfs' applies to Linux guests only, but 'kind' is \"multiboot\" (at 14:8)");
  expect_error(mb("kernel = \"mb.bin\"\nbootloader = \"guest.img\"\n"), 16, 1, "'bootloader' applies to Linux guests only");
  expect_error(mb("kernel = \"mb.bin\"\noverlays = []\n"), 16, 1, "'overlays' applies to Linux guests only");
  expect_error(guest("modules = []\n"), 14, 1, "'modules' apply to Multiboot guests only");
  expect_error(mb("kernel = \"mb.bin\"\nmodules = [\"x\"]\n"), 16, 12, "each element of 'modules' must be a table");
  expect_error(mb("kernel = \"mb.bin\"\nmodules = [{ cmdline = \"x\" }]\n"), 16, 12,
               "missing required key 'src' in module table");
  expect_error(mb("kernel = \"mb.bin\"\nmodules = [{ src = \"a\", size = 1 }]\n"), 16, 25,
               "unknown key 'size' in module table (expected one of: src, cmdline)");
  expect_error(mb("kernel = \"mb.bin\"\nmodules = [{ src = \"a\", cmdline = \"" + std::string(256, 'x') + "\" }]\n"),
               16, 35, "a module's 'cmdline' is 256 bytes long; at most 255 are allowed");
  std::string many = "kernel = \"mb.bin\"\nmodules = [";
  for (int i = 0; i < 17; ++i) many += "{ src = \"two.bin\" }, ";
  expect_error(mb(many + "]\n"), 16, 12 + 21 * 16, "at most 16 modules per guest");
  expect_error(mb("kernel = \"mb.bin\"\nexit_status = \"qemu\"\n"), 16, 15,
               "'exit_status' must be \"vm\" or \"debug-exit\", not \"qemu\"");
  expect_error(std::string(prefix) + "[[component]]\nname = \"vmm\"\nimage = \"client\"\nuntyped = \"300M\"\n"
               "essential = false\n[component.guest]\nexit_status = \"debug-exit\"\n", 15, 15,
               "exit_status = \"debug-exit\" needs an essential VMM, but component 'vmm' has essential = false (at 13:13)");
}

TEST_F(MultibootTest, FileErrors) {
  expect_error(mb("kernel = \"nope.bin\"\n"), 15, 10,
               "guest kernel '" + (dir_ / "images" / "nope.bin").string() + "' not found");
  expect_error(mb("kernel = \"bz/vmlinuz\"\n"), 15, 10,
               "is not a Multiboot kernel: no Multiboot header (magic 0x1BADB002) in its first 8192 bytes (a Linux "
               "bzImage? use kind = \"linux\")");
  expect_error(mb("kernel = \"k/low.bin\"\n"), 15, 10, "loads at 0x10000, below 1 MiB");
  expect_error(mb("kernel = \"k/big.bin\"\n"), 13, 1,
               "guest RAM of 256M is too small for its Multiboot kernel and modules: they need at least 258M (the kernel at 0x100000-0x10102000");
  expect_error(mb("kernel = \"mb.bin\"\nram = \"16M\"\nmodules = [{ src = \"two.bin\" }, { src = \"files/none\" }]\n"),
               17, 41, "guest module '" + (dir_ / "scripts" / "files" / "none").string() + "' not found");
  std::vector<uint8_t> bad = fake_multiboot();
  bad[8] ^= 1;
  write_bytes(dir_ / "images" / "bad.bin", bad);
  expect_error(mb("kernel = \"bad.bin\"\n"), 15, 10, "bad checksum (magic + flags + checksum != 0) (header at offset 0x0)");
}

TEST(GuestChecks, BzImageAndInitramfsMagic) {
  EXPECT_EQ(c::bzimage_problem(fake_bzimage()), "");
  EXPECT_EQ(c::bzimage_problem(fake_bzimage(0x0206)), "");
  EXPECT_NE(c::bzimage_problem(fake_bzimage(0x0205)), "");
  EXPECT_NE(c::bzimage_problem(std::vector<uint8_t>(100)), "");
  for (std::vector<uint8_t> magic : {std::vector<uint8_t>{'0', '7', '0', '7', '0', '1'},
                                     std::vector<uint8_t>{0x1f, 0x8b}, std::vector<uint8_t>{0x28, 0xb5, 0x2f, 0xfd},
                                     std::vector<uint8_t>{0xfd, '7', 'z', 'X', 'Z', 0}, std::vector<uint8_t>{'B', 'Z', 'h'}})
    EXPECT_EQ(c::initramfs_problem(magic), "");
  EXPECT_NE(c::initramfs_problem({}), "");
  EXPECT_NE(c::initramfs_problem({'0', '7', '0', '7', '0', '7'}), "");  // old binary-ish "odc" cpio
  // 64 MiB + the file vs 16 MiB + init_size: the larger end, plus the initramfs.
  EXPECT_EQ(c::guest_ram_needed(fake_bzimage(0x020f, 1, 4, 0x10000, 0x100000), 4096),
            0x4000000u + 0x10a00u + 4096 - 0xa00 + 4096);
  EXPECT_EQ(c::guest_ram_needed(fake_bzimage(0x020f, 1, 4, 0x10000, 0x3400000), 1), 0x4400000u + 4096);
  EXPECT_EQ(c::guest_ram_needed(fake_bzimage(0x0209, 1, 4, 0x10000, 0x3400000), 0), 0x4011000u);  // no init_size
}

TEST(ComposerCli, GuestInputs) {
  const char* argv[] = {"cos-composer", "s.toml", "out", "--images", "i", "--kernel", "k", "--guest-kernel", "/c/vmlinuz",
                        "--guest-initramfs", "vmm=/b/i.cpio.gz", "--guest-initramfs=vmm2=x"};
  const c::Options o = c::parse_args(12, argv);
  EXPECT_EQ(o.guest_inputs.kernel, "/c/vmlinuz");
  ASSERT_EQ(o.guest_inputs.initramfs.size(), 2u);
  EXPECT_EQ(o.guest_inputs.initramfs.at("vmm"), "/b/i.cpio.gz");
  EXPECT_EQ(o.guest_inputs.initramfs.at("vmm2"), "x");
  for (const char* bad : {"vmm", "=x", "vmm="}) {
    const char* args[] = {"cos-composer", "s.toml", "out", "--images", "i", "--kernel", "k", "--guest-initramfs", bad};
    EXPECT_THROW(c::parse_args(9, args), c::UsageError) << bad;
  }
}

// The repository's own composition scripts pass every script-level check.
std::vector<std::string> script_order(const std::string& file) {
  const c::Script s = c::load_script(std::string(COS_TEST_SOURCE_DIR) + "/composition_scripts/" + file);
  c::check_components(s);
  std::vector<std::string> names;
  for (size_t i : c::construction_order(s, c::resolve_deps(s))) names.push_back(s.components[i].name);
  return names;
}

TEST(CompositionScripts, HelloAndFaultAreValid) {
  EXPECT_EQ(script_order("hello.toml"), (std::vector<std::string>{"booter", "pong", "ping"}));
  EXPECT_EQ(script_order("fault.toml"), (std::vector<std::string>{"booter", "victim", "peek_user", "peek_kernel"}));
}

TEST(CompositionScripts, GuestScriptsAreValid) {
  EXPECT_EQ(script_order("simple_vmm.toml"), (std::vector<std::string>{"booter", "simple_vmm"}));
  const c::Script vm = c::load_script(std::string(COS_TEST_SOURCE_DIR) + "/composition_scripts/simple_vmm.toml");
  EXPECT_EQ(vm.name, "vm");
  const c::ComponentSpec& vmm = vm.components[1];
  ASSERT_TRUE(vmm.guest.has_value());
  EXPECT_EQ(vmm.guest->kernel, "debian-cloud");
  EXPECT_EQ(vmm.guest->initramfs, "default");
  EXPECT_EQ(vmm.guest->ram_bytes, 256u << 20);
  EXPECT_EQ(vmm.guest->cmdline, c::default_guest_cmdline);
  EXPECT_GE(vmm.untyped_bytes, vmm.guest->ram_bytes);
  EXPECT_TRUE(vmm.essential());
  EXPECT_EQ(script_order("blob_check.toml"), (std::vector<std::string>{"booter", "vmm"}));
  const c::Script mb = c::load_script(std::string(COS_TEST_SOURCE_DIR) + "/composition_scripts/multiboot.toml");
  EXPECT_EQ(mb.name, "mbtest");
  ASSERT_TRUE(mb.components[1].guest.has_value());
  EXPECT_EQ(mb.components[1].guest->kind, c::GuestKind::multiboot);
  EXPECT_EQ(mb.components[1].guest->exit_status, c::GuestExitStatus::debug_exit);
  EXPECT_EQ(mb.components[1].guest->modules.size(), 2u);
  EXPECT_TRUE(mb.components[1].essential());
}

TEST(CompositionScripts, GrantsIsValid) {
  EXPECT_EQ(script_order("grants.toml"),
            (std::vector<std::string>{"booter", "pong", "bare", "partial", "full", "hog", "hog_client"}));
  const c::Script s = c::load_script(std::string(COS_TEST_SOURCE_DIR) + "/composition_scripts/grants.toml");
  const c::ComponentSpec& full = s.components[4];
  EXPECT_EQ(full.untyped_bytes, 64u << 10);
  EXPECT_EQ(full.caps_mask, uint32_t(c::cap_captbl | c::cap_pgtbl | c::cap_comp));
  EXPECT_EQ(full.ioports.size(), 2u);
  EXPECT_EQ(full.irqs.size(), 2u);
  EXPECT_TRUE(full.timer);
}

}  // namespace

// --set overrides: applied to the parsed script before any check.
namespace {

c::Script with_overrides(const std::string& text, std::vector<std::string> overrides) {
  return c::parse_script_text(text, "s.toml", overrides);
}

std::string override_error(const std::string& text, std::vector<std::string> overrides) {
  try {
    with_overrides(text, overrides);
  } catch (const c::ScriptError& e) {
    return e.diagnostic().format();
  }
  return "";
}

const std::string kOverrideScript = std::string(prefix) +
                                    "[[component]]\n"
                                    "name = \"vm\"\n"
                                    "image = \"client\"\n"
                                    "priority = 100\n"
                                    "[component.params]\n"
                                    "iterations = 10\n";

TEST(ComposerOverride, SetsKeysParamsAndSystem) {
  c::Script s = with_overrides(kOverrideScript, {"vm.priority=50", "vm.params.iterations=100000",
                                                 "vm.params.mode=fast", "vm.stack=\"64K\"", "system.memory=512M"});
  ASSERT_EQ(s.components.size(), 2u);
  const c::ComponentSpec& vm = s.components[1];
  EXPECT_EQ(vm.priority, 50u);
  EXPECT_EQ(vm.stack_bytes, 64u * 1024);
  ASSERT_EQ(vm.params.size(), 2u);
  auto param = [&](const std::string& key) {
    for (const auto& p : vm.params)
      if (p.key == key) return p.value;
    return std::string("<missing>");
  };
  EXPECT_EQ(param("iterations"), "100000");
  EXPECT_EQ(param("mode"), "fast") << "text that is no TOML value is a string";
  EXPECT_EQ(s.memory_bytes, 512ull << 20);
  // Later overrides win; a params table is created when the script has none.
  c::Script t = with_overrides(kOverrideScript, {"vm.priority=1", "vm.priority=2", "booter.params.x=1"});
  EXPECT_EQ(t.components[1].priority, 2u);
  ASSERT_EQ(t.components[0].params.size(), 1u);
  EXPECT_EQ(t.components[0].params[0].value, "1");
}

TEST(ComposerOverride, ErrorsPointAtTheOverride) {
  EXPECT_EQ(override_error(kOverrideScript, {"vm.priority=300"}),
            "--set vm.priority=300:1:5: error: 'priority' must be between 0 and 255 (0 = highest), not 300");
  EXPECT_EQ(override_error(kOverrideScript, {"vm.priority=\"high\""}),
            "--set vm.priority=\"high\":1:5: error: 'priority' must be an integer, not a string");
  EXPECT_NE(override_error(kOverrideScript, {"nosuch.priority=3"}).find("--set nosuch.priority=3:1:1: error: no component named 'nosuch'"),
            std::string::npos);
  EXPECT_NE(override_error(kOverrideScript, {"vm.colour=3"}).find("--set vm.colour=3:1:1: error: unknown key 'colour' in [[component]]"),
            std::string::npos);
  EXPECT_NE(override_error(kOverrideScript, {"vm.name.x=1"}).find("'name' is not a table"), std::string::npos);
  EXPECT_NE(override_error(kOverrideScript, {"vm.priority"}).find("<target>.<key>=<value>"), std::string::npos);
  EXPECT_NE(override_error(kOverrideScript, {"vm=3"}).find("names a target and a key"), std::string::npos);
  EXPECT_NE(override_error(kOverrideScript, {"vm..x=3"}).find("empty name"), std::string::npos);
  EXPECT_NE(override_error(kOverrideScript, {"system.memory=3"}).find("'memory'"), std::string::npos);
}

TEST(ComposerOverride, CommandLine) {
  const char* argv[] = {"cos-composer", "s.toml", "out", "--images", "i", "--kernel", "k",
                        "--set", "vm.priority=5", "--set=vm.params.x=1"};
  c::Options o = c::parse_args(10, argv);
  ASSERT_EQ(o.overrides.size(), 2u);
  EXPECT_EQ(o.overrides[0], "vm.priority=5");
  EXPECT_EQ(o.overrides[1], "vm.params.x=1");
}

}  // namespace
