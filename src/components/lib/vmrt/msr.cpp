// vmrt architectural MSR checks and state-page MSRs (host-compilable).
#include "vmrt/msr.hpp"

namespace vmrt {
namespace {

constexpr uint32_t bit(unsigned n) { return 1u << n; }

bool syscall_msr(uint32_t index, SyscallMsr& m) {
  switch (index) {
    case msr::star: m = SyscallMsr::star; return true;
    case msr::lstar: m = SyscallMsr::lstar; return true;
    case msr::cstar: m = SyscallMsr::cstar; return true;
    case msr::sfmask: m = SyscallMsr::sfmask; return true;
    case msr::kernel_gs_base: m = SyscallMsr::kernel_gs_base; return true;
    case msr::sysenter_cs: m = SyscallMsr::sysenter_cs; return true;
    case msr::sysenter_esp: m = SyscallMsr::sysenter_esp; return true;
    case msr::sysenter_eip: m = SyscallMsr::sysenter_eip; return true;
    default: return false;
  }
}

}  // namespace

GuestCpu GuestCpu::from_cpuid(void (*cpuid)(void*, uint32_t, uint32_t, uint32_t*), void* ctx) {
  GuestCpu c;
  uint32_t r[4] = {};
  cpuid(ctx, 0, 0, r);
  const uint32_t max_basic = r[0];
  // "GenuineIntel": EBX "Genu", EDX "ineI", ECX "ntel"; "AuthenticAMD": EBX "Auth".
  if (r[1] == 0x756e6547u && r[3] == 0x49656e69u && r[2] == 0x6c65746eu) c.vendor = Vendor::intel;
  else if (r[1] == 0x68747541u && r[3] == 0x69746e65u && r[2] == 0x444d4163u) c.vendor = Vendor::amd;
  else c.vendor = Vendor::other;
  bool rdpid = false;
  c.linear_bits = 48;
  if (max_basic >= 7) {
    cpuid(ctx, 7, 0, r);
    if (r[2] & bit(16)) c.linear_bits = 57;
    rdpid = r[2] & bit(22);
  }
  cpuid(ctx, 0x80000000u, 0, r);
  const uint32_t max_ext = r[0];
  uint32_t edx = 0;
  if (max_ext >= 0x80000001u) {
    cpuid(ctx, 0x80000001u, 0, r);
    edx = r[3];
  }
  c.syscall = edx & bit(11);
  c.nx = edx & bit(20);
  c.ffxsr = c.vendor == Vendor::amd && (edx & bit(25));
  c.long_mode = edx & bit(29);
  c.tsc_aux = (edx & bit(27)) || rdpid;
  return c;
}

bool is_canonical(uint64_t addr, unsigned bits) {
  if (bits >= 64) return true;
  uint64_t top = static_cast<uint64_t>(static_cast<int64_t>(addr << (64 - bits)) >> (64 - bits));
  return top == addr;
}

bool pat_valid(uint64_t pat) {
  for (unsigned i = 0; i < 8; ++i) {
    const uint64_t type = (pat >> (8 * i)) & 0xff;
    if (type > 7 || type == 2 || type == 3) return false;
  }
  return true;
}

bool efer_write(const GuestCpu& cpu, uint64_t current_efer, uint64_t cr0, uint64_t value, uint64_t& result) {
  uint64_t allowed = 0;
  if (cpu.syscall || cpu.long_mode) allowed |= kEferSce;
  if (cpu.long_mode) allowed |= kEferLme | kEferLma;
  if (cpu.nx) allowed |= kEferNxe;
  if (cpu.ffxsr) allowed |= kEferFfxsr;
  if (value & ~allowed) return false;
  // LME cannot change while paging is on (SDM Vol. 3A 10.8.5; AMD APM Vol. 2 14.6.1).
  if ((cr0 & kCr0Pg) && ((current_efer ^ value) & kEferLme)) return false;
  result = (value & ~kEferLma) | (current_efer & kEferLma);
  return true;
}

bool tsc_aux_write(const GuestCpu& cpu, uint64_t value, uint64_t& result) {
  if (!cpu.tsc_aux) return false;
  if (cpu.vendor == GuestCpu::Vendor::intel && (value >> 32)) return false;
  result = value & 0xffffffffull;
  return true;
}

MsrStatus read_state_msr(const VcpuState& v, uint32_t index, uint64_t& value) {
  SyscallMsr m = SyscallMsr::star;
  if (syscall_msr(index, m)) {
    value = v.get(m);
    return MsrStatus::done;
  }
  switch (index) {
    case msr::efer: value = v.efer(); return MsrStatus::done;
    case msr::fs_base: value = v.segment(Seg::fs).base; return MsrStatus::done;
    case msr::gs_base: value = v.segment(Seg::gs).base; return MsrStatus::done;
    default: return MsrStatus::unknown;
  }
}

MsrStatus write_state_msr(VcpuState& v, const GuestCpu& cpu, uint32_t index, uint64_t value) {
  const unsigned bits = cpu.linear_bits;
  switch (index) {
    case msr::efer: {
      uint64_t efer = 0;
      if (!efer_write(cpu, v.efer(), v.cr0(), value, efer)) return MsrStatus::gp;
      v.set(Cr::efer, efer);
      return MsrStatus::done;
    }
    case msr::fs_base:
    case msr::gs_base: {
      if (!is_canonical(value, bits)) return MsrStatus::gp;
      const Seg s = index == msr::fs_base ? Seg::fs : Seg::gs;
      vm::Segment seg = v.segment(s);
      seg.base = value;
      v.set_segment(s, seg);
      return MsrStatus::done;
    }
    case msr::lstar:
    case msr::cstar:
    case msr::kernel_gs_base:
      if (!is_canonical(value, bits)) return MsrStatus::gp;
      break;
    case msr::sysenter_esp:
    case msr::sysenter_eip:
      if (cpu.vendor == GuestCpu::Vendor::amd) value &= 0xffffffffull;
      else if (!is_canonical(value, bits)) return MsrStatus::gp;
      break;
    case msr::sfmask:
      if (value >> 32) return MsrStatus::gp;
      break;
    case msr::sysenter_cs:
      value &= 0xffffffffull;
      break;
    case msr::star:
      break;
    default:
      return MsrStatus::unknown;
  }
  SyscallMsr m = SyscallMsr::star;
  if (!syscall_msr(index, m)) return MsrStatus::unknown;
  v.set(m, value);
  return MsrStatus::done;
}

}  // namespace vmrt
