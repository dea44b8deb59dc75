#include "devices/virtio/ram_disk.hpp"

namespace cos::dev {

BlockBackend::Status RamDisk::read(uint64_t sector, uint8_t* dst, uint32_t count) {
  if (!in_range(sector, count)) return Status::io_error;
  const uint8_t* src = data_ + sector * kSectorBytes;
  for (uint64_t i = 0; i < uint64_t(count) * kSectorBytes; ++i) dst[i] = src[i];
  return Status::ok;
}

BlockBackend::Status RamDisk::write(uint64_t sector, const uint8_t* src, uint32_t count) {
  if (read_only_ || !in_range(sector, count)) return Status::io_error;
  uint8_t* dst = data_ + sector * kSectorBytes;
  for (uint64_t i = 0; i < uint64_t(count) * kSectorBytes; ++i) dst[i] = src[i];
  return Status::ok;
}

}  // namespace cos::dev
