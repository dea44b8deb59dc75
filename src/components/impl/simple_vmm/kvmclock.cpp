#include "simple_vmm/kvmclock.hpp"

#include "runtime/cos.hpp"

namespace cos::simple_vmm {
namespace {

// arch/x86/include/asm/pvclock-abi.h
struct PvclockVcpuTimeInfo {
  uint32_t version;
  uint32_t pad0;
  uint64_t tsc_timestamp;
  uint64_t system_time;
  uint32_t tsc_to_system_mul;
  int8_t tsc_shift;
  uint8_t flags;
  uint8_t pad[2];
};
static_assert(sizeof(PvclockVcpuTimeInfo) == 32);
struct PvclockWallClock {
  uint32_t version;
  uint32_t sec;
  uint32_t nsec;
};
constexpr uint8_t kPvclockTscStable = 1 << 0;

}  // namespace

void pvclock_scale(uint64_t tsc_hz, uint32_t& mul, int8_t& shift) {
  // Find shift so that mul = 1e9 * 2^32 / (tsc_hz * 2^shift) fits 32 bits.
  shift = 0;
  unsigned __int128 num = static_cast<unsigned __int128>(1000000000ull) << 32;
  unsigned __int128 den = tsc_hz ? tsc_hz : 1;
  while (num / den >= (static_cast<unsigned __int128>(1) << 32)) {
    den <<= 1;
    ++shift;
  }
  while (shift > -31 && num / den < (static_cast<unsigned __int128>(1) << 31)) {  // keep precision
    num <<= 1;
    --shift;
  }
  mul = static_cast<uint32_t>(num / den);
}

void KvmClock::init(uint64_t tsc_hz, uint64_t boot_epoch, uint64_t boot_ns) {
  tsc_hz_ = tsc_hz;
  epoch_ = boot_epoch;
  ref_tsc_ = cos::tsc();
  uint64_t now = static_cast<uint64_t>(cos::sys::time_now()) * 1000;
  ref_ns_ = now > boot_ns ? now - boot_ns : 0;
}

bool KvmClock::write(vmrt::Vm& vm, unsigned vcpu, uint32_t msr, uint64_t value) {
  if (msr == kvm::kMsrWallClockNew) {
    auto p = vm.gpa_to_hva(value, sizeof(PvclockWallClock));
    if (!p) return false;
    wall_msr_ = value;
    PvclockWallClock w{2, static_cast<uint32_t>(epoch_), 0};
    __builtin_memcpy(p.value(), &w, sizeof(w));
    return true;
  }
  system_time_msr_[vcpu % kMaxVcpus] = value;
  if (!(value & 1)) return true;  // disabled
  auto p = vm.gpa_to_hva(value & ~1ull, sizeof(PvclockVcpuTimeInfo));
  if (!p) return false;
  PvclockVcpuTimeInfo t{};
  t.version = 2;  // even: the structure is consistent
  t.tsc_timestamp = ref_tsc_;
  t.system_time = ref_ns_;
  pvclock_scale(tsc_hz_, t.tsc_to_system_mul, t.tsc_shift);
  t.flags = kPvclockTscStable;
  __builtin_memcpy(p.value(), &t, sizeof(t));
  return true;
}

}  // namespace cos::simple_vmm
