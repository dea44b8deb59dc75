// Unit tests for the boot manifest codec (src/components/lib/manifest).
#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>

#include "manifest/crc32.hpp"
#include "manifest/format.hpp"
#include "manifest/manifest_reader.hpp"
#include "manifest/manifest_writer.hpp"
#include "unit/test_rng.hpp"

namespace {

namespace m = cos::manifest;
namespace f = cos::manifest::format;
using m::Error;
using m::Reader;

std::string str(m::Str s) { return std::string(s.data, s.size); }

m::System sample() {
  m::System sys;
  sys.name = "hello";
  m::Component booter;
  booter.name = "booter";
  booter.image = "booter.elf";
  booter.priority = 0;
  booter.heap_bytes = 1 << 20;
  booter.stack_bytes = 16384;
  booter.constructed_by_kernel = true;
  m::Component pong;
  pong.name = "pong";
  pong.image = "pong.elf";
  pong.priority = 10;
  pong.heap_bytes = 65536;
  pong.stack_bytes = 8192;
  pong.sinv_entry = 0x401234;
  pong.implements = {"pong", "stats"};
  pong.params = {{"greeting", "hi there"}, {"empty", ""}};
  pong.untyped_bytes = 4u << 20;
  pong.caps_mask = m::kCapCaptbl | m::kCapComp;
  pong.timer = true;
  m::Component ping;
  ping.name = "ping";
  ping.image = "ping.elf";
  ping.priority = 255;
  ping.heap_bytes = 4096;
  ping.stack_bytes = 4096;
  ping.deps = {{"stats", 1, 1}, {"pong", 1, 0}};
  ping.params = {{"count", "3"}, {"verbose", "true"}, {"utf8", "gr\xc3\xbc\xc3\x9f"}};
  ping.caps_mask = m::kCapPgtbl;
  ping.ioports = {{0x70, 2}, {0x3f8, 8}, {0xffff, 1}};
  ping.irqs = {8, 4, 0};
  m::Component vmm;
  vmm.name = "vmm";
  vmm.image = "simple_vmm.elf";
  vmm.heap_bytes = 4096;
  vmm.stack_bytes = 4096;
  vmm.untyped_bytes = 300u << 20;
  vmm.blobs = {{"guest.kernel", "vmm.guest.kernel"},
               {"guest.initramfs", "vmm.guest.initramfs"},
               {"guest.bootloader", "vmm.guest.bootloader"},
               {"file.disk", "vmm.file.disk", true}};
  vmm.guest_ram_bytes = 256u << 20;
  vmm.guest_cmdline = "console=ttyS0 acpi=off";
  vmm.essential = true;
  vmm.guest_kind = f::guest_kind_multiboot;
  vmm.guest_debug_exit = true;
  vmm.priority_ceiling = 100;
  sys.components = {booter, pong, ping, vmm};
  sys.channels = {{"disk0", {3, 1}, 256 * 1024}, {"net", {2, 3}, 8192}};
  return sys;
}

void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  for (int i = 0; i < 2; ++i) b[at + size_t(i)] = uint8_t(v >> (8 * i));
}
void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + size_t(i)] = uint8_t(v >> (8 * i));
}
uint32_t get32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 | uint32_t(b[at + 3]) << 24;
}
// Recomputes the checksum after a deliberate edit, so the structural checks run.
void restamp(std::vector<uint8_t>& b) {
  put32(b, f::h_checksum, 0);
  put32(b, f::h_checksum, m::crc32(b.data(), get32(b, f::h_total_size)));
}
Error open(const std::vector<uint8_t>& b) {
  Reader r;
  return Reader::open(b.data(), b.size(), r);
}

