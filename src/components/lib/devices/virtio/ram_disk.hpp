// cos::dev::RamDisk — a BlockBackend over a byte array the caller owns (a
// disk image in memory, e.g. a boot module): bytes / 512 sectors, read-write
// or read-only; flush has nothing to do and is counted.
#pragma once
#include <stdint.h>

#include "devices/virtio/virtio_blk.hpp"

namespace cos::dev {

class RamDisk final : public BlockBackend {
 public:
  RamDisk(uint8_t* data, uint64_t bytes, bool read_only = false)
      : data_(data), sectors_(bytes / kSectorBytes), read_only_(read_only) {}

  uint64_t capacity_sectors() const override { return sectors_; }
  bool read_only() const override { return read_only_; }
  /// Out-of-range requests (which VirtioBlk never makes) fail with io_error.
  Status read(uint64_t sector, uint8_t* dst, uint32_t count) override;
  Status write(uint64_t sector, const uint8_t* src, uint32_t count) override;
  Status flush() override {
    ++flushes_;
    return Status::ok;
  }
  uint64_t flushes() const { return flushes_; }

 private:
  bool in_range(uint64_t sector, uint32_t count) const { return sector <= sectors_ && count <= sectors_ - sector; }
  uint8_t* data_;
  uint64_t sectors_;
  bool read_only_;
  uint64_t flushes_ = 0;
};

}  // namespace cos::dev
