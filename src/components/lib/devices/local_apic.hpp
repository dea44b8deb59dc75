// cos::dev::LocalApic — the local APIC of one vCPU (Intel SDM Vol. 3A
// ch. 11, "Advanced Programmable Interrupt Controller (APIC)"): the xAPIC
// register page (MMIO, 4 KiB at IA32_APIC_BASE, 0xfee00000 by default), the
// x2APIC MSRs 0x800-0x8ff, IA32_APIC_BASE (0x1b) and IA32_TSC_DEADLINE
// (0x6e0).
//
// Registers (SDM Table 11-1 / 11-6): ID, version 0x50014 (6 LVT entries),
// TPR, APR (reads 0), PPR, EOI, RRD (reads 0), LDR, DFR, SVR, ISR/TMR/IRR
// (256 bits each), ESR, ICR low/high, LVT timer/thermal/performance/LINT0/
// LINT1/error, timer initial/current count, divide configuration, and in
// x2APIC mode SELF IPI. In x2APIC mode the MSR rules of SDM §11.12.1.2
// apply: reading a write-only register, writing a read-only one, an address
// without a register, a non-zero write to EOI or ESR, or reserved bits
// 63:32 raise #GP (read_msr/write_msr return false). xAPIC MMIO accesses
// that are not 32-bit reads/writes of a register are ignored (reads of
// partial registers return the addressed bytes).
//
// Interrupts: accept() sets IRR (and TMR for level-triggered vectors);
// highest_pending() is the vector the vCPU should take next (the highest
// IRR vector whose priority class beats the PPR, otherwise an ExtINT
// interrupt from the 8259A pair when LINT0 is unmasked in ExtINT mode or
// the APIC is hardware-disabled); ack() is the INTA cycle that commits it
// (IRR -> ISR, or the PIC's own acknowledge for ExtINT). An EOI clears the
// highest ISR bit and, for a level-triggered vector, tells the EoiListener
// (the I/O APIC). IPIs: fixed and lowest-priority IPIs to this APIC (self
// shorthand, all-including-self, or a matching physical/logical
// destination) are accepted, NMIs set nmi_pending(); INIT resets the APIC
// (SDM §11.4.7.3: all but the APIC ID and IA32_APIC_BASE) and sets
// init_pending(), a start-up IPI records its vector (take_sipi()); the VMM
// hands both to the vCPU's VcpuStartup (vcpu_startup.hpp). SMI is ignored.
// With an ApicBus (set_bus, apic_bus.hpp) ICR writes reach every APIC on the
// bus; without one only this APIC can be a destination.
//
// Timer (SDM §11.5.4): one-shot, periodic and TSC-deadline modes, the
// input being Config::bus_hz divided by the divide configuration. The
// timer is computed from the Clock; next_deadline_ns/advance deliver its
// interrupts. TSC-deadline mode needs Config::tsc_hz (the guest's TSC
// frequency) and reads the guest TSC from a TscSource (or derives it as
// now_ns * tsc_hz / 1e9 when none is given).
//
// Initial state: hardware-enabled in xAPIC mode at 0xfee00000 (BSP flag
// per Config), software-enabled with LINT0 = ExtINT and LINT1 = NMI — the
// virtual-wire mode a PC BIOS leaves (MP spec 1.4 §3.6.2.2), so 8259A
// interrupts reach the vCPU until the OS reprograms the APIC. Disabling the
// APIC through IA32_APIC_BASE resets it to the SDM's power-up state.
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class ApicBus;

class LocalApic final : public MmioDevice, public TimerDevice, public ApicSink {
 public:
  static constexpr uint64_t kDefaultBase = 0xfee00000;
  static constexpr uint32_t kVersion = 0x00050014;
  static constexpr uint32_t kMsrApicBase = 0x1b, kMsrTscDeadline = 0x6e0;
  static constexpr uint32_t kMsrX2apicFirst = 0x800, kMsrX2apicLast = 0x8ff;
  static constexpr uint64_t kApicBaseBsp = 1u << 8, kApicBaseExtd = 1u << 10, kApicBaseEnable = 1u << 11;

