// cos::dev::VcpuStartup — the INIT / start-up IPI state of one vCPU, as the
// multiprocessor start-up protocol drives it (Intel SDM Vol. 3A §9.4,
// "Multiple-Processor (MP) Initialization", and §11.6.1 (ICR delivery
// modes INIT and Start-Up); AMD APM Vol. 2 §16.5 (interprocessor
// interrupts) and §15.x for SVM guests, which follow the same protocol):
//
//   running --INIT--> wait_for_sipi --SIPI(V)--> running at V << 8 : 0000
//      ^                  |  ^                      |
//      |                  +--+ INIT (stays)         +-- further SIPIs ignored
//      +-- the BSP starts here; APs start in wait_for_sipi
//
// * The BSP comes out of reset running (the VMM sets its entry state); APs
//   come out of reset in wait-for-SIPI and do not run.
// * INIT (asserted) puts any vCPU, running or not, into wait-for-SIPI; the
//   APIC resets itself (LocalApic::init_reset). INIT level de-assert is
//   never delivered (decode_icr drops it, as Pentium 4 and later CPUs do).
//   INIT to the BSP is treated the same: there is no firmware for it to
//   restart at the reset vector (a documented simplification).
// * A start-up IPI with vector V while in wait-for-SIPI starts the vCPU in
//   real mode with CS.selector = V << 8, CS.base = V << 12, IP = 0 (SDM
//   §9.4.4.1 and §11.6.1: "the vector ... points to the start-up routine at
//   000VV000H"). A SIPI to a running vCPU is ignored (the second SIPI of
//   INIT-SIPI-SIPI is a no-op for a CPU the first one started).
//
// Pure logic, host-testable.
#pragma once
#include <stdint.h>

namespace cos::dev {

/// Where a start-up IPI starts a vCPU: real mode, CS:IP (bytes: cs_base).
struct SipiEntry {
  uint16_t cs_selector;  ///< V << 8
  uint32_t cs_base;      ///< V << 12 (= selector << 4, as in real mode)
  uint16_t ip;           ///< 0
};

class VcpuStartup {
 public:
  enum class State : uint8_t {
    running,        ///< executing (the BSP from reset; an AP after its SIPI)
    wait_for_sipi,  ///< after reset (APs) or INIT: not executing, waiting for a SIPI
  };

  /// `bsp`: the bootstrap processor (runs from reset); else an AP.
  explicit VcpuStartup(bool bsp) : state_(bsp ? State::running : State::wait_for_sipi) {}

  State state() const { return state_; }
  bool running() const { return state_ == State::running; }
  /// INIT: -> wait_for_sipi (from any state).
  void init() { state_ = State::wait_for_sipi; }
  /// A start-up IPI with `vector`: in wait_for_sipi -> running, `entry` set
  /// and true; otherwise ignored (false, `entry` untouched).
  bool sipi(uint8_t vector, SipiEntry& entry) {
    if (state_ != State::wait_for_sipi) return false;
    entry.cs_selector = static_cast<uint16_t>(vector << 8);
    entry.cs_base = static_cast<uint32_t>(vector) << 12;
    entry.ip = 0;
    state_ = State::running;
    return true;
  }

 private:
  State state_;
};

}  // namespace cos::dev
