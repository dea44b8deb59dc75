// guest_fuzz: random programs and states (program.hpp). Encodings follow
// Intel SDM Vol. 2A chapter 2 (prefixes, REX, ModRM, SIB, displacement,
// immediate) and the opcode maps of appendix A; the templates cover the
// instruction classes a VMM and the kernel must survive: everything that
// exits (port and string I/O, MSRs, CPUID, HLT, the virtualization and
// cache instructions, control and debug registers, descriptor tables),
// (the templates never write DR7: QEMU 7.2's TCG aborts when a guest's data
// breakpoint hits while it delivers an exception; random bytes still may),
// everything that faults or changes privilege (segment loads, far
// transfers, INT/IRET, SYSCALL/SYSENTER, UD2), memory operands anywhere
// (MMIO included), x87/SSE, LOCK and REP.
#include "guest_fuzz/program.hpp"

namespace guest_fuzz {
namespace {

constexpr uint8_t kReal = 1, kProt = 2, kLong = 4, kAll = 7, kLegacy = kReal | kProt;

/// Immediate kinds.
enum Imm : uint8_t {
  none,
  ib,     ///< 8 bits
  iw,     ///< 16 bits
  iz,     ///< 16 or 32 bits by operand size
  iv,     ///< 16, 32 or 64 bits by operand size (MOV r, imm)
  moffs,  ///< an offset of the address size
  farp,   ///< ptr16:16 / ptr16:32 (JMP/CALL far, legacy modes)
  iw_ib,  ///< ENTER
};

/// ModRM kinds.
enum ModRm : uint8_t {
  no_modrm,
  any,       ///< any mod
  reg_only,  ///< mod = 3 (MOV CRn/DRn, ...)
  mem_only,  ///< mod != 3 (LGDT, LEA, far pointers, ...)
};

struct Tmpl {
  uint8_t op[3];
  uint8_t len;
  ModRm modrm;
  int8_t digit;      ///< ModRM.reg: -1 any, 0-7 fixed
  Imm imm;
  uint8_t modes;
  bool reg_in_op;    ///< the last opcode byte carries a register (50+r, B8+r, ...)
};

// The instruction templates. Comments name the instruction(s).
constexpr Tmpl kTemplates[] = {
    // ALU, MOV, TEST, XCHG, LEA, group 1-5
    {{0x00}, 1, any, -1, none, kAll, false},  // add Eb,Gb
    {{0x01}, 1, any, -1, none, kAll, false},  // add Ev,Gv
    {{0x0b}, 1, any, -1, none, kAll, false},  // or Gv,Ev
    {{0x13}, 1, any, -1, none, kAll, false},  // adc Gv,Ev
    {{0x21}, 1, any, -1, none, kAll, false},  // and Ev,Gv
    {{0x29}, 1, any, -1, none, kAll, false},  // sub Ev,Gv
    {{0x31}, 1, any, -1, none, kAll, false},  // xor Ev,Gv
    {{0x39}, 1, any, -1, none, kAll, false},  // cmp Ev,Gv
    {{0x05}, 1, no_modrm, -1, iz, kAll, false},  // add eAX,Iz
    {{0x80}, 1, any, -1, ib, kAll, false},    // group 1 Eb,Ib
    {{0x81}, 1, any, -1, iz, kAll, false},    // group 1 Ev,Iz
    {{0x83}, 1, any, -1, ib, kAll, false},    // group 1 Ev,Ib
    {{0x84}, 1, any, -1, none, kAll, false},  // test
    {{0x86}, 1, any, -1, none, kAll, false},  // xchg Eb,Gb
    {{0x87}, 1, any, -1, none, kAll, false},  // xchg Ev,Gv
    {{0x88}, 1, any, -1, none, kAll, false},  // mov Eb,Gb
    {{0x89}, 1, any, -1, none, kAll, false},  // mov Ev,Gv
    {{0x8a}, 1, any, -1, none, kAll, false},  // mov Gb,Eb
    {{0x8b}, 1, any, -1, none, kAll, false},  // mov Gv,Ev
    {{0x8c}, 1, any, -1, none, kAll, false},  // mov Ev,Sreg
    {{0x8e}, 1, any, -1, none, kAll, false},  // mov Sreg,Ew (random selectors)
    {{0x8d}, 1, mem_only, -1, none, kAll, false},  // lea
    {{0xa0}, 1, no_modrm, -1, moffs, kAll, false},  // mov al,moffs
    {{0xa3}, 1, no_modrm, -1, moffs, kAll, false},  // mov moffs,eAX
    {{0xb0}, 1, no_modrm, -1, ib, kAll, true},      // mov r8,ib
    {{0xb8}, 1, no_modrm, -1, iv, kAll, true},      // mov r,imm
    {{0xc6}, 1, any, 0, ib, kAll, false},     // mov Eb,Ib
    {{0xc7}, 1, any, 0, iz, kAll, false},     // mov Ev,Iz
    {{0xf6}, 1, any, -1, ib, kAll, false},    // group 3 Eb (test/not/neg/mul/div)
    {{0xf7}, 1, any, -1, none, kAll, false},  // group 3 Ev (the TEST form has no Iz here: a decode shift, fine)
    {{0xfe}, 1, any, -1, none, kAll, false},  // group 4
    {{0xff}, 1, any, -1, none, kAll, false},  // group 5: inc, dec, call/jmp near and far, push
    {{0xd1}, 1, any, -1, none, kAll, false},  // shifts by 1
    {{0xc1}, 1, any, -1, ib, kAll, false},    // shifts by ib
    {{0x0f, 0xaf}, 2, any, -1, none, kAll, false},  // imul
    {{0x0f, 0xb6}, 2, any, -1, none, kAll, false},  // movzx
    {{0x0f, 0xbe}, 2, any, -1, none, kAll, false},  // movsx
    {{0x63}, 1, any, -1, none, kLong, false},       // movsxd
    {{0x0f, 0xb1}, 2, any, -1, none, kAll, false},  // cmpxchg
    {{0x0f, 0xc1}, 2, any, -1, none, kAll, false},  // xadd
    {{0x0f, 0xab}, 2, any, -1, none, kAll, false},  // bts
    {{0x0f, 0xba}, 2, any, -1, ib, kAll, false},    // group 8
    {{0x0f, 0xc7}, 2, mem_only, 1, none, kAll, false},  // cmpxchg8b/16b
    {{0x0f, 0xc8}, 2, no_modrm, -1, none, kAll, true},  // bswap
    // stack and flags
    {{0x50}, 1, no_modrm, -1, none, kAll, true},  // push r
    {{0x58}, 1, no_modrm, -1, none, kAll, true},  // pop r
    {{0x68}, 1, no_modrm, -1, iz, kAll, false},   // push iz
    {{0x6a}, 1, no_modrm, -1, ib, kAll, false},   // push ib
    {{0x8f}, 1, any, 0, none, kAll, false},       // pop Ev
    {{0x9c}, 1, no_modrm, -1, none, kAll, false},  // pushf
    {{0x9d}, 1, no_modrm, -1, none, kAll, false},  // popf (TF, AC, IF, IOPL, NT)
    {{0x60}, 1, no_modrm, -1, none, kLegacy, false},  // pusha
    {{0x61}, 1, no_modrm, -1, none, kLegacy, false},  // popa
    {{0xc8}, 1, no_modrm, -1, iw_ib, kAll, false},    // enter
    {{0xc9}, 1, no_modrm, -1, none, kAll, false},     // leave
    {{0x07}, 1, no_modrm, -1, none, kLegacy, false},  // pop es
    {{0x17}, 1, no_modrm, -1, none, kLegacy, false},  // pop ss
    {{0x1f}, 1, no_modrm, -1, none, kLegacy, false},  // pop ds
    {{0x0f, 0xa1}, 2, no_modrm, -1, none, kAll, false},  // pop fs
    {{0xfa}, 1, no_modrm, -1, none, kAll, false},  // cli
    {{0xfb}, 1, no_modrm, -1, none, kAll, false},  // sti
    {{0xfc}, 1, no_modrm, -1, none, kAll, false},  // cld
    {{0xfd}, 1, no_modrm, -1, none, kAll, false},  // std
    {{0x9e}, 1, no_modrm, -1, none, kAll, false},  // sahf
    // control transfers
    {{0x70}, 1, no_modrm, -1, ib, kAll, true},     // jcc short (70-77)
    {{0xeb}, 1, no_modrm, -1, ib, kAll, false},    // jmp short
    {{0xe9}, 1, no_modrm, -1, iz, kAll, false},    // jmp near
    {{0xe8}, 1, no_modrm, -1, iz, kAll, false},    // call near
    {{0xc3}, 1, no_modrm, -1, none, kAll, false},  // ret
    {{0xcb}, 1, no_modrm, -1, none, kAll, false},  // retf
    {{0xcf}, 1, no_modrm, -1, none, kAll, false},  // iret (any width)
    {{0xcd}, 1, no_modrm, -1, ib, kAll, false},    // int n
    {{0xcc}, 1, no_modrm, -1, none, kAll, false},  // int3
    {{0xf1}, 1, no_modrm, -1, none, kAll, false},  // int1 (icebp)
    {{0xce}, 1, no_modrm, -1, none, kLegacy, false},  // into
    {{0xea}, 1, no_modrm, -1, farp, kLegacy, false},  // jmp far
    {{0x9a}, 1, no_modrm, -1, farp, kLegacy, false},  // call far
    {{0xe2}, 1, no_modrm, -1, ib, kAll, false},    // loop
    {{0x0f, 0x05}, 2, no_modrm, -1, none, kAll, false},  // syscall
    {{0x0f, 0x07}, 2, no_modrm, -1, none, kAll, false},  // sysret
    {{0x0f, 0x34}, 2, no_modrm, -1, none, kAll, false},  // sysenter
    {{0x0f, 0x35}, 2, no_modrm, -1, none, kAll, false},  // sysexit
    // port and string I/O, string moves (REP comes from the prefixes)
    {{0xe4}, 1, no_modrm, -1, ib, kAll, false},    // in al,ib
    {{0xe7}, 1, no_modrm, -1, ib, kAll, false},    // out ib,eax
    {{0xec}, 1, no_modrm, -1, none, kAll, false},  // in al,dx
    {{0xed}, 1, no_modrm, -1, none, kAll, false},  // in eax,dx
    {{0xee}, 1, no_modrm, -1, none, kAll, false},  // out dx,al
    {{0xef}, 1, no_modrm, -1, none, kAll, false},  // out dx,eax
    {{0x6c}, 1, no_modrm, -1, none, kAll, false},  // insb
    {{0x6d}, 1, no_modrm, -1, none, kAll, false},  // insd
    {{0x6e}, 1, no_modrm, -1, none, kAll, false},  // outsb
    {{0x6f}, 1, no_modrm, -1, none, kAll, false},  // outsd
    {{0xa4}, 1, no_modrm, -1, none, kAll, false},  // movsb
    {{0xa5}, 1, no_modrm, -1, none, kAll, false},  // movsd
    {{0xa6}, 1, no_modrm, -1, none, kAll, false},  // cmpsb
    {{0xaa}, 1, no_modrm, -1, none, kAll, false},  // stosb
    {{0xab}, 1, no_modrm, -1, none, kAll, false},  // stosd
    {{0xad}, 1, no_modrm, -1, none, kAll, false},  // lodsd
    {{0xae}, 1, no_modrm, -1, none, kAll, false},  // scasb
    // exits and privileged state
    {{0xf4}, 1, no_modrm, -1, none, kAll, false},        // hlt
    {{0x0f, 0xa2}, 2, no_modrm, -1, none, kAll, false},  // cpuid
    {{0x0f, 0x32}, 2, no_modrm, -1, none, kAll, false},  // rdmsr
    {{0x0f, 0x30}, 2, no_modrm, -1, none, kAll, false},  // wrmsr
    {{0x0f, 0x31}, 2, no_modrm, -1, none, kAll, false},  // rdtsc
    {{0x0f, 0x33}, 2, no_modrm, -1, none, kAll, false},  // rdpmc
    {{0x0f, 0x08}, 2, no_modrm, -1, none, kAll, false},  // invd
    {{0x0f, 0x09}, 2, no_modrm, -1, none, kAll, false},  // wbinvd
    {{0x0f, 0x06}, 2, no_modrm, -1, none, kAll, false},  // clts
    {{0x0f, 0x0b}, 2, no_modrm, -1, none, kAll, false},  // ud2
    {{0xf3, 0x90}, 2, no_modrm, -1, none, kAll, false},  // pause
    {{0x0f, 0x01}, 2, mem_only, -1, none, kAll, false},  // sgdt sidt lgdt lidt smsw lmsw invlpg
    {{0x0f, 0x00}, 2, any, -1, none, kProt | kLong, false},  // sldt str lldt ltr verr verw
    {{0x0f, 0x20}, 2, reg_only, -1, none, kAll, false},  // mov r, crN
    {{0x0f, 0x22}, 2, reg_only, -1, none, kAll, false},  // mov crN, r
    {{0x0f, 0x21}, 2, reg_only, -1, none, kAll, false},  // mov r, drN
    {{0x0f, 0x23}, 2, reg_only, 3, none, kAll, false},   // mov dr3, r (never DR7: see below)
    {{0x0f, 0x01, 0xc1}, 3, no_modrm, -1, none, kAll, false},  // vmcall
    {{0x0f, 0x01, 0xd9}, 3, no_modrm, -1, none, kAll, false},  // vmmcall
    {{0x0f, 0x01, 0xd8}, 3, no_modrm, -1, none, kAll, false},  // vmrun
    {{0x0f, 0x01, 0xda}, 3, no_modrm, -1, none, kAll, false},  // vmload
    {{0x0f, 0x01, 0xdb}, 3, no_modrm, -1, none, kAll, false},  // vmsave
    {{0x0f, 0x01, 0xdc}, 3, no_modrm, -1, none, kAll, false},  // stgi
    {{0x0f, 0x01, 0xdd}, 3, no_modrm, -1, none, kAll, false},  // clgi
    {{0x0f, 0x01, 0xde}, 3, no_modrm, -1, none, kAll, false},  // skinit
    {{0x0f, 0x01, 0xdf}, 3, no_modrm, -1, none, kAll, false},  // invlpga
    {{0x0f, 0x01, 0xc8}, 3, no_modrm, -1, none, kAll, false},  // monitor
    {{0x0f, 0x01, 0xc9}, 3, no_modrm, -1, none, kAll, false},  // mwait
    {{0x0f, 0x01, 0xd0}, 3, no_modrm, -1, none, kAll, false},  // xgetbv
    {{0x0f, 0x01, 0xd1}, 3, no_modrm, -1, none, kAll, false},  // xsetbv
    {{0x0f, 0x01, 0xf8}, 3, no_modrm, -1, none, kLong, false},  // swapgs
    {{0x0f, 0x01, 0xf9}, 3, no_modrm, -1, none, kAll, false},  // rdtscp
    {{0x0f, 0x01, 0xfd}, 3, no_modrm, -1, none, kAll, false},  // rdpru
    {{0x0f, 0x01, 0xc4}, 3, no_modrm, -1, none, kAll, false},  // vmxoff
    {{0x0f, 0x01, 0xc2}, 3, no_modrm, -1, none, kAll, false},  // vmlaunch
    {{0x0f, 0x78}, 2, any, -1, none, kAll, false},         // vmread
    {{0x0f, 0xc7}, 2, mem_only, 6, none, kAll, false},     // vmptrld / vmxon (F3) / vmclear (66) / rdrand
    {{0x0f, 0x37}, 2, no_modrm, -1, none, kAll, false},    // getsec
    {{0x0f, 0xb2}, 2, mem_only, -1, none, kAll, false},    // lss
    {{0x0f, 0xb4}, 2, mem_only, -1, none, kAll, false},    // lfs
    // x87, SSE, XSAVE
    {{0xd9}, 1, any, -1, none, kAll, false},               // x87 group (fld, fldenv, fnstcw, ...)
    {{0xdd}, 1, any, -1, none, kAll, false},               // x87 group (fld m64, frstor, fnsave)
    {{0xdb}, 1, no_modrm, -1, none, kAll, false},          // x87 escape (stray: the next byte is its ModRM)
    {{0x0f, 0x10}, 2, any, -1, none, kAll, false},         // movups
    {{0x0f, 0x29}, 2, any, -1, none, kAll, false},         // movaps store
    {{0x0f, 0x6f}, 2, any, -1, none, kAll, false},         // movq/movdqa (with 66)
    {{0x0f, 0xae}, 2, any, -1, none, kAll, false},         // fxsave fxrstor ldmxcsr stmxcsr xsave clflush ...
    {{0x0f, 0x18}, 2, mem_only, -1, none, kAll, false},    // prefetch
    // odd ones
    {{0x0f, 0xa3}, 2, any, -1, none, kAll, false},         // bt Ev,Gv (bit offsets beyond the operand)
    {{0xd7}, 1, no_modrm, -1, none, kAll, false},          // xlat
    {{0x62}, 1, mem_only, -1, none, kLegacy, false},       // bound
    {{0x9b}, 1, no_modrm, -1, none, kAll, false},          // fwait
    {{0xf5}, 1, no_modrm, -1, none, kAll, false},          // cmc
    {{0x90}, 1, no_modrm, -1, none, kAll, false},          // nop
};
constexpr unsigned kTemplateCount = sizeof(kTemplates) / sizeof(kTemplates[0]);

constexpr uint8_t kSegPrefixes[] = {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65};

class Writer {
 public:
  explicit Writer(uint8_t* out) : out_(out) {}
  void byte(uint8_t b) {
    if (n_ < kMaxInstruction) out_[n_++] = b;
  }
  void bytes(Rng& rng, unsigned count) {
    for (unsigned i = 0; i < count; ++i) byte(rng.byte());
  }
  unsigned size() const { return n_; }
  uint8_t& last() { return out_[n_ - 1]; }

