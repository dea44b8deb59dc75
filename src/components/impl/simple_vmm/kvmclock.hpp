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

/// The VM's kvmclock: one wall-clock structure and one pvclock structure
/// per vCPU (MSR_KVM_SYSTEM_TIME_NEW is per vCPU, Linux gives each CPU its
/// own). Every vCPU's structure holds the same (tsc_timestamp, system_time)
/// pair, taken once at init(), so that time read on one vCPU is never
/// behind time read earlier on another (the guest is told the TSC is
/// stable, PVCLOCK_TSC_STABLE_BIT, and does not correct for that).
class KvmClock {
 public:
  static constexpr unsigned kMaxVcpus = 8;
  /// `boot_epoch` is the wall-clock time (seconds since 1970) at `boot_ns`
  /// (kernel time, ns), which becomes guest system time 0.
  void init(uint64_t tsc_hz, uint64_t boot_epoch, uint64_t boot_ns);
  bool handles(uint32_t msr) const { return msr == kvm::kMsrWallClockNew || msr == kvm::kMsrSystemTimeNew; }
  /// WRMSR from vCPU `vcpu`: publishes the structure at the guest-physical
  /// address in `value`. False if the address is not in guest RAM (the
  /// caller injects #GP).
  bool write(vmrt::Vm& vm, unsigned vcpu, uint32_t msr, uint64_t value);
  uint64_t read(unsigned vcpu, uint32_t msr) const {
    return msr == kvm::kMsrSystemTimeNew ? system_time_msr_[vcpu % kMaxVcpus] : wall_msr_;
  }

 private:
  uint64_t tsc_hz_ = 0, epoch_ = 0;
  uint64_t ref_tsc_ = 0, ref_ns_ = 0;  ///< the TSC at init() and the guest system time then (ns)
  uint64_t system_time_msr_[kMaxVcpus] = {}, wall_msr_ = 0;
};

}  // namespace cos::simple_vmm
