// Test fixtures for the virtio device models: guest RAM in a host buffer,
// the driver side of a split virtqueue (what Linux's virtio_ring.c does),
// a transport that records notifications, and a bring-up helper that runs
// the initialization sequence of virtio 1.2 §3.1.1 on a VirtioDevice.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "devices/virtio/virtio.hpp"

namespace vtest {

using namespace cos::dev;
namespace vs = cos::dev::virtio;

/// Guest RAM: `size` bytes at gpa `base`, with a bump allocator for rings
/// and buffers.
struct GuestRam {
  explicit GuestRam(uint64_t size = 4 << 20, uint64_t base = 0x100000)
      : bytes(size), mem(bytes.data(), size, base), base_gpa(base), next(base) {}
  std::vector<uint8_t> bytes;
  FlatGuestMemory mem;
  uint64_t base_gpa;
  uint64_t next;

  uint64_t alloc(uint64_t n, uint64_t align = 16) {
    next = (next + align - 1) & ~(align - 1);
    uint64_t at = next;
    next += n;
    EXPECT_LE(next, base_gpa + bytes.size()) << "test guest RAM exhausted";
    return at;
  }
  uint8_t* host(uint64_t gpa) { return bytes.data() + (gpa - base_gpa); }
  uint64_t end() const { return base_gpa + bytes.size(); }
  void put16(uint64_t gpa, uint16_t v) { std::memcpy(host(gpa), &v, 2); }
  void put32(uint64_t gpa, uint32_t v) { std::memcpy(host(gpa), &v, 4); }
  void put64(uint64_t gpa, uint64_t v) { std::memcpy(host(gpa), &v, 8); }
  uint16_t get16(uint64_t gpa) {
    uint16_t v;
    std::memcpy(&v, host(gpa), 2);
    return v;
  }
  uint32_t get32(uint64_t gpa) {
    uint32_t v;
    std::memcpy(&v, host(gpa), 4);
    return v;
  }
  void fill(uint64_t gpa, const std::vector<uint8_t>& data) { std::memcpy(host(gpa), data.data(), data.size()); }
  std::vector<uint8_t> read(uint64_t gpa, size_t n) { return std::vector<uint8_t>(host(gpa), host(gpa) + n); }
};

/// One buffer of a chain as the driver describes it.
struct Buf {
  uint64_t gpa;
  uint32_t len;
  bool writable;
};

/// The driver's half of a split virtqueue in GuestRam (virtio 1.2 §2.7.13):
/// descriptor table, available ring with used_event, used ring with
/// avail_event.
struct DriverQueue {
  DriverQueue(GuestRam& ram, uint16_t size) : ram(ram), size(size), free_head(0), num_free(size) {
    desc = ram.alloc(vs::desc_table_bytes(size), 16);
    avail = ram.alloc(vs::avail_ring_bytes(size), 2);
    used = ram.alloc(vs::used_ring_bytes(size), 4);
    for (uint16_t i = 0; i < size; ++i) set_desc(i, 0, 0, 0, static_cast<uint16_t>((i + 1) % size));
  }
  GuestRam& ram;
  uint16_t size;
  uint64_t desc = 0, avail = 0, used = 0;
  uint16_t free_head, num_free;
  uint16_t avail_idx = 0, last_used = 0;

  void set_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
    uint64_t d = desc + 16ull * i;
    ram.put64(d, addr);
    ram.put32(d + 8, len);
    ram.put16(d + 12, flags);
    ram.put16(d + 14, next);
  }
  uint16_t desc_next(uint16_t i) { return ram.get16(desc + 16ull * i + 14); }
  uint16_t desc_flags(uint16_t i) { return ram.get16(desc + 16ull * i + 12); }

