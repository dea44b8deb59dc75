// x86decode: a small x86 instruction decoder and emulator for the memory
// accesses a VMM has to emulate on MMIO pages (local APIC, I/O APIC, ...).
//
// A guest-physical access fault tells the VMM which address was touched;
// decode() tells it how: the instruction's length, operation, operand size,
// register or immediate operand and whether memory is read, written or both.
// emulate() then performs the instruction against the guest's registers and
// two callbacks that read and write the MMIO location.
//
// Only the instruction forms that touch memory through a plain data access
// are decoded (see README.md for the list); anything else is reported as
// Status::unsupported so the VMM can give the guest an exception instead
// (vmrt/mmio.hpp: #UD). Nothing here aborts or reads past `n` bytes.
//
// Freestanding (no libc, no exceptions, no allocation) and host-compilable.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::x86dec {

/// The default operand and address sizes of the code being decoded.
enum class Mode : uint8_t {
  real16,  ///< 16-bit defaults: real mode, virtual-8086, 16-bit protected or compatibility code (CS.D = 0)
  prot32,  ///< 32-bit defaults: protected or compatibility mode with CS.D = 1
  long64,  ///< 64-bit mode (EFER.LMA and CS.L): 32-bit operands, 64-bit addresses, REX prefixes
};

/// The mode from the guest's CR0.PE, EFER.LMA and the CS attributes L and D.
constexpr Mode mode_for(bool cr0_pe, bool efer_lma, bool cs_l, bool cs_d) {
  if (!cr0_pe) return Mode::real16;
  if (efer_lma && cs_l) return Mode::long64;
  return cs_d ? Mode::prot32 : Mode::real16;
}

/// Results of decode() and emulate().
enum class Status : uint8_t {
  ok = 0,
  /// decode: the instruction needs more than the `n` bytes given.
  /// Instruction::length is the minimum total length known to be needed.
  truncated,
  /// decode: longer than 15 bytes (the CPU raises #GP).
  too_long,
  /// decode: an opcode or form this decoder does not handle (VEX, x87, SSE,
  /// branches, PUSH/POP/CALL/JMP through FF, MUL/DIV, CMPXCHG8B, ... and
  /// ARPL, C6/C7 other than /0).
  unsupported,
  /// decode: undefined in this mode or a LOCK prefix where the CPU raises #UD
  /// (so the instruction cannot have reached memory).
  invalid,
  /// emulate: a string instruction (MOVS, CMPS, STOS, LODS, SCAS, INS,
  /// OUTS, with or without REP); decoded, but not emulated here.
  string_op,
  /// emulate: the instruction has no memory operand (register-only form).
  no_memory_operand,
  /// decode: an unknown Mode value. emulate: a null callback for an access
  /// the instruction makes, or an Instruction that decode() did not produce.
  bad_argument,
};

/// What the instruction does.
enum class Op : uint8_t {
  none = 0,
  mov,     ///< 88, 89, 8A, 8B, C6 /0, C7 /0, A0-A3
  movzx,   ///< 0F B6, 0F B7
  movsx,   ///< 0F BE, 0F BF
  movsxd,  ///< 63 (64-bit mode only; MOV without REX.W)
  // The eight ALU operations in the order of their opcode rows / ModRM digits.
  add,     ///< 00-05, 80-83 /0
  or_,     ///< 08-0D, 80-83 /1
  adc,     ///< 10-15, 80-83 /2
  sbb,     ///< 18-1D, 80-83 /3
  and_,    ///< 20-25, 80-83 /4
  sub,     ///< 28-2D, 80-83 /5
  xor_,    ///< 30-35, 80-83 /6
  cmp,     ///< 38-3D, 80-83 /7
  test,    ///< 84, 85, A8, A9, F6 /0, F7 /0
  xchg,    ///< 86, 87
  bt,      ///< 0F A3, 0F BA /4
  bts,     ///< 0F AB, 0F BA /5
  btr,     ///< 0F B3, 0F BA /6
  btc,     ///< 0F BB, 0F BA /7
  // Read-modify-write forms without a second operand, and the exchanges.
  inc,     ///< FE /0, FF /0
  dec,     ///< FE /1, FF /1
  not_,    ///< F6 /2, F7 /2
  neg,     ///< F6 /3, F7 /3
  cmpxchg, ///< 0F B0, 0F B1 (the accumulator is the implied third operand)
  xadd,    ///< 0F C0, 0F C1
  // String operations (Instruction::is_string()).
  movs,    ///< A4, A5
  cmps,    ///< A6, A7
  stos,    ///< AA, AB
  lods,    ///< AC, AD
  scas,    ///< AE, AF
  // Port string operations (Instruction::is_port_string()): decoded for the
  // VMM's string I/O emulation (vmrt/string_io.hpp), which needs their
  // address size and segment override; emulate() does not perform them.
  ins,     ///< 6C, 6D (memory at ES:rDI; no segment override)
  outs,    ///< 6E, 6F (memory at DS:rSI, or the segment override)
};

