// Shared fixtures for the cos::dev device-model tests: a settable clock, an
// interrupt line recorder and a port-I/O helper.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "devices/device.hpp"

namespace devtest {

/// A Clock the test moves by hand.
struct FakeClock final : cos::dev::Clock {
  uint64_t now = 0;
  uint64_t now_ns() const override { return now; }
  void advance_ns(uint64_t ns) { now += ns; }
  void advance_us(uint64_t us) { now += us * 1000; }
  void advance_ms(uint64_t ms) { now += ms * 1'000'000; }
};

/// A TscSource the test moves by hand.
struct FakeTsc final : cos::dev::TscSource {
  uint64_t tsc = 0;
  uint64_t guest_tsc() const override { return tsc; }
};

/// Records every set_irq call: current levels and rising edges per line.
struct IrqRecorder final : cos::dev::IrqLine {
  bool level[32] = {};
  unsigned rises[32] = {};
  unsigned calls = 0;
  void set_irq(unsigned irq, bool l) override {
    ++calls;
    if (irq >= 32) return;
    if (l && !level[irq]) ++rises[irq];
    level[irq] = l;
  }
  void clear_counts() {
    for (unsigned& r : rises) r = 0;
  }
};

/// Records ApicMessages (as an I/O APIC's sink).
struct MessageRecorder final : cos::dev::ApicSink {
  std::vector<cos::dev::ApicMessage> messages;
  bool accept = true;
  bool deliver(const cos::dev::ApicMessage& m) override {
    messages.push_back(m);
    return accept;
  }
};

/// Records EOI broadcasts.
struct EoiRecorder final : cos::dev::EoiListener {
  std::vector<uint8_t> vectors;
  void eoi(uint8_t v) override { vectors.push_back(v); }
};

/// outb/inb-style helpers over a PortDevice.
inline void outb(cos::dev::PortDevice& d, uint16_t port, uint8_t v) { d.io_write(port, 1, v); }
inline uint8_t inb(cos::dev::PortDevice& d, uint16_t port) { return static_cast<uint8_t>(d.io_read(port, 1)); }
inline void outl(cos::dev::PortDevice& d, uint16_t port, uint32_t v) { d.io_write(port, 4, v); }
inline uint32_t inl(cos::dev::PortDevice& d, uint16_t port) { return d.io_read(port, 4); }

}  // namespace devtest