TEST(Crc32, KnownVectors) {
  EXPECT_EQ(m::crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(m::crc32("", 0), 0u);
  EXPECT_EQ(m::crc32("6789", 4, m::crc32("12345", 5)), 0xCBF43926u);
}

TEST(Manifest, RoundTrip) {
  const auto bytes = m::encode(sample());
  ASSERT_EQ(bytes.size() % 8, 0u);
  Reader r;
  ASSERT_EQ(Reader::open(bytes.data(), bytes.size(), r), Error::ok);
  EXPECT_EQ(r.size(), bytes.size());
  EXPECT_EQ(str(r.system_name()), "hello");
  ASSERT_EQ(r.component_count(), 4u);

  const m::ComponentView b = r.component(0);
  EXPECT_EQ(str(b.name), "booter");
  EXPECT_EQ(str(b.image), "booter.elf");
  EXPECT_EQ(b.priority, 0u);
  EXPECT_EQ(b.heap_bytes, 1u << 20);
  EXPECT_EQ(b.stack_bytes, 16384u);
  EXPECT_EQ(b.sinv_entry, 0u);
  EXPECT_TRUE(b.constructed_by_kernel);
  EXPECT_EQ(b.implements_count + b.dep_count + b.param_count, 0u);
  EXPECT_EQ(b.untyped_bytes, 0u);
  EXPECT_EQ(b.caps_mask, 0u);
  EXPECT_FALSE(b.timer);
  EXPECT_EQ(b.ioport_count + b.irq_count + b.blob_count, 0u);
  EXPECT_EQ(b.guest_ram_bytes, 0u);
  EXPECT_EQ(str(b.guest_cmdline), "");
  EXPECT_EQ(b.guest_cmdline.data[0], '\0');

  const m::ComponentView pong = r.component(1);
  EXPECT_EQ(str(pong.name), "pong");
  EXPECT_EQ(pong.priority, 10u);
  EXPECT_EQ(pong.sinv_entry, 0x401234u);
  EXPECT_FALSE(pong.constructed_by_kernel);
  ASSERT_EQ(pong.implements_count, 2u);
  EXPECT_EQ(str(r.implements(1, 0)), "pong");
  EXPECT_EQ(str(r.implements(1, 1)), "stats");
  ASSERT_EQ(pong.param_count, 2u);
  EXPECT_EQ(str(r.param(1, 0).key), "greeting");
  EXPECT_EQ(str(r.param(1, 0).value), "hi there");
  EXPECT_EQ(str(r.param(1, 1).value), "");
  EXPECT_EQ(r.param(1, 1).value.data[0], '\0');
  EXPECT_EQ(pong.untyped_bytes, 4u << 20);
  EXPECT_EQ(pong.caps_mask, m::kCapCaptbl | m::kCapComp);
  EXPECT_TRUE(pong.timer);
  EXPECT_EQ(pong.ioport_count + pong.irq_count, 0u);

  const m::ComponentView ping = r.component(2);
  EXPECT_EQ(ping.priority, 255u);
  ASSERT_EQ(ping.dep_count, 2u);
  EXPECT_EQ(str(r.dep(2, 0).interface), "stats");
  EXPECT_EQ(r.dep(2, 0).server, 1u);
  EXPECT_EQ(r.dep(2, 0).token, 1u);
  EXPECT_EQ(str(r.dep(2, 1).interface), "pong");
  EXPECT_EQ(r.dep(2, 1).token, 0u);
  EXPECT_EQ(str(r.param(2, 2).value), "gr\xc3\xbc\xc3\x9f");
  EXPECT_EQ(ping.untyped_bytes, 0u);
  EXPECT_EQ(ping.caps_mask, m::kCapPgtbl);
  EXPECT_FALSE(ping.timer);
  ASSERT_EQ(ping.ioport_count, 3u);
  EXPECT_EQ(r.ioport(2, 0).first, 0x70u);
  EXPECT_EQ(r.ioport(2, 0).count, 2u);
  EXPECT_EQ(r.ioport(2, 1).first, 0x3f8u);
  EXPECT_EQ(r.ioport(2, 1).count, 8u);
  EXPECT_EQ(r.ioport(2, 2).first, 0xffffu);
  EXPECT_EQ(r.ioport(2, 2).count, 1u);
  ASSERT_EQ(ping.irq_count, 3u);  // in script order
  EXPECT_EQ(r.irq(2, 0), 8u);
  EXPECT_EQ(r.irq(2, 1), 4u);
  EXPECT_EQ(r.irq(2, 2), 0u);
  EXPECT_EQ(ping.blob_count, 0u);
  EXPECT_EQ(ping.guest_ram_bytes, 0u);

  const m::ComponentView vmm = r.component(3);
  EXPECT_EQ(str(vmm.name), "vmm");
  EXPECT_EQ(vmm.guest_ram_bytes, 256u << 20);
  EXPECT_EQ(str(vmm.guest_cmdline), "console=ttyS0 acpi=off");
  EXPECT_TRUE(vmm.essential);
  EXPECT_EQ(vmm.guest_kind, f::guest_kind_multiboot);
  EXPECT_TRUE(vmm.guest_debug_exit);
  EXPECT_EQ(vmm.priority_ceiling, 100u);
  EXPECT_FALSE(ping.essential);
  EXPECT_EQ(ping.guest_kind, f::guest_kind_linux);
  EXPECT_FALSE(ping.guest_debug_exit);
  ASSERT_EQ(vmm.blob_count, 4u);
  EXPECT_EQ(str(r.blob(3, 0).name), "guest.kernel");
  EXPECT_EQ(str(r.blob(3, 0).module), "vmm.guest.kernel");
  EXPECT_EQ(str(r.blob(3, 1).name), "guest.initramfs");
  EXPECT_EQ(str(r.blob(3, 2).module), "vmm.guest.bootloader");
  EXPECT_STREQ(r.blob(3, 2).name.data, "guest.bootloader");
  EXPECT_FALSE(r.blob(3, 2).writable);
  EXPECT_EQ(str(r.blob(3, 3).name), "file.disk");
  EXPECT_EQ(str(r.blob(3, 3).module), "vmm.file.disk");
  EXPECT_TRUE(r.blob(3, 3).writable);

  // Channels, in script order, with their ends in `ends` order.
  ASSERT_EQ(r.channel_count(), 2u);
  EXPECT_EQ(str(r.channel(0).name), "disk0");
  EXPECT_EQ(r.channel(0).end[0], 3u);
  EXPECT_EQ(r.channel(0).end[1], 1u);
  EXPECT_EQ(r.channel(0).bytes, 256u * 1024);
  EXPECT_EQ(str(r.channel(1).name), "net");
  EXPECT_EQ(r.channel(1).end[0], 2u);
  EXPECT_EQ(r.channel(1).end[1], 3u);
  EXPECT_EQ(r.channel(1).bytes, 8192u);

  // Strings are NUL-terminated C strings and deduplicated.
  EXPECT_STREQ(pong.name.data, "pong");
  EXPECT_EQ(r.implements(1, 0).data, r.dep(2, 1).interface.data);
}

// The byte layout FORMAT.md documents, checked on the encoded sample.
TEST(Manifest, LayoutMatchesFormat) {
  const auto b = m::encode(sample());
  auto u16at = [&](size_t at) { return unsigned(b[at] | b[at + 1] << 8); };
  auto u32at = [&](size_t at) {
    return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 | uint32_t(b[at + 3]) << 24;
  };
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "COSM");
  EXPECT_EQ(u16at(4), 5u);   // version
  EXPECT_EQ(u16at(6), 96u);  // header size
  EXPECT_EQ(u32at(8), b.size());
  EXPECT_EQ(u32at(16), 4u);   // components
  EXPECT_EQ(u32at(20), 96u);  // right after the header
  EXPECT_EQ(u32at(64), 3u);   // I/O-port ranges
  EXPECT_EQ(u32at(72), 3u);   // IRQ lines
  EXPECT_EQ(u32at(80), 4u);   // blobs
  EXPECT_EQ(u32at(88), 2u);   // channels
  const uint32_t ioports = u32at(68), irqs = u32at(76), blobs = u32at(84), channels = u32at(92),
                 strings = u32at(48);
  EXPECT_EQ(ioports % 8, 0u);
  EXPECT_EQ(irqs, ioports + 3 * 8);
  EXPECT_EQ(blobs, irqs + 3 * 4 + 4);  // padded to 8
  EXPECT_EQ(channels, blobs + 4 * 24);
  EXPECT_EQ(strings, channels + 2 * 24);
  EXPECT_EQ(u32at(blobs + 2 * 24 + 16), 0u);  // the bootloader: read-only
  EXPECT_EQ(u32at(blobs + 3 * 24 + 16), 1u);  // file.disk: writable
  EXPECT_EQ(u32at(blobs + 3 * 24 + 20), 0u);  // reserved
  EXPECT_EQ(u32at(channels + 8), 3u);         // disk0: end0 = vmm
  EXPECT_EQ(u32at(channels + 12), 1u);        // end1 = pong
  EXPECT_EQ(u32at(channels + 16), 256u * 1024);
  EXPECT_EQ(u32at(channels + 20), 0u);
  EXPECT_EQ(u32at(channels + 24 + 8), 2u);  // net: ping, vmm
  EXPECT_EQ(u32at(channels + 24 + 12), 3u);
  const uint32_t net_name = strings + u32at(channels + 24);
  EXPECT_EQ(u32at(channels + 24 + 4), 3u);
  EXPECT_EQ(std::string(b.begin() + net_name, b.begin() + net_name + 4), std::string("net\0", 4));
  EXPECT_EQ(u32at(ioports + 8), 0x3f8u);
  EXPECT_EQ(u32at(ioports + 12), 8u);
  EXPECT_EQ(u32at(irqs + 4), 4u);
  // Component records are 128 bytes; pong is record 1, ping record 2, vmm 3.
  const size_t pong = 96 + 128, ping = 96 + 2 * 128, vmm = 96 + 3 * 128;
  EXPECT_EQ(u32at(pong + 44), 2u);  // flags: timer, not kernel-constructed
  EXPECT_EQ(u32at(pong + 72), 4u << 20);
  EXPECT_EQ(u32at(pong + 76), 0u);
  EXPECT_EQ(u32at(pong + 80), 5u);  // captbl | comp
  EXPECT_EQ(u32at(96 + 44), 1u);    // the booter: kernel-constructed
  EXPECT_EQ(u32at(ping + 84), 0u);  // ioports_first
  EXPECT_EQ(u32at(ping + 88), 3u);  // ioports_count
  EXPECT_EQ(u32at(ping + 92), 0u);  // irqs_first
  EXPECT_EQ(u32at(ping + 96), 3u);  // irqs_count
  EXPECT_EQ(u32at(ping + 100), 0u);  // blobs_first
  EXPECT_EQ(u32at(ping + 104), 0u);  // blobs_count
  EXPECT_EQ(u16at(ping + 108), 128u);  // priority_ceiling (the writer's default)
  EXPECT_EQ(u16at(ping + 110), 0u);    // guest_kind: linux (no guest)
  EXPECT_EQ(u16at(vmm + 108), 100u);   // priority_ceiling
  EXPECT_EQ(u16at(vmm + 110), 1u);     // guest_kind: multiboot
  EXPECT_EQ(u32at(vmm + 44), 0x18u);   // flags: essential, guest debug-exit
  EXPECT_EQ(u32at(ping + 112), 0u);  // guest_ram_bytes
  EXPECT_EQ(u32at(ping + 124), 0u);  // guest_cmdline length
  EXPECT_EQ(u32at(vmm + 100), 0u);   // blobs_first
  EXPECT_EQ(u32at(vmm + 104), 4u);   // blobs_count
  EXPECT_EQ(u32at(vmm + 112), 256u << 20);
  EXPECT_EQ(u32at(vmm + 116), 0u);
  EXPECT_EQ(u32at(vmm + 124), 22u);  // strlen("console=ttyS0 acpi=off")
  const uint32_t cmdline = strings + u32at(vmm + 120);
  EXPECT_EQ(std::string(b.begin() + cmdline, b.begin() + cmdline + 22), "console=ttyS0 acpi=off");
  const uint32_t blob2_module = strings + u32at(blobs + 2 * 24 + 8);
  EXPECT_EQ(std::string(b.begin() + blob2_module, b.begin() + blob2_module + 20), "vmm.guest.bootloader");
}