/// A general-purpose register operand.
struct Reg {
  uint8_t index = 0;   ///< 0-15: rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8-r15
  bool high8 = false;  ///< AH, CH, DH, BH: bits 8-15 of register index 0-3 (8-bit operand, no REX)
};

/// Segment override prefixes.
enum class Seg : uint8_t { none = 0, es, cs, ss, ds, fs, gs };

/// The memory operand's addressing (for diagnostics and effective_address();
/// an MMIO exit already gives the guest-physical address).
struct Memory {
  int8_t base = -1;           ///< base register 0-15, or -1
  int8_t index = -1;          ///< index register 0-15, or -1
  uint8_t scale = 1;          ///< 1, 2, 4 or 8
  bool rip_relative = false;  ///< disp is relative to the next instruction (64-bit mode, mod 0 r/m 5)
  int64_t disp = 0;           ///< sign-extended displacement; for moffs (A0-A3) the zero-extended address
  Seg seg = Seg::none;        ///< the last segment override prefix, if any (ES/CS/SS/DS do nothing in 64-bit mode)
};

/// RFLAGS bits emulate() and alu() maintain.
namespace flag {
inline constexpr uint64_t CF = 1u << 0;
inline constexpr uint64_t PF = 1u << 2;
inline constexpr uint64_t AF = 1u << 4;
inline constexpr uint64_t ZF = 1u << 6;
inline constexpr uint64_t SF = 1u << 7;
inline constexpr uint64_t OF = 1u << 11;
inline constexpr uint64_t kArith = CF | PF | AF | ZF | SF | OF;
}  // namespace flag

/// A decoded instruction. Fields not listed under a form are zero/false.
struct Instruction {
  uint8_t length = 0;     ///< bytes including prefixes (1-15)
  Op op = Op::none;
  /// Operand size in bytes (1, 2, 4, 8). For MOVZX/MOVSX/MOVSXD the size of
  /// the destination register; for string operations the element size.
  uint8_t op_size = 0;
  /// Bytes the memory operand accesses (the source size of MOVZX/MOVSX/MOVSXD,
  /// op_size otherwise); 0 without a memory operand.
  uint8_t mem_size = 0;
  uint8_t addr_size = 0;  ///< address size in bytes (2, 4, 8)

  bool has_mem = false;      ///< a memory operand (ModRM mod != 3, moffs, or a string operation)
  bool mem_is_dest = false;  ///< the memory operand is the first (destination) operand
  bool reads_mem = false;    ///< the instruction loads from its memory operand
  bool writes_mem = false;   ///< the instruction stores to its memory operand
  Memory mem;                ///< valid when has_mem (string operations: not filled in)

  bool has_reg = false;  ///< a register operand (ModRM reg field, or the implied AL/AX/EAX/RAX)
  Reg reg;
  bool has_rm_reg = false;  ///< ModRM mod == 3: the r/m operand is this register (no memory operand)
  Reg rm_reg;

  bool has_imm = false;
  /// The immediate as the operation uses it: extended to op_size by the
  /// opcode's rule (imm8 of 83 sign-extended; imm32 of 81/C7/F7/05-style forms
  /// sign-extended to a 64-bit operand; the 0F BA bit offset zero-extended)
  /// and masked to op_size.
  uint64_t imm = 0;
  uint8_t imm_size = 0;  ///< encoded immediate bytes (1, 2, 4)

