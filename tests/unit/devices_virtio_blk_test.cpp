// cos::dev::VirtioBlk with a RamDisk: requests as Linux's virtio_blk makes
// them (header, data, status; virtio 1.2 §5.2.6), sectors split across
// descriptors, indirect requests, GET_ID, FLUSH, read-only disks, the
// status values for bad requests, and malformed chains that stop the device.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/virtio_pci_driver.hpp"

using namespace vtest;

namespace {

constexpr uint32_t kSector = 512;

// A backend that fails on one sector (a bad block) to check IOERR paths.
struct FaultyDisk final : BlockBackend {
  RamDisk& disk;
  uint64_t bad;
  FaultyDisk(RamDisk& d, uint64_t bad_sector) : disk(d), bad(bad_sector) {}
  uint64_t capacity_sectors() const override { return disk.capacity_sectors(); }
  bool read_only() const override { return false; }
  Status read(uint64_t s, uint8_t* dst, uint32_t n) override {
    return s <= bad && bad < s + n ? Status::io_error : disk.read(s, dst, n);
  }
  Status write(uint64_t s, const uint8_t* src, uint32_t n) override {
    return s <= bad && bad < s + n ? Status::io_error : disk.write(s, src, n);
  }
  Status flush() override { return Status::io_error; }
};

struct BlkTest : ::testing::Test {
  GuestRam ram;
  std::vector<uint8_t> image = std::vector<uint8_t>(64 * kSector);
  RamDisk disk{image.data(), image.size()};
  TransportRecorder transport;
  ErrorRecorder errors;
  DriverQueue vq{ram, 16};
  std::unique_ptr<VirtioBlk> blk;

  DriverQueue* q = &vq;  // the queue submit() uses