TEST(Manifest, EmptySystemRoundTrips) {
  m::System sys;
  const auto bytes = m::encode(sys);
  Reader r;
  ASSERT_EQ(Reader::open(bytes.data(), bytes.size(), r), Error::ok);
  EXPECT_EQ(r.component_count(), 0u);
  EXPECT_EQ(str(r.system_name()), "");
}

TEST(Manifest, LookupHelpers) {
  const auto bytes = m::encode(sample());
  Reader r;
  ASSERT_EQ(Reader::open(bytes.data(), bytes.size(), r), Error::ok);
  uint32_t i = 99;
  EXPECT_TRUE(r.find_component("ping", i));
  EXPECT_EQ(i, 2u);
  EXPECT_FALSE(r.find_component("pin", i));
  EXPECT_FALSE(r.find_component("pingx", i));
  EXPECT_EQ(i, 2u);
  m::Str v{nullptr, 0};
  EXPECT_TRUE(r.find_param(2, "verbose", v));
  EXPECT_EQ(str(v), "true");
  EXPECT_FALSE(r.find_param(2, "greeting", v));
  EXPECT_FALSE(r.find_param(7, "count", v));
}

TEST(Manifest, StrEquals) {
  const m::Str s{"pong", 4};
  EXPECT_TRUE(s.equals("pong"));
  EXPECT_FALSE(s.equals("pon"));
  EXPECT_FALSE(s.equals("pongs"));
  EXPECT_FALSE(s.equals("ping"));
  EXPECT_FALSE(s.equals(""));
  EXPECT_FALSE(s.equals(nullptr));
  EXPECT_TRUE((m::Str{"", 0}).equals(""));
}

