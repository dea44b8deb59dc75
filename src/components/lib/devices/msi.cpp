#include "devices/msi.hpp"

namespace cos::dev {

bool decode_msi(uint64_t address, uint32_t data, ApicMessage& out) {
  if ((address >> 20) != 0xfee) return false;  // also rejects a non-zero upper dword
  unsigned mode = (data >> 8) & 7;
  if (mode == 3) return false;  // reserved (SDM §11.11.2: delivery mode 011b)
  out.vector = static_cast<uint8_t>(data);
  out.mode = static_cast<DeliveryMode>(mode);
  out.logical = (address >> 2) & 1;
  out.level = (data >> 15) & 1;
  out.destination = (address >> 12) & 0xff;
  return true;
}

bool ApicMsiSink::send_msi(uint64_t address, uint32_t data) {
  ApicMessage m;
  return decode_msi(address, data, m) && apic_.deliver(m);
}

}  // namespace cos::dev