  // Register offsets (xAPIC MMIO; x2APIC MSR = 0x800 + offset / 16).
  enum Reg : uint16_t {
    kId = 0x20, kVer = 0x30, kTpr = 0x80, kApr = 0x90, kPpr = 0xa0, kEoi = 0xb0, kRrd = 0xc0,
    kLdr = 0xd0, kDfr = 0xe0, kSvr = 0xf0, kIsr = 0x100, kTmr = 0x180, kIrr = 0x200, kEsr = 0x280,
    kIcrLo = 0x300, kIcrHi = 0x310, kLvtTimer = 0x320, kLvtThermal = 0x330, kLvtPerf = 0x340,
    kLvtLint0 = 0x350, kLvtLint1 = 0x360, kLvtError = 0x370, kTimerInitial = 0x380,
    kTimerCurrent = 0x390, kTimerDivide = 0x3e0, kSelfIpi = 0x3f0,
  };
  static constexpr uint32_t kLvtMasked = 1u << 16;
  static constexpr uint32_t kSvrEnable = 1u << 8;
  /// LVT timer modes (bits 18:17).
  enum class TimerMode : uint8_t { one_shot = 0, periodic = 1, tsc_deadline = 2 };

  struct Config {
    uint32_t apic_id = 0;
    bool bsp = true;
    /// Timer input clock before the divider (the "bus clock"). Linux
    /// calibrates it; 1 GHz makes one tick per ns at divide-by-1.
    uint64_t bus_hz = 1'000'000'000;
    /// Guest TSC frequency for TSC-deadline mode; 0 = TSC-deadline mode
    /// not supported (IA32_TSC_DEADLINE raises #GP, the mode is reserved).
    uint64_t tsc_hz = 0;
    /// x2APIC supported (CPUID.1:ECX[21]); otherwise IA32_APIC_BASE.EXTD is
    /// reserved.
    bool x2apic = true;
    /// MAXPHYADDR: IA32_APIC_BASE bits at and above it are reserved.
    unsigned phys_addr_bits = 40;
  };

  LocalApic(const Clock& clock, const Config& config, const TscSource* tsc = nullptr);
  LocalApic(const Clock& clock) : LocalApic(clock, Config{}) {}

  /// The 8259A pair behind LINT0 (ExtINT); may be null.
  void set_ext_int_source(ExtIntSource* pic) { ext_ = pic; }
  /// Receives EOIs of level-triggered vectors (the I/O APIC); may be null.
  void set_eoi_listener(EoiListener* l) { eoi_listener_ = l; }
  /// The APIC bus ICR writes (IPIs) go through (apic_bus.hpp); null: this
  /// APIC alone (self-addressed IPIs only).
  void set_bus(ApicBus* bus) { bus_ = bus; }

  // --- MMIO: the xAPIC page (offsets 0..0xfff from base()) ---
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  /// Where the register page is mapped (IA32_APIC_BASE bits 12+); it
  /// answers MMIO only while mmio_enabled().
  uint64_t base() const { return apic_base_ & ~uint64_t(0xfff); }
  bool mmio_enabled() const { return hw_enabled() && !x2apic_mode(); }

  // --- MSRs ---
  /// True for the MSRs this device implements: 0x1b, 0x6e0, 0x800-0x8ff.
  static bool handles_msr(uint32_t msr) {
    return msr == kMsrApicBase || msr == kMsrTscDeadline || (msr >= kMsrX2apicFirst && msr <= kMsrX2apicLast);
  }
  /// RDMSR; false = #GP (x2APIC MSRs outside x2APIC mode, invalid
  /// registers, IA32_TSC_DEADLINE without TSC-deadline support).
  bool read_msr(uint32_t msr, uint64_t& value);
  /// WRMSR; false = #GP (invalid IA32_APIC_BASE transitions or reserved
  /// bits, see above for the x2APIC MSRs).
  bool write_msr(uint32_t msr, uint64_t value);