TEST(Manifest, OutOfRangeAccessorsAreEmpty) {
  const auto bytes = m::encode(sample());
  Reader r;
  ASSERT_EQ(Reader::open(bytes.data(), bytes.size(), r), Error::ok);
  const m::ComponentView c = r.component(4);
  EXPECT_EQ(c.name.size, 0u);
  ASSERT_NE(c.name.data, nullptr);
  EXPECT_EQ(c.implements_count + c.dep_count + c.param_count, 0u);
  EXPECT_EQ(r.implements(1, 2).size, 0u);
  EXPECT_EQ(r.implements(9, 0).size, 0u);
  EXPECT_EQ(r.dep(2, 2).interface.size, 0u);
  EXPECT_EQ(r.dep(0, 0).server, 0u);
  EXPECT_EQ(r.param(2, 3).key.size, 0u);
  EXPECT_EQ(c.untyped_bytes + c.caps_mask + c.ioport_count + c.irq_count, 0u);
  EXPECT_FALSE(c.timer);
  EXPECT_EQ(r.ioport(2, 3).first + r.ioport(2, 3).count, 0u);
  EXPECT_EQ(r.ioport(1, 0).count, 0u);
  EXPECT_EQ(r.ioport(7, 0).count, 0u);
  EXPECT_EQ(r.irq(2, 3), 0u);
  EXPECT_EQ(r.irq(1, 0), 0u);
  EXPECT_EQ(r.irq(7, 0), 0u);
  EXPECT_EQ(c.blob_count + c.guest_ram_bytes + c.guest_cmdline.size, 0u);
  ASSERT_NE(c.guest_cmdline.data, nullptr);
  EXPECT_EQ(r.blob(3, 4).name.size + r.blob(3, 4).module.size, 0u);
  EXPECT_FALSE(r.blob(3, 4).writable);
  EXPECT_EQ(r.channel(2).name.size + r.channel(2).end[0] + r.channel(2).end[1] + r.channel(2).bytes, 0u);
  ASSERT_NE(r.channel(2).name.data, nullptr);
  EXPECT_EQ(r.blob(2, 0).name.size, 0u);
  EXPECT_EQ(r.blob(9, 0).module.size, 0u);
  ASSERT_NE(r.blob(9, 0).module.data, nullptr);
  Reader unopened;
  EXPECT_EQ(unopened.component_count(), 0u);
  EXPECT_EQ(unopened.system_name().size, 0u);
  EXPECT_EQ(unopened.channel_count(), 0u);
}

TEST(Manifest, TrailingBytesAreIgnored) {
  auto bytes = m::encode(sample());
  bytes.resize(bytes.size() + 100, 0xcc);
  Reader r;
  ASSERT_EQ(Reader::open(bytes.data(), bytes.size(), r), Error::ok);
  EXPECT_EQ(r.size(), bytes.size() - 100);
}

