// cos::dev::PciFunction — a PCI endpoint function with a type-0
// configuration header (PCI Local Bus Specification 3.0, §6.1-§6.2):
// identity registers, command/status, up to six 32-bit non-prefetchable
// memory BARs with size probing (§6.2.5.1), a capability list (§6.7),
// INTx (INTA#, §6.2.4 interrupt pin/line and command bit 10) and MSI-X
// (§6.8.2) with its table and PBA in BARs. A device model derives from it,
// fills its BARs by overriding bar_read/bar_write and adds vendor
// capabilities; PciHost puts it on bus 0 behind configuration mechanism #1
// and routes guest accesses to its BARs.
//
// Configuration space (256 bytes; there is no extended space):
//   0x00 vendor / 0x02 device ID, 0x04 command, 0x06 status, 0x08 revision,
//   0x09 class code (3 bytes), 0x0c cache line size (RW), 0x0e header type 0
//   (single function), 0x10-0x27 BAR0-5, 0x2c subsystem vendor / 0x2e
//   subsystem ID, 0x30 expansion ROM BAR (none: reads 0), 0x34 capabilities
//   pointer, 0x3c interrupt line (RW), 0x3d interrupt pin (1 = INTA#).
// Command: memory space (bit 1), bus master (bit 2), parity error response
// (6), SERR# (8) and interrupt disable (10) are writable; I/O space reads 0
// (no I/O BARs). Status: bit 3 interrupt status, bit 4 capabilities list;
// no error bits are ever set. A BAR decodes only while the command
// register's memory-space bit is set.
#pragma once
#include <stdint.h>

#include "devices/device.hpp"
#include "devices/msi.hpp"
#include "devices/msix.hpp"

namespace cos::dev {

class PciFunction {
 public:
  static constexpr unsigned kConfigBytes = 256;
  static constexpr unsigned kBars = 6;
  /// Configuration header offsets (PCI 3.0, Figure 6-1).
  enum : uint8_t {
    kVendorId = 0x00, kDeviceId = 0x02, kCommand = 0x04, kStatus = 0x06, kRevision = 0x08,
    kClassCode = 0x09, kCacheLineSize = 0x0c, kHeaderType = 0x0e, kBar0 = 0x10,
    kSubsystemVendorId = 0x2c, kSubsystemId = 0x2e, kExpansionRom = 0x30, kCapabilitiesPtr = 0x34,
    kInterruptLine = 0x3c, kInterruptPin = 0x3d,
  };
  /// Command register bits (§6.2.2).
  static constexpr uint16_t kCmdIo = 1u << 0, kCmdMemory = 1u << 1, kCmdBusMaster = 1u << 2,
                            kCmdParity = 1u << 6, kCmdSerr = 1u << 8, kCmdIntxDisable = 1u << 10;
  /// Status register bits (§6.2.3).
  static constexpr uint16_t kStatusIntx = 1u << 3, kStatusCapList = 1u << 4;
  /// Capability IDs (PCI Code and ID Assignment Specification).
  static constexpr uint8_t kCapMsix = 0x11, kCapVendor = 0x09;
  /// MSI-X Message Control bits (§6.8.2.3).
  static constexpr uint16_t kMsixEnable = 1u << 15, kMsixFunctionMask = 1u << 14;

  struct Identity {
    uint16_t vendor_id = 0;
    uint16_t device_id = 0;
    uint16_t subsystem_vendor_id = 0;
    uint16_t subsystem_id = 0;
    uint8_t revision = 0;
    uint32_t class_code = 0;  ///< base class << 16 | subclass << 8 | programming interface
  };

  explicit PciFunction(const Identity& id);
  PciFunction(const PciFunction&) = delete;
  PciFunction& operator=(const PciFunction&) = delete;

  /// A configuration read/write of `size` bytes (1, 2 or 4) at `offset`
  /// (0..255; bytes beyond 255 read 0 and ignore writes).
  uint32_t config_read(unsigned offset, unsigned size);
  void config_write(unsigned offset, unsigned size, uint32_t value);

  /// BAR `i`: size in bytes (0 = not implemented) and current base address.
  uint32_t bar_size(unsigned i) const { return i < kBars ? bar_size_[i] : 0; }
  uint32_t bar_base(unsigned i) const { return i < kBars ? bar_base_[i] : 0; }
  /// Sets BAR `i`'s base (firmware assignment by PciHost; the low bits
  /// below the BAR's size are dropped).
  void set_bar_base(unsigned i, uint32_t base);
  uint16_t command() const { return load16(kCommand); }
  bool memory_enabled() const { return command() & kCmdMemory; }
  bool bus_master() const { return command() & kCmdBusMaster; }

  /// Guest-physical accesses: true if a BAR of this function decodes
  /// [gpa, gpa + size) (memory space enabled, the access inside the BAR);
  /// then the access was performed.
  bool mmio_read(uint64_t gpa, unsigned size, uint64_t& value);
  bool mmio_write(uint64_t gpa, unsigned size, uint64_t value);

