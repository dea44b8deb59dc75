// cos::dev::ApicBus — the interrupt fabric between the local APICs of a
// multi-vCPU VM (the "system bus" of Intel SDM Vol. 3A §11.6/§11.12, the
// message path of the I/O APIC and MSIs, §11.11): every interrupt message
// and every IPI (an ICR write) reaches each local APIC it addresses.
//
// Routing (SDM §11.6.2, "Determining IPI Destination"; §11.12.10 for x2APIC):
//   * physical: the APIC whose ID equals the destination; 0xff is the xAPIC
//     broadcast, 0xffffffff the x2APIC one (an I/O APIC or MSI message's
//     8-bit 0xff is a broadcast for x2APIC-mode APICs too);
//   * logical: per destination APIC, the flat or cluster model its DFR
//     selects (xAPIC), or the cluster/bitmap of its ID-derived LDR (x2APIC);
//     see LocalApic::accepts_destination;
//   * ICR shorthands (ICR[19:18]): self, all including self, all excluding
//     self — the destination field is ignored;
//   * lowest priority (delivery mode 001b): one APIC among those addressed
//     that are hardware- and software-enabled: the one with the lowest task
//     priority class (TPR[7:4]); among equals the next one after the APIC
//     chosen last time (round robin, in bus order). The SDM leaves the
//     arbitration to the chipset (§11.6.2.4, "Lowest Priority Delivery
//     Mode"); this is a documented choice, not a model of one chipset.
//     Lowest priority in a shorthand IPI is delivered like fixed (the SDM
//     calls the combination invalid for "all including self").
//   * delivery modes: fixed, lowest priority, NMI, INIT, start-up (SIPI),
//     ExtINT (LocalApic::receive); SMI is dropped. An INIT with ICR
//     level = 0 and trigger = level ("INIT level de-assert", ICR 0x000c8500
//     style) is ignored, as on Pentium 4 and later processors (SDM §11.6.1).
//
// Every APIC that took a message is reported to the wake-up callback
// (set_wakeup), so the VMM can get that vCPU's thread to look at its APIC
// (a vCPU halted or in the guest does not poll).
//
// Pure logic, host-testable; not thread-safe (the VMM serialises it with
// the rest of its devices).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class LocalApic;

/// ICR destination shorthand (ICR bits 19:18, SDM Figure 11-12).
enum class IcrShorthand : uint8_t { none = 0, self = 1, all_including_self = 2, all_excluding_self = 3 };

/// An IPI as an ICR write describes it.
struct Ipi {
  ApicMessage msg;  ///< vector, delivery mode, destination mode, trigger, destination
  IcrShorthand shorthand = IcrShorthand::none;
};

/// Decodes an ICR write: `lo` is ICR[31:0] (vector 7:0, delivery mode 10:8,
/// destination mode 11, level 14, trigger 15, shorthand 19:18) and `dest`
/// the destination (ICR[63:56] in xAPIC mode, ICR[63:32] in x2APIC mode).
/// Returns false for what is not sent: INIT level de-assert and the reserved
/// delivery modes 011b/111b (ExtINT is not an IPI).
bool decode_icr(uint32_t lo, uint32_t dest, Ipi& out);

class ApicBus final : public ApicSink {
 public:
  static constexpr unsigned kMaxApics = 8;
  /// Called with the bus index of every APIC that took a message.
  using Wakeup = void (*)(void* ctx, unsigned index);

  /// Adds an APIC (index = the number of APICs added before); false when
  /// kMaxApics are on the bus. The caller keeps `apic` alive; this also
  /// points the APIC's ICR at the bus (LocalApic::set_bus).
  bool add(LocalApic& apic);
  unsigned count() const { return count_; }
  LocalApic* apic(unsigned index) const { return index < count_ ? apics_[index] : nullptr; }
  /// The bus index of `apic`, or -1.
  int index_of(const LocalApic& apic) const;
  void set_wakeup(Wakeup fn, void* ctx) {
    wakeup_ = fn;
    wakeup_ctx_ = ctx;
  }

  /// ApicSink: a message from the I/O APIC or an MSI (8-bit destination).
  /// Returns true if at least one APIC took it.
  bool deliver(const ApicMessage& msg) override;
  /// An ICR write on `from` (LocalApic::send_ipi calls this).
  void send_ipi(LocalApic& from, uint32_t icr_lo, uint32_t dest);
  /// Routes a decoded IPI from `from` (null: no sender, shorthands other
  /// than none are then ignored). Returns the number of APICs that took it.
  unsigned route(const LocalApic* from, const Ipi& ipi);

 private:
  bool addressed(const LocalApic& a, const ApicMessage& m, bool from_ioapic) const;
  bool give(unsigned index, const ApicMessage& m);

  LocalApic* apics_[kMaxApics] = {};
  unsigned count_ = 0;
  unsigned last_lowest_ = kMaxApics - 1;  // round robin among equal priorities
  Wakeup wakeup_ = nullptr;
  void* wakeup_ctx_ = nullptr;
};

}  // namespace cos::dev
