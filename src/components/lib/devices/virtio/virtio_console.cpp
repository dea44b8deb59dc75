#include "devices/virtio/virtio_console.hpp"

#include "devices/util.hpp"

namespace cos::dev {

VirtioConsole::VirtioConsole(GuestMemory& mem, ConsoleBackend& backend, uint16_t cols, uint16_t rows)
    : VirtioDevice(virtio::kIdConsole, virtio::feature(kFSize) | virtio::feature(kFEmergWrite), 2,
                   kQueueSize, mem),
      backend_(backend) {
  set_config_size(kConfigBytes);
  store_le16(config() + 0, cols);
  store_le16(config() + 2, rows);
  store_le32(config() + 4, 1);  // max_nr_ports
}

void VirtioConsole::set_size(uint16_t cols, uint16_t rows) {
  store_le16(config() + 0, cols);
  store_le16(config() + 2, rows);
  config_changed();
}

void VirtioConsole::config_write(uint32_t offset, unsigned size, uint64_t value) {
  // emerg_wr (§5.3.4): the low byte of a write at offset 8 is output.
  if (offset == 8 && size >= 1) {
    uint8_t c = static_cast<uint8_t>(value);
    backend_.console_write(&c, 1);
    ++bytes_out_;
  }
}

void VirtioConsole::process_queue(uint16_t q) {
  if (q == kReceiveQueue) poll_input();
  else if (q == kTransmitQueue) transmit();
}

void VirtioConsole::transmit() {
  Virtqueue& q = *queue(kTransmitQueue);
  bool pushed = false;
  for (;;) {
    DescChain c;
    while (running() && q.pop(c)) {
      ChainCursor in(q, c, ChainCursor::Part::readable);
      uint8_t* p;
      uint64_t n;
      while (in.next_span(~uint64_t(0), p, n)) {
        backend_.console_write(p, n);
        bytes_out_ += n;
      }
      if (in.failed()) return;
      q.push(c, 0);
      pushed = true;
    }
    if (!running() || !q.enable_notifications()) break;
  }
  if (pushed) complete(kTransmitQueue);
}

void VirtioConsole::poll_input() {
  Virtqueue& q = *queue(kReceiveQueue);
  if (!running() || !q.enabled()) return;
  bool pushed = false;
  DescChain c;
  while (running() && q.pop(c)) {
    if (c.writable == 0) {
      fail(kReceiveQueue, VirtioErrc::request_malformed, c.head);  // a receive buffer with no room
      return;
    }
    ChainCursor out(q, c, ChainCursor::Part::writable);
    uint64_t total = 0;
    uint8_t* p;
    uint64_t n;
    while (out.next_span(~uint64_t(0), p, n)) {
      size_t got = backend_.console_read(p, n);
      total += got;
      if (got < n) break;
    }
    if (out.failed()) return;
    if (total == 0) {
      q.unpop();  // nothing to deliver: keep the buffer for later
      break;
    }
    q.push(c, total);
    bytes_in_ += total;
    pushed = true;
  }
  q.enable_notifications();
  if (pushed) complete(kReceiveQueue);
}

}  // namespace cos::dev
