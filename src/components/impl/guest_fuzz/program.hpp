// guest_fuzz: random guest programs — the code (random bytes, or random
// valid encodings from a table of instruction templates) and the random
// state a program starts in (general-purpose registers, RFLAGS, segments,
// control registers, descriptor tables, an event to inject), all drawn from
// one vmtest::Rng so that a program is reproduced from the run's seed and
// its index. Host-compilable (tests/unit/guest_fuzz_test.cpp).
#pragma once
#include <stdint.h>

#include "vmrt/vcpu_state.hpp"
#include "vmtest/guest_setup.hpp"
#include "vmtest/rng.hpp"

namespace guest_fuzz {

using vmtest::Mode;
using vmtest::Rng;

/// Longest instruction encode_one() writes (the architectural limit).
inline constexpr unsigned kMaxInstruction = 15;

enum class CodeKind : uint8_t { random_bytes, encodings };
const char* code_kind_name(CodeKind k);

/// Writes `n` random bytes.
void random_bytes(Rng& rng, uint8_t* code, unsigned n);
/// One instruction from the template table, encoded for `mode` with random
/// prefixes, ModRM/SIB/displacement and immediates; returns its length
/// (1..kMaxInstruction).
unsigned encode_one(Rng& rng, Mode mode, uint8_t* out);
/// Instructions from encode_one() until `cap` bytes would be exceeded;
/// returns the bytes written, `count` the instructions.
unsigned random_encodings(Rng& rng, Mode mode, uint8_t* code, unsigned cap, unsigned& count);

/// What randomize_state() changed (bits, for messages and statistics).
namespace Perturb {
inline constexpr uint32_t gprs = 1u << 0;            ///< random general-purpose registers
inline constexpr uint32_t rflags = 1u << 1;          ///< random arithmetic/control flags (DF, TF, AC, IOPL, NT, ...)
inline constexpr uint32_t data_segments = 1u << 2;   ///< valid data segments with random base/limit
inline constexpr uint32_t segment_garbage = 1u << 3; ///< one segment register of random bits
inline constexpr uint32_t control_bits = 1u << 4;    ///< CR0/CR4/EFER bits that keep the mode
inline constexpr uint32_t control_garbage = 1u << 5; ///< CR0/CR4/EFER/CR3 random bits
inline constexpr uint32_t idt_random = 1u << 6;      ///< a random IDTR
inline constexpr uint32_t gdt_random = 1u << 7;      ///< a random GDTR limit
inline constexpr uint32_t shadow = 1u << 8;          ///< an interrupt shadow
inline constexpr uint32_t inject = 1u << 9;          ///< an event to inject at entry (random vector and type)
inline constexpr uint32_t rsp = 1u << 10;            ///< a random stack pointer
}  // namespace Perturb

/// Perturbs the state vmtest::enter() gave the vCPU (every change marks its
/// group dirty, so the next run loads it); `ram_bytes` is the guest RAM at
/// 0. Returns the Perturb bits it applied.
uint32_t randomize_state(Rng& rng, Mode mode, vmrt::VcpuState& v, uint64_t ram_bytes);

/// Rewrites the byte sequences QEMU's TCG (7.2) cannot translate without
/// aborting ("tcg fatal error"), wherever they are in `buf` (code may run
/// anywhere in RAM): LOCK BT/BTS/BTR/BTC with a register operand (0F A3/AB/
/// B3/BB, 0F BA /4-/7, mod 3) lose the LOCK (it becomes a CS override), and
/// FF /3, FF /5 with a register operand (CALL/JMP far through a register,
/// the defect of unicorn-engine issue 1716) become INC r/m. Returns how many
/// it rewrote. For runs under QEMU only: the CPU raises #UD for them, which
/// Bochs and hardware show.
unsigned avoid_qemu_crashers(uint8_t* buf, unsigned n);

/// Exception handler stubs, `count` of them `stride` bytes apart: each
/// halts (HLT; JMP back), or with `iret` returns (IRET / IRETQ).
void handler_stubs(Mode mode, bool iret, uint8_t* out, unsigned stride, unsigned count);

}  // namespace guest_fuzz
