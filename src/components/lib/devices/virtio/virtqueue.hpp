// cos::dev::Virtqueue — the device side of a split virtqueue (virtio 1.2,
// §2.7): descriptor table, available ring (driver area) and used ring
// (device area) in guest RAM, reached through a GuestMemory.
//
//  * pop() takes the next descriptor chain from the available ring and
//    validates all of it before the device acts on it (§2.7.5, §2.7.13.2):
//    head and next indices inside the table, buffers inside guest RAM
//    (overflow-safe), no loops (a chain visits at most Queue Size
//    descriptors, an indirect table at most its own entry count), indirect
//    tables (§2.7.5.3) only when VIRTIO_F_INDIRECT_DESC was negotiated,
//    never nested, never together with NEXT, a non-zero multiple of 16
//    bytes, and every device-writable buffer after every device-readable
//    one (§2.7.4.2). ChainCursor then walks the buffers as host spans and
//    re-checks each descriptor, because the guest can rewrite them meanwhile.
//  * push() puts a used element (head, bytes written) on the used ring
//    (§2.7.8), publishing it with release ordering.
//  * Notification suppression (§2.7.7, §2.7.10): without
//    VIRTIO_F_EVENT_IDX, VIRTQ_AVAIL_F_NO_INTERRUPT / VIRTQ_USED_F_NO_NOTIFY;
//    with it, used_event (the last entry of the available ring) decides
//    whether the driver wants an interrupt and avail_event (the last entry
//    of the used ring) tells it when the device wants a notification.
//  * Indices are free-running 16-bit counters; ring slots are index modulo
//    Queue Size (a power of two, at most 32768).
//
// Any violation stops the queue (broken()) and is reported once through the
// error callback with a VirtioErrc; the owning VirtioDevice then sets
// DEVICE_NEEDS_RESET. Nothing is written to guest memory after that.
// Not thread-safe: one thread drives a queue.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/guest_memory.hpp"
#include "devices/virtio/virtio_spec.hpp"

namespace cos::dev {

/// Why a virtio device stopped (reported with DEVICE_NEEDS_RESET).
enum class VirtioErrc : uint8_t {
  none = 0,
  queue_size_invalid,       ///< value: the size (not a power of two, 0 or above the maximum)
  ring_misaligned,          ///< value: the misaligned area's gpa (§2.7 alignment table)
  ring_not_in_ram,          ///< value: the area's gpa
  queue_enabled_early,      ///< queue_enable before FEATURES_OK
  avail_index_jump,         ///< value: avail idx; it moved more than Queue Size past the device's
  head_out_of_range,        ///< value: the head index
  next_out_of_range,        ///< value: the next index
  chain_too_long,           ///< value: descriptors visited (a loop, or more than the table holds)
  buffer_not_in_ram,        ///< value: the buffer's gpa
  indirect_not_negotiated,  ///< value: the descriptor index
  indirect_with_next,       ///< value: the descriptor index
  nested_indirect,          ///< value: the descriptor index
  indirect_table_invalid,   ///< value: the table length in bytes
  readable_after_writable,  ///< value: the descriptor index
  request_malformed,        ///< device-specific: value documented by the device
};
/// A stable lower-case name for logs ("chain_too_long", ...).
const char* virtio_errc_name(VirtioErrc code);

/// One descriptor chain taken from the available ring, as validated by pop().
struct DescChain {
  uint16_t head = 0;
  uint32_t descriptors = 0;  ///< buffer descriptors (an indirect table's entries, not the descriptor naming it)
  uint64_t readable = 0;     ///< bytes in device-readable buffers
  uint64_t writable = 0;     ///< bytes in device-writable buffers
};

class Virtqueue {
 public:
  /// Called once when the queue stops: queue index, reason, detail value.
  using ErrorFn = void (*)(void* ctx, uint16_t queue, VirtioErrc code, uint64_t value);

  /// Sets the queue's index and maximum size (a power of two <= 32768;
  /// others are rounded down to one) and resets it.
  void init(uint16_t index, uint16_t max_size, ErrorFn on_error, void* ctx);
  /// Back to the state after device reset: disabled, size = maximum,
  /// addresses 0, indices 0, not broken.
  void reset();

  // --- Configuration by the transport (virtio 1.2, §4.1.4.3) ---
  uint16_t index() const { return index_; }
  uint16_t max_size() const { return max_size_; }
  uint16_t size() const { return size_; }
  /// Ignored while enabled (the driver must not change a live queue).
  void set_size(uint16_t n) {
    if (!enabled_) size_ = n;
  }
  uint64_t desc_gpa() const { return desc_gpa_; }
  uint64_t driver_gpa() const { return driver_gpa_; }
  uint64_t device_gpa() const { return device_gpa_; }
  void set_desc_gpa(uint64_t a) {
    if (!enabled_) desc_gpa_ = a;
  }
  void set_driver_gpa(uint64_t a) {
    if (!enabled_) driver_gpa_ = a;
  }
  void set_device_gpa(uint64_t a) {
    if (!enabled_) device_gpa_ = a;
  }
  /// queue_enable = 1: checks the size (power of two, 1..max_size) and that
  /// the three areas are aligned (16/2/4 bytes) contiguous guest RAM, then
  /// starts the queue with the negotiated `features` (event index,
  /// indirect descriptors). False (and the error reported) otherwise.
  bool enable(GuestMemory& mem, uint64_t features);
  bool enabled() const { return enabled_; }
  bool broken() const { return broken_; }

