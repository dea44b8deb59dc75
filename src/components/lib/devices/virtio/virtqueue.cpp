#include "devices/virtio/virtqueue.hpp"

#include "devices/util.hpp"

namespace cos::dev {

using namespace virtio;

namespace {
// Ring fields the driver and the device share are accessed as whole,
// naturally aligned 16-bit words (enable() checked the alignment).
uint16_t load16_acquire(const uint8_t* p) {
  return __atomic_load_n(reinterpret_cast<const uint16_t*>(p), __ATOMIC_ACQUIRE);
}
uint16_t load16_relaxed(const uint8_t* p) {
  return __atomic_load_n(reinterpret_cast<const uint16_t*>(p), __ATOMIC_RELAXED);
}
void store16_release(uint8_t* p, uint16_t v) { __atomic_store_n(reinterpret_cast<uint16_t*>(p), v, __ATOMIC_RELEASE); }
void store16_relaxed(uint8_t* p, uint16_t v) { __atomic_store_n(reinterpret_cast<uint16_t*>(p), v, __ATOMIC_RELAXED); }
}  // namespace

const char* virtio_errc_name(VirtioErrc code) {
  switch (code) {
    case VirtioErrc::none: return "none";
    case VirtioErrc::queue_size_invalid: return "queue_size_invalid";
    case VirtioErrc::ring_misaligned: return "ring_misaligned";
    case VirtioErrc::ring_not_in_ram: return "ring_not_in_ram";
    case VirtioErrc::queue_enabled_early: return "queue_enabled_early";
    case VirtioErrc::avail_index_jump: return "avail_index_jump";
    case VirtioErrc::head_out_of_range: return "head_out_of_range";
    case VirtioErrc::next_out_of_range: return "next_out_of_range";
    case VirtioErrc::chain_too_long: return "chain_too_long";
    case VirtioErrc::buffer_not_in_ram: return "buffer_not_in_ram";
    case VirtioErrc::indirect_not_negotiated: return "indirect_not_negotiated";
    case VirtioErrc::indirect_with_next: return "indirect_with_next";
    case VirtioErrc::nested_indirect: return "nested_indirect";
    case VirtioErrc::indirect_table_invalid: return "indirect_table_invalid";
    case VirtioErrc::readable_after_writable: return "readable_after_writable";
    case VirtioErrc::request_malformed: return "request_malformed";
  }
  return "unknown";
}

void Virtqueue::init(uint16_t index, uint16_t max_size, ErrorFn on_error, void* ctx) {
  index_ = index;
  uint16_t m = max_size > kMaxQueueSize ? kMaxQueueSize : max_size;
  while (m && !is_pow2(m)) m &= static_cast<uint16_t>(m - 1);  // round down to a power of two
  max_size_ = m;
  on_error_ = on_error;
  ctx_ = ctx;
  reset();
}

void Virtqueue::reset() {
  size_ = max_size_;
  desc_gpa_ = driver_gpa_ = device_gpa_ = 0;
  enabled_ = broken_ = false;
  event_idx_ = indirect_ = false;
  mem_ = nullptr;
  desc_ = avail_ = used_ = nullptr;
  last_avail_ = used_idx_ = signalled_used_ = 0;
  signalled_valid_ = false;
}

void Virtqueue::fail(VirtioErrc code, uint64_t value) {
  if (broken_) return;
  broken_ = true;
  if (on_error_) on_error_(ctx_, index_, code, value);
}

bool Virtqueue::enable(GuestMemory& mem, uint64_t features) {
  if (enabled_) return true;
  if (broken_) return false;
  if (!is_pow2(size_) || size_ > max_size_) {
    fail(VirtioErrc::queue_size_invalid, size_);
    return false;
  }
  // Alignment (§2.7, "Virtqueue Part Alignment"): 16, 2 and 4 bytes.
  if (desc_gpa_ % 16) return fail(VirtioErrc::ring_misaligned, desc_gpa_), false;
  if (driver_gpa_ % 2) return fail(VirtioErrc::ring_misaligned, driver_gpa_), false;
  if (device_gpa_ % 4) return fail(VirtioErrc::ring_misaligned, device_gpa_), false;
  uint8_t* d = mem.host_range(desc_gpa_, desc_table_bytes(size_));
  if (!d) return fail(VirtioErrc::ring_not_in_ram, desc_gpa_), false;
  uint8_t* a = mem.host_range(driver_gpa_, avail_ring_bytes(size_));
  if (!a) return fail(VirtioErrc::ring_not_in_ram, driver_gpa_), false;
  uint8_t* u = mem.host_range(device_gpa_, used_ring_bytes(size_));
  if (!u) return fail(VirtioErrc::ring_not_in_ram, device_gpa_), false;
  // The atomics need the host addresses aligned as well.
  if (reinterpret_cast<uintptr_t>(a) % 2) return fail(VirtioErrc::ring_misaligned, driver_gpa_), false;
  if (reinterpret_cast<uintptr_t>(u) % 4) return fail(VirtioErrc::ring_misaligned, device_gpa_), false;
  mem_ = &mem;
  desc_ = d;
  avail_ = a;
  used_ = u;
  event_idx_ = features & feature(kFEventIdx);
  indirect_ = features & feature(kFIndirectDesc);
  last_avail_ = used_idx_ = signalled_used_ = 0;
  signalled_valid_ = false;
  enabled_ = true;
  return true;
}

uint16_t Virtqueue::avail_idx() { return load16_acquire(avail_ + 2); }

bool Virtqueue::has_available() { return enabled_ && !broken_ && avail_idx() != last_avail_; }

bool Virtqueue::pop(DescChain& out) {
  if (!enabled_ || broken_) return false;
  uint16_t idx = avail_idx();  // acquire: the ring entry and descriptors are read after it
  uint16_t pending = static_cast<uint16_t>(idx - last_avail_);
  if (pending == 0) return false;
  if (pending > size_) {
    fail(VirtioErrc::avail_index_jump, idx);
    return false;
  }
  uint16_t head = load_le16(avail_ + 4 + 2 * (last_avail_ & (size_ - 1)));
  DescChain c;
  c.head = head;
  DescWalker walker(*this, head);
  VirtqDesc d;
  uint32_t pos = 0;
  bool writable = false;
  while (walker.next(d, pos)) {
    if (d.flags & kDescWrite) {
      writable = true;
      c.writable += d.len;
    } else {
      if (writable) {
        fail(VirtioErrc::readable_after_writable, pos);
        return false;
      }
      c.readable += d.len;
    }
    ++c.descriptors;
  }
  if (broken_) return false;
  ++last_avail_;
  out = c;
  return true;
}

void Virtqueue::unpop() {
  if (enabled_ && !broken_) --last_avail_;
}

void Virtqueue::push(const DescChain& chain, uint64_t written) {
  if (!enabled_ || broken_) return;
  if (written > chain.writable) written = chain.writable;
  if (written > 0xffffffffu) written = 0xffffffffu;
  uint8_t* e = used_ + 4 + 8 * (used_idx_ & (size_ - 1));
  store_le32(e, chain.head);
  store_le32(e + 4, static_cast<uint32_t>(written));
  ++used_idx_;
  store16_release(used_ + 2, used_idx_);  // the element is visible before the index
}

bool Virtqueue::should_interrupt() {
  if (!enabled_ || broken_) return false;
  // The used index store must be visible before the driver's suppression
  // fields are read (§2.7.10: the driver re-checks after writing them).
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (event_idx_) {
    uint16_t old = signalled_used_;
    bool valid = signalled_valid_;
    signalled_used_ = used_idx_;
    signalled_valid_ = true;
    if (!valid) return true;
    uint16_t used_event = load16_relaxed(avail_ + 4 + 2 * size_);
    return need_event(used_event, used_idx_, old);
  }
  return !(load16_relaxed(avail_) & kAvailNoInterrupt);
}

void Virtqueue::disable_notifications() {
  if (!enabled_ || broken_ || event_idx_) return;
  store16_relaxed(used_, static_cast<uint16_t>(load16_relaxed(used_) | kUsedNoNotify));
}

bool Virtqueue::enable_notifications() {
  if (!enabled_ || broken_) return false;
  if (event_idx_) store16_relaxed(used_ + 4 + 8 * size_, last_avail_);  // avail_event
  else store16_relaxed(used_, static_cast<uint16_t>(load16_relaxed(used_) & ~kUsedNoNotify));
  // Publish before re-reading the available index (the driver does the
  // mirror image: write idx, barrier, read the suppression field).
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return avail_idx() != last_avail_;
}

// --- DescWalker ---

DescWalker::DescWalker(Virtqueue& q, uint16_t head) : q_(q), next_(head), limit_(q.size_) {}

bool DescWalker::load(uint32_t i, VirtqDesc& d) {
  uint8_t raw[16];
  if (indirect_) {
    if (!q_.mem_->read(table_gpa_ + 16ull * i, raw, 16)) {
      q_.fail(VirtioErrc::buffer_not_in_ram, table_gpa_);
      return false;
    }
  } else {
    // One snapshot of the descriptor; the guest may be rewriting it.
    const uint8_t* p = q_.desc_ + 16ull * i;
    for (unsigned k = 0; k < 16; ++k) raw[k] = p[k];
  }
  d.addr = load_le64(raw);
  d.len = load_le32(raw + 8);
  d.flags = load_le16(raw + 12);
  d.next = load_le16(raw + 14);
  return true;
}

bool DescWalker::next(VirtqDesc& out, uint32_t& position) {
  while (more_ && !q_.broken_) {
    uint32_t i = next_;
    uint32_t bound = indirect_ ? limit_ : q_.size_;
    if (i >= bound) {
      q_.fail(hops_ == 0 && !indirect_ ? VirtioErrc::head_out_of_range : VirtioErrc::next_out_of_range, i);
      return false;
    }
    if (++hops_ > limit_) {
      q_.fail(VirtioErrc::chain_too_long, hops_);
      return false;
    }
    VirtqDesc d;
    if (!load(i, d)) return false;
    if (d.flags & kDescIndirect) {
      // §2.7.5.3.1: not inside an indirect table, not with NEXT, only when
      // negotiated; the table holds len / 16 descriptors.
      if (indirect_) return q_.fail(VirtioErrc::nested_indirect, i), false;
      if (!q_.indirect_) return q_.fail(VirtioErrc::indirect_not_negotiated, i), false;
      if (d.flags & kDescNext) return q_.fail(VirtioErrc::indirect_with_next, i), false;
      if (d.len == 0 || d.len % 16 || d.len / 16 > kMaxQueueSize)
        return q_.fail(VirtioErrc::indirect_table_invalid, d.len), false;
      if (!q_.mem_->is_ram(d.addr, d.len)) return q_.fail(VirtioErrc::buffer_not_in_ram, d.addr), false;
      indirect_ = true;
      table_gpa_ = d.addr;
      limit_ = d.len / 16;
      hops_ = 0;
      next_ = 0;
      continue;
    }
    if (!q_.mem_->is_ram(d.addr, d.len)) return q_.fail(VirtioErrc::buffer_not_in_ram, d.addr), false;
    more_ = d.flags & kDescNext;
    next_ = d.next;
    out = d;
    position = i;
    return true;
  }
  return false;
}

// --- ChainCursor ---

ChainCursor::ChainCursor(Virtqueue& q, const DescChain& chain, Part part)
    : q_(q), walker_(q, chain.head), part_(part) {}

bool ChainCursor::advance() {
  while (!have_ || cur_off_ == cur_.len) {
    have_ = false;
    if (done_) return false;
    VirtqDesc d;
    uint32_t pos = 0;
    if (!walker_.next(d, pos)) {
      done_ = true;
      return false;
    }
    bool w = d.flags & kDescWrite;
    if (w) {
      seen_writable_ = true;
    } else if (seen_writable_) {
      q_.fail(VirtioErrc::readable_after_writable, pos);
      done_ = true;
      return false;
    }
    if (part_ == Part::readable && w) {
      done_ = true;
      return false;
    }
    if (part_ == Part::writable && !w) continue;
    cur_ = d;
    cur_off_ = 0;
    have_ = true;
  }
  return true;
}

bool ChainCursor::next_span(uint64_t max, uint8_t*& p, uint64_t& len) {
  if (max == 0 || q_.broken() || !advance()) return false;
  uint64_t want = cur_.len - cur_off_;
  if (want > max) want = max;
  uint64_t n = 0;
  uint8_t* h = q_.memory()->span(cur_.addr + cur_off_, want, n);
  if (!h || n == 0 || n > want) {
    q_.fail(VirtioErrc::buffer_not_in_ram, cur_.addr);
    done_ = true;
    return false;
  }
  p = h;
  len = n;
  cur_off_ += n;
  offset_ += n;
  return true;
}

bool ChainCursor::read(void* dst, uint64_t len) {
  uint8_t* d = static_cast<uint8_t*>(dst);
  while (len) {
    uint8_t* p;
    uint64_t n;
    if (!next_span(len, p, n)) return false;
    for (uint64_t i = 0; i < n; ++i) d[i] = p[i];
    d += n;
    len -= n;
  }
  return true;
}

bool ChainCursor::write(const void* src, uint64_t len) {
  const uint8_t* s = static_cast<const uint8_t*>(src);
  while (len) {
    uint8_t* p;
    uint64_t n;
    if (!next_span(len, p, n)) return false;
    for (uint64_t i = 0; i < n; ++i) p[i] = s[i];
    s += n;
    len -= n;
  }
  return true;
}

bool ChainCursor::skip(uint64_t len) {
  while (len) {
    uint8_t* p;
    uint64_t n;
    if (!next_span(len, p, n)) return false;
    len -= n;
  }
  return true;
}

}  // namespace cos::dev
