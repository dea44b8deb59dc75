// Turning a raw #VMEXIT (EXITCODE, EXITINFO1/2) into the vendor-neutral
// vm::Exit, including the instruction length SVM does not report without
// the NRIP-save feature (QEMU's SVM has none): IN/OUT give the next RIP in
// EXITINFO2 (AMD APM Vol. 2, 15.10.2); the other intercepted instructions
// have fixed encodings, preceded by prefixes we count from the guest's
// instruction bytes when they can be read. Pure logic, host-testable.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cos/vm.hpp"
#include "x86_64/svm/arch.hpp"

namespace cos::svm {

/// The raw exit as the VMCB reports it.
struct RawExit {
  uint64_t exitcode, exitinfo1, exitinfo2;
  uint64_t rip;        ///< guest RIP of the exiting instruction
  uint64_t next_rip;   ///< VMCB nRIP, valid only with NRIP save
  bool nrip_valid;
  uint64_t rax, rcx;   ///< for OUT data and MSR index
  uint64_t cr2;
};

/// Encoding of an intercepted instruction without prefixes: its bytes.
struct Opcode {
  uint8_t bytes[3];
  uint8_t length;
};

/// The opcode an exit code stands for, or length 0 if it is not an
/// instruction exit with a fixed encoding.
constexpr Opcode opcode_for(ExitCode c) {
  switch (c) {
    case ExitCode::cpuid: return {{0x0f, 0xa2, 0}, 2};
    case ExitCode::rdtsc: return {{0x0f, 0x31, 0}, 2};
    case ExitCode::rdtscp: return {{0x0f, 0x01, 0xf9}, 3};
    case ExitCode::hlt: return {{0xf4, 0, 0}, 1};
    case ExitCode::vmmcall: return {{0x0f, 0x01, 0xd9}, 3};
    case ExitCode::invd: return {{0x0f, 0x08, 0}, 2};
    case ExitCode::wbinvd: return {{0x0f, 0x09, 0}, 2};
    case ExitCode::xsetbv: return {{0x0f, 0x01, 0xd1}, 3};
    case ExitCode::pause: return {{0xf3, 0x90, 0}, 2};
    case ExitCode::monitor: return {{0x0f, 0x01, 0xc8}, 3};
    case ExitCode::mwait: return {{0x0f, 0x01, 0xc9}, 3};
    case ExitCode::vmrun: return {{0x0f, 0x01, 0xd8}, 3};
    case ExitCode::vmload: return {{0x0f, 0x01, 0xda}, 3};
    case ExitCode::vmsave: return {{0x0f, 0x01, 0xdb}, 3};
    case ExitCode::stgi: return {{0x0f, 0x01, 0xdc}, 3};
    case ExitCode::clgi: return {{0x0f, 0x01, 0xdd}, 3};
    case ExitCode::skinit: return {{0x0f, 0x01, 0xde}, 3};
    default: return {{0, 0, 0}, 0};
  }
}

/// True for legacy prefixes (Intel SDM Vol. 2A, 2.1.1), and REX in 64-bit mode.
constexpr bool is_prefix(uint8_t b, bool long_mode) {
  switch (b) {
    case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
    case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
      return true;
    default:
      return long_mode && (b & 0xf0) == 0x40;
  }
}

/// Length of the instruction that caused exit `r`. `insn` holds up to `n`
/// guest bytes at RIP (n may be 0 if they could not be read).
inline uint32_t instruction_length(const RawExit& r, const uint8_t* insn, size_t n, bool long_mode) {
  auto code = static_cast<ExitCode>(r.exitcode);
  if (r.nrip_valid && r.next_rip > r.rip && r.next_rip - r.rip <= 15)
    return static_cast<uint32_t>(r.next_rip - r.rip);
  if (code == ExitCode::ioio) {
    // Outside 64-bit code the next RIP wraps at the code size: a 16-bit
    // segment's IP past 0xffff (reached through a 32-bit jump in a segment
    // with a large limit) continues at 0 (QEMU's TCG reports it so; found
    // by the guest-code fuzzer). Lengths are 1..15, so the masked
    // differences are exact.
    uint64_t len = r.exitinfo2 - r.rip;
    if (!long_mode && len > 15) len &= 0xffffffffull;
    if (!long_mode && len > 15) len &= 0xffffull;
    return len >= 1 && len <= 15 ? static_cast<uint32_t>(len) : 0;
  }
  if (code == ExitCode::msr) return 2;  // RDMSR 0f 32 / WRMSR 0f 30
  Opcode op = opcode_for(code);
  if (op.length == 0) return 0;
  // pause is "f3 90": its f3 is part of the opcode, not a prefix.
  size_t p = 0;
  if (code != ExitCode::pause)
    while (p < n && p < 14 && is_prefix(insn[p], long_mode)) ++p;
  if (p + op.length <= n) {
    for (unsigned i = 0; i < op.length; ++i)
      if (insn[p + i] != op.bytes[i]) return op.length;  // bytes disagree: trust the exit code
    return static_cast<uint32_t>(p + op.length);
  }
  return op.length;
}

/// A decoded MOV to CRn (0f 22 /r): the source register and the length.
struct MovToCr {
  unsigned gpr;     ///< 0 = RAX .. 15 = R15 (ModRM.rm, extended by REX.B)
  uint32_t length;  ///< bytes, prefixes included
};

/// Decodes the MOV to CR`cr` at RIP from up to `n` guest bytes (legacy
/// prefixes, then REX in 64-bit mode when it comes last, then 0f 22 and a
/// ModRM whose mod field the CPU ignores and whose reg field, with REX.R,
/// names the control register: Intel SDM Vol. 2B "MOV - Move to/from
/// Control Registers", AMD APM Vol. 3 "MOV CRn"; `cr` < 8, so LOCK's CR8
/// alias is not decoded). Needed for an intercepted CR write the kernel
/// emulates when the CPU has no decode assists (QEMU's SVM has none:
/// EXITINFO1 then carries no register). Returns false for anything else
/// or a cut-off instruction.
constexpr bool decode_mov_to_cr(const uint8_t* insn, size_t n, bool long_mode, unsigned cr, MovToCr& out) {
  size_t p = 0;
  unsigned rex = 0;
  while (p < n && p < 12 && is_prefix(insn[p], long_mode)) {
    rex = (long_mode && (insn[p] & 0xf0) == 0x40) ? insn[p] : 0;  // a REX counts only as the last prefix
    ++p;
  }
  if (p + 3 > n || insn[p] != 0x0f || insn[p + 1] != 0x22) return false;
  if (((insn[p + 2] >> 3) & 7u) != cr || (rex & 4u)) return false;  // ModRM.reg, REX.R
  out.gpr = (insn[p + 2] & 7u) | ((rex & 1u) << 3);
  out.length = static_cast<uint32_t>(p + 3);
  return true;
}

/// The instructions a CR0 write intercept catches (AMD APM Vol. 2, 15.9
/// "Instruction Intercepts": MOV to CR0, CLTS, LMSW).
enum class Cr0Writer : uint8_t {
  mov,            ///< MOV to CR0 from `gpr`
  clts,           ///< CLTS (0f 06): clears CR0.TS
  lmsw_register,  ///< LMSW with a register operand (0f 01 /6, mod = 3): CR0[3:0] from `gpr`
};

/// A decoded CR0 write.
struct Cr0Write {
  Cr0Writer kind;
  unsigned gpr;     ///< 0 = RAX .. 15 = R15; unused for CLTS
  uint32_t length;  ///< bytes, prefixes included
};

/// Decodes the CR0 write at RIP from up to `n` guest bytes: MOV to CR0 as
/// decode_mov_to_cr does, CLTS, or LMSW from a register (Intel SDM Vol. 2A
/// "CLTS", Vol. 2A "LMSW"). LMSW with a memory operand is not decoded (its
/// operand would need the guest's segmentation and addressing forms):
/// returns false for it, for anything else and for a cut-off instruction.
constexpr bool decode_cr0_write(const uint8_t* insn, size_t n, bool long_mode, Cr0Write& out) {
  MovToCr mov{};
  if (decode_mov_to_cr(insn, n, long_mode, 0, mov)) {
    out = Cr0Write{Cr0Writer::mov, mov.gpr, mov.length};
    return true;
  }
  size_t p = 0;
  unsigned rex = 0;
  while (p < n && p < 12 && is_prefix(insn[p], long_mode)) {
    rex = (long_mode && (insn[p] & 0xf0) == 0x40) ? insn[p] : 0;
    ++p;
  }
  if (p + 2 > n || insn[p] != 0x0f) return false;
  if (insn[p + 1] == 0x06) {
    out = Cr0Write{Cr0Writer::clts, 0, static_cast<uint32_t>(p + 2)};
    return true;
  }
  if (insn[p + 1] != 0x01 || p + 3 > n || (insn[p + 2] & 0xf8) != 0xf0) return false;  // mod = 3, reg = 6
  out = Cr0Write{Cr0Writer::lmsw_register, (insn[p + 2] & 7u) | ((rex & 1u) << 3), static_cast<uint32_t>(p + 3)};
  return true;
}

/// CR0 after LMSW of `source`: PE, MP, EM and TS come from its low four
/// bits, except that LMSW never clears PE (Intel SDM Vol. 2A "LMSW").
constexpr uint64_t lmsw_result(uint64_t cr0, uint64_t source) {
  return (cr0 & ~0xfull) | (source & 0xeull) | ((cr0 | source) & 0x1ull);
}

/// QEMU 7.2 reports INVD (0f 08) with the WBINVD exit code (fixed in later
/// QEMU); the instruction bytes tell them apart.
inline void fix_wbinvd_alias(RawExit& r, const uint8_t* insn, size_t n, bool long_mode) {
  if (static_cast<ExitCode>(r.exitcode) != ExitCode::wbinvd) return;
  size_t p = 0;
  while (p < n && p < 14 && is_prefix(insn[p], long_mode)) ++p;
  if (p + 2 <= n && insn[p] == 0x0f && insn[p + 1] == 0x08) r.exitcode = static_cast<uint64_t>(ExitCode::invd);
}

/// Fills `out` (everything but instruction_length) from a raw exit.
/// Returns false for exits that are not reported to VMMs as such (INTR, NMI,
/// VINTR): the caller handles those.
inline bool decode(const RawExit& r, vm::Exit& out) {
  out = vm::Exit{};
  out.vendor_code = r.exitcode;
  out.vendor_qualification = r.exitinfo1;
  auto code = is_invalid_exit(r.exitcode) ? ExitCode::invalid : static_cast<ExitCode>(r.exitcode);
  using vm::ExitReason;
  if (is_exception_exit(r.exitcode)) {
    out.reason = ExitReason::exception;
    out.exception.vector = static_cast<uint32_t>(r.exitcode - static_cast<uint64_t>(ExitCode::excp_base));
    unsigned v = out.exception.vector;
    out.exception.has_error_code = x86::exception_has_error_code(v);
    out.exception.error_code = static_cast<uint32_t>(r.exitinfo1);
    if (v == 14) out.exception.cr2 = r.exitinfo2;
    return true;
  }
  if (is_cr_exit(r.exitcode)) {
    out.reason = ExitReason::cr_access;
    out.cr.cr = static_cast<uint32_t>(r.exitcode & 0xf);
    out.cr.write = r.exitcode >= 0x10;
    // With decode assists EXITINFO1 bit 63 says the GPR number is valid.
    out.cr.gpr = (r.exitinfo1 >> 63) ? static_cast<uint32_t>(r.exitinfo1 & 0xf) : ~0u;
    return true;
  }
  switch (code) {
    case ExitCode::intr:
    case ExitCode::nmi:
    case ExitCode::smi:
    case ExitCode::init:
    case ExitCode::vintr:
      return false;
    case ExitCode::ioio: {
      out.reason = ExitReason::io;
      out.io.port = static_cast<uint16_t>(r.exitinfo1 >> Ioio::port_shift);
      out.io.size = (r.exitinfo1 & Ioio::sz32) ? 4 : (r.exitinfo1 & Ioio::sz16) ? 2 : 1;
      out.io.in = (r.exitinfo1 & Ioio::in) ? 1 : 0;
      out.io.string = (r.exitinfo1 & Ioio::str) ? 1 : 0;
      out.io.rep = (r.exitinfo1 & Ioio::rep) ? 1 : 0;
      if (!out.io.in && !out.io.string)
        out.io.data = static_cast<uint32_t>(r.rax & (out.io.size == 4 ? 0xffffffffu : out.io.size == 2 ? 0xffffu : 0xffu));
      return true;
    }
    case ExitCode::npf:
      out.reason = ExitReason::gpa_fault;
      out.gpa.gpa = r.exitinfo2;
      out.gpa.access = (r.exitinfo1 & NpfError::fetch)   ? vm::kAccessExec
                       : (r.exitinfo1 & NpfError::write) ? vm::kAccessWrite
                                                         : vm::kAccessRead;
      out.gpa.present = (r.exitinfo1 & NpfError::present) ? 1 : 0;
      return true;
    case ExitCode::cpuid: out.reason = ExitReason::cpuid; return true;
    case ExitCode::msr:
      out.reason = r.exitinfo1 ? ExitReason::msr_write : ExitReason::msr_read;
      out.msr.index = static_cast<uint32_t>(r.rcx);
      return true;
    case ExitCode::hlt: out.reason = ExitReason::hlt; return true;
    case ExitCode::vmmcall: out.reason = ExitReason::hypercall; return true;
    case ExitCode::xsetbv: out.reason = ExitReason::xsetbv; return true;
    case ExitCode::invd: out.reason = ExitReason::invd; return true;
    case ExitCode::wbinvd: out.reason = ExitReason::wbinvd; return true;
    case ExitCode::shutdown: out.reason = ExitReason::shutdown; return true;
    case ExitCode::rdtsc:
    case ExitCode::rdtscp: out.reason = ExitReason::rdtsc; return true;
    case ExitCode::pause: out.reason = ExitReason::pause; return true;
    case ExitCode::invalid:
      out.reason = ExitReason::entry_failure;
      out.entry.reason = r.exitcode;
      return true;
    default:
      out.reason = ExitReason::vendor;
      return true;
  }
}

}  // namespace cos::svm
