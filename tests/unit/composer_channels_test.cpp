// The composer's [[channel]] tables and `files` entries: parsing, the checks
// (exact file:line:col, exit status 2), the manifest they produce (version
// 5: the channel table, writable blobs), grub.cfg and system.json.
#include <algorithm>

#include "composer/files.hpp"
#include "cos/limits.hpp"
#include "unit/composer_fixture.hpp"

namespace {

namespace L = cos_limits;

// Components a, b and c (lines 9-17) after the prefix; a case's own text
// starts on line 18.
const std::string three = std::string(prefix) +
                          "[[component]]\nname = \"a\"\nimage = \"client\"\n"   // 9-11
                          "[[component]]\nname = \"b\"\nimage = \"client\"\n"   // 12-14
                          "[[component]]\nname = \"c\"\nimage = \"client\"\n";  // 15-17

std::string channel(const std::string& name, const std::string& e0, const std::string& e1,
                    const std::string& extra = "") {
  return "[[channel]]\nname = \"" + name + "\"\nends = [\"" + e0 + "\", \"" + e1 + "\"]\n" + extra;
}

using ChannelTest = ComposerTest;

TEST_F(ChannelTest, ChannelsReachTheManifestInScriptOrderWithEndsInConstructionOrder) {
  // The client is declared first: construction order (server first)
  // differs from declaration order, and the ends follow construction order.
  const std::string text = std::string(prefix) +
                           "[[component]]\nname = \"cl\"\nimage = \"client\"\ndeps = [\"pong\"]\n"  // 9-12
                           "[[component]]\nname = \"srv\"\nimage = \"pong\"\nimplements = [\"pong\"]\n" +
                           channel("disk0", "cl", "srv", "size = \"256K\"\n") + channel("net", "srv", "cl");
  const Outcome r = run(text);
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  const m::Reader man = open_manifest();
  ASSERT_EQ(man.component_count(), 3u);
  EXPECT_EQ(str(man.component(1).name), "srv");  // the server is built first
  EXPECT_EQ(str(man.component(2).name), "cl");
  ASSERT_EQ(man.channel_count(), 2u);
  EXPECT_EQ(str(man.channel(0).name), "disk0");
  EXPECT_EQ(man.channel(0).end[0], 2u);
  EXPECT_EQ(man.channel(0).end[1], 1u);
  EXPECT_EQ(man.channel(0).bytes, 256u * 1024);
  EXPECT_EQ(str(man.channel(1).name), "net");
  EXPECT_EQ(man.channel(1).end[0], 1u);
  EXPECT_EQ(man.channel(1).end[1], 2u);
  EXPECT_EQ(man.channel(1).bytes, 64u * 1024);  // the default
  const std::string json = read_text(outdir() / "system.json");
  EXPECT_NE(json.find("  \"channels\": [\n"
                      "    {\"name\": \"disk0\", \"ends\": [\"cl\", \"srv\"], \"bytes\": 262144},\n"
                      "    {\"name\": \"net\", \"ends\": [\"srv\", \"cl\"], \"bytes\": 65536}\n"
                      "  ]\n}\n"),
            std::string::npos)
      << json;
}

TEST_F(ChannelTest, SizesAtTheLimits) {
  EXPECT_EQ(run(three + channel("x", "a", "b", "size = \"8K\"\n")).status, c::exit_ok);
  EXPECT_EQ(open_manifest().channel(0).bytes, L::kMinChannelBytes);
  fs::remove_all(outdir());
  EXPECT_EQ(run(three + channel("x", "a", "b", "size = \"64M\"\n")).status, c::exit_ok);
  EXPECT_EQ(open_manifest().channel(0).bytes, L::kMaxChannelBytes);
  fs::remove_all(outdir());
  expect_error(three + channel("x", "a", "b", "size = \"4K\"\n"), 21, 8, "'size' must be between 8K and 64M, not 4K");
  expect_error(three + channel("x", "a", "b", "size = \"65540K\"\n"), 21, 8,
               "'size' must be between 8K and 64M, not 65540K");
  expect_error(three + channel("x", "a", "b", "size = 10000\n"), 21, 8, "'size' must be a multiple of 4096 bytes");
  expect_error(three + channel("x", "a", "b", "size = \"big\"\n"), 21, 8, "invalid size \"big\" for 'size'");
}

TEST_F(ChannelTest, BadWiringIsReportedWhereItIsWritten) {
  expect_error(three + channel("x", "a", "zz"), 20, 14, "channel 'x' names unknown component 'zz'");
  expect_error(three + channel("x", "booter", "a"), 20, 9,
               "the kernel-constructed component 'booter' cannot be an end of a channel");
  expect_error(three + channel("x", "a", "a"), 20, 14,
               "channel 'x' has component 'a' at both ends; a channel joins two distinct components");
  expect_error(three + channel("x", "a", "b") + channel("x", "b", "c"), 22, 8,
               "duplicate channel name 'x' (first defined at 19:8)");
  expect_error(three + "[[channel]]\nname = \"x\"\nends = [\"a\"]\n", 20, 8,
               "'ends' must name exactly two components, not 1");
  expect_error(three + "[[channel]]\nname = \"x\"\nends = [\"a\", \"b\", \"c\"]\n", 20, 8,
               "'ends' must name exactly two components, not 3");
  expect_error(three + "[[channel]]\nname = \"x\"\nends = [\"a\", 3]\n", 20, 14,
               "each element of 'ends' must be a string, not an integer");
  expect_error(three + "[[channel]]\nname = \"x\"\n", 18, 1, "missing required key 'ends' in [[channel]]");
  expect_error(three + "[[channel]]\nends = [\"a\", \"b\"]\n", 18, 1, "missing required key 'name' in [[channel]]");
  expect_error(three + channel("Disk", "a", "b"), 19, 8, "invalid channel name 'Disk'");
  expect_error(three + channel("x", "a", "b", "mode = 1\n"), 21, 1, "unknown key 'mode' in [[channel]]");
  expect_error("channel = 3\n" + three, 1, 11, "'channel' must be an array of tables (write [[channel]])");
}

// At most kMaxChannels per component: the 9th channel naming `a` is refused
// at that end; b, c and others may have their own.
TEST_F(ChannelTest, EightChannelsPerComponent) {
  std::string text = three;
  for (uint32_t i = 0; i < L::kMaxChannels; ++i)
    text += channel("c" + std::to_string(i), i % 2 ? "b" : "a", i % 2 ? "a" : "b");  // 3 lines each
  ASSERT_EQ(run(text).status, c::exit_ok);
  EXPECT_EQ(open_manifest().channel_count(), L::kMaxChannels);
  fs::remove_all(outdir());
  const int line = 18 + 3 * int(L::kMaxChannels) + 2;
  expect_error(text + channel("more", "c", "a"), line, 14,
               "component 'a' is an end of more than 8 channels (its info page holds no more)");
}

TEST_F(ChannelTest, SixtyFourChannelsPerSystem) {
  // Components d0..d19 (3 lines each from line 9) make room for 64 channels
  // of at most 8 per component.
  std::string text = prefix;
  for (int i = 0; i < 20; ++i) text += "[[component]]\nname = \"d" + std::to_string(i) + "\"\nimage = \"client\"\n";
  const int first = 9 + 3 * 20;
  for (uint32_t i = 0; i < L::kMaxSystemChannels; ++i)
    text += channel("c" + std::to_string(i), "d" + std::to_string(i % 20), "d" + std::to_string((i + 1) % 20));
  ASSERT_EQ(run(text).status, c::exit_ok) << run(text).err;
  EXPECT_EQ(open_manifest().channel_count(), L::kMaxSystemChannels);
  fs::remove_all(outdir());
  expect_error(text + channel("over", "d0", "d5"), first + 3 * int(L::kMaxSystemChannels), 1,
               "at most 64 channels per system");
}

// ------------------------------------------------------------------ files

class FilesTest : public ComposerTest {
 protected:
  fs::path scripts() const { return dir_ / "scripts"; }
};

TEST_F(FilesTest, RawFilesBecomeBlobsAndBootModules) {
  write_text(scripts() / "files" / "disk.img", "hello disk");
  write_text(scripts() / "files" / "conf", std::string(5000, 'c'));
  const Outcome r = run(std::string(prefix) +
                        "[[component]]\nname = \"a\"\nimage = \"client\"\n"
                        "files = [ { name = \"disk\", src = \"files/disk.img\", writable = true },\n"
                        "          { name = \"conf\", src = \"files/conf\" } ]\n");
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  const m::Reader man = open_manifest();
  ASSERT_EQ(man.component(1).blob_count, 2u);
  EXPECT_EQ(str(man.blob(1, 0).name), "file.disk");
  EXPECT_EQ(str(man.blob(1, 0).module), "a.file.disk");
  EXPECT_TRUE(man.blob(1, 0).writable);
  EXPECT_EQ(str(man.blob(1, 1).name), "file.conf");
  EXPECT_FALSE(man.blob(1, 1).writable);
  EXPECT_EQ(read_text(outdir() / "a.file.disk"), "hello disk");
  EXPECT_EQ(read_bytes(outdir() / "a.file.conf").size(), 5000u);
  const std::string cfg = read_text(outdir() / "grub.cfg");
  EXPECT_NE(cfg.find("  module2 --nounzip /boot/a.file.disk a.file.disk\n"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("  module2 --nounzip /boot/a.file.conf a.file.conf\n"), std::string::npos) << cfg;
  const std::string json = read_text(outdir() / "system.json");
  EXPECT_NE(json.find("\"files\": [{\"name\": \"disk\", \"module\": \"a.file.disk\", \"writable\": true}, "
                      "{\"name\": \"conf\", \"module\": \"a.file.conf\", \"writable\": false}]"),
            std::string::npos)
      << json;
}

TEST_F(FilesTest, BadEntriesAreReportedWhereTheyAreWritten) {
  write_text(scripts() / "files" / "disk.img", "x");
  fs::create_directories(scripts() / "files" / "dir");
  const std::string comp = std::string(prefix) + "[[component]]\nname = \"a\"\nimage = \"client\"\n";  // line 12 on
  expect_error(comp + "files = [ { name = \"disk\", src = \"files/none\" } ]\n", 12, 34, "not found");
  expect_error(comp + "files = [ { name = \"disk\", src = \"files/dir\" } ]\n", 12, 34,
               "is not a regular file (it is a directory)");
  expect_error(comp + "files = [ { name = \"Disk\", src = \"files/disk.img\" } ]\n", 12, 20, "invalid file name 'Disk'");
  expect_error(comp + "files = [ { name = \"disk\", src = \"files/disk.img\" }, { name = \"disk\", src = \"files/disk.img\" } ]\n",
               12, 63, "file name 'disk' listed twice in 'files' (first at 12:20)");
  expect_error(comp + "files = [ { name = \"disk\" } ]\n", 12, 11, "missing required key 'src' in file table");
  expect_error(comp + "files = [ \"disk\" ]\n", 12, 11, "each element of 'files' must be a table");
  expect_error(comp + "files = [ { name = \"disk\", src = \"files/disk.img\", size = \"1M\" } ]\n", 12, 59,
               "'size' applies to format = \"ext2\" only");
  expect_error(comp + "files = [ { name = \"disk\", src = \"files/disk.img\", format = \"vfat\" } ]\n", 12, 61,
               "'format' must be \"raw\"");
  expect_error(comp + "files = [ { name = \"disk\", src = \"files/dir\", format = \"ext2\" } ]\n", 12, 11,
               "a file with format = \"ext2\" (at 12:56) needs 'size'");
  expect_error(comp + "files = [ { name = \"disk\", src = \"files/disk.img\", format = \"ext2\", size = \"1M\" } ]\n",
               12, 34, "not a directory; format = \"ext2\" builds an image from a directory");
  expect_error(comp + "files = [ { name = \"disk\", src = \"files/dir\", format = \"ext2\", size = \"1000\" } ]\n", 12, 71,
               "'size' must be a multiple of 4096 bytes");
  expect_error(comp + "files = [ { name = \"disk\", src = \"files/disk.img\", writable = 1 } ]\n", 12, 63,
               "'writable' must be a boolean, not an integer");
}

TEST_F(FilesTest, ModuleNamesAndBlobCountsAreBounded) {
  write_text(scripts() / "f", "x");
  // "<component>.file.<name>" fits 47 bytes: a 21-character component and a
  // 21-character file name make 21 + 6 + 21 = 48.
  const std::string longc = std::string(prefix) + "[[component]]\nname = \"ccccccccccccccccccccc\"\nimage = \"client\"\n";
  EXPECT_EQ(run(longc + "files = [ { name = \"ffffffffffffffffffff\", src = \"f\" } ]\n").status, c::exit_ok);
  fs::remove_all(outdir());
  expect_error(longc + "files = [ { name = \"fffffffffffffffffffff\", src = \"f\" } ]\n", 12, 20,
               "the boot module of this file, 'ccccccccccccccccccccc.file.fffffffffffffffffffff', is 48 bytes; the "
               "kernel keeps module names up to 47");
  // File names: at most 26 characters (the blob "file.<name>" in 31 bytes).
  const std::string comp = std::string(prefix) + "[[component]]\nname = \"a\"\nimage = \"client\"\n";
  EXPECT_EQ(run(comp + "files = [ { name = \"" + std::string(26, 'n') + "\", src = \"f\" } ]\n").status, c::exit_ok);
  fs::remove_all(outdir());
  expect_error(comp + "files = [ { name = \"" + std::string(27, 'n') + "\", src = \"f\" } ]\n", 12, 20,
               "invalid file name");
  // kMaxBlobs files on a component without a guest; one more is refused at it.
  std::string files = "files = [";
  for (uint32_t i = 0; i < L::kMaxBlobs; ++i) files += " { name = \"f" + std::to_string(i) + "\", src = \"f\" },";
  EXPECT_EQ(run(comp + files + " ]\n").status, c::exit_ok);
  EXPECT_EQ(open_manifest().component(1).blob_count, L::kMaxBlobs);
  fs::remove_all(outdir());
  const int col = int(files.size()) + 2;
  expect_error(comp + files + " { name = \"g\", src = \"f\" } ]\n", 12, col,
               "component 'a' would get 9 blobs (0 of its guest, 9 files); its info page holds 8");
  // The booter cannot have files.
  expect_error(std::string("[system]\nname = \"t\"\n\n[[component]]\nname = \"booter\"\nimage = \"booter\"\n"
                           "constructor = \"kernel\"\nfiles = [ { name = \"x\", src = \"f\" } ]\n"),
               8, 1, "the kernel-constructed component 'booter' cannot have 'files'");
}

TEST_F(FilesTest, Ext2ImagesComeFromTheCommandLine) {
  fs::create_directories(scripts() / "tree");
  const std::string text = std::string(prefix) + "[[component]]\nname = \"a\"\nimage = \"client\"\n"
                           "files = [ { name = \"root\", src = \"tree\", format = \"ext2\", size = \"64K\" } ]\n";
  // Without --file the composer cannot read the image ./cos compose builds.
  Outcome r = run(text);
  EXPECT_EQ(r.status, c::exit_failure);
  EXPECT_NE(r.err.find("--file a.root=<image>"), std::string::npos) << r.err;
  // An image of the wrong size or without the ext2 magic is unusable.
  std::vector<uint8_t> img(64 * 1024, 0);
  write_bytes(dir_ / "root.ext2", img);
  guest_inputs_.files["a.root"] = dir_ / "root.ext2";
  r = run(text);
  EXPECT_EQ(r.status, c::exit_failure);
  EXPECT_NE(r.err.find("no ext2 superblock"), std::string::npos) << r.err;
  img[1080] = 0x53;
  img[1081] = 0xef;
  write_bytes(dir_ / "root.ext2", std::vector<uint8_t>(img.begin(), img.end() - 4096));
  r = run(text);
  EXPECT_EQ(r.status, c::exit_failure);
  EXPECT_NE(r.err.find("it is 61440 bytes, not 65536"), std::string::npos) << r.err;
  write_bytes(dir_ / "root.ext2", img);
  r = run(text);
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  const m::Reader man = open_manifest();
  EXPECT_EQ(str(man.blob(1, 0).name), "file.root");
  EXPECT_EQ(read_bytes(outdir() / "a.file.root"), img);
  EXPECT_EQ(c::ext2_problem(img, 65536), "");
  EXPECT_NE(c::ext2_problem(img, 4096), "");
}

TEST_F(FilesTest, FileOptionOnTheCommandLine) {
  const char* argv[] = {"cos-composer", "s.toml", "out", "--images", "i", "--kernel", "k", "--file", "vm.root=/x/r.img"};
  const c::Options o = c::parse_args(9, argv);
  ASSERT_EQ(o.guest_inputs.files.size(), 1u);
  EXPECT_EQ(o.guest_inputs.files.at("vm.root"), fs::path("/x/r.img"));
  for (const char* bad : {"vm=/x", "vm.=/x", ".root=/x", "vm.root=", "vmroot"}) {
    const char* args[] = {"cos-composer", "s.toml", "out", "--images", "i", "--kernel", "k", "--file", bad};
    EXPECT_THROW(c::parse_args(9, args), c::UsageError) << bad;
  }
}

}  // namespace