 private:
  uint8_t* out_;
  unsigned n_ = 0;
};

/// A displacement or immediate value: small, a round address, or random.
void value(Rng& rng, Writer& w, unsigned size) {
  uint64_t v;
  switch (rng.below(4)) {
    case 0: v = rng.below(0x100); break;
    case 1: v = rng.below(0x20000) & ~7ull; break;  // somewhere in guest RAM
    case 2: v = 0xfee00000u + rng.below(0x1000); break;
    default: v = rng.next(); break;
  }
  for (unsigned i = 0; i < size; ++i) w.byte(static_cast<uint8_t>(v >> (8 * i)));
}

void modrm(Rng& rng, Writer& w, const Tmpl& t, unsigned address_size) {
  unsigned mod = t.modrm == reg_only ? 3 : t.modrm == mem_only ? static_cast<unsigned>(rng.below(3))
                                                                 : static_cast<unsigned>(rng.below(4));
  const unsigned reg = t.digit >= 0 ? static_cast<unsigned>(t.digit) : static_cast<unsigned>(rng.below(8));
  const unsigned rm = static_cast<unsigned>(rng.below(8));
  w.byte(static_cast<uint8_t>(mod << 6 | reg << 3 | rm));
  if (mod == 3) return;
  if (address_size == 2) {
    if (mod == 1) value(rng, w, 1);
    else if (mod == 2 || rm == 6) value(rng, w, 2);
    return;
  }
  if (rm == 4) {
    const uint8_t sib = rng.byte();
    w.byte(sib);
    if (mod == 0 && (sib & 7) == 5) value(rng, w, 4);
  } else if (mod == 0 && rm == 5) {
    value(rng, w, 4);  // disp32 (RIP-relative in 64-bit mode)
  }
  if (mod == 1) value(rng, w, 1);
  if (mod == 2) value(rng, w, 4);
}

}  // namespace

const char* code_kind_name(CodeKind k) { return k == CodeKind::random_bytes ? "random bytes" : "encodings"; }

void random_bytes(Rng& rng, uint8_t* code, unsigned n) {
  for (unsigned i = 0; i < n; ++i) code[i] = rng.byte();
}

unsigned encode_one(Rng& rng, Mode mode, uint8_t* out) {
  const uint8_t mode_bit = mode == Mode::real ? kReal : mode == Mode::protected32 ? kProt : kLong;
  const Tmpl* t = nullptr;
  do t = &kTemplates[rng.below(kTemplateCount)];
  while (!(t->modes & mode_bit));
  Writer w(out);
  bool opsize = false, addrsize = false, rex_w = false;
  // Legacy prefixes, in random order and number (rarely).
  for (unsigned p = 0; p < 3 && rng.chance(20); ++p) {
    switch (rng.below(6)) {
      case 0: w.byte(0x66), opsize = true; break;
      case 1: w.byte(0x67), addrsize = true; break;
      case 2: w.byte(0xf0); break;  // LOCK
      case 3: w.byte(0xf3); break;  // REP / REPE
      case 4: w.byte(0xf2); break;  // REPNE
      default: w.byte(rng.pick(kSegPrefixes)); break;
    }
  }
  if (mode == Mode::long64 && rng.chance(30)) {
    const uint8_t rex = static_cast<uint8_t>(0x40 | rng.below(16));
    rex_w = rex & 8;
    w.byte(rex);
  }
  for (unsigned i = 0; i < t->len; ++i) w.byte(t->op[i]);
  if (t->reg_in_op) w.last() = static_cast<uint8_t>(w.last() + rng.below(8));
  unsigned osz, asz;
  switch (mode) {
    case Mode::real: osz = opsize ? 4 : 2, asz = addrsize ? 4 : 2; break;
    case Mode::protected32: osz = opsize ? 2 : 4, asz = addrsize ? 2 : 4; break;
    default: osz = rex_w ? 8 : opsize ? 2 : 4, asz = addrsize ? 4 : 8; break;
  }
  if (t->modrm != no_modrm) modrm(rng, w, *t, asz);
  switch (t->imm) {
    case none: break;
    case ib: value(rng, w, 1); break;
    case iw: value(rng, w, 2); break;
    case iz: value(rng, w, osz == 2 ? 2 : 4); break;
    case iv: value(rng, w, osz); break;
    case moffs: value(rng, w, asz); break;
    case farp: value(rng, w, osz == 2 ? 4 : 6); break;
    case iw_ib: value(rng, w, 2), value(rng, w, 1); break;
  }
  return w.size();
}

unsigned random_encodings(Rng& rng, Mode mode, uint8_t* code, unsigned cap, unsigned& count) {
  unsigned n = 0;
  count = 0;
  uint8_t insn[kMaxInstruction];
  for (;;) {
    const unsigned len = encode_one(rng, mode, insn);
    if (n + len > cap) break;
    for (unsigned i = 0; i < len; ++i) code[n + i] = insn[i];
    n += len;
    ++count;
  }
  return n;
}

namespace {

/// A register value: an address in RAM, on the local APIC's page, at a page
/// boundary, 0, all ones, or random.
uint64_t reg_value(Rng& rng, uint64_t ram_bytes) {
  switch (rng.below(8)) {
    case 0: case 1: return rng.below(ram_bytes);
    case 2: return 0xfee00000u + rng.below(0x1000);
    case 3: return ((rng.below(ram_bytes) + 0x1000) & ~0xfffull) - rng.below(8);
    case 4: return 0;
    case 5: return ~0ull;
    default: return rng.next();
  }
}

}  // namespace

uint32_t randomize_state(Rng& rng, Mode mode, vmrt::VcpuState& v, uint64_t ram_bytes) {
  using vmrt::Reg;
  using vmrt::Seg;
  uint32_t applied = 0;
  if (rng.chance(80)) {
    applied |= Perturb::gprs;
    for (unsigned r = 0; r < 16; ++r)
      if (r != static_cast<unsigned>(Reg::rsp)) v.set(static_cast<Reg>(r), reg_value(rng, ram_bytes));
    if (mode != Mode::long64)
      for (unsigned r = 0; r < 8; ++r)
        if (rng.chance(70)) v.set(static_cast<Reg>(r), v.get(static_cast<Reg>(r)) & 0xffffffffu);
  }
  if (rng.chance(10)) {
    applied |= Perturb::rsp;
    v.set(Reg::rsp, reg_value(rng, ram_bytes));
  }
  if (rng.chance(40)) {
    applied |= Perturb::rflags;
    // CF PF AF ZF SF TF IF DF OF IOPL NT RF AC: what a guest may set itself.
    constexpr uint64_t kMask = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800 | 0x3000 | 0x4000 |
                               0x10000 | 0x40000;
    uint64_t f = 0x2 | (rng.next() & kMask);
    if (rng.chance(70)) f &= ~0x100ull;  // TF less often
    v.set(Reg::rflags, f);
  }
  if (rng.chance(20)) {
    applied |= Perturb::data_segments;
    const Seg segs[] = {Seg::ds, Seg::es, Seg::fs, Seg::gs};
    for (Seg s : segs) {
      if (!rng.chance(50)) continue;
      cos::vm::Segment seg = v.segment(s);
      seg.base = mode == Mode::long64 ? reg_value(rng, ram_bytes) & 0x00007fffffffffffull
                                      : static_cast<uint32_t>(reg_value(rng, ram_bytes));
      seg.limit = static_cast<uint32_t>(rng.chance(50) ? 0xffffffffu : rng.next());
      if (mode == Mode::real) seg.attr = 0x093;
      v.set_segment(s, seg);
    }
  }
  if (rng.chance(4)) {
    applied |= Perturb::segment_garbage;
    const Seg s = static_cast<Seg>(rng.below(8));
    cos::vm::Segment seg{static_cast<uint16_t>(rng.next()), static_cast<uint16_t>(rng.next() & 0xfff),
                    static_cast<uint32_t>(rng.next()), rng.chance(50) ? rng.next() : rng.below(ram_bytes)};
    v.set_segment(s, seg);
  }
  if (rng.chance(15)) {
    applied |= Perturb::control_bits;
    // Bits that keep the mode: CR0 MP EM TS AM CD NW(+CD) WP; CR4 VME PVI TSD DE PSE PGE PCE OSFXSR
    // OSXMMEXCPT UMIP; EFER SCE NXE.
    uint64_t cr0 = v.cr0() ^ (rng.next() & ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 18) | (1u << 16)));
    if (rng.chance(20)) cr0 |= 1u << 30;
    if (rng.chance(10)) cr0 |= (1u << 30) | (1u << 29);
    v.set(vmrt::Cr::cr0, cr0);
    v.set(vmrt::Cr::cr4, v.cr4() ^ (rng.next() & (0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800)));
    if (mode == Mode::long64) v.set(vmrt::Cr::efer, v.efer() ^ (rng.next() & (vmrt::kEferSce | vmrt::kEferNxe)));
  }
  if (rng.chance(3)) {
    applied |= Perturb::control_garbage;
    switch (rng.below(4)) {
      case 0: v.set(vmrt::Cr::cr0, v.cr0() ^ (1ull << rng.below(64))); break;
      case 1: v.set(vmrt::Cr::cr4, v.cr4() ^ (1ull << rng.below(64))); break;
      case 2: v.set(vmrt::Cr::efer, v.efer() ^ (1ull << rng.below(64))); break;
      default: v.set(vmrt::Cr::cr3, v.cr3() ^ (1ull << rng.below(64))); break;
    }
  }
  if (rng.chance(10)) {
    applied |= Perturb::idt_random;
    v.set_idtr(rng.chance(50) ? rng.below(ram_bytes) : rng.next(), static_cast<uint32_t>(rng.below(0x10000)));
  }
  if (rng.chance(5)) {
    applied |= Perturb::gdt_random;
    v.set_gdtr(v.gdtr().base, static_cast<uint32_t>(rng.below(0x10000)));
  }
  if (rng.chance(5)) {
    applied |= Perturb::shadow;
    v.set_interrupt_shadow(true);
  }
  if (rng.chance(8)) {
    applied |= Perturb::inject;
    const cos::vm::EventType types[] = {cos::vm::EventType::external_interrupt, cos::vm::EventType::nmi, cos::vm::EventType::exception,
                                        cos::vm::EventType::software_interrupt};
    const cos::vm::EventType type = rng.pick(types);
    const uint32_t vector = static_cast<uint32_t>(type == cos::vm::EventType::exception ? rng.below(32) : rng.below(256));
    const bool error = type == cos::vm::EventType::exception && (vector == 8 || (vector >= 10 && vector <= 14) ||
                                                            vector == 17 || vector == 21);
    v.queue_event(vector, type, error, static_cast<uint32_t>(rng.next()));
  }
  return applied;
}

