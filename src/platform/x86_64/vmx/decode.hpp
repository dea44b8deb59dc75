// Translating between VMX formats and the vendor-neutral vCPU ABI
// (cos/vm.hpp): segment access rights, exit qualifications, event
// information and instruction lengths. Pure logic: host-compilable and
// unit-tested.
#pragma once
#include <stdint.h>

#include "x86_64/vmx/arch.hpp"
#include "cos/vm.hpp"

namespace cos::vmx {

// --- Segment attributes (SDM Vol. 3C, 25.4.1) -----------------------
// vm::Segment::attr is AMD's packed format: bits 7:0 type/S/DPL/P, 11:8
// AVL/L/D/G. VMX access rights keep 7:0 in place, have AVL/L/D/G at 15:12
// and bit 16 "segment unusable".

inline constexpr uint32_t kArUnusable = 1u << 16;
inline constexpr uint32_t kArPresent = 1u << 7;
inline constexpr uint32_t kArS = 1u << 4;
inline constexpr uint32_t kArL = 1u << 13;
inline constexpr uint32_t kArDb = 1u << 14;
inline constexpr uint32_t kArG = 1u << 15;
constexpr unsigned ar_type(uint32_t ar) { return ar & 0xf; }
constexpr unsigned ar_dpl(uint32_t ar) { return (ar >> 5) & 3; }

/// VMX access rights for a vm::Segment attribute. A segment that is not
/// present (P = 0, in particular attr 0) is unusable; its DPL is kept
/// because SS.DPL is the CPL even when SS is unusable (a 64-bit kernel
/// running with a null SS).
constexpr uint32_t ar_from_attr(uint16_t attr) {
  uint32_t ar = (attr & 0xffu) | ((attr & 0xf00u) << 4);
  if (!(attr & kArPresent)) return kArUnusable | (ar & (3u << 5));
  return ar;
}

/// vm::Segment attribute for VMX access rights. Unusable segments read as
/// attr 0, except that the DPL is kept (for SS, where it is the CPL).
constexpr uint16_t attr_from_ar(uint32_t ar) {
  if (ar & kArUnusable) return static_cast<uint16_t>(ar & (3u << 5));
  return static_cast<uint16_t>((ar & 0xffu) | ((ar >> 4) & 0xf00u));
}

// --- Exit qualifications (SDM Vol. 3C, 28.2.1) ------------------------------------

/// I/O instructions: size, direction, string, REP, port. For
/// OUT the written value is the low `size` bytes of the guest's RAX (for
/// OUTS the data is in guest memory: `data` is 0).
inline void decode_io(uint64_t qual, uint64_t rax, vm::Exit& exit) {
  exit.io.size = static_cast<uint8_t>((qual & 7) + 1);
  exit.io.in = (qual >> 3) & 1;
  exit.io.string = (qual >> 4) & 1;
  exit.io.rep = (qual >> 5) & 1;
  exit.io.reserved[0] = exit.io.reserved[1] = 0;
  exit.io.port = static_cast<uint16_t>(qual >> 16);
  uint64_t mask = exit.io.size >= 4 ? 0xffffffffull : (1ull << (8 * exit.io.size)) - 1;
  exit.io.data = (exit.io.in || exit.io.string) ? 0 : static_cast<uint32_t>(rax & mask);
}

/// EPT violations: bits 2:0 the access (read, write, fetch),
/// bits 5:3 what the translation allowed (all 0: nothing was mapped).
inline void decode_ept_violation(uint64_t qual, uint64_t gpa, vm::Exit& exit) {
  exit.gpa.gpa = gpa;
  exit.gpa.access = ((qual & 1) ? vm::kAccessRead : 0) | ((qual & 2) ? vm::kAccessWrite : 0) |
                    ((qual & 4) ? vm::kAccessExec : 0);
  exit.gpa.present = (qual & (7u << 3)) != 0;
}

/// Control-register accesses.
enum class CrAccess : unsigned { mov_to_cr = 0, mov_from_cr = 1, clts = 2, lmsw = 3 };
struct CrQual {
  unsigned cr;
  CrAccess access;
  unsigned gpr;
  uint16_t lmsw_source;
};
constexpr CrQual decode_cr(uint64_t qual) {
  return CrQual{static_cast<unsigned>(qual & 0xf), static_cast<CrAccess>((qual >> 4) & 3),
                static_cast<unsigned>((qual >> 8) & 0xf), static_cast<uint16_t>(qual >> 16)};
}
inline void decode_cr(uint64_t qual, vm::Exit& exit) {
  CrQual q = decode_cr(qual);
  exit.cr.cr = q.cr;
  exit.cr.write = q.access != CrAccess::mov_from_cr;
  exit.cr.gpr = q.gpr;
  exit.cr.reserved = 0;
}

// --- Event information --------------------------------------------------------------

constexpr bool valid(uint32_t info) { return info & IntrInfo::valid; }
constexpr IntrType intr_type(uint32_t info) {
  return static_cast<IntrType>((info & IntrInfo::type_mask) >> IntrInfo::type_shift);
}
constexpr uint8_t intr_vector(uint32_t info) { return static_cast<uint8_t>(info & IntrInfo::vector_mask); }

using x86::exception_has_error_code;

/// VM-entry interruption information for an event of the vCPU ABI, or 0 if
/// the event is not injectable (SDM Vol. 3C, 27.2.1.3: NMI is vector 2,
/// hardware exceptions are vectors 0-31). `deliver_error_code` follows the
/// architecture, not the caller: an error code is pushed iff the vector has
/// one and the guest is in protected mode (CR0.PE) — #CP (21) only where
/// `cp_error_code` says the CPU has it (CET); VM entry refuses an error
/// code for #CP on other CPUs ("invalid control fields"). Software
/// interrupts use type 4 (they need an instruction length, see
/// entry_instruction_length).
constexpr uint32_t entry_intr_info(unsigned vector, vm::EventType type, bool protected_mode,
                                   bool cp_error_code = false) {
  if (vector > 255) return 0;
  IntrType t;
  switch (type) {
    case vm::EventType::external_interrupt: t = IntrType::external_interrupt; break;
    case vm::EventType::nmi:
      if (vector != 2) return 0;
      t = IntrType::nmi;
      break;
    case vm::EventType::exception:
      if (vector >= 32) return 0;
      t = IntrType::hardware_exception;
      break;
    case vm::EventType::software_interrupt: t = IntrType::software_interrupt; break;
    default: return 0;
  }
  uint32_t info = IntrInfo::valid | (static_cast<uint32_t>(t) << IntrInfo::type_shift) | vector;
  if (t == IntrType::hardware_exception && protected_mode && exception_has_error_code(vector) &&
      (vector != x86::Vector::cp || cp_error_code))
    info |= IntrInfo::deliver_error_code;
  return info;
}

/// Converts IDT-vectoring information (an event whose delivery was
/// interrupted by the exit) into VM-entry interruption information that
/// re-injects it (SDM Vol. 3C, 28.2.4; bit 12 is undefined there and bits
/// 30:12 must be 0 on entry).
constexpr uint32_t reinjection_info(uint32_t idt_vectoring_info) {
  return valid(idt_vectoring_info) ? idt_vectoring_info & (IntrInfo::valid | 0xfffu) : 0;
}

/// True for event types that need the VM-entry instruction-length field.
constexpr bool needs_instruction_length(IntrType t) {
  return t == IntrType::software_interrupt || t == IntrType::privileged_software_exception ||
         t == IntrType::software_exception;
}

// --- Instruction lengths ---------------------------------------------------------------

/// True if the VM-exit instruction-length field is defined for an exit
/// (SDM Vol. 3C, 28.2.5): exits caused by executing an instruction, and
/// exits during delivery of a software interrupt or exception (INT n,
/// INT3, INTO, INT1), signalled by the exit interruption information
/// (reason 0) or by the IDT-vectoring information (any reason).
constexpr bool has_instruction_length(uint32_t basic_reason, uint32_t exit_intr_info,
                                      uint32_t idt_vectoring_info) {
  if (valid(idt_vectoring_info) && needs_instruction_length(intr_type(idt_vectoring_info))) return true;
  switch (static_cast<Reason>(basic_reason)) {
    case Reason::exception_nmi:
      return valid(exit_intr_info) && needs_instruction_length(intr_type(exit_intr_info));
    case Reason::cpuid: case Reason::getsec: case Reason::hlt: case Reason::invd:
    case Reason::invlpg: case Reason::rdpmc: case Reason::rdtsc: case Reason::rsm:
    case Reason::vmcall: case Reason::vmclear: case Reason::vmlaunch: case Reason::vmptrld:
    case Reason::vmptrst: case Reason::vmread: case Reason::vmresume: case Reason::vmwrite:
    case Reason::vmxoff: case Reason::vmxon: case Reason::cr_access: case Reason::mov_dr:
    case Reason::io: case Reason::rdmsr: case Reason::wrmsr: case Reason::mwait:
    case Reason::monitor: case Reason::pause: case Reason::gdtr_idtr_access:
    case Reason::ldtr_tr_access: case Reason::invept: case Reason::rdtscp:
    case Reason::invvpid: case Reason::wbinvd: case Reason::xsetbv: case Reason::rdrand:
    case Reason::invpcid: case Reason::vmfunc: case Reason::encls: case Reason::rdseed:
    case Reason::xsaves: case Reason::xrstors:
      return true;
    default:
      return false;
  }
}

/// The instruction length reported to the VMM: the hardware's value where it
/// is defined (1..15), else 0.
constexpr uint32_t exit_instruction_length(uint32_t basic_reason, uint32_t exit_intr_info,
                                           uint32_t idt_vectoring_info, uint64_t length_field) {
  if (!has_instruction_length(basic_reason, exit_intr_info, idt_vectoring_info)) return 0;
  return (length_field >= 1 && length_field <= 15) ? static_cast<uint32_t>(length_field) : 0;
}

}  // namespace cos::vmx