  /// Writes `bufs` into free descriptors as one chain; returns its head.
  uint16_t write_chain(const std::vector<Buf>& bufs) {
    EXPECT_LE(bufs.size(), num_free);
    uint16_t head = free_head, i = free_head;
    for (size_t k = 0; k < bufs.size(); ++k) {
      uint16_t nxt = desc_next(i);  // the free list links through `next`
      uint16_t flags = static_cast<uint16_t>((bufs[k].writable ? vs::kDescWrite : 0) |
                                             (k + 1 < bufs.size() ? vs::kDescNext : 0));
      set_desc(i, bufs[k].gpa, bufs[k].len, flags, nxt);
      i = nxt;
    }
    free_head = i;
    num_free = static_cast<uint16_t>(num_free - bufs.size());
    return head;
  }
  /// Writes an indirect table holding `bufs` and one descriptor naming it.
  uint16_t write_indirect(const std::vector<Buf>& bufs) {
    uint64_t table = ram.alloc(16 * bufs.size(), 16);
    for (size_t k = 0; k < bufs.size(); ++k) {
      uint64_t d = table + 16 * k;
      ram.put64(d, bufs[k].gpa);
      ram.put32(d + 8, bufs[k].len);
      ram.put16(d + 12, static_cast<uint16_t>((bufs[k].writable ? vs::kDescWrite : 0) |
                                              (k + 1 < bufs.size() ? vs::kDescNext : 0)));
      ram.put16(d + 14, static_cast<uint16_t>(k + 1));
    }
    uint16_t head = free_head;
    uint16_t nxt = desc_next(head);
    set_desc(head, table, static_cast<uint32_t>(16 * bufs.size()), vs::kDescIndirect, nxt);
    free_head = nxt;
    --num_free;
    return head;
  }
  /// Puts `head` in the available ring and publishes it (avail->idx++).
  void publish(uint16_t head) {
    ram.put16(avail + 4 + 2 * (avail_idx % size), head);
    ++avail_idx;
    ram.put16(avail + 2, avail_idx);
  }
  uint16_t add(const std::vector<Buf>& bufs) {
    uint16_t h = write_chain(bufs);
    publish(h);
    return h;
  }
  uint16_t add_indirect(const std::vector<Buf>& bufs) {
    uint16_t h = write_indirect(bufs);
    publish(h);
    return h;
  }
  uint16_t used_idx() { return ram.get16(used + 2); }
  uint16_t used_flags() { return ram.get16(used); }
  uint16_t avail_event() { return ram.get16(used + 4 + 8ull * size); }
  void set_used_event(uint16_t v) { ram.put16(avail + 4 + 2ull * size, v); }
  void set_avail_flags(uint16_t v) { ram.put16(avail, v); }
  /// Takes the next used element; false if none. Frees its descriptors.
  bool take_used(uint32_t& id, uint32_t& len) {
    if (used_idx() == last_used) return false;
    uint64_t e = used + 4 + 8ull * (last_used % size);
    id = ram.get32(e);
    len = ram.get32(e + 4);
    ++last_used;
    // Return the chain's descriptors to the free list.
    uint16_t i = static_cast<uint16_t>(id), n = 1;
    while (desc_flags(i) & vs::kDescNext) {
      i = desc_next(i);
      ++n;
    }
    set_desc(i, 0, 0, 0, free_head);
    free_head = static_cast<uint16_t>(id);
    num_free = static_cast<uint16_t>(num_free + n);
    return true;
  }
};

/// Records what a device asks its transport to send.
struct TransportRecorder final : VirtioTransport {
  std::vector<uint16_t> queue_irqs;
  unsigned config_irqs = 0;
  bool dma = true;
  void queue_interrupt(uint16_t q) override { queue_irqs.push_back(q); }
  void config_interrupt() override { ++config_irqs; }
  bool dma_enabled() const override { return dma; }
  unsigned count(uint16_t q) const {
    unsigned n = 0;
    for (uint16_t x : queue_irqs) n += x == q;
    return n;
  }
};

/// Records device errors.
struct ErrorRecorder {
  std::vector<VirtioError> errors;
  static void fn(void* ctx, const VirtioError& e) { static_cast<ErrorRecorder*>(ctx)->errors.push_back(e); }
  void attach(VirtioDevice& d) { d.set_error_callback(fn, this); }
};

/// virtio 1.2 §3.1.1 on a device without a transport in between: reset,
/// ACKNOWLEDGE, DRIVER, features (all offered ones if `accept` is ~0),
/// FEATURES_OK (checked), queue setup, DRIVER_OK. Returns false if the
/// device refused FEATURES_OK.
inline bool bring_up(VirtioDevice& dev, const std::vector<DriverQueue*>& queues, uint64_t accept = ~0ull) {
  dev.write_status(0);
  dev.write_status(vs::kStatusAcknowledge);
  dev.write_status(vs::kStatusAcknowledge | vs::kStatusDriver);
  uint64_t f = dev.device_features() & accept;
  dev.write_driver_features(0, static_cast<uint32_t>(f));
  dev.write_driver_features(1, static_cast<uint32_t>(f >> 32));
  uint8_t s = vs::kStatusAcknowledge | vs::kStatusDriver | vs::kStatusFeaturesOk;
  dev.write_status(s);
  if (!(dev.status() & vs::kStatusFeaturesOk)) return false;
  for (size_t q = 0; q < queues.size(); ++q) {
    Virtqueue* vq = dev.queue(static_cast<uint16_t>(q));
    vq->set_size(queues[q]->size);
    vq->set_desc_gpa(queues[q]->desc);
    vq->set_driver_gpa(queues[q]->avail);
    vq->set_device_gpa(queues[q]->used);
    dev.enable_queue(static_cast<uint16_t>(q));
  }
  dev.write_status(s | vs::kStatusDriverOk);
  return dev.running();
}

}  // namespace vtest