  // --- Device side ---
  /// Takes the next available chain into `out`. False if none is available,
  /// the queue is not enabled, or the chain is malformed (then broken()).
  bool pop(DescChain& out);
  /// Gives back the chain the last pop() returned (the device could not use
  /// it yet, e.g. a receive buffer while no frame is waiting).
  void unpop();
  /// Returns `chain` to the driver with `written` bytes written into its
  /// device-writable buffers (clamped to chain.writable).
  void push(const DescChain& chain, uint64_t written);
  /// After push()es: whether the driver wants a used-buffer notification
  /// now (§2.7.7.2 / §2.7.10). Only ask when something was pushed.
  bool should_interrupt();
  /// Asks the driver not to send available-buffer notifications (no-op
  /// with VIRTIO_F_EVENT_IDX, where the stale avail_event does it).
  void disable_notifications();
  /// Asks for a notification on the next available buffer; returns true if
  /// buffers became available meanwhile (process them before sleeping).
  bool enable_notifications();
  /// True if the driver made buffers available that pop() has not taken.
  bool has_available();

  uint16_t last_avail_idx() const { return last_avail_; }
  uint16_t used_idx() const { return used_idx_; }
  bool event_idx() const { return event_idx_; }
  GuestMemory* memory() const { return mem_; }

  /// Reports an error on this queue (also for device-specific request
  /// errors found by the device model) and stops it.
  void fail(VirtioErrc code, uint64_t value);

 private:
  friend class DescWalker;
  uint16_t avail_idx();

  uint16_t index_ = 0, max_size_ = 0, size_ = 0;
  uint64_t desc_gpa_ = 0, driver_gpa_ = 0, device_gpa_ = 0;
  bool enabled_ = false, broken_ = false;
  bool event_idx_ = false, indirect_ = false;
  GuestMemory* mem_ = nullptr;
  uint8_t* desc_ = nullptr;   // host pointers of the three areas, valid while enabled
  uint8_t* avail_ = nullptr;
  uint8_t* used_ = nullptr;
  uint16_t last_avail_ = 0, used_idx_ = 0;
  uint16_t signalled_used_ = 0;
  bool signalled_valid_ = false;
  ErrorFn on_error_ = nullptr;
  void* ctx_ = nullptr;
};

/// One descriptor as the device sees it (§2.7.5).
struct VirtqDesc {
  uint64_t addr = 0;
  uint32_t len = 0;
  uint16_t flags = 0;
  uint16_t next = 0;
};

/// Walks the buffer descriptors of a chain in order, following one
/// indirect table, checking every rule pop() checks. Used by pop() and
/// ChainCursor; a failure stops the queue.
class DescWalker {
 public:
  DescWalker(Virtqueue& q, uint16_t head);
  /// The next buffer descriptor and its position (table index), false at
  /// the end of the chain or on an error (then the queue is broken()).
  bool next(VirtqDesc& out, uint32_t& position);

 private:
  bool load(uint32_t i, VirtqDesc& d);
  Virtqueue& q_;
  uint32_t next_;
  uint32_t hops_ = 0;
  uint32_t limit_;
  uint64_t table_gpa_ = 0;
  bool indirect_ = false;
  bool more_ = true;
};

/// Sequential access to the device-readable or the device-writable bytes
/// of a chain, as host spans of guest RAM (no copy) or copies.
class ChainCursor {
 public:
  enum class Part : uint8_t { readable, writable };
  ChainCursor(Virtqueue& q, const DescChain& chain, Part part);

  /// The next contiguous host span of the part, at most `max` (> 0) bytes:
  /// `p` and `len` > 0. False at the end of the part or on an error.
  bool next_span(uint64_t max, uint8_t*& p, uint64_t& len);
  /// Copies exactly `len` bytes out of / into the part; false if the part
  /// has fewer bytes left (some may have been copied) or on an error.
  bool read(void* dst, uint64_t len);
  bool write(const void* src, uint64_t len);
  /// Skips `len` bytes; false if the part is shorter.
  bool skip(uint64_t len);
  /// Bytes of the part consumed so far.
  uint64_t offset() const { return offset_; }
  /// True once the walk hit a malformed descriptor (the queue is broken).
  bool failed() const { return q_.broken(); }

 private:
  bool advance();  // loads the next descriptor of the part into cur_

  Virtqueue& q_;
  DescWalker walker_;
  Part part_;
  VirtqDesc cur_;
  uint64_t cur_off_ = 0;  // bytes of cur_ consumed
  bool have_ = false;
  bool done_ = false;
  bool seen_writable_ = false;
  uint64_t offset_ = 0;
};

}  // namespace cos::dev