TEST(Manifest, RejectsTruncation) {
  const auto bytes = m::encode(sample());
  Reader r;
  EXPECT_EQ(Reader::open(nullptr, 0, r), Error::too_small);
  for (size_t n = 0; n < bytes.size(); ++n) {
    const Error e = Reader::open(bytes.data(), n, r);
    EXPECT_EQ(e, n < f::header_size ? Error::too_small : Error::bad_size) << "length " << n;
  }
}

TEST(Manifest, RejectsEverySingleBitCorruption) {
  const auto good = m::encode(sample());
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto b = good;
      b[i] ^= uint8_t(1u << bit);
      const Error e = open(b);
      EXPECT_NE(e, Error::ok) << "byte " << i << " bit " << bit;
      if (i >= f::h_checksum + 4) {
        EXPECT_EQ(e, Error::bad_checksum);
      }
    }
  }
  auto b = good;
  b[0] = 'X';
  EXPECT_EQ(open(b), Error::bad_magic);
}

TEST(Manifest, RejectsOtherVersions) {
  auto b = m::encode(sample());
  for (unsigned v : {0u, 1u, 2u, 3u, 4u, 6u, 0x105u, 0xffffu}) {
    b[f::h_version] = uint8_t(v);
    b[f::h_version + 1] = uint8_t(v >> 8);
    restamp(b);
    EXPECT_EQ(open(b), Error::bad_version) << "version " << v;
  }
  b = m::encode(sample());
  b[f::h_header_size] = 64;
  restamp(b);
  EXPECT_EQ(open(b), Error::bad_version);
  b[f::h_header_size] = 80;  // version 2's
  restamp(b);
  EXPECT_EQ(open(b), Error::bad_version);
  b[f::h_header_size] = 88;  // versions 3 and 4's
  restamp(b);
  EXPECT_EQ(open(b), Error::bad_version);
}

// A version-1 manifest (64-byte header), even one shorter than a version-3
// header, is reported as the wrong version, not as truncated.
TEST(Manifest, RejectsShortVersion1Manifest) {
  std::vector<uint8_t> v1(72, 0);
  put32(v1, f::h_magic, f::magic);
  v1[f::h_version] = 1;
  v1[f::h_header_size] = 64;
  put32(v1, f::h_total_size, 72);
  put32(v1, f::h_components_offset, 64);
  put32(v1, f::h_strings_offset, 64);
  put32(v1, f::h_strings_size, 1);
  restamp(v1);
  EXPECT_EQ(open(v1), Error::bad_version);
  Reader r;
  EXPECT_EQ(Reader::open(v1.data(), 8, r), Error::bad_version);
  EXPECT_EQ(Reader::open(v1.data(), 7, r), Error::too_small);
}

TEST(Manifest, RejectsBadTotalSize) {
  auto b = m::encode(sample());
  put32(b, f::h_total_size, 10);
  EXPECT_EQ(open(b), Error::bad_size);
  put32(b, f::h_total_size, uint32_t(b.size() + 8));
  EXPECT_EQ(open(b), Error::bad_size);
}

// Applies `edit` to a fresh encoding, restamps the CRC and opens it.
template <typename Edit>
Error open_edited(Edit edit) {
  auto b = m::encode(sample());
  edit(b);
  restamp(b);
  return open(b);
}

size_t component_at(const std::vector<uint8_t>& b, uint32_t i) {
  return get32(b, f::h_components_offset) + size_t(i) * f::component_size;
}
size_t dep_at(const std::vector<uint8_t>& b, uint32_t i) { return get32(b, f::h_deps_offset) + size_t(i) * f::dep_size; }

TEST(Manifest, RejectsOutOfRangeTables) {
  using B = std::vector<uint8_t>;
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_components_offset, uint32_t(b.size())); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_components_offset, 8); }), Error::bad_offset);  // inside the header
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_component_count, 0x10000000); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_component_count, UINT32_MAX); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_implements_offset, UINT32_MAX - 4); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_deps_count, 1000); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_params_offset, uint32_t(b.size()) - 8); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_strings_size, get32(b, f::h_strings_size) + 64); }),
            Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_ioports_offset, 72); }), Error::bad_offset);  // inside the header
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_ioports_offset, uint32_t(b.size()) - 16); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_ioports_count, 0x20000000); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_irqs_offset, UINT32_MAX); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_irqs_count, 0x40000000); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_blobs_offset, 80); }), Error::bad_offset);  // inside the header
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_blobs_offset, uint32_t(b.size()) - 8); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_blobs_count, 0x10000000); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_channels_offset, 88); }), Error::bad_offset);  // inside the header
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_channels_offset, uint32_t(b.size()) - 16); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, f::h_channels_count, 0x0b000000); }), Error::bad_offset);
}

size_t channel_at(const std::vector<uint8_t>& b, uint32_t i) {
  return get32(b, f::h_channels_offset) + size_t(i) * f::channel_size;
}