  static uint8_t initial(size_t i) { return static_cast<uint8_t>(i * 7 + i / kSector); }
  void SetUp() override {
    for (size_t i = 0; i < image.size(); ++i) image[i] = initial(i);
    start(disk);
  }
  void start(BlockBackend& backend, uint64_t accept = ~0ull) {
    blk.reset(new VirtioBlk(ram.mem, backend, "cos-disk-0"));
    blk->set_transport(&transport);
    errors.attach(*blk);
    ASSERT_TRUE(bring_up(*blk, {&vq}, accept));
  }
  uint64_t header(uint32_t type, uint64_t sector) {
    uint64_t h = ram.alloc(16);
    ram.put32(h, type);
    ram.put32(h + 4, 0);
    ram.put64(h + 8, sector);
    return h;
  }
  // Sends one request and returns its status byte (the used length in `len`).
  uint8_t submit(const std::vector<Buf>& bufs, uint32_t* used_len = nullptr, bool indirect = false) {
    uint64_t st = bufs.back().gpa;
    ram.host(st)[0] = 0xee;
    if (indirect) q->add_indirect(bufs);
    else q->add(bufs);
    blk->notify(0);
    uint32_t id, len;
    EXPECT_TRUE(q->take_used(id, len));
    if (used_len) *used_len = len;
    return ram.host(st)[0];
  }
  uint64_t status_byte() { return ram.alloc(1, 1); }
  uint8_t disk_byte(uint64_t sector, unsigned off) { return image[sector * kSector + off]; }
};

TEST_F(BlkTest, ConfigurationSpace) {
  EXPECT_EQ(blk->read_config(0, 8), 64u);              // capacity in sectors
  EXPECT_EQ(blk->read_config(12, 4), 16u * 16 - 2);    // seg_max = queue size - 2
  EXPECT_EQ(blk->read_config(20, 4), 512u);            // blk_size
  EXPECT_EQ(blk->read_config(34, 2), 1u);              // num_queues
  EXPECT_EQ(blk->config_size(), VirtioBlk::kConfigBytes);
  uint64_t f = blk->device_features();
  EXPECT_TRUE(f & vs::feature(VirtioBlk::kFFlush));
  EXPECT_TRUE(f & vs::feature(VirtioBlk::kFBlkSize));
  EXPECT_TRUE(f & vs::feature(VirtioBlk::kFSegMax));
  EXPECT_FALSE(f & vs::feature(VirtioBlk::kFRo));
  blk->write_config(0, 8, 0);  // read-only
  EXPECT_EQ(blk->read_config(0, 8), 64u);
}

TEST_F(BlkTest, ReadOneSector) {
  uint64_t h = header(VirtioBlk::kTIn, 5), data = ram.alloc(kSector), st = status_byte();
  uint32_t len = 0;
  EXPECT_EQ(submit({{h, 16, false}, {data, kSector, true}, {st, 1, true}}, &len), VirtioBlk::kSOk);
  EXPECT_EQ(len, kSector + 1);
  EXPECT_EQ(0, std::memcmp(ram.host(data), image.data() + 5 * kSector, kSector));
  EXPECT_EQ(transport.count(0), 1u);
  EXPECT_EQ(blk->stats().sectors_read, 1u);
}

TEST_F(BlkTest, WriteThenReadBackAcrossSplitSectors) {
  // Three sectors written from buffers of 300 + 724 + 512 bytes: sectors
  // 0 and 1 straddle descriptors, sector 2 is whole.
  std::vector<uint8_t> payload(3 * kSector);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(0xa0 ^ i);
  uint64_t a = ram.alloc(300), b = ram.alloc(724), c = ram.alloc(512);
  std::memcpy(ram.host(a), payload.data(), 300);
  std::memcpy(ram.host(b), payload.data() + 300, 724);
  std::memcpy(ram.host(c), payload.data() + 1024, 512);
  uint64_t st = status_byte();
  uint32_t len = 0;
  EXPECT_EQ(submit({{header(VirtioBlk::kTOut, 10), 16, false}, {a, 300, false}, {b, 724, false}, {c, 512, false},
                    {st, 1, true}},
                   &len),
            VirtioBlk::kSOk);
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(0, std::memcmp(image.data() + 10 * kSector, payload.data(), payload.size()));
  EXPECT_EQ(disk_byte(9, 511), initial(9 * kSector + 511));  // the neighbours are untouched
  EXPECT_EQ(disk_byte(13, 0), initial(13 * kSector));
  // Read them back into 100 + 1000 + 436 byte buffers.
  uint64_t x = ram.alloc(100), y = ram.alloc(1000), z = ram.alloc(436), st2 = status_byte();
  EXPECT_EQ(submit({{header(VirtioBlk::kTIn, 10), 16, false}, {x, 100, true}, {y, 1000, true}, {z, 436, true},
                    {st2, 1, true}},
                   &len),
            VirtioBlk::kSOk);
  EXPECT_EQ(len, 3 * kSector + 1);
  std::vector<uint8_t> back(ram.host(x), ram.host(x) + 100);
  back.insert(back.end(), ram.host(y), ram.host(y) + 1000);
  back.insert(back.end(), ram.host(z), ram.host(z) + 436);
  EXPECT_EQ(back, payload);
  EXPECT_EQ(blk->stats().sectors_written, 3u);
  EXPECT_EQ(blk->stats().sectors_read, 3u);
}

TEST_F(BlkTest, HeaderDataAndStatusInOneBufferPerDirection) {
  // Any layout (VERSION_1): header and data share a readable descriptor,
  // and the status byte follows the data in the same writable one.
  uint64_t out = ram.alloc(16 + kSector), in = ram.alloc(kSector + 1);
  ram.put32(out, VirtioBlk::kTOut);
  ram.put64(out + 8, 2);
  std::memset(ram.host(out + 16), 0x5a, kSector);
  EXPECT_EQ(submit({{out, 16 + kSector, false}, {in + kSector, 1, true}}), VirtioBlk::kSOk);
  EXPECT_EQ(disk_byte(2, 100), 0x5a);
  uint64_t h = header(VirtioBlk::kTIn, 2);
  ram.host(in + kSector)[0] = 0xee;
  vq.add({{h, 16, false}, {in, kSector + 1, true}});
  blk->notify(0);
  uint32_t id, len;
  ASSERT_TRUE(vq.take_used(id, len));
  EXPECT_EQ(ram.host(in + kSector)[0], VirtioBlk::kSOk);
  EXPECT_EQ(ram.host(in)[511], 0x5a);
}

TEST_F(BlkTest, IndirectRequest) {
  uint64_t data = ram.alloc(2 * kSector), st = status_byte();
  EXPECT_EQ(submit({{header(VirtioBlk::kTIn, 62), 16, false}, {data, 2 * kSector, true}, {st, 1, true}}, nullptr,
                   true),
            VirtioBlk::kSOk);
  EXPECT_EQ(0, std::memcmp(ram.host(data), image.data() + 62 * kSector, 2 * kSector));
}

TEST_F(BlkTest, GetIdFlushAndUnsupported) {
  uint64_t id = ram.alloc(20), st = status_byte();
  uint32_t len = 0;
  EXPECT_EQ(submit({{header(VirtioBlk::kTGetId, 0), 16, false}, {id, 20, true}, {st, 1, true}}, &len),
            VirtioBlk::kSOk);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(ram.host(id))), "cos-disk-0");
  EXPECT_EQ(len, 21u);
  EXPECT_EQ(submit({{header(VirtioBlk::kTFlush, 0), 16, false}, {status_byte(), 1, true}}), VirtioBlk::kSOk);
  EXPECT_EQ(disk.flushes(), 1u);
  // DISCARD (11), WRITE_ZEROES (13) and unknown types were not offered.
  for (uint32_t t : {11u, 13u, 0x12345u})
    EXPECT_EQ(submit({{header(t, 0), 16, false}, {status_byte(), 1, true}}), VirtioBlk::kSUnsupp) << t;
  EXPECT_EQ(blk->stats().unsupported, 3u);
}