  // --- Interrupts ---
  /// ApicSink: an interrupt message (from the I/O APIC); accepted if the
  /// destination matches this APIC (and, for fixed/lowest-priority, the
  /// APIC is enabled and the vector legal).
  bool deliver(const ApicMessage& msg) override;
  /// True if a message for `dest` in physical (`logical` false) or logical
  /// destination mode addresses this APIC in its current mode (SDM §11.6.2):
  /// xAPIC physical: dest[7:0] == APIC ID, 0xff broadcast; xAPIC logical:
  /// flat model (DFR[31:28] = 1111b: LDR[31:24] & dest[7:0] != 0) or cluster
  /// model (dest[7:4] == LDR[31:28] and dest[3:0] & LDR[27:24] != 0);
  /// x2APIC (§11.12.10): physical dest == 32-bit ID, logical dest[31:16] ==
  /// cluster and dest[15:0] & LDR[15:0] != 0, 0xffffffff broadcast in both.
  bool accepts_destination(uint32_t dest, bool logical) const;
  /// A message already routed to this APIC (no destination check): fixed and
  /// lowest priority -> accept(); NMI -> nmi_pending(); ExtINT -> the 8259A's
  /// vector at the next ack(); INIT -> init_reset() and init_pending();
  /// start-up -> the SIPI vector for take_sipi(); SMI ignored. Returns false
  /// if the message was dropped (APIC hardware-disabled; a fixed interrupt
  /// the APIC refuses).
  bool receive(const ApicMessage& msg);
  /// INIT (SDM §11.4.7.3): every register to its power-up value except the
  /// APIC ID and IA32_APIC_BASE; pending interrupts, NMI and SIPI are lost.
  void init_reset();
  /// An INIT arrived since the last take_init() (then false until the next).
  bool init_pending() const { return init_pending_; }
  bool take_init() {
    bool i = init_pending_;
    init_pending_ = false;
    return i;
  }
  /// A start-up IPI arrived since the last take_sipi(): its vector (the
  /// 4 KiB page number of the start-up code, SDM §11.6.1) in `vector`.
  bool take_sipi(uint8_t& vector) {
    if (!sipi_pending_) return false;
    sipi_pending_ = false;
    vector = sipi_vector_;
    return true;
  }
  /// INIT or SIPI waiting for the VMM.
  bool startup_pending() const { return init_pending_ || sipi_pending_; }
  /// Sends an IPI as a write of ICR low (`icr_lo`, SDM Figure 11-12) with
  /// destination `dest` (ICR[63:56] in xAPIC mode, ICR[63:32] in x2APIC
  /// mode) would; tests and the bus use it.
  void send_ipi(uint32_t icr_lo, uint32_t dest);

  /// A fixed interrupt for this APIC: IRR (and TMR if level). Vectors 0-15
  /// are illegal (ESR bit 6). Ignored while the APIC is disabled. Returns
  /// whether it was taken.
  bool accept(uint8_t vector, bool level = false);
  /// The vector to inject next, or -1 (see the header comment).
  int highest_pending() const;
  /// The INTA cycle for the interrupt highest_pending() returned: moves it
  /// from IRR to ISR (or acknowledges the 8259A for ExtINT) and returns its
  /// vector; -1 if nothing is pending. Call it when the vCPU is about to
  /// take the interrupt (RFLAGS.IF set, no interrupt shadow).
  int ack();
  /// An NMI was sent to this APIC (ICR or an NMI message) and not taken.
  bool nmi_pending() const { return nmi_pending_; }
  /// Takes the pending NMI (true if there was one).
  bool take_nmi() {
    bool n = nmi_pending_;
    nmi_pending_ = false;
    return n;
  }

  // --- Timer ---
  uint64_t next_deadline_ns() const override;
  void advance(uint64_t now_ns) override;

