// cos::dev::FwCfg (QEMU's fw_cfg, legacy I/O interface) and
// cos::dev::DebugExit (QEMU's isa-debug-exit), driven the way guests drive
// them: SeaBIOS/Linux-style selector writes and byte reads, through the
// port bus as simple_vmm wires them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/devices_test_util.hpp"
#include "devices/debug_exit.hpp"
#include "devices/fw_cfg.hpp"
#include "devices/port_bus.hpp"

using namespace devtest;
using cos::dev::DebugExit;
using cos::dev::FwCfg;

namespace {

void outw(cos::dev::PortDevice& d, uint16_t port, uint16_t v) { d.io_write(port, 2, v); }

struct FwCfgTest : ::testing::Test {
  const char* cmdline = "console=ttyS0 mbtest=1";
  FwCfg fw{FwCfg::Config{256ull << 20, 1, cmdline}};

  // What a guest does: select, then read `n` bytes from the data port.
  std::vector<uint8_t> read(uint16_t key, size_t n) {
    outw(fw, 0x510, key);
    std::vector<uint8_t> out;
    for (size_t i = 0; i < n; ++i) out.push_back(inb(fw, 0x511));
    return out;
  }
  uint64_t read_le(uint16_t key, unsigned n) {
    uint64_t v = 0;
    auto b = read(key, n);
    for (unsigned i = 0; i < n; ++i) v |= uint64_t(b[i]) << (8 * i);
    return v;
  }
  static uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
};

TEST_F(FwCfgTest, SignatureAndId) {
  auto sig = read(FwCfg::kSignature, 4);
  EXPECT_EQ(std::string(sig.begin(), sig.end()), "QEMU");
  EXPECT_EQ(read_le(FwCfg::kId, 4), 1u);  // traditional interface, no DMA
  EXPECT_EQ(read(FwCfg::kUuid, 16), std::vector<uint8_t>(16, 0));
}

TEST_F(FwCfgTest, RamSizeAndCpus) {
  EXPECT_EQ(read_le(FwCfg::kRamSize, 8), 256ull << 20);
  EXPECT_EQ(read_le(FwCfg::kNbCpus, 2), 1u);
  EXPECT_EQ(read_le(FwCfg::kMaxCpus, 2), 1u);
  FwCfg big{FwCfg::Config{5ull << 30, 4, ""}};
  outw(big, 0x510, FwCfg::kRamSize);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(inb(big, 0x511)) << (8 * i);
  EXPECT_EQ(v, 5ull << 30);
  // NB_CPUS and MAX_CPUS: the VM's vCPU count, 16-bit little endian.
  outw(big, 0x510, FwCfg::kNbCpus);
  EXPECT_EQ(inb(big, 0x511), 4);
  EXPECT_EQ(inb(big, 0x511), 0);
  outw(big, 0x510, FwCfg::kMaxCpus);
  EXPECT_EQ(inb(big, 0x511), 4);
  EXPECT_EQ(inb(big, 0x511), 0);
}

TEST_F(FwCfgTest, CommandLineSizeIncludesTheNul) {
  const uint32_t size = uint32_t(read_le(FwCfg::kCmdlineSize, 4));
  EXPECT_EQ(size, std::string(cmdline).size() + 1);
  auto data = read(FwCfg::kCmdlineData, size);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(data.data())), cmdline);
  EXPECT_EQ(data.back(), 0);
}

TEST_F(FwCfgTest, ReadsPastTheEndAndUnknownKeysGiveZero) {
  auto sig = read(FwCfg::kSignature, 6);
  EXPECT_EQ(sig[4], 0);
  EXPECT_EQ(sig[5], 0);
  EXPECT_EQ(read(0x0d, 4), std::vector<uint8_t>(4, 0));       // NUMA: not offered
  EXPECT_EQ(read(0x20, 4), std::vector<uint8_t>(4, 0));       // no file yet
  EXPECT_EQ(read(FwCfg::kArchLocal | 0x03, 4), std::vector<uint8_t>(4, 0));  // x86's E820 table: not offered
  // The write-channel bit makes it another key, not the signature.
  EXPECT_EQ(read(FwCfg::kWriteChannel | FwCfg::kSignature, 4), std::vector<uint8_t>(4, 0));
}

TEST_F(FwCfgTest, SelectingRestartsTheItem) {
  read(FwCfg::kSignature, 2);
  EXPECT_EQ(read(FwCfg::kSignature, 1)[0], 'Q');
  EXPECT_EQ(fw.selected(), FwCfg::kSignature);
}

