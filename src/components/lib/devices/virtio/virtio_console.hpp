// cos::dev::VirtioConsole — a virtio console device with one port (virtio
// 1.2, §5.3): receiveq0 (queue 0, host -> guest) and transmitq0 (queue 1,
// guest -> host); no VIRTIO_CONSOLE_F_MULTIPORT, so there is no control
// queue and Linux's virtio_console makes the port /dev/hvc0.
//
// Features: VIRTIO_CONSOLE_F_SIZE (cols/rows in the configuration space)
// and VIRTIO_CONSOLE_F_EMERG_WRITE (a character written to emerg_wr is
// output at once), besides the common ones.
// Configuration (§5.3.4): le16 cols @0, le16 rows @2, le32 max_nr_ports @4
// (1), le32 emerg_wr @8.
//
// Output goes to ConsoleBackend::console_write as the driver queues it.
// Input is pulled: the device asks the backend for bytes while it holds
// receive buffers (when the VMM calls poll_input() after host input
// arrived, when the driver adds receive buffers, and at DRIVER_OK); bytes
// stay in the backend while the guest has no buffer, so nothing is lost.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_device.hpp"

namespace cos::dev {

/// Where a virtio console's bytes come from and go to.
class ConsoleBackend {
 public:
  /// Bytes the guest wrote to the port, in order; the backend takes all.
  virtual void console_write(const uint8_t* data, size_t len) = 0;
  /// Copies up to `cap` bytes of pending host input into `dst`; returns
  /// how many (0: none pending).
  virtual size_t console_read(uint8_t* dst, size_t cap) = 0;

 protected:
  ~ConsoleBackend() = default;
};

class VirtioConsole final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint16_t kReceiveQueue = 0, kTransmitQueue = 1;
  /// Feature bits (§5.3.3).
  enum : unsigned { kFSize = 0, kFMultiport = 1, kFEmergWrite = 2 };
  static constexpr uint32_t kConfigBytes = 12;

  VirtioConsole(GuestMemory& mem, ConsoleBackend& backend, uint16_t cols = 80, uint16_t rows = 25);

  /// Host input may be waiting in the backend: fill receive buffers.
  void poll_input();
  /// The console window changed size (configuration change notification).
  void set_size(uint16_t cols, uint16_t rows);
  /// Bytes passed each way so far.
  uint64_t bytes_out() const { return bytes_out_; }
  uint64_t bytes_in() const { return bytes_in_; }

 protected:
  void process_queue(uint16_t q) override;
  void config_write(uint32_t offset, unsigned size, uint64_t value) override;

 private:
  void transmit();

  ConsoleBackend& backend_;
  uint64_t bytes_out_ = 0, bytes_in_ = 0;
};

}  // namespace cos::dev