// A channel's ends must be components of the manifest (bad_offset), its
// name a valid string (bad_string), its size whole pages within the limits
// and its ends two components other than the booter (bad_value).
TEST(Manifest, RejectsBadChannels) {
  using B = std::vector<uint8_t>;
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 0) + f::ch_end0, 4); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 1) + f::ch_end1, UINT32_MAX); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 0) + f::ch_name + 4, 1000); }), Error::bad_string);
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 1) + f::ch_name + 4, 4); }), Error::bad_string);  // eats the NUL
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 1) + f::ch_name, 0xfffffff0); }), Error::bad_string);
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 0) + f::ch_end0, 1); }), Error::bad_value);  // 1 and 1
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 0) + f::ch_end1, 0); }), Error::bad_value);  // the booter
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 1) + f::ch_end0, 0); }), Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 0) + f::ch_end0, 2); }), Error::ok);  // another pair
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 0) + f::ch_bytes, 4096); }), Error::bad_value);  // < 8 KiB
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 0) + f::ch_bytes, 0); }), Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 0) + f::ch_bytes, 8192 + 100); }), Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 0) + f::ch_bytes, (64u << 20) + 4096); }), Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 0) + f::ch_bytes + 4, 1); }), Error::bad_value);  // 4 GiB more
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 0) + f::ch_bytes, 64u << 20); }), Error::ok);
  EXPECT_EQ(open_edited([](B& b) { put32(b, channel_at(b, 0) + f::ch_bytes, 8192); }), Error::ok);
}

TEST(Manifest, WriterRejectsBadChannels) {
  auto with = [](auto edit) {
    m::System sys = sample();
    edit(sys.channels[0]);
    return sys;
  };
  using Ch = m::Channel;
  EXPECT_NO_THROW(m::encode(with([](Ch&) {})));
  EXPECT_THROW(m::encode(with([](Ch& c) { c.ends[1] = 4; })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](Ch& c) { c.ends[1] = 0; })), std::invalid_argument);  // the booter
  EXPECT_THROW(m::encode(with([](Ch& c) { c.ends[1] = c.ends[0]; })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](Ch& c) { c.bytes = 4096; })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](Ch& c) { c.bytes = 12288 + 1; })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](Ch& c) { c.bytes = (64ull << 20) + 4096; })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](Ch& c) { c.name = std::string("a\0b", 3); })), std::invalid_argument);
}

TEST(Manifest, RejectsOutOfRangeRecords) {
  using B = std::vector<uint8_t>;
  // ping's deps range runs past the deps table.
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 2) + f::c_deps_first, 1); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 2) + f::c_deps_count, UINT32_MAX); }),
            Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 1) + f::c_implements_first, UINT32_MAX); }),
            Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 0) + f::c_params_count, 6); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 2) + f::c_ioports_first, 1); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 1) + f::c_ioports_count, 4); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 2) + f::c_irqs_first, UINT32_MAX); }),
            Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 0) + f::c_irqs_count, 4); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 3) + f::c_blobs_first, 1); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 0) + f::c_blobs_count, 5); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 3) + f::c_blobs_first, UINT32_MAX); }),
            Error::bad_offset);
  // A dependency on a component that does not exist, or on a missing token.
  EXPECT_EQ(open_edited([](B& b) { put32(b, dep_at(b, 0) + f::d_server, 3); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, dep_at(b, 0) + f::d_token, 2); }), Error::bad_offset);
  EXPECT_EQ(open_edited([](B& b) { put32(b, dep_at(b, 1) + f::d_server, 0); }), Error::bad_offset);  // booter implements nothing
}

TEST(Manifest, RejectsBadStrings) {
  using B = std::vector<uint8_t>;
  auto name_ref = [](B& b) { return component_at(b, 1) + f::c_name; };
  EXPECT_EQ(open_edited([&](B& b) { put32(b, name_ref(b), get32(b, f::h_strings_size)); }), Error::bad_string);
  EXPECT_EQ(open_edited([&](B& b) { put32(b, name_ref(b), UINT32_MAX); }), Error::bad_string);
  EXPECT_EQ(open_edited([&](B& b) { put32(b, name_ref(b) + 4, UINT32_MAX); }), Error::bad_string);
  // Length 5 would swallow the NUL after "pong" (embedded NUL).
  EXPECT_EQ(open_edited([&](B& b) { put32(b, name_ref(b) + 4, 5); }), Error::bad_string);
  // The last string of the pool without its terminator.
  EXPECT_EQ(open_edited([&](B& b) {
              const uint32_t size = get32(b, f::h_strings_size);
              put32(b, f::h_system_name, size - 1);
              put32(b, f::h_system_name + 4, 1);
            }),
            Error::bad_string);
  EXPECT_EQ(open_edited([](B& b) { put32(b, dep_at(b, 0) + f::d_interface + 4, 1000); }), Error::bad_string);
  EXPECT_EQ(open_edited([](B& b) {
              put32(b, get32(b, f::h_params_offset) + f::param_size * 4 + f::p_value, 0xfffffff0);
            }),
            Error::bad_string);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 3) + f::c_guest_cmdline + 4, 1000); }),
            Error::bad_string);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 0) + f::c_guest_cmdline, UINT32_MAX); }),
            Error::bad_string);
  EXPECT_EQ(open_edited([](B& b) { put32(b, get32(b, f::h_blobs_offset) + f::b_name + 4, 13); }),  // eats the NUL
            Error::bad_string);
  EXPECT_EQ(open_edited([](B& b) {
              put32(b, get32(b, f::h_blobs_offset) + 2 * f::blob_size + f::b_module, 0xfffffff0);
            }),
            Error::bad_string);
}

