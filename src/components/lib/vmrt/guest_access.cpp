// vmrt guest accesses with the guest CPU's checks (host-compilable).
#include "vmrt/guest_access.hpp"

#include "cos/abi.hpp"

namespace vmrt {
namespace {

// Segment attribute bits (vm::Segment, AMD APM Vol. 2 15.5.1 packing).
constexpr uint16_t kAttrTypeWrite = 1u << 1;   // data: writable; code: readable
constexpr uint16_t kAttrTypeExpand = 1u << 2;  // data: expand-down
constexpr uint16_t kAttrTypeCode = 1u << 3;
constexpr uint16_t kAttrS = 1u << 4;           // code or data (not system)
constexpr uint16_t kAttrP = 1u << 7;
constexpr uint16_t kAttrDb = 1u << 10;
constexpr uint64_t kRflagsVm = 1ull << 17;
constexpr uint64_t kPage = 4096;

uint64_t size_mask(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

bool canonical(uint64_t va, unsigned bits) {
  uint64_t top = static_cast<uint64_t>(static_cast<int64_t>(va << (64 - bits)) >> (64 - bits));
  return top == va;
}

}  // namespace

const char* fault_name(const GuestFault& f) {
  switch (f.vector) {
    case kVectorUd: return "#UD";
    case kVectorSs: return "#SS";
    case kVectorGp: return "#GP";
    case kVectorPf: return "#PF";
    default: return "#?";
  }
}

void inject_fault(VcpuState& v, const GuestFault& f) {
  if (f.vector == kVectorPf) v.set(Cr::cr2, f.cr2);
  v.queue_event(f.vector, vm::EventType::exception, f.has_error_code, f.error_code);
}

Status GuestAccess::need_state() const {
  constexpr uint64_t need = Load::cr | Load::segments;
  if ((v_.fresh() & need) != need) return make_error(Errc::stale_state, "guest access", 0, need & ~v_.fresh());
  return {};
}

Error GuestAccess::raise(const GuestFault& f, uint64_t addr) {
  fault_ = f;
  return make_error(Errc::guest_fault, "guest access", addr, f.vector);
}

unsigned GuestAccess::cpl() const {
  if (!(v_.cr0() & kCr0Pe)) return 0;
  if (v_.get(Reg::rflags) & kRflagsVm) return 3;
  return (v_.segment(Seg::ss).attr >> 5) & 3;
}

unsigned GuestAccess::default_address_size() const {
  if (mode64()) return 8;
  if (!(v_.cr0() & kCr0Pe) || (v_.get(Reg::rflags) & kRflagsVm)) return 2;
  return (v_.segment(Seg::cs).attr & kAttrDb) ? 4 : 2;
}

Result<uint64_t> GuestAccess::linear(Seg seg, uint64_t offset, unsigned size, AccessKind kind) {
  VMRT_TRY(need_state());
  if (size == 0 || size > 16) return make_error(Errc::bad_argument, "guest access size", offset, size);
  const GuestFault bad = seg == Seg::ss ? GuestFault::ss() : GuestFault::gp();
  const vm::Segment& s = v_.segment(seg);
  if (mode64()) {
    // Segmentation is off except for the FS and GS bases (SDM Vol. 3A 3.2.4).
    uint64_t la = ((seg == Seg::fs || seg == Seg::gs) ? s.base : 0) + offset;
    unsigned bits = (v_.cr4() & kCr4La57) ? 57 : 48;
    if (!canonical(la, bits) || !canonical(la + size - 1, bits)) return raise(bad, la);
    return la;
  }
  const bool real = !(v_.cr0() & kCr0Pe) || (v_.get(Reg::rflags) & kRflagsVm);
  bool expand_down = false;
  if (!real) {
    // A null selector leaves the register unusable (attr 0 / P clear);
    // system descriptors cannot be in a data-segment register.
    if (!(s.attr & kAttrP) || !(s.attr & kAttrS)) return raise(bad, offset);
    const bool code = s.attr & kAttrTypeCode;
    if (kind == AccessKind::write && (code || !(s.attr & kAttrTypeWrite))) return raise(bad, offset);
    if (kind == AccessKind::read && code && !(s.attr & kAttrTypeWrite)) return raise(bad, offset);
    expand_down = !code && (s.attr & kAttrTypeExpand);
  }
  const uint64_t last = offset + size - 1;
  if (expand_down) {
    // Valid offsets lie above the limit, up to 4 GiB - 1 (B = 1) or 64 KiB - 1.
    const uint64_t upper = (s.attr & kAttrDb) ? 0xffffffffull : 0xffffull;
    if (offset <= s.limit || last > upper) return raise(bad, offset);
  } else if (last > s.limit) {
    return raise(bad, offset);
  }
  return (s.base + offset) & 0xffffffffull;
}

Result<uint64_t> GuestAccess::translate_page(uint64_t linear, AccessKind kind) {
  const uint64_t page = linear & ~(kPage - 1);
  for (const CacheEntry& e : cache_)
    if (e.valid && e.kind == kind && e.linear_page == page) return e.gpa_page;
  uint32_t access = kind == AccessKind::write   ? vm::kAccessWrite
                    : kind == AccessKind::fetch ? vm::kAccessExec
                                                : vm::kAccessRead;
  const bool user = cpl() == 3;
  if (user) access |= kAccessUser;
  auto t = v_.translate(linear, access);
  if (!t) {
    const Error& e = t.error();
    switch (e.code) {
      case Errc::page_fault:
        return raise(GuestFault::pf(linear, static_cast<uint32_t>(e.detail)), linear);
      case Errc::non_canonical:
        return raise(GuestFault::gp(), linear);
      case Errc::not_ram: {
        // A paging-structure entry read from the empty bus is all ones:
        // present with reserved bits set.
        uint32_t code = kPfPresent | kPfReserved;
        if (kind == AccessKind::write) code |= kPfWrite;
        if (user) code |= kPfUser;
        if (kind == AccessKind::fetch && (v_.efer() & kEferNxe)) code |= kPfFetch;
        return raise(GuestFault::pf(linear, code), linear);
      }
      default:
        return e;
    }
  }
  CacheEntry& slot = cache_[next_slot_++ % (sizeof(cache_) / sizeof(cache_[0]))];
  slot = CacheEntry{true, kind, page, t.value().gpa & ~(kPage - 1)};
  return slot.gpa_page;
}

Status GuestAccess::resolve(uint64_t linear, unsigned size, AccessKind kind, Piece* out, unsigned& count) {
  VMRT_TRY(need_state());
  if (size == 0 || size > 8) return make_error(Errc::bad_argument, "guest access size", linear, size);
  count = 0;
  const uint64_t wrap = mode64() ? ~0ull : 0xffffffffull;
  const unsigned first = static_cast<unsigned>(kPage - (linear & (kPage - 1)));
  const unsigned n0 = size < first ? size : first;
  auto p0 = translate_page(linear, kind);
  if (!p0) return p0.error();
  out[count++] = Piece{p0.value() | (linear & (kPage - 1)), n0};
  if (n0 < size) {
    auto p1 = translate_page((linear + n0) & wrap, kind);
    if (!p1) return p1.error();
    out[count++] = Piece{p1.value(), size - n0};
  }
  return {};
}

Status GuestAccess::probe(uint64_t linear, unsigned size, AccessKind kind) {
  Piece p[2];
  unsigned n = 0;
  return resolve(linear, size, kind, p, n);
}

uint64_t GuestAccess::phys_read(uint64_t gpa, unsigned size) {
  const GuestMemory* mem = v_.memory();
  if (mem && mem->contains(gpa, size)) {
    uint8_t b[8] = {};
    if (mem->read(gpa, b, size)) {
      uint64_t v = 0;
      for (unsigned i = 0; i < size; ++i) v |= static_cast<uint64_t>(b[i]) << (8 * i);
      return v;
    }
  }
  if (size == 1 || size == 2 || size == 4 || size == 8) {
    uint64_t v = 0;
    if (bus_ && bus_->read && bus_->read(bus_->ctx, gpa, size, v)) return v & size_mask(size);
    return size_mask(size);
  }
  uint64_t v = 0;  // odd sizes from a split access: byte by byte
  for (unsigned i = 0; i < size; ++i) v |= phys_read(gpa + i, 1) << (8 * i);
  return v;
}

void GuestAccess::phys_write(uint64_t gpa, unsigned size, uint64_t value) {
  GuestMemory* mem = v_.memory();
  if (mem && mem->contains(gpa, size)) {
    const Region* r = mem->find(gpa);
    if (r && !(r->rights & cos::abi::Rights::write)) return;  // ROM: the write goes nowhere
    uint8_t b[8];
    for (unsigned i = 0; i < size; ++i) b[i] = static_cast<uint8_t>(value >> (8 * i));
    (void)mem->write(gpa, b, size);
    return;
  }
  if (size == 1 || size == 2 || size == 4 || size == 8) {
    if (bus_ && bus_->write) (void)bus_->write(bus_->ctx, gpa, size, value & size_mask(size));
    return;
  }
  for (unsigned i = 0; i < size; ++i) phys_write(gpa + i, 1, value >> (8 * i));
}

Status GuestAccess::read(uint64_t linear, unsigned size, uint64_t& value, AccessKind kind) {
  Piece p[2];
  unsigned n = 0;
  VMRT_TRY(resolve(linear, size, kind, p, n));
  value = phys_read(p[0].gpa, p[0].size);
  if (n > 1) value |= phys_read(p[1].gpa, p[1].size) << (8 * p[0].size);
  return {};
}

Status GuestAccess::write(uint64_t linear, unsigned size, uint64_t value) {
  Piece p[2];
  unsigned n = 0;
  VMRT_TRY(resolve(linear, size, AccessKind::write, p, n));
  phys_write(p[0].gpa, p[0].size, value);
  if (n > 1) phys_write(p[1].gpa, p[1].size, value >> (8 * p[0].size));
  return {};
}

Result<size_t> GuestAccess::fetch(uint8_t* buf, size_t max) {
  VMRT_TRY(need_state());
  if (max > 15) max = 15;
  const uint64_t wrap = mode64() ? ~0ull : 0xffffffffull;
  size_t n = 0;
  for (; n < max; ++n) {
    auto la = linear(Seg::cs, (v_.rip() + n) & wrap, 1, AccessKind::fetch);
    uint64_t byte = 0;
    Status s = la ? read(la.value(), 1, byte, AccessKind::fetch) : Status(la.error());
    if (!s) {
      if (s.error().code != Errc::guest_fault) return s.error();
      fetch_fault_ = fault_;
      break;
    }
    buf[n] = static_cast<uint8_t>(byte);
  }
  return n;
}

}  // namespace vmrt