  // --- State ---
  uint64_t apic_base_msr() const { return apic_base_; }
  bool hw_enabled() const { return apic_base_ & kApicBaseEnable; }
  bool x2apic_mode() const { return (apic_base_ & kApicBaseExtd) && hw_enabled(); }
  bool sw_enabled() const { return svr_ & kSvrEnable; }
  uint32_t id() const { return id_; }
  uint8_t tpr() const { return tpr_; }
  uint8_t ppr() const;
  bool irr_bit(uint8_t v) const { return test(irr_, v); }
  bool isr_bit(uint8_t v) const { return test(isr_, v); }
  bool tmr_bit(uint8_t v) const { return test(tmr_, v); }
  TimerMode timer_mode() const;
  /// A 32-bit register as an xAPIC read would return it (tests).
  uint32_t reg(uint16_t offset) const;

 private:
  enum Lvt { kTimer, kThermal, kPerf, kLint0, kLint1, kError, kLvtCount };

  static bool test(const uint32_t* bits, uint8_t v) { return (bits[v >> 5] >> (v & 31)) & 1; }
  static void set(uint32_t* bits, uint8_t v) { bits[v >> 5] |= 1u << (v & 31); }
  static void clear(uint32_t* bits, uint8_t v) { bits[v >> 5] &= ~(1u << (v & 31)); }
  static int highest(const uint32_t* bits);

  void reset(bool bios_virtual_wire);
  bool read_reg(uint16_t off, bool x2, uint64_t& value) const;
  bool write_reg(uint16_t off, bool x2, uint64_t value);
  bool write_apic_base(uint64_t value);
  void write_lvt(unsigned i, uint32_t value);
  void eoi();
  void error(uint32_t bits);
  uint32_t ldr() const;
  int pending_fixed() const;
  bool ext_int_enabled() const;

  // Timer helpers.
  unsigned divisor() const;
  uint64_t ticks_to_ns(uint64_t ticks) const;
  uint64_t ns_to_ticks(uint64_t ns) const;
  uint64_t guest_tsc(uint64_t now_ns) const;
  uint64_t elapsed_ticks(uint64_t now_ns) const;
  uint32_t current_count(uint64_t now_ns) const;
  void start_timer(uint64_t now_ns, uint64_t already);
  void fire_timer();

  const Clock& clock_;
  Config cfg_;
  const TscSource* tsc_;
  ExtIntSource* ext_ = nullptr;
  EoiListener* eoi_listener_ = nullptr;
  ApicBus* bus_ = nullptr;

  uint64_t apic_base_ = 0;
  uint32_t id_ = 0;
  uint8_t tpr_ = 0;
  uint32_t ldr_ = 0, dfr_ = 0xffffffff, svr_ = 0xff;
  uint32_t isr_[8] = {}, tmr_[8] = {}, irr_[8] = {};
  uint32_t esr_ = 0, esr_pending_ = 0;
  uint32_t icr_lo_ = 0, icr_hi_ = 0;
  uint32_t lvt_[kLvtCount] = {};
  uint32_t timer_initial_ = 0, timer_divide_ = 0;
  bool nmi_pending_ = false;
  bool extint_pending_ = false;  // an ExtINT message from the I/O APIC
  bool init_pending_ = false;    // an INIT message, for the VMM's VcpuStartup
  bool sipi_pending_ = false;    // a start-up message and its vector
  uint8_t sipi_vector_ = 0;

  // Timer state: at timer_start_ns_, timer_base_ticks_ ticks had elapsed
  // (of the current divisor) since the initial count was written; the next
  // interrupt is due when timer_next_tick_ ticks have elapsed (one-shot:
  // initial; periodic: k * initial). TSC deadline: 0 = disarmed.
  bool timer_armed_ = false;
  uint64_t timer_start_ns_ = 0;
  uint64_t timer_base_ticks_ = 0;
  uint64_t timer_next_tick_ = 0;
  uint64_t tsc_deadline_ = 0;
};

}  // namespace cos::dev
