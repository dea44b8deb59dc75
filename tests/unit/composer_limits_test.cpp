// The composer against every limit of the boot path (cos/limits.hpp): each
// limit is accepted at its value and refused one past it, with the exact
// file:line:col and exit status 2; and the files a script names are only
// read when they are regular files of a bounded size.
#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <functional>
#include <future>
#include <limits>

#include "composer/bzimage.hpp"
#include "composer/size.hpp"
#include "cos/limits.hpp"
#include "unit/composer_fixture.hpp"

namespace {

namespace L = cos_limits;

// `n` more components named c0, c1, ... using image `image(i)`; returns the
// script and sets `line` to the line of the last [[component]] header.
std::string components(size_t n, const std::function<std::string(size_t)>& image, int& line) {
  std::string text = prefix;
  line = 8;
  for (size_t i = 0; i < n; ++i) {
    text += "[[component]]\nname = \"c" + std::to_string(i) + "\"\nimage = \"" + image(i) + "\"\n";
    line += 3;
  }
  line -= 2;  // the header of the last one
  return text;
}

class LimitsTest : public GuestTest {
 protected:
  // As GuestTest's, after removing the output of an earlier successful run.
  void expect_error(const std::string& text, int line, int col, const std::string& needle) {
    fs::remove_all(outdir());
    GuestTest::expect_error(text, line, col, needle);
  }
};

// --------------------------------------------------------------- the system

TEST_F(LimitsTest, SixtyFourComponentsTheBooterIncluded) {
  int line = 0;
  const std::string ok = components(L::kMaxComponents - 1, [](size_t) { return "client"; }, line);
  const Outcome r = run(ok);
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  EXPECT_EQ(open_manifest().component_count(), L::kMaxComponents);
  const std::string over = components(L::kMaxComponents, [](size_t) { return "client"; }, line);
  expect_error(over, line, 1, "at most 64 components per system, the booter included");
}

TEST_F(LimitsTest, ThirtyTwoBootModules) {
  // The manifest, booter.elf and 30 more images: 32 modules.
  for (int i = 0; i < 31; ++i) write_bytes(image("m" + std::to_string(i)), cos::test::component_elf(false));
  int line = 0;
  const std::string ok = components(30, [](size_t i) { return "m" + std::to_string(i); }, line);
  const Outcome r = run(ok);
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  const std::string cfg = read_text(outdir() / "grub.cfg");
  size_t modules = 0;
  for (size_t at = cfg.find("module2 "); at != std::string::npos; at = cfg.find("module2 ", at + 1)) ++modules;
  EXPECT_EQ(modules, L::kMaxBootModules) << cfg;
  // One image more: the 33rd module, at that component's image.
  const std::string over = components(31, [](size_t i) { return "m" + std::to_string(i); }, line);
  expect_error(over, line + 2, 9,
               "image 'm30.elf' is boot module 33: the system has 33 boot modules (the manifest, 32 component "
               "images, 0 guest files), but the kernel passes only the first 32 to the booter");
  // A shared image is one module.
  const Outcome shared = run(over + "[[component]]\nname = \"again\"\nimage = \"m0\"\n");
  EXPECT_EQ(shared.status, c::exit_script_error);
  // A guest's three files count too: the manifest, 29 images and a guest's 3 files make 33.
  const std::string guests = components(27, [](size_t i) { return "m" + std::to_string(i); }, line) +
                             "[[component]]\nname = \"vmm\"\nimage = \"client\"\nuntyped = \"300M\"\n"
                             "[component.guest]\nkernel = \"bz/vmlinuz\"\n";
  expect_error(guests, line + 7, 1,
               "guest file 'vmm.guest.bootloader' of component 'vmm' is boot module 33: the system has 33 boot "
               "modules (the manifest, 29 component images, 3 guest files)");
  // A component's files count too: the manifest, 30 images and 2 files make 33.
  write_text(dir_ / "scripts" / "f", "x");
  const std::string files = components(29, [](size_t i) { return "m" + std::to_string(i); }, line) +
                            "files = [ { name = \"one\", src = \"f\" },\n"
                            "          { name = \"two\", src = \"f\" } ]\n";
  expect_error(files, line + 4, 11,
               "file 'c28.file.two' of component 'c28' is boot module 33: the system has 33 boot modules (the "
               "manifest, 30 component images, 0 guest files, 2 files)");
}

TEST_F(LimitsTest, ImageNamesFitAModuleName) {
  const std::string name43(L::kMaxImageStemBytes, 'a');
  write_bytes(image(name43), cos::test::component_elf(false));
  write_bytes(dir_ / "scripts" / "lib" / (name43 + ".elf"), cos::test::component_elf(false));
  const std::string comp = std::string(prefix) + "[[component]]\nname = \"x\"\n";  // image on line 11
  Outcome r = run(comp + "image = \"" + name43 + "\"\n");
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  EXPECT_NE(read_text(outdir() / "grub.cfg").find(" " + name43 + ".elf\n"), std::string::npos);
  expect_error(comp + "image = \"" + name43 + "b\"\n", 11, 9,
               "invalid image name '" + name43 + "b' (must match [a-z][a-z0-9_-]* and be at most 43 characters)");
  r = run(comp + "image = \"lib/" + name43 + ".elf\"\n");
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  expect_error(comp + "image = \"lib/" + name43 + "b.elf\"\n", 11, 9,
               "invalid image file name '" + name43 + "b.elf' (must match [A-Za-z0-9_][A-Za-z0-9_.-]* and be at "
               "most 43 characters before \".elf\": it names a boot module)");
}

TEST_F(LimitsTest, ComponentsWithAGuestHaveShorterNames) {
  const std::string name30(L::kMaxGuestComponentNameBytes, 'v');
  auto vmm = [&](const std::string& name) {
    guest_inputs_.initramfs[name] = dir_ / "build" / "initramfs.cpio.gz";
    return std::string(prefix) + "[[component]]\nname = \"" + name +
           "\"\nimage = \"client\"\nuntyped = \"300M\"\n[component.guest]\nkernel = \"bz/vmlinuz\"\n";
  };
  const Outcome r = run(vmm(name30));
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  EXPECT_TRUE(fs::exists(outdir() / (name30 + ".guest.bootloader")));
  EXPECT_EQ((name30 + ".guest.bootloader").size(), L::kMaxModuleNameBytes);
  expect_error(vmm(name30 + "v"), 10, 8,
               "component name '" + name30 + "v' is 31 characters; a component with a guest may have at most 30 "
               "(its boot module '" + name30 + "v.guest.bootloader' must fit in 47 bytes)");
  // Without a guest 31 characters are fine.
  EXPECT_EQ(run(std::string(prefix) + "[[component]]\nname = \"" + name30 + "v\"\nimage = \"client\"\n").status,
            c::exit_ok);
}

// ------------------------------------------------------------- the info page

TEST_F(LimitsTest, SixteenParams) {
  std::string params = std::string(prefix) + "[component.params]\n";  // keys from line 10
  for (unsigned i = 0; i < L::kMaxParams; ++i) params += "p" + std::to_string(i) + " = " + std::to_string(i) + "\n";
  const Outcome r = run(params);
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  EXPECT_EQ(open_manifest().component(0).param_count, L::kMaxParams);
  expect_error(params + "extra = true\n", 26, 1, "at most 16 parameters per component (its info page holds no more)");
}

TEST_F(LimitsTest, ParamKeysAndValues) {
  const std::string head = std::string(prefix) + "[component.params]\n";  // line 10
  const std::string key31(L::kMaxParamKeyBytes, 'k'), value95(L::kMaxParamValueBytes, 'v');
  const Outcome r = run(head + key31 + " = \"" + value95 + "\"\n");
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  m::Reader man = open_manifest();
  EXPECT_EQ(str(man.param(0, 0).key), key31);
  EXPECT_EQ(str(man.param(0, 0).value), value95);
  expect_error(head + key31 + "k = 1\n", 10, 1,
               "invalid parameter name '" + key31 + "k' (must match [a-z][a-z0-9_]* and be at most 31 characters)");
  expect_error(head + "long = \"" + value95 + "v\"\n", 10, 8,
               "parameter 'long' is 96 bytes long; a component's info page holds at most 95");
}

// ------------------------------------------------------ the address space

TEST_F(LimitsTest, StackEndsAboveTheInfoPage) {
  const std::string comp = std::string(prefix) + "[[component]]\nname = \"x\"\nimage = \"client\"\n";  // line 12
  const Outcome r = run(comp + "stack = " + std::to_string(L::kMaxStackBytes) + "\n");
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  EXPECT_EQ(open_manifest().component(1).stack_bytes, L::kMaxStackBytes);
  expect_error(comp + "stack = " + std::to_string(L::kMaxStackBytes + 4096) + "\n", 12, 9,
               "'stack' must be between 4K and 262132K, not 262136K");
  expect_error(comp + "stack = \"1G\"\n", 12, 9, "'stack' must be between 4K and 262132K, not 1G");
}

TEST_F(LimitsTest, ImagesMustNotCoverWhatTheBooterMaps) {
  auto image_at = [&](const std::string& name, uint64_t vaddr) {
    cos::test::ElfSpec spec;
    spec.entry = vaddr;
    spec.segments = {cos::test::SegmentSpec{1, 5, vaddr, 0x2000, 0x100, 0}};
    write_bytes(image(name), cos::test::build_elf(spec));
  };
  image_at("at_info", L::kInfoVaddr - 0x1000);
  image_at("at_stack", L::kStackTop - 0x1000);
  image_at("at_heap", 2 * L::kHeapStride);  // manifest index 1
  image_at("at_blob", L::kBlobWindow + L::kBlobStride);
  image_at("below_stack", L::kStackTop - 0x6000);  // ends 16K below the top: just clear of a 16K stack
  const std::string comp = std::string(prefix) + "[[component]]\nname = \"x\"\n";  // image on line 11
  expect_error(comp + "image = \"at_info\"\n", 11, 9,
               "has a segment at 0xffff000-0x10000fff that overlaps its info page (0x10000000-0x10001fff), where "
               "the booter maps it");
  expect_error(comp + "image = \"at_stack\"\n", 11, 9, "overlaps its stack (0x1fffc000-0x1fffffff)");
  expect_error(comp + "image = \"at_heap\"\n", 11, 9, "overlaps its heap (0x200000000-0x20000ffff)");
  const Outcome ok = run(comp + "image = \"below_stack\"\n");
  EXPECT_EQ(ok.status, c::exit_ok) << ok.err;
  expect_error(comp + "image = \"below_stack\"\nstack = \"20K\"\n", 11, 9, "overlaps its stack");
  // Blob windows only matter for a component that has blobs.
  EXPECT_EQ(run(comp + "image = \"at_blob\"\n").status, c::exit_ok);
  expect_error(comp + "image = \"at_blob\"\nuntyped = \"300M\"\n[component.guest]\nkernel = \"bz/vmlinuz\"\n"
                      "initramfs = \"i.cpio\"\n",
               11, 9,
               "overlaps its blob 'guest.initramfs' (0x200100000000-0x200100000fff)");
  // The booter's image against the kernel's layout.
  expect_error("[system]\nname = \"t\"\n[[component]]\nname = \"booter\"\nimage = \"at_stack\"\n"
               "constructor = \"kernel\"\n",
               5, 9, "overlaps the booter's stack and its guard page (0x1ffef000-0x1fffffff), where the kernel maps it");
}

// ------------------------------------------------------------------ guests

TEST_F(LimitsTest, GuestRamLeavesRoomForTheVmmsTables) {
  // 256M of RAM: 65536 pages, 2 x (128 + 1 + 1 + 1 + 1) table pages, VM 2, vCPU 3 + 1 + 1.
  const uint64_t needed = (256ull << 20) + 271 * 4096;
  EXPECT_EQ(L::guest_untyped_needed(256ull << 20), needed);
  auto vmm = [&](uint64_t untyped) {
    return std::string(prefix) + "[[component]]\nname = \"vmm\"\nimage = \"client\"\nuntyped = " +
           std::to_string(untyped) + "\n[component.guest]\nkernel = \"bz/vmlinuz\"\nram = \"256M\"\n";
  };
  const Outcome r = run(vmm(needed));
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  expect_error(vmm(needed - 4096), 15, 7,
               "component 'vmm' runs a guest with 256M of RAM but is granted 263224K of untyped memory (guest RAM "
               "is made from the VMM's 'untyped' grant, which must also hold the VMM's page tables and VM objects "
               "for it: at least 263228K)");
  expect_error(vmm(256ull << 20), 15, 7, "is granted 256M of untyped memory");
}

// A guest's untyped grant must fit one contiguous range of the machine's
// RAM (QEMU pc: 3 GiB below 4 GiB, the rest from 4 GiB; 1/128 of it page
// metadata): a 16 GiB guest composes in a 20G machine, not in a 19G one.
TEST_F(LimitsTest, GuestUntypedFitsTheLargestHostRamRange) {
  EXPECT_EQ(L::largest_host_ram_run(512ull << 20), (512ull << 20) - (4ull << 20));
  EXPECT_EQ(L::largest_host_ram_run(3584ull << 20), (3ull << 30) - (24ull << 20));  // 3.5G: split at 3 GiB
  EXPECT_EQ(L::largest_host_ram_run(8ull << 30), (5ull << 30) - (40ull << 20));
  const uint64_t ram = 16ull << 30, needed = L::guest_untyped_needed(ram);
  auto vmm = [&](const std::string& memory) {
    return prefix_with_memory(memory) + "[[component]]\nname = \"vmm\"\nimage = \"client\"\nuntyped = " +
           std::to_string((needed + 4095) / 4096 * 4096) + "\n[component.guest]\nkernel = \"bz/vmlinuz\"\nram = \"16G\"\n";
  };
  const Outcome r = run(vmm("20G"));
  ASSERT_EQ(r.status, c::exit_ok) << r.err;
  EXPECT_EQ(open_manifest().component(1).guest_ram_bytes, ram);
  expect_error(vmm("19G"), 15, 7,
               "component 'vmm' runs a guest with 16G of RAM from " + c::format_size((needed + 4095) / 4096 * 4096) +
                   " of untyped memory, but with [system] memory = 19G the largest contiguous host RAM is below");
}

TEST_F(LimitsTest, GuestRamAboveThreeGibStartsAtFourGib) {
  EXPECT_EQ(L::guest_low_ram(2ull << 30), 2ull << 30);
  EXPECT_EQ(L::guest_high_ram(2ull << 30), 0u);
  EXPECT_EQ(L::guest_low_ram(5ull << 30), 3ull << 30);
  EXPECT_EQ(L::guest_high_ram(5ull << 30), 2ull << 30);
  // The VMM's tables for the second range: one more page table and directory per space.
  EXPECT_EQ(L::guest_untyped_needed(5ull << 30) - (5ull << 30), L::guest_untyped_needed(3ull << 30) - (3ull << 30) +
                                                                    4096 * 2 * ((2ull << 30) / (2ull << 20) + 2 + 2));
}

TEST_F(LimitsTest, CmdlineFitsTheKernelsCmdlineSize) {
  std::vector<uint8_t> bz = fake_bzimage();
  put_le(bz, 0x238, 16, 4);
  write_bytes(dir_ / "scripts" / "short_cmdline", bz);
  const std::string g = guest("kernel = \"short_cmdline\"\n");  // line 14
  EXPECT_EQ(run(g + "cmdline = \"" + std::string(16, 'c') + "\"\n").status, c::exit_ok);
  expect_error(g + "cmdline = \"" + std::string(17, 'c') + "\"\n", 15, 11,
               "the command line is 17 bytes; the guest kernel takes at most 16 (its cmdline_size)");
  // The default command line (84 bytes) is checked too, at [component.guest].
  expect_error(g, 13, 1, "the command line is 84 bytes; the guest kernel takes at most 16");
}

TEST_F(LimitsTest, InitramfsPlacedBelowTheBootProtocolsLimit) {
  // A kernel running up to 0x37000000 in 1018M of RAM: the RAM is enough, but
  // a 32M initramfs does not fit between it and 0x38000000.
  std::vector<uint8_t> bz = fake_bzimage(0x020f, 1, 4, 0x10000, 0x7000000);
  put_le(bz, 0x258, 0x30000000, 8);
  write_bytes(dir_ / "scripts" / "high", bz);
  std::vector<uint8_t> big(32u << 20, '0');
  std::memcpy(big.data(), "070701", 6);
  write_bytes(dir_ / "scripts" / "big.cpio", big);
  const std::string vmm = prefix_with_memory("2G") +
                          "[[component]]\nname = \"vmm\"\nimage = \"client\"\nuntyped = \"1G\"\n"
                          "[component.guest]\nkernel = \"high\"\nram = \"1018M\"\n";  // initramfs on line 16
  std::vector<uint8_t> small(4u << 20, '0');
  std::memcpy(small.data(), "070701", 6);
  write_bytes(dir_ / "scripts" / "small.cpio", small);
  EXPECT_EQ(run(vmm + "initramfs = \"small.cpio\"\n").status, c::exit_ok);
  expect_error(vmm + "initramfs = \"big.cpio\"\n", 16, 13,
               "the guest initramfs (33554432 bytes) does not fit between its kernel (up to 0x37000000) and "
               "0x38000000, below which the VMM puts it");
  // A kernel whose initrd_addr_max is lower than where the VMM puts it: in
  // 256M the initramfs ends at 0xfffffff.
  const std::string low_script = guest("kernel = \"low_initrd_max\"\ninitramfs = \"small.cpio\"\nram = \"256M\"\n");
  std::vector<uint8_t> low = fake_bzimage();
  put_le(low, 0x22c, 0x0fffffff, 4);
  write_bytes(dir_ / "scripts" / "low_initrd_max", low);
  EXPECT_EQ(run(low_script).status, c::exit_ok);
  put_le(low, 0x22c, 0x0ffffffe, 4);
  write_bytes(dir_ / "scripts" / "low_initrd_max", low);
  expect_error(low_script, 15, 13,
               "the guest initramfs would end at 0xfffffff, above the guest kernel's initrd_addr_max 0xffffffe");
}

TEST(GuestLayout, InitrdPlacement) {
  EXPECT_EQ(c::guest_initrd_gpa(256u << 20, 4096), (256u << 20) - 4096);
  EXPECT_EQ(c::guest_initrd_gpa(256u << 20, 4097), (256u << 20) - 8192);
  EXPECT_EQ(c::guest_initrd_gpa(2ull << 30, 4096), L::kGuestInitrdTop - 4096);  // capped
  EXPECT_EQ(c::guest_initrd_gpa(16u << 20, 17u << 20), std::numeric_limits<uint64_t>::max());
}

// ------------------------------------------------------------------ bzImage

// The first 2 KiB of a kernel whose header says it is 14 MB: a truncated file.
TEST(BzImage, SyssizeRefusesATruncatedFile) {
  std::vector<uint8_t> bz = fake_bzimage(0x020f, 1, 1, 1024);
  EXPECT_EQ(bz.size(), 2048u);
  EXPECT_EQ(c::bzimage_problem(bz), "");
  put_le(bz, 0x1f4, 885536, 4);
  EXPECT_EQ(c::bzimage_problem(bz),
            "it is 2048 bytes, but its setup code and syssize (0x1f4) say 14169600 (1024 + 885536 * 16): truncated?");
  put_le(bz, 0x1f4, 65, 4);  // one paragraph too many
  EXPECT_NE(c::bzimage_problem(bz).find("truncated?"), std::string::npos);
  put_le(bz, 0x1f4, 0, 4);
  EXPECT_EQ(c::bzimage_problem(bz), "syssize (0x1f4) is 0: it has no protected-mode code");
  // A longer file is fine (Debian's kernel carries a signature after the code).
  std::vector<uint8_t> longer = fake_bzimage();
  longer.resize(longer.size() + 1472, 0);
  EXPECT_EQ(c::bzimage_problem(longer), "");
}

TEST(BzImage, PayloadMustBeAKernel) {
  std::vector<uint8_t> bz = fake_bzimage(0x020f, 1, 1, 1024);
  put_le(bz, 0x24c, 0, 4);
  EXPECT_EQ(c::bzimage_problem(bz), "payload_length (0x24c) is 0: it has no kernel payload");
  bz = fake_bzimage(0x020f, 1, 1, 1024);
  put_le(bz, 0x24c, 1024 - 0x100 + 1, 4);
  EXPECT_EQ(c::bzimage_problem(bz), "its payload (payload_offset 0x100, payload_length 0x301) ends beyond its "
                                    "protected-mode code (0x400 bytes)");
  bz = fake_bzimage(0x020f, 1, 1, 1024);
  bz[1024 + 0x100] = 0x00;  // a 2 KiB "bzImage" of zeros behind a header
  EXPECT_EQ(c::bzimage_problem(bz), "its payload at 0x500 has no gzip, bzip2, LZMA, XZ, LZ4, ZSTD or ELF magic number");
  for (std::vector<uint8_t> magic : {std::vector<uint8_t>{0x1f, 0x9e}, std::vector<uint8_t>{0x42, 0x5a},
                                     std::vector<uint8_t>{0x5d, 0x00}, std::vector<uint8_t>{0xfd, 0x37},
                                     std::vector<uint8_t>{0x02, 0x21}, std::vector<uint8_t>{0x28, 0xb5},
                                     std::vector<uint8_t>{0x7f, 'E', 'L', 'F'}}) {
    std::copy(magic.begin(), magic.end(), bz.begin() + 1024 + 0x100);
    EXPECT_EQ(c::bzimage_problem(bz), "") << int(magic[0]);
  }
  // Protocol 2.07 has no payload fields.
  bz = fake_bzimage(0x0207, 1, 1, 1024);
  bz[1024 + 0x100] = 0x00;
  EXPECT_EQ(c::bzimage_problem(bz), "");
}

TEST(BzImage, InitSizeAndAlignment) {
  EXPECT_EQ(c::bzimage_problem(fake_bzimage(0x020f, 1, 4, 0x10000, 0xffff)),
            "init_size (0x260) 0xffff is smaller than its protected-mode code (0x10000 bytes)");
  std::vector<uint8_t> bz = fake_bzimage();
  put_le(bz, 0x230, 0x300000, 4);
  EXPECT_EQ(c::bzimage_problem(bz), "kernel_alignment (0x230) 0x300000 of a relocatable kernel is not a power of two");
  bz[0x234] = 0;  // not relocatable: the alignment does not matter
  EXPECT_EQ(c::bzimage_problem(bz), "");
}

TEST(BzImage, RuntimeAreaBelow4GiBWithoutOverflow) {
  // pref_address near 2^64: pref + init_size wraps around in 64 bits.
  std::vector<uint8_t> bz = fake_bzimage();
  put_le(bz, 0x258, 0xfffffffffffff000ull, 8);
  EXPECT_EQ(c::bzimage_problem(bz),
            "pref_address (0x258) 0xfffffffffffff000 is above 4 GiB: the 32-bit guest bootloader cannot start it");
  EXPECT_EQ(c::guest_kernel_end(bz), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(c::guest_ram_needed(bz, 4096), std::numeric_limits<uint64_t>::max());
  bz[0x234] = 0;  // not relocatable: runs at pref_address itself
  EXPECT_EQ(c::guest_kernel_end(bz), std::numeric_limits<uint64_t>::max());
  EXPECT_NE(c::bzimage_problem(bz).find("above 4 GiB"), std::string::npos);
  // Just below 4 GiB; ending at 4 GiB is too far (the bootloader adds in 32 bits).
  put_le(bz, 0x258, 0xffe00000, 8);
  EXPECT_EQ(c::guest_kernel_end(bz), 0xfff00000ull);
  EXPECT_EQ(c::bzimage_problem(bz), "");
  put_le(bz, 0x258, 0xfff00000, 8);
  EXPECT_EQ(c::guest_kernel_end(bz), 0x100000000ull);
  EXPECT_EQ(c::bzimage_problem(bz),
            "it runs from 0xfff00000 (pref_address 0xfff00000, init_size 0x100000) up to 0x100000000, beyond the "
            "4 GiB the 32-bit guest bootloader can reach");
}

TEST(BzImage, RuntimeStartFollowsBootRst) {
  // Relocatable: max(load address 1 MiB, pref_address) aligned up to kernel_alignment.
  std::vector<uint8_t> bz = fake_bzimage(0x020f, 1, 4, 0x10000, 0x100000);
  put_le(bz, 0x258, 0x1100000, 8);
  put_le(bz, 0x230, 0x400000, 4);
  EXPECT_EQ(c::guest_kernel_end(bz), 0x1400000u + 0x100000);
  put_le(bz, 0x258, 0, 8);  // no preference: from the load address, aligned
  EXPECT_EQ(c::guest_kernel_end(bz), 0x400000u + 0x100000);
  // Not relocatable: at pref_address, or where the bootloader assumes (>= 1 MiB).
  bz[0x234] = 0;
  EXPECT_EQ(c::guest_kernel_end(bz), 0x100000u + 0x100000);
  put_le(bz, 0x258, 0x2000000, 8);
  EXPECT_EQ(c::guest_kernel_end(bz), 0x2000000u + 0x100000);
  // The protected-mode code alone when it is larger.
  EXPECT_EQ(c::guest_kernel_end(fake_bzimage(0x0209, 1, 4, 0x200000)), 0x100000u + 0x200000);
}

TEST_F(LimitsTest, TwoKibBzImageIsRefusedAtComposeTime) {
  std::vector<uint8_t> bz = fake_bzimage(0x020f, 1, 1, 1024);
  put_le(bz, 0x1f4, 885536, 4);  // the header of a 14 MB kernel, cut at 2 KiB
  write_bytes(dir_ / "scripts" / "two_kib", bz);
  expect_error(guest("kernel = \"two_kib\"\n"), 14, 10, "is not a bzImage: it is 2048 bytes, but its setup code and "
                                                       "syssize (0x1f4) say 14169600");
}

// ------------------------------------------------------------- input files

TEST_F(LimitsTest, OverlaySourcesAreRegularFilesOrDirectories) {
  const fs::path fifo = dir_ / "scripts" / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  fs::create_directories(dir_ / "scripts" / "tree" / "sub");
  write_text(dir_ / "scripts" / "tree" / "sub" / "ok.sh", "echo\n");
  const std::string ov = "overlays = [{ src = \"";  // src value at 14:21
  EXPECT_EQ(run(guest(ov + "tree\", dst = \"/t\" }]\n")).status, c::exit_ok);
  expect_error(guest(ov + "/dev/zero\", dst = \"/z\" }]\n"), 14, 21,
               "overlay source '/dev/zero' is a character device, not a regular file or directory");
  expect_error(guest(ov + "fifo\", dst = \"/f\" }]\n"), 14, 21,
               "overlay source '" + fifo.string() + "' is a FIFO, not a regular file or directory");
  ASSERT_EQ(::mkfifo((dir_ / "scripts" / "tree" / "sub" / "pipe").c_str(), 0600), 0);
  expect_error(guest(ov + "tree\", dst = \"/t\" }]\n"), 14, 21,
               "overlay source '" + (dir_ / "scripts" / "tree").string() + "' contains '" +
                   (dir_ / "scripts" / "tree" / "sub" / "pipe").string() +
                   "', which is a FIFO, not a regular file or directory");
}

TEST_F(LimitsTest, OverlaysMayNotHoldMoreThanGuestRam) {
  // Sparse files: their size is checked, never read.
  {
    std::ofstream(dir_ / "scripts" / "a.bin");
    std::ofstream(dir_ / "scripts" / "b.bin");
  }
  fs::resize_file(dir_ / "scripts" / "a.bin", 128u << 20);
  fs::resize_file(dir_ / "scripts" / "b.bin", (128u << 20) + 1);
  const std::string g = guest("ram = \"256M\"\noverlays = [\n  { src = \"a.bin\", dst = \"/a\" },\n");  // line 16
  EXPECT_EQ(run(g + "]\n").status, c::exit_ok);
  expect_error(g + "  { src = \"b.bin\", dst = \"/b\" },\n]\n", 17, 11,
               "the overlays up to this one hold 268435457 bytes, more than the guest's 256M of RAM");
}

TEST_F(LimitsTest, GuestFilesMustBeRegular) {
  const fs::path fifo = dir_ / "scripts" / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_error(guest("kernel = \"/dev/zero\"\n"), 14, 10,
               "guest kernel '/dev/zero' is not a regular file (it is a character device)");
  expect_error(guest("initramfs = \"fifo\"\n"), 14, 13,
               "guest initramfs '" + fifo.string() + "' is not a regular file (it is a FIFO)");
  expect_error(guest("bootloader = \"/dev/zero\"\n"), 14, 14, "is not a regular file (it is a character device)");
}

TEST_F(LimitsTest, ReadsAreBoundedBeforeReading) {
  // A sparse 3 GiB "kernel": more than fits above 64 MiB in the largest guest RAM.
  {
    std::ofstream(dir_ / "scripts" / "huge");
  }
  fs::resize_file(dir_ / "scripts" / "huge", L::kGuestLowRamTop);
  expect_error(guest("kernel = \"huge\"\n"), 14, 10,
               "guest kernel '" + (dir_ / "scripts" / "huge").string() +
                   "' is 3221225472 bytes; at most 3008M fit in the largest guest RAM (3G) above 64 MiB");
  // Boot modules together must fit the machine's RAM: a 32M image in 16M.
  {
    std::ofstream(image("fat"));
  }
  fs::resize_file(image("fat"), 32u << 20);
  expect_error("[system]\nname = \"t\"\nmemory = \"16M\"\n[[component]]\nname = \"booter\"\nimage = \"fat\"\n"
               "constructor = \"kernel\"\n",
               6, 9,
               "image file '" + image("fat").string() + "' is 33554432 bytes: the boot modules (component images and "
               "guest files) together must fit in the machine's 16M of RAM ([system] memory) below 4 GiB, where GRUB "
               "loads them; 16M of that is left");
}

TEST_F(LimitsTest, ScriptIsNeverWaitedFor) {
  const fs::path fifo = dir_ / "script.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  c::Options o = options(prefix);
  o.script = fifo.string();
  auto done = std::async(std::launch::async, [&] { return run(o); });
  if (done.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    // Unblock the reader so the test fails instead of hanging.
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    FAIL() << "the composer blocked reading a FIFO script";
  }
  const Outcome r = done.get();
  EXPECT_EQ(r.status, c::exit_failure);
  EXPECT_NE(r.err.find("cannot read script '" + fifo.string() + "': it is a FIFO, not a regular file"),
            std::string::npos)
      << r.err;
}

}  // namespace
