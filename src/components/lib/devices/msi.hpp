// cos::dev — message-signalled interrupts: the MsiSink a PCI function
// writes its MSI-X messages to, and ApicMsiSink, which decodes a message
// the way the x86 platform does (Intel SDM Vol. 3A §11.11, "Message
// Signalled Interrupts") and hands it to the local APIC as an ApicMessage.
//
// Address (SDM §11.11.1): bits 31:20 must be 0xfee, 19:12 destination ID,
// bit 3 redirection hint, bit 2 destination mode (1 = logical); the upper
// 32 bits must be 0. Data (SDM §11.11.2): bits 7:0 vector, 10:8 delivery
// mode, bit 14 level (assert), bit 15 trigger mode (1 = level).
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

/// Where a PCI function's message writes go (the VMM's interrupt fabric).
class MsiSink {
 public:
  /// One MSI/MSI-X message: the 64-bit message address and 32-bit data the
  /// guest programmed. Returns false if the message was not deliverable
  /// (the caller counts it; see PciFunction::msi_dropped()).
  virtual bool send_msi(uint64_t address, uint32_t data) = 0;

 protected:
  ~MsiSink() = default;
};

/// Decodes an x86 MSI into an ApicMessage. False if the address is not in
/// the 0xfee00000 interrupt window or the delivery mode is reserved (3).
bool decode_msi(uint64_t address, uint32_t data, ApicMessage& out);

/// MsiSink -> ApicSink (the LocalApic, or an APIC bus the VMM builds for
/// several vCPUs).
class ApicMsiSink final : public MsiSink {
 public:
  explicit ApicMsiSink(ApicSink& apic) : apic_(apic) {}
  bool send_msi(uint64_t address, uint32_t data) override;

 private:
  ApicSink& apic_;
};

}  // namespace cos::dev