  /// Where the function's interrupts go: MSI-X messages to `msi`, INTA# to
  /// `intx` line `gsi` (either may be null: that path is then not wired).
  /// Called by PciHost.
  void connect_interrupts(MsiSink* msi, IrqLine* intx, unsigned gsi);
  unsigned intx_gsi() const { return gsi_; }

  /// INTA# as the function drives it (true = asserted). The line follows it
  /// unless the command register's interrupt-disable bit is set; status
  /// bit 3 always does.
  void set_intx(bool level);
  bool intx_asserted() const { return intx_level_; }
  /// True when the guest enabled MSI-X (Message Control bit 15).
  bool msix_enabled() const;
  /// Sends MSI-X vector `v`: a masked vector (or function mask) sets its
  /// pending bit instead and is sent when unmasked (§6.8.2.9). Nothing is
  /// sent while MSI-X is disabled, bus mastering is off (a function cannot
  /// write messages then) or v is out of range; those and messages the sink
  /// refuses are counted in msi_dropped().
  void msix_signal(unsigned v);
  unsigned msix_vectors() const { return msix_.vectors(); }
  const MsixTable& msix_table() const { return msix_; }
  uint64_t msi_dropped() const { return msi_dropped_; }
  uint64_t msi_sent() const { return msi_sent_; }

 protected:
  ~PciFunction() = default;

  /// Declares BAR `i` as a 32-bit non-prefetchable memory BAR of `size`
  /// bytes (a power of two >= 16). False otherwise.
  bool define_bar(unsigned i, uint32_t size);
  /// Appends a capability of `length` bytes (>= 2) with ID `id` to the list;
  /// returns its offset (4-byte aligned), 0 if configuration space is full.
  /// Its bytes are read-only until set_writable().
  uint8_t add_capability(uint8_t id, unsigned length);
  /// Adds the MSI-X capability: `vectors` entries, the table at
  /// `table_offset` of BAR `table_bar`, the PBA at `pba_offset` of BAR
  /// `pba_bar` (offsets 8-byte aligned, inside defined BARs, not
  /// overlapping). Returns the capability offset, 0 on bad arguments.
  uint8_t add_msix(unsigned vectors, unsigned table_bar, uint32_t table_offset, unsigned pba_bar,
                   uint32_t pba_offset);
  /// Marks bits of configuration bytes [offset, offset + len) writable.
  void set_writable(unsigned offset, unsigned len, uint8_t mask = 0xff);
  /// Raw configuration bytes (for filling capability bodies).
  uint8_t* config_bytes() { return config_; }
  void store16(unsigned off, uint16_t v);
  void store32(unsigned off, uint32_t v);
  uint16_t load16(unsigned off) const;
  uint32_t load32(unsigned off) const;

  /// The function's own BAR registers, outside the MSI-X table and PBA:
  /// `offset` within BAR `bar`, `size` 1/2/4/8, offset + size <= BAR size.
  virtual uint64_t bar_read(unsigned bar, uint64_t offset, unsigned size) = 0;
  virtual void bar_write(unsigned bar, uint64_t offset, unsigned size, uint64_t value) = 0;
  /// Hooks: a subclass may take over a configuration access (return true)
  /// before the generic handling, and is told after a write was applied.
  virtual bool intercept_config_read(unsigned offset, unsigned size, uint32_t& value);
  virtual bool intercept_config_write(unsigned offset, unsigned size, uint32_t value);
  virtual void config_written(unsigned offset, unsigned size, uint16_t old_command);
  /// An access to BAR `bar` at `offset` as a guest access would do it
  /// (MSI-X table and PBA included), whether or not memory decoding is on
  /// (for configuration-space windows such as virtio's PCI_CFG). False if
  /// the BAR is not implemented or [offset, offset + size) leaves it.
  bool access_bar(unsigned bar, uint64_t offset, unsigned size, bool write, uint64_t& value);

 private:
  void write_bar_byte(unsigned bar, unsigned byte, uint8_t value);
  void update_intx_line();
  void msix_service();
  bool decode(uint64_t gpa, unsigned size, unsigned& bar, uint64_t& offset) const;

  uint8_t config_[kConfigBytes] = {};
  uint8_t wmask_[kConfigBytes] = {};
  uint32_t bar_size_[kBars] = {};
  uint32_t bar_base_[kBars] = {};
  uint8_t cap_end_ = 0x40;    // first free capability byte
  uint8_t cap_last_ = 0;      // offset of the last capability (0: none)
  uint8_t msix_cap_ = 0;
  MsixTable msix_;
  unsigned msix_table_bar_ = 0, msix_pba_bar_ = 0;
  uint32_t msix_table_off_ = 0, msix_pba_off_ = 0;
  MsiSink* msi_ = nullptr;
  IrqLine* intx_ = nullptr;
  unsigned gsi_ = 0;
  bool intx_level_ = false;
  bool intx_line_ = false;
  uint64_t msi_dropped_ = 0, msi_sent_ = 0;
};

}  // namespace cos::dev
