// cos::dev::GuestMemory — how a DMA-capable device model (the virtio
// devices) reaches guest RAM: guest-physical ranges translated to host
// pointers, checked. Nothing a guest writes into a descriptor is trusted:
// every address and length goes through span(), and the helpers below are
// overflow-safe (a range that wraps past 2^64 is never RAM).
//
// The VMM implements span() over its own memory map (e.g. vmrt's
// GuestMemory::find() region table); FlatGuestMemory covers one contiguous
// region (tests, simple VMMs). Host pointers handed out must stay valid
// while a device is running (DRIVER_OK until reset): the virtqueues keep
// the ones of their rings.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::dev {

class GuestMemory {
 public:
  /// The host address of guest-physical `gpa` and how many bytes from there
  /// (at most `len`, at least 1 when the result is non-null) are guest RAM
  /// contiguous in host memory, in `contiguous`. nullptr if gpa is not RAM
  /// (or len is 0).
  virtual uint8_t* span(uint64_t gpa, uint64_t len, uint64_t& contiguous) = 0;

  /// Host pointer to all of [gpa, gpa + len) when it is RAM contiguous in
  /// host memory, else nullptr (also for len 0 and wrapping ranges).
  uint8_t* host_range(uint64_t gpa, uint64_t len) {
    if (len == 0 || gpa + len < gpa) return nullptr;
    uint64_t n = 0;
    uint8_t* p = span(gpa, len, n);
    return p && n == len ? p : nullptr;
  }
  /// True if every byte of [gpa, gpa + len) is RAM (len 0: true).
  bool is_ram(uint64_t gpa, uint64_t len);
  /// Copies between guest RAM and the host across region boundaries; false
  /// (with an unspecified prefix copied) if any byte is not RAM.
  bool read(uint64_t gpa, void* dst, uint64_t len);
  bool write(uint64_t gpa, const void* src, uint64_t len);

 protected:
  ~GuestMemory() = default;
};

/// Guest RAM as one range [base_gpa, base_gpa + size) at host `base`.
class FlatGuestMemory final : public GuestMemory {
 public:
  FlatGuestMemory(uint8_t* base, uint64_t size, uint64_t base_gpa = 0) : base_(base), size_(size), gpa_(base_gpa) {}
  uint8_t* span(uint64_t gpa, uint64_t len, uint64_t& contiguous) override;

 private:
  uint8_t* base_;
  uint64_t size_;
  uint64_t gpa_;
};

}  // namespace cos::dev
