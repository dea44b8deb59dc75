// cos::dev::VirtioBlk — a virtio block device (virtio 1.2, §5.2) with one
// request queue (requestq, queue 0), served by a BlockBackend.
//
// Features: VIRTIO_BLK_F_SEG_MAX (seg_max = queue size - 2),
// VIRTIO_BLK_F_BLK_SIZE (512), VIRTIO_BLK_F_FLUSH, and VIRTIO_BLK_F_RO for a
// read-only backend, besides the common ones.
// Configuration (§5.2.4): le64 capacity @0 (512-byte sectors), le32
// size_max @8, le32 seg_max @12, geometry @16, le32 blk_size @20, topology
// @24, writeback @32, num_queues @34, ... (60 bytes; unused fields 0).
//
// Requests (§5.2.6): a device-readable header {le32 type, le32 reserved,
// le64 sector}, data (device-readable for OUT, device-writable for IN and
// GET_ID), and a device-writable status byte as the chain's last byte.
//   VIRTIO_BLK_T_IN (0)     read data-length / 512 sectors from `sector`
//   VIRTIO_BLK_T_OUT (1)    write them (VIRTIO_BLK_S_IOERR on a read-only disk,
//                           nothing written, §5.2.6.2)
//   VIRTIO_BLK_T_FLUSH (4)  BlockBackend::flush()
//   VIRTIO_BLK_T_GET_ID (8) the serial (up to 20 bytes, no NUL at 20)
//   other types             VIRTIO_BLK_S_UNSUPP
// A data length that is not a multiple of 512 or a range beyond the
// capacity (overflow-safe) gives VIRTIO_BLK_S_IOERR. A chain without a
// full header or without a status byte is malformed: the device stops
// (VirtioErrc::request_malformed, value = the head index), as the spec
// allows for requests it cannot parse.
//
// Data moves between the backend and guest RAM without a copy where the
// guest buffers hold whole sectors; sectors split across descriptors go
// through one 512-byte bounce buffer. The backend is called synchronously
// from the notification (a VMM forwards to a block component over a
// channel behind this interface).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_device.hpp"

namespace cos::dev {

/// A disk of 512-byte sectors.
class BlockBackend {
 public:
  static constexpr uint32_t kSectorBytes = 512;
  enum class Status : uint8_t { ok, io_error };

  /// Size in sectors.
  virtual uint64_t capacity_sectors() const = 0;
  virtual bool read_only() const = 0;
  /// Reads/writes `count` sectors starting at `sector` (the device checked
  /// the range against capacity_sectors()); `count * 512` bytes at dst/src.
  virtual Status read(uint64_t sector, uint8_t* dst, uint32_t count) = 0;
  virtual Status write(uint64_t sector, const uint8_t* src, uint32_t count) = 0;
  /// Makes completed writes durable.
  virtual Status flush() = 0;

 protected:
  ~BlockBackend() = default;
};

class VirtioBlk final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  /// Feature bits (§5.2.3).
  enum : unsigned { kFSizeMax = 1, kFSegMax = 2, kFRo = 5, kFBlkSize = 6, kFFlush = 9 };
  /// Request types and status values (§5.2.6).
  enum : uint32_t { kTIn = 0, kTOut = 1, kTFlush = 4, kTGetId = 8 };
  static constexpr uint8_t kSOk = 0, kSIoErr = 1, kSUnsupp = 2;
  static constexpr uint32_t kHeaderBytes = 16, kIdBytes = 20, kConfigBytes = 60;

  /// `serial`: the GET_ID string (up to 20 characters are used; may be null).
  VirtioBlk(GuestMemory& mem, BlockBackend& backend, const char* serial = nullptr);

  /// Requests completed by status (for logs and tests).
  struct Stats {
    uint64_t ok = 0, io_errors = 0, unsupported = 0;
    uint64_t sectors_read = 0, sectors_written = 0;
  };
  const Stats& stats() const { return stats_; }

 protected:
  void process_queue(uint16_t q) override;

 private:
  /// Handles one request; false if the device stopped.
  bool handle(Virtqueue& q, const DescChain& c);
  uint8_t read_sectors(ChainCursor& out, uint64_t sector, uint64_t bytes, uint64_t& written);
  uint8_t write_sectors(ChainCursor& in, uint64_t sector, uint64_t bytes);

  BlockBackend& backend_;
  char serial_[kIdBytes] = {};
  uint8_t bounce_[BlockBackend::kSectorBytes];
  Stats stats_;
};

}  // namespace cos::dev
