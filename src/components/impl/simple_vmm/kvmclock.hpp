// The guest's clock: the KVM paravirtual clock ABI that stock Linux guests
// (CONFIG_KVM_GUEST) use to learn the TSC frequency and read time without
// calibrating against emulated timers, which is unreliable under emulation.
// Linux Documentation/virt/kvm/x86/msr.rst (MSR_KVM_SYSTEM_TIME_NEW,
// MSR_KVM_WALL_CLOCK_NEW) and cpuid.rst (KVM_FEATURE_CLOCKSOURCE2,
// KVM_FEATURE_CLOCKSOURCE_STABLE_BIT); arch/x86/include/asm/pvclock-abi.h.
#pragma once
#include <stdint.h>

#include "vmrt/vmrt.hpp"

namespace cos::simple_vmm {

namespace kvm {
inline constexpr uint32_t kMsrWallClockNew = 0x4b564d00, kMsrSystemTimeNew = 0x4b564d01;
inline constexpr uint32_t kCpuidSignature = 0x40000000, kCpuidFeatures = 0x40000001;
inline constexpr uint32_t kFeatureClocksource2 = 1u << 3, kFeatureClocksourceStable = 1u << 24;
}  // namespace kvm

/// The pvclock_vcpu_time_info scale for a TSC of `tsc_hz`: ns = ((delta <<
/// shift) * mul) >> 32 (shift may be negative). Pure, host-testable.
void pvclock_scale(uint64_t tsc_hz, uint32_t& mul, int8_t& shift);

class KvmClock {
 public:
  /// `boot_epoch` is the wall-clock time (seconds since 1970) at `boot_ns`.
  void init(uint64_t tsc_hz, uint64_t boot_epoch, uint64_t boot_ns) {
    tsc_hz_ = tsc_hz;
    epoch_ = boot_epoch;
    boot_ns_ = boot_ns;
  }
  bool handles(uint32_t msr) const { return msr == kvm::kMsrWallClockNew || msr == kvm::kMsrSystemTimeNew; }
  /// WRMSR: publishes the structure at the guest-physical address in `value`.
  /// False if the address is not in guest RAM (the caller injects #GP).
  bool write(vmrt::Vm& vm, uint32_t msr, uint64_t value);
  uint64_t read(uint32_t msr) const { return msr == kvm::kMsrSystemTimeNew ? system_time_msr_ : wall_msr_; }

 private:
  uint64_t tsc_hz_ = 0, epoch_ = 0, boot_ns_ = 0;
  uint64_t system_time_msr_ = 0, wall_msr_ = 0;
};

}  // namespace cos::simple_vmm
