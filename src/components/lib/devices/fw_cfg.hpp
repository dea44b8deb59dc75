// cos::dev::FwCfg — QEMU's firmware configuration device (fw_cfg), legacy
// x86 I/O interface: the 16-bit selector register at port 0x510 and the
// 8-bit data register at 0x511 (QEMU docs/specs/fw_cfg.rst; key numbers as
// in Linux include/uapi/linux/qemu_fw_cfg.h).
//
//   * A 16-bit write to 0x510 selects an item and resets the data offset.
//     Bits 14 (write channel) and 15 (architecture-local) are part of the
//     key: there are no writable and no architecture-local items, so such
//     keys select nothing.
//   * A byte read from 0x511 (or 0x510, as QEMU's combined port allows)
//     returns the item's byte at the offset and advances it; past the end of
//     the item, or with no item selected, it reads 0.
//   * Byte writes (the data register's write channel, ignored since QEMU
//     2.4) are ignored; other access sizes read all-ones and are ignored.
//   * The DMA interface is not offered: FW_CFG_ID reads 1 (bit 0,
//     "traditional interface"; bit 1 clear).
//
// Items: the signature "QEMU" (0x00), ID (0x01, u32), UUID (0x02, 16 zero
// bytes), RAM size (0x03, u64), NB_CPUS (0x05, u16), MAX_CPUS (0x0f, u16),
// the kernel command line (CMDLINE_SIZE 0x14: u32 length including the NUL;
// CMDLINE_DATA 0x15: the string and its NUL), the file directory (0x19:
// be32 count, then per file be32 size, be16 select, be16 reserved, char
// name[56]) and up to kMaxFiles named files from key 0x20 on. Multi-byte
// numbers are little-endian except in the file directory, which is
// big-endian. Item data is not copied: it must outlive the device.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class FwCfg final : public PortDevice {
 public:
  static constexpr uint16_t kSelectorPort = 0x510, kDataPort = 0x511;
  /// Selector keys (FW_CFG_*).
  static constexpr uint16_t kSignature = 0x00, kId = 0x01, kUuid = 0x02, kRamSize = 0x03, kNbCpus = 0x05,
                            kMaxCpus = 0x0f, kCmdlineSize = 0x14, kCmdlineData = 0x15, kFileDir = 0x19,
                            kFileFirst = 0x20;
  static constexpr uint16_t kWriteChannel = 0x4000, kArchLocal = 0x8000;
  /// FW_CFG_ID bit 0: the traditional (I/O port) interface.
  static constexpr uint32_t kIdTraditional = 1;
  static constexpr unsigned kMaxFiles = 16;
  /// Bytes of a file name in the directory, including its NUL.
  static constexpr unsigned kFileNameBytes = 56;

  struct Config {
    uint64_t ram_bytes = 0;     ///< guest RAM
    uint16_t cpus = 1;          ///< vCPUs (NB_CPUS and MAX_CPUS)
    const char* cmdline = "";   ///< NUL-terminated; kept by reference
  };
  explicit FwCfg(const Config& cfg);

  /// Adds a file `name` (at most kFileNameBytes - 1 bytes, no NUL inside)
  /// holding `size` bytes at `data` (kept by reference). Files get keys
  /// kFileFirst, kFileFirst + 1, ... in the order added. Returns its key, or
  /// 0 if the name is empty or too long, the data larger than 4 GiB - 1, or
  /// kMaxFiles files exist.
  uint16_t add_file(const char* name, const void* data, size_t size);

  // PortDevice: 0x510-0x511, register with max_width 4 (it decodes sizes itself).
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  /// The selected key (after a 16-bit write to 0x510).
  uint16_t selected() const { return key_; }

 private:
  struct Item {
    const uint8_t* data;
    uint32_t size;
  };
  /// The item for `key` (size 0 if there is none).
  Item item(uint16_t key) const;

  uint8_t id_[4], ram_[8], cpus_[2], cmdline_size_[4];
  const char* cmdline_;
  uint32_t cmdline_bytes_;  // with the NUL
  struct File {
    const uint8_t* data;
    uint32_t size;
  } files_[kMaxFiles] = {};
  unsigned file_count_ = 0;
  /// The directory as the guest reads it (4 + 64 bytes per file).
  uint8_t dir_[4 + 64 * kMaxFiles] = {};
  uint16_t key_ = 0xffff;  // FW_CFG_INVALID until the guest selects
  uint32_t offset_ = 0;
};

}  // namespace cos::dev
