// cos::chan::MsgRing — one direction of a channel: a single-producer,
// single-consumer ring of variable-length messages in memory shared with a
// component we do not trust.
//
// A ring is a 128-byte control block and a data area (both ends attach the
// same ranges):
//   control [0, 4)    tail: where the producer writes next
//   control [64, 68)  head: where the consumer reads next
//   data [0, capacity)   records; capacity = the data area rounded down to 8
// head and tail run over [0, 2 * capacity) (position = index mod capacity),
// so a full ring (tail - head = capacity) differs from an empty one.
// A record is an 8-byte header {le32 length, le32 tag} and `length` bytes of
// payload, padded to a multiple of 8. A record never wraps: when one does not
// fit before the end, the producer writes a pad record (length kPad) that
// fills the rest and starts again at offset 0.
//
// The capacity comes from the caller (the size the booter mapped), never from
// shared memory; head and tail are read once per call. Whatever the peer
// writes, every access stays inside the ring and each call ends: a peer
// whose indices or records make no sense gets RingStatus::corrupt, after
// which this end stops using the ring (every later call returns corrupt).
// Pure logic: no system calls (host-tested in tests/unit/channel_test.cpp).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::chan {

enum class RingStatus : uint8_t {
  ok,
  empty,    ///< consumer: no message waiting
  full,     ///< producer: not enough room now (try after the consumer catches up)
  too_big,  ///< the message can never fit (producer), or the buffer is smaller than it (consumer: not taken)
  corrupt,  ///< the peer broke the ring's rules; this end has stopped using it
};

/// The name of a status ("ok", "corrupt", ...).
const char* ring_status_name(RingStatus s);

class MsgRing {
 public:
  static constexpr size_t kControlBytes = 128;  ///< tail and head, a cache line each
  static constexpr size_t kRecordHeaderBytes = 8;
  static constexpr uint32_t kPad = 0xffffffffu;
  /// Smallest data area: room for one empty record and a pad.
  static constexpr size_t kMinDataBytes = 16;
  /// Largest capacity (indices are 32-bit and run to twice it).
  static constexpr size_t kMaxDataBytes = size_t{1} << 30;

  /// Attaches to the control block at `control` (kControlBytes) and
  /// `data_bytes` of records at `data` (both 8-byte aligned, not
  /// overlapping). A fresh, zeroed ring needs no further setup. Returns
  /// false if the data area is too small or anything is misaligned.
  bool attach(void* control, void* data, size_t data_bytes);
  /// Bytes available for records.
  size_t capacity() const { return cap_; }
  /// The longest payload push() can ever accept: half the capacity less a
  /// record header, so a message always fits once the ring drains, whatever
  /// the wrap position.
  size_t max_message() const { return cap_ / 2 - kRecordHeaderBytes; }
  bool broken() const { return broken_; }

  // --- producer ----------------------------------------------------------
  /// Appends one message: `tag`, then `alen` bytes at `a` followed by `blen`
  /// bytes at `b` (either may be empty). ok, full, too_big (alen + blen >
  /// max_message()), corrupt (the consumer's head is impossible).
  RingStatus push(uint32_t tag, const void* a, size_t alen, const void* b = nullptr, size_t blen = 0);

  // --- consumer ----------------------------------------------------------
  /// The next message's tag and length without taking it. ok, empty, corrupt.
  RingStatus peek(uint32_t& tag, size_t& len);
  /// Takes the next message: its first min(len, alen) bytes go to `a`, the
  /// rest to `b` (at most bcap bytes). `len` receives the payload length.
  /// too_big (nothing taken) if len > alen + bcap; empty; corrupt.
  RingStatus pop(uint32_t& tag, size_t& len, void* a, size_t alen, void* b = nullptr, size_t bcap = 0);
  /// Drops the next message. ok, empty, corrupt.
  RingStatus skip();

 private:
  // The record at the consumer's position after skipping pad records:
  // offset of its header and its length. ok, empty, corrupt.
  RingStatus next_record(uint32_t& head, size_t& off, uint32_t& len, uint32_t& tag);
  uint32_t load_tail() const;
  uint32_t load_head() const;
  void store_tail(uint32_t v);
  void store_head(uint32_t v);
  RingStatus fail() {
    broken_ = true;
    return RingStatus::corrupt;
  }

  uint32_t used(uint32_t tail, uint32_t head) const {
    return tail >= head ? tail - head : static_cast<uint32_t>(2 * cap_) - head + tail;
  }

  uint8_t* base_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t cap_ = 0;
  bool broken_ = false;
};

}  // namespace cos::chan
