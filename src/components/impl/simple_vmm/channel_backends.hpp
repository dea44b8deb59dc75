// The VMM's side of device backends that are components (issue 13, docs/
// channels.md): a virtio device's BlockBackend / NetBackend implemented over
// a channel ([[channel]] in the composition script) to a native component.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "channel/channel.hpp"
#include "devices/virtio/virtio_blk.hpp"
#include "devices/virtio/virtio_net.hpp"

namespace cos::simple_vmm {

/// A disk served by a block component (blk_ram) with the block protocol
/// (channel/blk_protocol.hpp). Calls are synchronous: the vCPU's thread
/// posts a request, notifies the server and waits on the VMM's notification
/// endpoint for the answer, at most the timeout. A server that does not
/// answer in time (or breaks the protocol) makes that request and every
/// later one fail with io_error, which the guest sees as an I/O error on
/// that disk only; the VM goes on.
class ChannelDisk final : public dev::BlockBackend {
 public:
  /// Attaches to channel `name` and asks the server for the disk's size and
  /// flags. On failure returns false with the reason in `why`.
  bool open(const char* name, uint64_t timeout_us, char* why, size_t why_bytes);
  uint64_t capacity_sectors() const override { return sectors_; }
  bool read_only() const override { return read_only_; }
  Status read(uint64_t sector, uint8_t* dst, uint32_t count) override;
  Status write(uint64_t sector, const uint8_t* src, uint32_t count) override;
  Status flush() override;
  /// Requests and the chunks they were split into (for the end-of-run line).
  uint64_t requests() const { return requests_; }

 private:
  // One request/response round trip; `rdata` receives a read's data.
  bool call(uint32_t op, uint64_t sector, uint32_t count, const uint8_t* wdata, uint8_t* rdata, uint64_t* capacity,
            uint32_t* flags);
  void fail(const char* what);

  chan::Channel ch_;
  uint64_t timeout_us_ = 0, next_id_ = 1, sectors_ = 0, requests_ = 0;
  uint32_t max_sectors_ = 0;
  bool read_only_ = true, dead_ = false;
};

/// A network port on a switch component (netswitch): Ethernet frames as
/// messages (tag kNetFrame) in both directions. Transmit never waits: a
/// full ring drops the frame (as a busy link would). The switch's
/// notification wakes the vCPU's thread; Platform::poll_net() then moves
/// frames into the guest's receive buffers.
class ChannelNet final : public dev::NetBackend {
 public:
  static constexpr uint32_t kNetFrame = 1;
  bool open(const char* name, char* why, size_t why_bytes);
  bool net_transmit(const uint8_t* frame, size_t len) override;
  size_t net_rx_peek() override;
  size_t net_receive(uint8_t* dst, size_t cap) override;

 private:
  void fail(const char* what);
  chan::Channel ch_;
  bool dead_ = false;
};

}  // namespace cos::simple_vmm
