#include "channel/msg_ring.hpp"

namespace cos::chan {
namespace {

constexpr size_t align8(size_t n) { return (n + 7) & ~size_t{7}; }

void copy(void* dst, const void* src, size_t n) {
  auto* d = static_cast<uint8_t*>(dst);
  auto* s = static_cast<const uint8_t*>(src);
  for (size_t i = 0; i < n; ++i) d[i] = s[i];
}

void put32(uint8_t* p, uint32_t v) { __atomic_store_n(reinterpret_cast<uint32_t*>(p), v, __ATOMIC_RELAXED); }
uint32_t get32(const uint8_t* p) { return __atomic_load_n(reinterpret_cast<const uint32_t*>(p), __ATOMIC_RELAXED); }

}  // namespace

const char* ring_status_name(RingStatus s) {
  switch (s) {
    case RingStatus::ok: return "ok";
    case RingStatus::empty: return "empty";
    case RingStatus::full: return "full";
    case RingStatus::too_big: return "too_big";
    case RingStatus::corrupt: return "corrupt";
  }
  return "?";
}

bool MsgRing::attach(void* control, void* data, size_t data_bytes) {
  if (!control || !data || ((reinterpret_cast<uintptr_t>(control) | reinterpret_cast<uintptr_t>(data)) & 7) ||
      data_bytes < kMinDataBytes)
    return false;
  base_ = static_cast<uint8_t*>(control);
  data_ = static_cast<uint8_t*>(data);
  cap_ = data_bytes & ~size_t{7};
  if (cap_ > kMaxDataBytes) cap_ = kMaxDataBytes;
  broken_ = false;
  return true;
}

namespace {
// Index arithmetic over [0, 2 * cap).
uint32_t advance(uint32_t index, size_t by, size_t cap) {
  uint64_t v = static_cast<uint64_t>(index) + by;
  return static_cast<uint32_t>(v >= 2 * cap ? v - 2 * cap : v);
}
}  // namespace

// Acquire on the peer's index: its record bytes written before the index
// update are visible after it (x86 is TSO; this also keeps the compiler honest).
uint32_t MsgRing::load_tail() const { return __atomic_load_n(reinterpret_cast<const uint32_t*>(base_), __ATOMIC_ACQUIRE); }
uint32_t MsgRing::load_head() const { return __atomic_load_n(reinterpret_cast<const uint32_t*>(base_ + 64), __ATOMIC_ACQUIRE); }
void MsgRing::store_tail(uint32_t v) { __atomic_store_n(reinterpret_cast<uint32_t*>(base_), v, __ATOMIC_RELEASE); }
void MsgRing::store_head(uint32_t v) { __atomic_store_n(reinterpret_cast<uint32_t*>(base_ + 64), v, __ATOMIC_RELEASE); }

RingStatus MsgRing::push(uint32_t tag, const void* a, size_t alen, const void* b, size_t blen) {
  if (broken_ || !base_) return fail();
  if (alen > max_message() || blen > max_message() - alen) return RingStatus::too_big;
  // The producer owns tail: it is read back from our own last store, but
  // the peer can write it too, so it is checked like the head.
  const uint32_t tail = load_tail(), head = load_head();
  if (tail >= 2 * cap_ || head >= 2 * cap_ || ((tail | head) & 7)) return fail();
  const uint32_t in_use = used(tail, head);
  if (in_use > cap_) return fail();
  const size_t len = alen + blen;
  const size_t rec = align8(kRecordHeaderBytes + len);
  size_t off = tail % cap_;
  size_t pad = cap_ - off < rec ? cap_ - off : 0;
  if (pad + rec > cap_ - in_use) return RingStatus::full;
  uint32_t t = tail;
  if (pad) {
    put32(data_ + off, kPad);
    put32(data_ + off + 4, 0);
    t = advance(t, pad, cap_);
    off = 0;
  }
  put32(data_ + off, static_cast<uint32_t>(len));
  put32(data_ + off + 4, tag);
  if (alen) copy(data_ + off + kRecordHeaderBytes, a, alen);
  if (blen) copy(data_ + off + kRecordHeaderBytes + alen, b, blen);
  store_tail(advance(t, rec, cap_));
  return RingStatus::ok;
}

RingStatus MsgRing::next_record(uint32_t& head, size_t& off, uint32_t& len, uint32_t& tag) {
  if (broken_ || !base_) return fail();
  const uint32_t tail = load_tail();
  head = load_head();
  if (tail >= 2 * cap_ || head >= 2 * cap_ || ((tail | head) & 7)) return fail();
  uint32_t in_use = used(tail, head);
  if (in_use > cap_) return fail();
  // At most one pad record precedes a real one (a pad always runs to the end).
  for (int i = 0; i < 2; ++i) {
    if (in_use == 0) return RingStatus::empty;
    off = head % cap_;
    if (in_use < kRecordHeaderBytes) return fail();
    len = get32(data_ + off);
    tag = get32(data_ + off + 4);
    if (len == kPad) {
      const size_t rest = cap_ - off;
      if (rest > in_use || i == 1) return fail();
      head = advance(head, rest, cap_);
      in_use -= static_cast<uint32_t>(rest);
      store_head(head);
      continue;
    }
    const size_t rec = align8(kRecordHeaderBytes + static_cast<size_t>(len));
    if (len > max_message() || rec > in_use || off + rec > cap_) return fail();
    return RingStatus::ok;
  }
  return fail();
}

RingStatus MsgRing::peek(uint32_t& tag, size_t& len) {
  uint32_t head, l;
  size_t off;
  RingStatus s = next_record(head, off, l, tag);
  if (s == RingStatus::ok) len = l;
  return s;
}

RingStatus MsgRing::pop(uint32_t& tag, size_t& len, void* a, size_t alen, void* b, size_t bcap) {
  uint32_t head, l;
  size_t off;
  RingStatus s = next_record(head, off, l, tag);
  if (s != RingStatus::ok) return s;
  len = l;
  if (l > alen && l - alen > bcap) return RingStatus::too_big;
  const size_t first = l < alen ? l : alen;
  // Copies from the length read once above: the peer may rewrite the bytes
  // meanwhile (it only garbles its own message), never the bounds.
  if (first) copy(a, data_ + off + kRecordHeaderBytes, first);
  if (l > first) copy(b, data_ + off + kRecordHeaderBytes + first, l - first);
  store_head(advance(head, align8(kRecordHeaderBytes + l), cap_));
  return RingStatus::ok;
}

RingStatus MsgRing::skip() {
  uint32_t head, l, tag;
  size_t off;
  RingStatus s = next_record(head, off, l, tag);
  if (s != RingStatus::ok) return s;
  store_head(advance(head, align8(kRecordHeaderBytes + l), cap_));
  return RingStatus::ok;
}

}  // namespace cos::chan
