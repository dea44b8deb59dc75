#include "devices/io_apic.hpp"

namespace cos::dev {

namespace {
constexpr uint64_t kLowWritable = 0x0001afff;  // all but delivery status (12) and remote IRR (14)
constexpr uint64_t kHighWritable = 0xff000000;  // destination, bits 63:56
}  // namespace

IoApic::IoApic(ApicSink* sink, uint8_t id) : sink_(sink), id_(id & 0xf) {
  for (uint64_t& e : redir_) e = kMasked;
}

uint32_t IoApic::read_indirect(uint8_t index) const {
  switch (index) {
    case 0x00: return uint32_t(id_) << 24;
    case 0x01: return kVersion;
    case 0x02: return uint32_t(id_) << 24;  // arbitration ID
    default:
      if (index >= 0x10 && index < 0x10 + 2 * kPins) {
        uint64_t e = redir_[(index - 0x10) / 2];
        return static_cast<uint32_t>(index & 1 ? e >> 32 : e);
      }
      return 0;
  }
}

void IoApic::write_indirect(uint8_t index, uint32_t value) {
  if (index == 0x00) {
    id_ = (value >> 24) & 0xf;
    return;
  }
  if (index < 0x10 || index >= 0x10 + 2 * kPins) return;  // version, arbitration: read-only
  unsigned pin = (index - 0x10) / 2;
  uint64_t& e = redir_[pin];
  if (index & 1) {
    e = (e & 0xffffffff) | (uint64_t(value & kHighWritable) << 32);
    return;
  }
  uint64_t keep = e & ~kLowWritable;  // destination, remote IRR
  e = keep | (value & kLowWritable);
  if (!(e & kLevel)) e &= ~kRemoteIrr;  // an edge entry has no remote IRR
  service(pin);
}

void IoApic::send(unsigned pin) {
  uint64_t e = redir_[pin];
  ApicMessage m;
  m.vector = static_cast<uint8_t>(e);
  m.mode = static_cast<DeliveryMode>((e >> 8) & 7);
  m.logical = (e >> 11) & 1;
  m.level = (e & kLevel) != 0;
  m.destination = static_cast<uint32_t>(e >> 56);
  bool delivered = sink_ && sink_->deliver(m);
  if (delivered && m.level) redir_[pin] |= kRemoteIrr;
}

// A level entry re-sends while its input is asserted (after unmasking, an
// EOI, or switching to level).
void IoApic::service(unsigned pin) {
  uint64_t e = redir_[pin];
  if ((e & kLevel) && line(pin) && !(e & kMasked) && !(e & kRemoteIrr)) send(pin);
}

void IoApic::set_irq(unsigned pin, bool level) {
  if (pin >= kPins) return;
  bool old = line(pin);
  if (level)
    lines_ |= 1u << pin;
  else
    lines_ &= ~(1u << pin);
  uint64_t e = redir_[pin];
  if (e & kLevel)
    service(pin);
  else if (level && !old && !(e & kMasked))
    send(pin);
}

void IoApic::eoi(uint8_t vector) {
  for (unsigned pin = 0; pin < kPins; ++pin) {
    uint64_t& e = redir_[pin];
    if ((e & 0xff) != vector || !(e & kLevel) || !(e & kRemoteIrr)) continue;
    e &= ~kRemoteIrr;
    service(pin);
  }
}

uint64_t IoApic::read(uint64_t offset, unsigned size) {
  if (offset < 4) return (uint64_t(regsel_) >> (offset * 8)) & all_ones(size);
  if (offset >= 0x10 && offset < 0x14)
    return (uint64_t(read_indirect(regsel_)) >> ((offset - 0x10) * 8)) & all_ones(size);
  return 0;
}

void IoApic::write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset == 0) {
    regsel_ = static_cast<uint8_t>(value);
    return;
  }
  if (offset == 0x10 && size >= 4) write_indirect(regsel_, static_cast<uint32_t>(value));
}

}  // namespace cos::dev
