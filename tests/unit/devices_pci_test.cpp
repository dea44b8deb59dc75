// cos::dev::PciHost: configuration mechanism #1 as Linux probes it
// (arch/x86/pci/direct.c pci_check_type1, pci_sanity_check) and the 440FX
// host bridge's configuration space.
#include <gtest/gtest.h>

#include "unit/devices_test_util.hpp"
#include "devices/pci_host.hpp"
#include "devices/port_bus.hpp"

using cos::dev::PciHost;
using namespace devtest;

namespace {

uint32_t cfg_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg) {
  return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

struct PciTest : ::testing::Test {
  PciHost pci;
  cos::dev::PortBus bus;
  void SetUp() override { ASSERT_TRUE(bus.add(0xcf8, 8, pci, 4)); }

  uint32_t read(unsigned b, unsigned d, unsigned f, unsigned reg, unsigned size) {
    bus.write(0xcf8, 4, cfg_addr(b, d, f, reg));
    return bus.read(static_cast<uint16_t>(0xcfc + (reg & 3)), size);
  }
  void write(unsigned b, unsigned d, unsigned f, unsigned reg, unsigned size, uint32_t v) {
    bus.write(0xcf8, 4, cfg_addr(b, d, f, reg));
    bus.write(static_cast<uint16_t>(0xcfc + (reg & 3)), size, v);
  }
};

TEST_F(PciTest, LinuxCheckType1) {
  bus.write(0xcfb, 1, 0x01);
  uint32_t tmp = bus.read(0xcf8, 4);
  bus.write(0xcf8, 4, 0x80000000);
  EXPECT_EQ(bus.read(0xcf8, 4), 0x80000000u);
  bus.write(0xcf8, 4, tmp);
  EXPECT_EQ(bus.read(0xcf8, 4), tmp);
}

TEST_F(PciTest, LinuxSanityCheckFindsHostBridge) {
  bool found = false;
  for (unsigned devfn = 0; devfn < 0x100; ++devfn) {
    uint32_t cls = read(0, devfn >> 3, devfn & 7, 0x0a, 2);
    uint32_t vendor = read(0, devfn >> 3, devfn & 7, 0x00, 2);
    if (cls == 0x0600 || vendor == 0x8086) {
      EXPECT_EQ(devfn, 0u);
      found = true;
    } else {
      EXPECT_EQ(cls, 0xffffu);
      EXPECT_EQ(vendor, 0xffffu);
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(PciTest, HostBridgeIdentity) {
  EXPECT_EQ(read(0, 0, 0, 0x00, 4), 0x12378086u);
  EXPECT_EQ(read(0, 0, 0, 0x08, 4), 0x06000002u);  // class 06/00/00, revision 2
  EXPECT_EQ(read(0, 0, 0, 0x0e, 1), 0x00u);        // header type 0
  EXPECT_EQ(read(0, 0, 0, 0x10, 4), 0x00000000u);  // no BARs
  EXPECT_EQ(read(0, 0, 0, 0x02, 2), 0x1237u);
  EXPECT_EQ(read(0, 0, 0, 0x03, 1), 0x12u);
}

TEST_F(PciTest, OtherFunctionsAndBusesAreAbsent) {
  EXPECT_EQ(read(0, 0, 1, 0x00, 4), 0xffffffffu);
  EXPECT_EQ(read(0, 1, 0, 0x00, 4), 0xffffffffu);
  EXPECT_EQ(read(0, 31, 7, 0x00, 2), 0xffffu);
  EXPECT_EQ(read(1, 0, 0, 0x00, 4), 0xffffffffu);
  write(0, 3, 0, 0x04, 2, 0x0007);  // ignored
  EXPECT_EQ(read(0, 3, 0, 0x04, 2), 0xffffu);
}

TEST_F(PciTest, WritableAndReadOnlyRegisters) {
  write(0, 0, 0, 0x00, 4, 0);  // vendor/device read-only
  EXPECT_EQ(read(0, 0, 0, 0x00, 4), 0x12378086u);
  write(0, 0, 0, 0x04, 2, 0x0107);
  EXPECT_EQ(read(0, 0, 0, 0x04, 2), 0x0107u);
  write(0, 0, 0, 0x04, 2, 0xffff);
  EXPECT_EQ(read(0, 0, 0, 0x04, 2), 0x015fu);
  write(0, 0, 0, 0x59, 1, 0x30);  // PAM0
  EXPECT_EQ(read(0, 0, 0, 0x59, 1), 0x30u);
  EXPECT_EQ(read(0, 0, 0, 0x58, 4), 0x00003000u);
}

TEST_F(PciTest, AddressRegisterFormatAndDisabledData) {
  bus.write(0xcf8, 4, 0xffffffff);
  EXPECT_EQ(bus.read(0xcf8, 4), 0x80fffffcu);
  bus.write(0xcf8, 4, 0x00000000);  // enable clear
  EXPECT_EQ(bus.read(0xcfc, 4), 0xffffffffu);
  bus.write(0xcfc, 4, 0);
  EXPECT_EQ(read(0, 0, 0, 0x00, 4), 0x12378086u);
  EXPECT_EQ(bus.read(0xcf9, 2), 0xffffu);  // not CONFIG_ADDRESS
}

TEST_F(PciTest, ResetControlRegister) {
  unsigned resets = 0;
  pci.set_reset_callback([](void* c) { ++*static_cast<unsigned*>(c); }, &resets);
  bus.write(0xcf9, 1, 0x02);
  EXPECT_EQ(resets, 0u);
  EXPECT_EQ(bus.read(0xcf9, 1), 0x02u);
  bus.write(0xcf9, 1, 0x06);  // Linux BOOT_CF9: hard reset
  EXPECT_EQ(resets, 1u);
}

}  // namespace