namespace {

bool is_prefix(uint8_t b) {
  return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 || b == 0x66 || b == 0x67 ||
         b == 0xf0 || b == 0xf2 || b == 0xf3 || (b & 0xf0) == 0x40;
}

}  // namespace

unsigned avoid_qemu_crashers(uint8_t* buf, unsigned n) {
  unsigned fixed = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (buf[i] != 0xf0) continue;
    unsigned j = i + 1;
    while (j < n && j < i + kMaxInstruction && is_prefix(buf[j])) ++j;
    if (j + 2 >= n || buf[j] != 0x0f || (buf[j + 2] >> 6) != 3) continue;
    const uint8_t op = buf[j + 1];
    if (op == 0xa3 || op == 0xab || op == 0xb3 || op == 0xbb || op == 0xba) {
      buf[i] = 0x2e;
      ++fixed;
    }
  }
  for (unsigned i = 0; i + 1 < n; ++i) {
    const uint8_t m = buf[i + 1];
    const unsigned reg = (m >> 3) & 7;
    if (buf[i] == 0xff && (m >> 6) == 3 && (reg == 3 || reg == 5)) {
      buf[i + 1] = static_cast<uint8_t>(m & ~0x38);  // FF /0: INC r/m
      ++fixed;
    }
  }
  return fixed;
}

void handler_stubs(Mode mode, bool iret, uint8_t* out, unsigned stride, unsigned count) {
  for (unsigned i = 0; i < count; ++i) {
    uint8_t* s = out + i * stride;
    if (!iret) {
      s[0] = 0xf4, s[1] = 0xeb, s[2] = 0xfd;  // hlt; jmp back to the hlt
    } else if (mode == Mode::long64) {
      s[0] = 0x48, s[1] = 0xcf, s[2] = 0xf4;  // iretq
    } else {
      s[0] = 0xcf, s[1] = 0xf4, s[2] = 0xf4;  // iret
    }
  }
}

}  // namespace guest_fuzz