TEST_F(FwCfgTest, AccessSizes) {
  outw(fw, 0x510, FwCfg::kSignature);
  EXPECT_EQ(inb(fw, 0x510), 'Q');  // the combined port reads data too
  EXPECT_EQ(inb(fw, 0x511), 'E');
  EXPECT_EQ(fw.io_read(0x510, 2), 0xffffu);  // not a valid access
  EXPECT_EQ(inl(fw, 0x510), 0xffffffffu);
  outb(fw, 0x511, 0x42);  // data writes are ignored
  outb(fw, 0x510, 0x01);  // a byte write does not select
  outl(fw, 0x510, FwCfg::kId);
  EXPECT_EQ(fw.selected(), FwCfg::kSignature);
  EXPECT_EQ(inb(fw, 0x511), 'M');
}

TEST_F(FwCfgTest, FileDirectoryIsBigEndianAndFindsFiles) {
  const std::string greeting = "hello from fw_cfg\n";
  const uint8_t e820[20] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 1, 0, 0, 0};
  EXPECT_EQ(fw.add_file("etc/e820", e820, sizeof(e820)), 0x20);
  EXPECT_EQ(fw.add_file("opt/cos/greeting", greeting.data(), greeting.size()), 0x21);
  const uint32_t count = be32(read(FwCfg::kFileDir, 4).data());
  ASSERT_EQ(count, 2u);
  auto dir = read(FwCfg::kFileDir, 4 + 64 * count);
  // Look the file up by name as a guest does, then read it.
  uint16_t select = 0;
  uint32_t size = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* e = dir.data() + 4 + 64 * i;
    EXPECT_EQ(e[6], 0);
    EXPECT_EQ(e[7], 0);
    EXPECT_EQ(e[8 + 55], 0);  // names are NUL-padded
    if (std::string(reinterpret_cast<const char*>(e + 8)) == "opt/cos/greeting") {
      size = be32(e);
      select = uint16_t(e[4] << 8 | e[5]);
    }
  }
  ASSERT_EQ(select, 0x21);
  ASSERT_EQ(size, greeting.size());
  auto data = read(select, size);
  EXPECT_EQ(std::string(data.begin(), data.end()), greeting);
  EXPECT_EQ(read(0x20, 20), std::vector<uint8_t>(e820, e820 + 20));
}

TEST_F(FwCfgTest, FileLimits) {
  EXPECT_EQ(fw.add_file("", "x", 1), 0);
  EXPECT_EQ(fw.add_file(std::string(56, 'a').c_str(), "x", 1), 0);  // no room for the NUL
  EXPECT_EQ(fw.add_file(std::string(55, 'a').c_str(), "x", 1), 0x20);
  for (unsigned i = 1; i < FwCfg::kMaxFiles; ++i) EXPECT_NE(fw.add_file("f", "x", 1), 0);
  EXPECT_EQ(fw.add_file("one-too-many", "x", 1), 0);
  EXPECT_EQ(be32(read(FwCfg::kFileDir, 4).data()), FwCfg::kMaxFiles);
}

TEST_F(FwCfgTest, ThroughThePortBus) {
  cos::dev::PortBus bus;
  ASSERT_TRUE(bus.add(0x510, 2, fw, 4));
  bus.write(0x510, 2, FwCfg::kSignature);
  std::string sig;
  for (int i = 0; i < 4; ++i) sig += char(bus.read(0x511, 1));
  EXPECT_EQ(sig, "QEMU");
  EXPECT_FALSE(bus.reported(0x511));
}

struct DebugExitTest : ::testing::Test {
  DebugExit dev;
  std::vector<uint32_t> calls;
  void SetUp() override {
    dev.set_exit_callback([](void* c, uint32_t v) { static_cast<std::vector<uint32_t>*>(c)->push_back(v); }, &calls);
  }
};

TEST_F(DebugExitTest, FirstWriteEndsWithItsValue) {
  uint32_t v = 99;
  EXPECT_FALSE(dev.exited(v));
  outb(dev, 0xf4, 3);
  ASSERT_TRUE(dev.exited(v));
  EXPECT_EQ(v, 3u);
  outl(dev, 0xf4, 0x10);  // later writes change nothing
  EXPECT_TRUE(dev.exited(v));
  EXPECT_EQ(v, 3u);
  EXPECT_EQ(calls, std::vector<uint32_t>{3});
}

TEST_F(DebugExitTest, ValueHasTheAccessSizeAndReadsAreZero) {
  EXPECT_EQ(inb(dev, 0xf4), 0u);
  EXPECT_EQ(inl(dev, 0xf4), 0u);
  cos::dev::PortBus bus;
  ASSERT_TRUE(bus.add(DebugExit::kBase, DebugExit::kPorts, dev, 4));
  bus.write(0xf5, 2, 0x12345);  // any port of the range; 16 bits of it
  uint32_t v;
  ASSERT_TRUE(dev.exited(v));
  EXPECT_EQ(v, 0x2345u);
}

}  // namespace