TEST_F(BlkTest, BadRangesAndLengthsGiveIoError) {
  uint64_t data = ram.alloc(2 * kSector);
  struct {
    uint64_t sector;
    uint32_t len;
  } cases[] = {
      {63, 2 * kSector},      // runs past the end
      {64, kSector},          // starts at the end
      {~0ull, kSector},       // sector + count overflows
      {~0ull / 512, kSector}, // byte offset would overflow
      {0, 100},               // not a multiple of 512
  };
  for (auto& k : cases) {
    uint8_t before = image[0];
    EXPECT_EQ(submit({{header(VirtioBlk::kTIn, k.sector), 16, false}, {data, k.len, true}, {status_byte(), 1, true}}),
              VirtioBlk::kSIoErr)
        << k.sector;
    EXPECT_EQ(submit({{header(VirtioBlk::kTOut, k.sector), 16, false}, {data, k.len, false},
                      {status_byte(), 1, true}}),
              VirtioBlk::kSIoErr)
        << k.sector;
    EXPECT_EQ(image[0], before);
  }
  EXPECT_FALSE(blk->needs_reset());
  EXPECT_EQ(blk->stats().io_errors, 10u);
}

TEST_F(BlkTest, ReadOnlyDisk) {
  RamDisk ro(image.data(), image.size(), true);
  start(ro);
  EXPECT_TRUE(blk->device_features() & vs::feature(VirtioBlk::kFRo));
  uint64_t data = ram.alloc(kSector);
  std::memset(ram.host(data), 0, kSector);
  std::vector<uint8_t> before = image;
  EXPECT_EQ(submit({{header(VirtioBlk::kTOut, 0), 16, false}, {data, kSector, false}, {status_byte(), 1, true}}),
            VirtioBlk::kSIoErr);
  EXPECT_EQ(image, before);
  EXPECT_EQ(submit({{header(VirtioBlk::kTIn, 0), 16, false}, {data, kSector, true}, {status_byte(), 1, true}}),
            VirtioBlk::kSOk);
}

TEST_F(BlkTest, BackendErrors) {
  FaultyDisk faulty(disk, 7);
  start(faulty);
  uint64_t data = ram.alloc(4 * kSector);
  EXPECT_EQ(submit({{header(VirtioBlk::kTIn, 6), 16, false}, {data, 4 * kSector, true}, {status_byte(), 1, true}}),
            VirtioBlk::kSIoErr);
  EXPECT_EQ(submit({{header(VirtioBlk::kTIn, 8), 16, false}, {data, 4 * kSector, true}, {status_byte(), 1, true}}),
            VirtioBlk::kSOk);
  EXPECT_EQ(submit({{header(VirtioBlk::kTFlush, 0), 16, false}, {status_byte(), 1, true}}), VirtioBlk::kSIoErr);
}

TEST_F(BlkTest, ManyRequestsInOneKick) {
  std::vector<uint64_t> st;
  for (int i = 0; i < 5; ++i) {  // 15 of the 16 descriptors
    uint64_t d = ram.alloc(kSector);
    st.push_back(status_byte());
    ram.host(st.back())[0] = 0xee;
    vq.add({{header(VirtioBlk::kTIn, static_cast<uint64_t>(i)), 16, false}, {d, kSector, true}, {st.back(), 1, true}});
  }
  blk->notify(0);
  for (uint64_t s : st) EXPECT_EQ(ram.host(s)[0], VirtioBlk::kSOk);
  EXPECT_EQ(vq.used_idx(), 5);
  EXPECT_EQ(transport.count(0), 1u);  // one interrupt for the batch
}