  // Prefixes and encoding.
  uint8_t rex = 0;  ///< the REX byte (0x40-0x4F) in effect, or 0
  bool opsize_prefix = false;    ///< 66
  bool addrsize_prefix = false;  ///< 67
  bool lock = false;             ///< F0
  bool rep = false;              ///< F3 (REP/REPE)
  bool repne = false;            ///< F2 (REPNE)
  bool two_byte = false;         ///< opcode in the 0F map
  uint8_t opcode = 0;            ///< the opcode byte (after 0F when two_byte)
  bool has_modrm = false;
  uint8_t modrm = 0;

  bool is_string() const { return op >= Op::movs && op <= Op::scas; }
  bool is_port_string() const { return op == Op::ins || op == Op::outs; }
};

/// Decodes the instruction at bytes[0..n). On Status::ok `out` describes it;
/// on Status::truncated out.length is the minimum total length needed; for
/// other errors `out` holds what was decoded so far (length = bytes examined).
Status decode(const uint8_t* bytes, size_t n, Mode mode, Instruction& out);

/// Callbacks for the MMIO location: read returns `size` bytes (1, 2, 4 or 8)
/// zero-extended; write stores the low `size` bytes of value.
struct MmioOps {
  void* ctx = nullptr;
  uint64_t (*read)(void* ctx, unsigned size) = nullptr;
  void (*write)(void* ctx, unsigned size, uint64_t value) = nullptr;
};

struct EmulateResult {
  Status status = Status::ok;
  uint8_t rip_delta = 0;  ///< on ok: how far to advance RIP (= Instruction::length); 0 otherwise
  bool ok() const { return status == Status::ok; }
};

/// Performs a decoded instruction whose memory operand is the MMIO location.
/// regs: the 16 general-purpose registers in encoding order (rax, rcx, rdx,
/// rbx, rsp, rbp, rsi, rdi, r8-r15 — cos::vm::Regs order); register writes
/// follow x86 rules (32-bit results zero-extend to 64 bits, 8- and 16-bit
/// results merge). ALU operations update CF, PF, AF, ZF, SF, OF in rflags as
/// the SDM defines (AND/OR/XOR/TEST clear CF, OF and the undefined AF;
/// BT/BTS/BTR/BTC set CF and leave the others); CMP/TEST/BT only change
/// flags. Read-modify-write instructions read once, then write once. On
/// failure nothing is read, written or changed.
///
/// BT* with a register bit offset: the CPU accesses the operand-sized word
/// that holds the bit, so the faulting location is that word and the bit
/// used is the offset modulo the operand width.
EmulateResult emulate(const Instruction& insn, uint64_t* regs, uint64_t& rflags, const MmioOps& mmio);

/// emulate() with callables: read(unsigned size) -> uint64_t and
/// write(unsigned size, uint64_t value).
template <class Read, class Write>
EmulateResult emulate(const Instruction& insn, uint64_t* regs, uint64_t& rflags, const Read& read,
                      const Write& write) {
  struct Ctx {
    const Read* r;
    const Write* w;
  } ctx{&read, &write};
  MmioOps ops;
  ops.ctx = &ctx;
  ops.read = [](void* c, unsigned size) -> uint64_t { return (*static_cast<Ctx*>(c)->r)(size); };
  ops.write = [](void* c, unsigned size, uint64_t value) { (*static_cast<Ctx*>(c)->w)(size, value); };
  return emulate(insn, regs, rflags, ops);
}

/// The ALU core: a `op` b on `size`-byte operands (op: add ... cmp or test;
/// ADC/SBB take CF from rflags). Updates the arithmetic flags in rflags and
/// returns the result masked to size (CMP: the difference, TEST: the AND).
/// Any other op returns a and leaves rflags unchanged.
uint64_t alu(Op op, unsigned size, uint64_t a, uint64_t b, uint64_t& rflags);

/// The offset (before segmentation) of the memory operand, wrapped to the
/// address size: base + index * scale + disp, RIP-relative from the end of
/// the instruction at `rip`; moffs: the address. String operations: rDI for
/// STOS/SCAS, rSI for MOVS/CMPS/LODS (their first access). 0 without memory.
uint64_t effective_address(const Instruction& insn, const uint64_t* regs, uint64_t rip);

/// Names for messages ("mov", "truncated", ...); never null.
const char* op_name(Op op);
const char* status_name(Status s);

}  // namespace cos::x86dec