size_t ioport_at(const std::vector<uint8_t>& b, uint32_t i) {
  return get32(b, f::h_ioports_offset) + size_t(i) * f::ioport_size;
}
size_t irq_at(const std::vector<uint8_t>& b, uint32_t i) { return get32(b, f::h_irqs_offset) + size_t(i) * f::irq_size; }

TEST(Manifest, RejectsBadGrantValues) {
  using B = std::vector<uint8_t>;
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 1) + f::c_untyped_bytes, 4095); }), Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 1) + f::c_untyped_bytes + 4, 1); }), Error::ok);  // 16 GiB + 4M
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 1) + f::c_caps_mask, 8); }), Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) { put16(b, component_at(b, 3) + f::c_guest_kind, 2); }), Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) { put16(b, component_at(b, 3) + f::c_priority_ceiling, 255); }), Error::ok);
  EXPECT_EQ(open_edited([](B& b) { put16(b, component_at(b, 3) + f::c_priority_ceiling, 256); }), Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 3) + f::c_guest_ram_bytes, 0x10000800); }),
            Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) { put32(b, component_at(b, 1) + f::c_caps_mask, 0x80000007); }), Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) { put32(b, ioport_at(b, 0) + f::io_count, 0); }), Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) { put32(b, ioport_at(b, 0) + f::io_first, 0x10000); }), Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) { put32(b, ioport_at(b, 2) + f::io_count, 2); }), Error::bad_value);  // 0xffff + 2
  EXPECT_EQ(open_edited([](B& b) {
              put32(b, ioport_at(b, 0) + f::io_first, 0xfff0);
              put32(b, ioport_at(b, 0) + f::io_count, UINT32_MAX);  // wraps in 32 bits
            }),
            Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) {
              put32(b, ioport_at(b, 0) + f::io_first, 0);
              put32(b, ioport_at(b, 0) + f::io_count, 0x10000);  // every port
            }),
            Error::ok);
  EXPECT_EQ(open_edited([](B& b) { put32(b, irq_at(b, 0), 16); }), Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) { put32(b, irq_at(b, 0), 2); }), Error::bad_value);  // the cascade
  EXPECT_EQ(open_edited([](B& b) { put32(b, irq_at(b, 0), 0x80000008); }), Error::bad_value);
  EXPECT_EQ(open_edited([](B& b) { put32(b, irq_at(b, 1), 8); }), Error::bad_value);  // twice in one component
  EXPECT_EQ(open_edited([](B& b) { put32(b, irq_at(b, 0), 15); }), Error::ok);
}

TEST(Manifest, RejectsAnIrqLineGrantedTwiceInTheSystem) {
  m::System sys = sample();
  sys.components[1].irqs = {3};
  auto b = m::encode(sys);
  ASSERT_EQ(open(b), Error::ok);
  put32(b, irq_at(b, 0), 8);  // pong's line 3 -> 8, which ping also holds
  restamp(b);
  EXPECT_EQ(open(b), Error::bad_value);
}

TEST(Manifest, WriterRejectsInconsistentInput) {
  m::System sys = sample();
  sys.components[2].deps[0].server = 3;
  EXPECT_THROW(m::encode(sys), std::invalid_argument);
  sys = sample();
  sys.components[2].deps[0].token = 0;  // implements[0] is "pong", not "stats"
  EXPECT_THROW(m::encode(sys), std::invalid_argument);
  sys = sample();
  sys.components[1].params[0].value = std::string("a\0b", 3);
  EXPECT_THROW(m::encode(sys), std::invalid_argument);
}

TEST(Manifest, WriterRejectsOutOfRangeGrants) {
  auto with = [](auto edit) {
    m::System sys = sample();
    edit(sys.components[2]);
    return sys;
  };
  using C = m::Component;
  EXPECT_THROW(m::encode(with([](C& c) { c.untyped_bytes = 4097; })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](C& c) { c.caps_mask = 8; })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](C& c) { c.guest_ram_bytes = 4097; })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](C& c) { c.blobs.push_back({"guest.kernel", std::string("a\0b", 3)}); })),
               std::invalid_argument);
  EXPECT_THROW(m::encode(with([](C& c) { c.guest_cmdline = std::string("x\0", 2); })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](C& c) { c.ioports.push_back({0x80, 0}); })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](C& c) { c.ioports.push_back({0x10000, 1}); })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](C& c) { c.ioports.push_back({0xfff0, 0x11}); })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](C& c) { c.ioports.push_back({0x10, UINT32_MAX}); })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](C& c) { c.irqs.push_back(2); })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](C& c) { c.irqs.push_back(16); })), std::invalid_argument);
  EXPECT_THROW(m::encode(with([](C& c) { c.irqs.push_back(8); })), std::invalid_argument);  // already ping's
  m::System sys = sample();
  sys.components[1].irqs = {4};  // ping has line 4 too
  EXPECT_THROW(m::encode(sys), std::invalid_argument);
  EXPECT_NO_THROW(m::encode(with([](C& c) { c.ioports.push_back({0, 0x10000}); })));  // overlaps are not its business
}