TEST_F(BlkTest, EventIndexSuppressesInterrupts) {
  vq.set_used_event(1);  // interrupt only after the second completion
  uint64_t d = ram.alloc(kSector);
  submit({{header(VirtioBlk::kTIn, 0), 16, false}, {d, kSector, true}, {status_byte(), 1, true}});
  EXPECT_EQ(transport.count(0), 1u);  // the first completion always signals
  submit({{header(VirtioBlk::kTIn, 0), 16, false}, {d, kSector, true}, {status_byte(), 1, true}});
  EXPECT_EQ(transport.count(0), 2u);  // used idx 2 passed used_event 1
  vq.set_used_event(5);
  submit({{header(VirtioBlk::kTIn, 0), 16, false}, {d, kSector, true}, {status_byte(), 1, true}});
  EXPECT_EQ(transport.count(0), 2u);  // suppressed
  EXPECT_EQ(vq.avail_event(), 3);     // the device wants the next kick
}

TEST_F(BlkTest, RequestWithoutStatusByteStopsTheDevice) {
  uint64_t data = ram.alloc(kSector);
  vq.add({{header(VirtioBlk::kTIn, 0), 16, false}, {data, kSector, false}});
  blk->notify(0);
  EXPECT_TRUE(blk->needs_reset());
  ASSERT_EQ(errors.errors.size(), 1u);
  EXPECT_EQ(errors.errors[0].code, VirtioErrc::request_malformed);
  EXPECT_EQ(errors.errors[0].device_id, vs::kIdBlock);
  EXPECT_EQ(vq.used_idx(), 0);
  EXPECT_EQ(transport.config_irqs, 1u);
}

TEST_F(BlkTest, ShortHeaderStopsTheDevice) {
  uint64_t h = ram.alloc(8);
  vq.add({{h, 8, false}, {status_byte(), 1, true}});
  blk->notify(0);
  EXPECT_TRUE(blk->needs_reset());
  ASSERT_EQ(errors.errors.size(), 1u);
  EXPECT_EQ(errors.errors[0].code, VirtioErrc::request_malformed);
}

TEST_F(BlkTest, DataPointingOutsideRamStopsTheDeviceWithoutTouchingTheDisk) {
  std::vector<uint8_t> before = image;
  vq.add({{header(VirtioBlk::kTOut, 0), 16, false}, {ram.end() - 256, kSector, false}, {status_byte(), 1, true}});
  blk->notify(0);
  EXPECT_TRUE(blk->needs_reset());
  ASSERT_EQ(errors.errors.size(), 1u);
  EXPECT_EQ(errors.errors[0].code, VirtioErrc::buffer_not_in_ram);
  EXPECT_EQ(image, before);
  // Reset and the device works again.
  DriverQueue fresh(ram, 16);
  q = &fresh;
  ASSERT_TRUE(bring_up(*blk, {&fresh}));
  EXPECT_EQ(blk->error().code, VirtioErrc::none);
  uint64_t d = ram.alloc(kSector);
  EXPECT_EQ(submit({{header(VirtioBlk::kTIn, 1), 16, false}, {d, kSector, true}, {status_byte(), 1, true}}),
            VirtioBlk::kSOk);
}

TEST(BlkOverPci, LinuxProbeAndRead) {
  GuestRam ram;
  std::vector<uint8_t> image(8 * kSector, 0x3c);
  RamDisk disk(image.data(), image.size());
  VirtioBlk blk(ram.mem, disk);
  VirtioPci fn(blk);
  PciHost pci;
  MsiLog msi;
  pci.set_interrupt_targets(&msi, nullptr);
  ASSERT_TRUE(pci.attach(2, fn));
  EXPECT_EQ(fn.config_read(0, 4), 0x10421af4u);
  EXPECT_EQ(fn.config_read(0x08, 4) >> 8, 0x018000u);
  LinuxVirtioPci drv(pci, 2);
  DriverQueue vq(ram, 128);
  ASSERT_TRUE(drv.bring_up({&vq}));
  EXPECT_EQ(drv.rd(drv.device, 8), 8u);
  uint64_t h = ram.alloc(16), d = ram.alloc(kSector), st = ram.alloc(1);
  ram.put32(h, VirtioBlk::kTIn);
  ram.put64(h + 8, 3);
  vq.add({{h, 16, false}, {d, kSector, true}, {st, 1, true}});
  drv.kick(0);
  EXPECT_EQ(ram.host(st)[0], VirtioBlk::kSOk);
  EXPECT_EQ(ram.host(d)[0], 0x3c);
  EXPECT_EQ(msi.count(0x41), 1u);  // queue 0 -> MSI-X entry 1
}

}  // namespace