TEST(Manifest, ErrorStringsAreDistinct) {
  std::set<std::string> seen;
  for (int e = 0; e <= int(Error::bad_value); ++e) {
    const char* s = m::error_string(Error(e));
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(seen.insert(s).second) << s;
  }
  EXPECT_STREQ(m::error_string(Error(-1)), "unknown error");
}

// Random edits with a valid checksum: open() either rejects the buffer or
// every view it hands out lies inside it.
TEST(Manifest, RandomEditsNeverEscapeTheBuffer) {
  const auto good = m::encode(sample());
  cos::test::Rng rng(42);
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    auto b = good;
    const int edits = 1 + int(rng() % 3);
    for (int k = 0; k < edits; ++k) {
      const size_t at = f::h_checksum + 4 + rng() % (b.size() - f::h_checksum - 4);
      b[at] = (rng() % 2) ? uint8_t(rng()) : uint8_t(b[at] ^ (1u << (rng() % 8)));
    }
    if (get32(b, f::h_total_size) > b.size() || get32(b, f::h_total_size) < f::header_size) continue;
    restamp(b);
    Reader r;
    if (Reader::open(b.data(), b.size(), r) != Error::ok) continue;
    ++accepted;
    const auto* lo = reinterpret_cast<const char*>(b.data());
    const auto* hi = lo + r.size();
    auto inside = [&](m::Str s) { return s.data >= lo && s.data + s.size < hi && s.data[s.size] == '\0'; };
    ASSERT_TRUE(inside(r.system_name()));
    for (uint32_t c = 0; c < r.component_count(); ++c) {
      const m::ComponentView v = r.component(c);
      ASSERT_TRUE(inside(v.name) && inside(v.image) && inside(v.guest_cmdline));
      ASSERT_EQ(v.guest_ram_bytes % 4096, 0u);
      for (uint32_t j = 0; j < v.blob_count; ++j) ASSERT_TRUE(inside(r.blob(c, j).name) && inside(r.blob(c, j).module));
      for (uint32_t j = 0; j < v.implements_count; ++j) ASSERT_TRUE(inside(r.implements(c, j)));
      for (uint32_t j = 0; j < v.dep_count; ++j) {
        const m::DepView d = r.dep(c, j);
        ASSERT_TRUE(inside(d.interface));
        ASSERT_LT(d.server, r.component_count());
        ASSERT_LT(d.token, r.component(d.server).implements_count);
      }
      for (uint32_t j = 0; j < v.param_count; ++j) ASSERT_TRUE(inside(r.param(c, j).key) && inside(r.param(c, j).value));
      ASSERT_EQ(v.untyped_bytes % 4096, 0u);
      ASSERT_EQ(v.caps_mask & ~7u, 0u);
      for (uint32_t j = 0; j < v.ioport_count; ++j) {
        const m::IoPortRange io = r.ioport(c, j);
        ASSERT_GE(io.count, 1u);
        ASSERT_LE(uint64_t(io.first) + io.count, 0x10000u);
      }
      for (uint32_t j = 0; j < v.irq_count; ++j) {
        ASSERT_LT(r.irq(c, j), 16u);
        ASSERT_NE(r.irq(c, j), 2u);
      }
    }
    for (uint32_t j = 0; j < r.channel_count(); ++j) {
      const m::ChannelView ch = r.channel(j);
      ASSERT_TRUE(inside(ch.name));
      ASSERT_LT(ch.end[0], r.component_count());
      ASSERT_LT(ch.end[1], r.component_count());
      ASSERT_NE(ch.end[0], ch.end[1]);
      ASSERT_EQ(ch.bytes % 4096, 0u);
      ASSERT_GE(ch.bytes, f::channel_min_bytes);
      ASSERT_LE(ch.bytes, f::channel_max_bytes);
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace

// Version 4: the priority ceiling round-trips, and one above 255 is refused.
TEST(Manifest, PriorityCeilingRoundTripsAndIsBounded) {
  m::System sys = sample();
  sys.components[1].priority = 40;
  sys.components[1].priority_ceiling = 7;
  auto b = m::encode(sys);
  m::Reader r;
  ASSERT_EQ(m::Reader::open(b.data(), b.size(), r), Error::ok);
  EXPECT_EQ(r.component(1).priority_ceiling, 7u);
  EXPECT_EQ(r.component(1).priority, 40u);
  // The two u16 fields at 108 and 110 do not overlap.
  EXPECT_EQ(r.component(1).guest_kind, f::guest_kind_linux);
  EXPECT_EQ(r.component(3).priority_ceiling, 100u);
  EXPECT_EQ(r.component(3).guest_kind, f::guest_kind_multiboot);
  // The writer refuses what the reader would (a u16 holds it, 0..255 is valid).
  sys.components[1].priority_ceiling = 256;
  EXPECT_THROW(m::encode(sys), std::invalid_argument);
}
