// x86decode: the decoder (Intel SDM Vol. 2, chapter 2 and appendix A;
// AMD APM Vol. 3, chapter 1).
#include "x86decode/x86decode.hpp"

namespace cos::x86dec {
namespace {

constexpr size_t kMaxLength = 15;

constexpr uint64_t size_mask(unsigned size) { return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (size * 8)) - 1; }

// Reads bytes with bounds and 15-byte checks; the first failure sticks.
struct Cursor {
  const uint8_t* bytes;
  size_t n;
  size_t pos = 0;
  Status status = Status::ok;
  size_t needed = 0;  // for truncated: the minimum total length

  bool need(size_t k) {
    if (status != Status::ok) return false;
    if (pos + k > kMaxLength) {
      status = Status::too_long;
      return false;
    }
    if (pos + k > n) {
      status = Status::truncated;
      needed = pos + k;
      return false;
    }
    return true;
  }
  // Little-endian unsigned value of k bytes (1, 2, 4, 8); 0 on failure.
  uint64_t take(size_t k) {
    if (!need(k)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < k; ++i) v |= uint64_t{bytes[pos + i]} << (8 * i);
    pos += k;
    return v;
  }
};

constexpr uint64_t sign_extend(uint64_t v, unsigned size) {
  if (size >= 8) return v;
  const unsigned shift = 64 - size * 8;
  return static_cast<uint64_t>(static_cast<int64_t>(v << shift) >> shift);
}

// A register operand from its 4-bit encoding. Without REX, byte registers
// 4-7 are AH, CH, DH, BH; with any REX they are SPL, BPL, SIL, DIL.
Reg make_reg(unsigned enc, unsigned size, bool rex) {
  Reg r;
  if (size == 1 && !rex && enc >= 4 && enc < 8) {
    r.index = static_cast<uint8_t>(enc - 4);
    r.high8 = true;
  } else {
    r.index = static_cast<uint8_t>(enc);
  }
  return r;
}

constexpr Op kAluOps[8] = {Op::add, Op::or_, Op::adc, Op::sbb, Op::and_, Op::sub, Op::xor_, Op::cmp};

// How the operands of a ModRM form are arranged.
enum class Form : uint8_t {
  none,    // no ModRM
  e_g,     // r/m (dest), reg
  g_e,     // reg (dest), r/m
  e_imm,   // r/m (dest), immediate
};

class Decoder {
 public:
  Decoder(const uint8_t* bytes, size_t n, Mode mode, Instruction& out) : c_{bytes, n}, mode_(mode), out_(out) {}

  Status run();

 private:
  bool rex_present() const { return out_.rex != 0; }
  bool rex_w() const { return (out_.rex & 8) != 0; }
  bool rex_r() const { return (out_.rex & 4) != 0; }
  bool rex_x() const { return (out_.rex & 2) != 0; }
  bool rex_b() const { return (out_.rex & 1) != 0; }

  Status fail(Status s) {
    out_.length = static_cast<uint8_t>(c_.pos);
    return s;
  }
  Status cursor_fail() {
    out_.length = static_cast<uint8_t>(c_.status == Status::truncated ? c_.needed : c_.pos);
    return c_.status;
  }

  bool prefixes();
  bool modrm(unsigned reg_size);
  bool modrm_16();
  bool modrm_32_64();
  bool immediate(unsigned bytes, bool sign, unsigned op_size);
  Status finish(Form form, unsigned size);
  Status one_byte(uint8_t b);
  Status two_byte(uint8_t b);
  Status string_op(uint8_t b);
  Status port_string_op(uint8_t b);

  Cursor c_;
  Mode mode_;
  Instruction& out_;
  unsigned osz_ = 4;  // operand size for "v" operands
  unsigned asz_ = 4;  // address size
};

bool Decoder::prefixes() {
  for (;;) {
    if (!c_.need(1)) return false;
    const uint8_t b = c_.bytes[c_.pos];
    switch (b) {
      case 0x66: out_.opsize_prefix = true; break;
      case 0x67: out_.addrsize_prefix = true; break;
      case 0xf0: out_.lock = true; break;
      case 0xf2: out_.repne = true; out_.rep = false; break;
      case 0xf3: out_.rep = true; out_.repne = false; break;
      case 0x26: out_.mem.seg = Seg::es; break;
      case 0x2e: out_.mem.seg = Seg::cs; break;
      case 0x36: out_.mem.seg = Seg::ss; break;
      case 0x3e: out_.mem.seg = Seg::ds; break;
      case 0x64: out_.mem.seg = Seg::fs; break;
      case 0x65: out_.mem.seg = Seg::gs; break;
      default:
        if (mode_ == Mode::long64 && (b & 0xf0) == 0x40) {
          out_.rex = b;  // a later REX replaces an earlier one
          ++c_.pos;
          continue;
        }
        return true;
    }
    out_.rex = 0;  // a legacy prefix after REX: the REX is ignored
    ++c_.pos;
  }
}

// ModRM (+ SIB + displacement). reg_size sizes the register operands.
bool Decoder::modrm(unsigned reg_size) {
  const uint64_t m = c_.take(1);
  if (c_.status != Status::ok) return false;
  out_.has_modrm = true;
  out_.modrm = static_cast<uint8_t>(m);
  const unsigned mod = (m >> 6) & 3, reg = (m >> 3) & 7, rm = m & 7;
  out_.reg = make_reg(reg | (rex_r() ? 8 : 0), reg_size, rex_present());
  if (mod == 3) {
    out_.has_rm_reg = true;
    out_.rm_reg = make_reg(rm | (rex_b() ? 8 : 0), reg_size, rex_present());
    return true;
  }
  out_.has_mem = true;
  return asz_ == 2 ? modrm_16() : modrm_32_64();
}

bool Decoder::modrm_16() {
  // r/m: BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP (disp16 with mod 0), BX.
  static constexpr int8_t kBase[8] = {3, 3, 5, 5, 6, 7, 5, 3};
  static constexpr int8_t kIndex[8] = {6, 7, 6, 7, -1, -1, -1, -1};
  const unsigned mod = out_.modrm >> 6, rm = out_.modrm & 7;
  Memory& mem = out_.mem;
  if (mod == 0 && rm == 6) {
    mem.disp = static_cast<int64_t>(sign_extend(c_.take(2), 2));
    return c_.status == Status::ok;
  }
  mem.base = kBase[rm];
  mem.index = kIndex[rm];
  if (mod == 1) mem.disp = static_cast<int64_t>(sign_extend(c_.take(1), 1));
  if (mod == 2) mem.disp = static_cast<int64_t>(sign_extend(c_.take(2), 2));
  return c_.status == Status::ok;
}

bool Decoder::modrm_32_64() {
  const unsigned mod = out_.modrm >> 6, rm = out_.modrm & 7;
  Memory& mem = out_.mem;
  bool disp32 = mod == 2;
  if (rm == 4) {  // SIB follows (also with REX.B: r12 needs a SIB)
    const uint64_t sib = c_.take(1);
    if (c_.status != Status::ok) return false;
    const unsigned scale = (sib >> 6) & 3, index = ((sib >> 3) & 7) | (rex_x() ? 8 : 0), base = sib & 7;
    if (index != 4) {  // index 4 without REX.X: none (with REX.X it is r12)
      mem.index = static_cast<int8_t>(index);
      mem.scale = static_cast<uint8_t>(1u << scale);
    }
    if (base == 5 && mod == 0) {
      disp32 = true;  // no base (also with REX.B: r13 needs a displacement)
    } else {
      mem.base = static_cast<int8_t>(base | (rex_b() ? 8 : 0));
    }
  } else if (rm == 5 && mod == 0) {
    disp32 = true;
    mem.rip_relative = mode_ == Mode::long64;  // RIP (EIP with 67) relative; else absolute
  } else {
    mem.base = static_cast<int8_t>(rm | (rex_b() ? 8 : 0));
  }
  if (mod == 1) mem.disp = static_cast<int64_t>(sign_extend(c_.take(1), 1));
  if (disp32) mem.disp = static_cast<int64_t>(sign_extend(c_.take(4), 4));
  return c_.status == Status::ok;
}

// An immediate of `bytes` bytes, sign- or zero-extended and masked to op_size.
bool Decoder::immediate(unsigned bytes, bool sign, unsigned op_size) {
  uint64_t v = c_.take(bytes);
  if (c_.status != Status::ok) return false;
  if (sign) v = sign_extend(v, bytes);
  out_.has_imm = true;
  out_.imm = v & size_mask(op_size);
  out_.imm_size = static_cast<uint8_t>(bytes);
  return true;
}

// Common tail: sizes, memory access direction, LOCK validity.
Status Decoder::finish(Form form, unsigned size) {
  Instruction& i = out_;
  if (i.op_size == 0) i.op_size = static_cast<uint8_t>(size);
  if (i.has_mem && i.mem_size == 0) i.mem_size = i.op_size;
  if (!i.has_mem) i.mem_size = 0;
  if (form == Form::e_g || form == Form::e_imm) i.mem_is_dest = i.has_mem;
  if (i.has_mem) {
    switch (i.op) {
      case Op::mov:
        i.reads_mem = !i.mem_is_dest;
        i.writes_mem = i.mem_is_dest;
        break;
      case Op::add: case Op::or_: case Op::adc: case Op::sbb:
      case Op::and_: case Op::sub: case Op::xor_:
        i.reads_mem = true;
        i.writes_mem = i.mem_is_dest;
        break;
      case Op::xchg: case Op::bts: case Op::btr: case Op::btc:
      case Op::inc: case Op::dec: case Op::not_: case Op::neg:
      case Op::cmpxchg: case Op::xadd:
        i.reads_mem = i.writes_mem = true;
        break;
      default:  // movzx, movsx, movsxd, cmp, test, bt
        i.reads_mem = true;
        break;
    }
  }
  // LOCK is only defined on read-modify-write forms with a memory destination.
  if (i.lock && !(i.has_mem && i.writes_mem && i.reads_mem)) return fail(Status::invalid);
  i.length = static_cast<uint8_t>(c_.pos);
  return Status::ok;
}

Status Decoder::string_op(uint8_t b) {
  // A4/A5 MOVS, A6/A7 CMPS, (A8/A9 TEST), AA/AB STOS, AC/AD LODS, AE/AF SCAS.
  static constexpr Op kOps[6] = {Op::movs, Op::cmps, Op::none, Op::stos, Op::lods, Op::scas};
  Instruction& i = out_;
  i.op = kOps[(b - 0xa4) >> 1];
  const unsigned size = (b & 1) ? osz_ : 1;
  i.op_size = i.mem_size = static_cast<uint8_t>(size);
  i.has_mem = true;
  i.reads_mem = i.op != Op::stos;
  i.writes_mem = i.op == Op::stos || i.op == Op::movs;
  i.mem_is_dest = i.writes_mem;
  if (i.op == Op::stos || i.op == Op::lods || i.op == Op::scas) {
    i.has_reg = true;  // AL/AX/EAX/RAX
    i.reg = Reg{};
  }
  if (i.lock) return fail(Status::invalid);
  i.length = static_cast<uint8_t>(c_.pos);
  return Status::ok;
}

Status Decoder::port_string_op(uint8_t b) {
  // 6C INSB, 6D INSW/INSD, 6E OUTSB, 6F OUTSW/OUTSD: at most 32-bit elements
  // (REX.W does not make them 64-bit; SDM Vol. 2B INS/OUTS).
  Instruction& i = out_;
  i.op = b < 0x6e ? Op::ins : Op::outs;
  const unsigned size = (b & 1) ? (osz_ == 2 ? 2 : 4) : 1;
  i.op_size = i.mem_size = static_cast<uint8_t>(size);
  i.has_mem = true;
  i.reads_mem = i.op == Op::outs;
  i.writes_mem = i.op == Op::ins;
  i.mem_is_dest = i.writes_mem;
  if (i.lock) return fail(Status::invalid);
  i.length = static_cast<uint8_t>(c_.pos);
  return Status::ok;
}

Status Decoder::one_byte(uint8_t b) {
  Instruction& i = out_;
  // ALU rows 00-3F, columns 0-5: Eb,Gb  Ev,Gv  Gb,Eb  Gv,Ev  AL,Ib  rAX,Iz.
  if (b < 0x40 && (b & 7) < 6) {
    i.op = kAluOps[b >> 3];
    const unsigned size = (b & 1) ? osz_ : 1;
    switch (b & 7) {
      case 0: case 1:
        if (!modrm(size)) return cursor_fail();
        i.has_reg = true;
        return finish(Form::e_g, size);
      case 2: case 3:
        if (!modrm(size)) return cursor_fail();
        i.has_reg = true;
        return finish(Form::g_e, size);
      default:
        i.has_reg = true;
        i.reg = Reg{};
        if (!immediate(size == 8 ? 4 : size, true, size)) return cursor_fail();
        return finish(Form::none, size);
    }
  }
  switch (b) {
    case 0x63: {  // MOVSXD Gv, Ed (64-bit mode); ARPL elsewhere
      if (mode_ != Mode::long64) return fail(Status::unsupported);
      i.op = Op::movsxd;
      if (!modrm(osz_)) return cursor_fail();
      i.has_reg = true;
      i.op_size = static_cast<uint8_t>(osz_);
      if (i.has_mem) i.mem_size = static_cast<uint8_t>(osz_ < 4 ? osz_ : 4);
      return finish(Form::g_e, osz_);
    }
    case 0x82:
      if (mode_ == Mode::long64) return fail(Status::invalid);
      [[fallthrough]];
    case 0x80: case 0x81: case 0x83: {  // group 1: Eb,Ib  Ev,Iz  Eb,Ib  Ev,Ib
      const unsigned size = (b & 1) ? osz_ : 1;
      if (!modrm(size)) return cursor_fail();
      i.op = kAluOps[(i.modrm >> 3) & 7];
      i.reg = Reg{};  // the reg field is the /digit
      const unsigned bytes = b == 0x81 ? (size == 8 ? 4 : size) : 1;
      if (!immediate(bytes, true, size)) return cursor_fail();
      return finish(Form::e_imm, size);
    }
    case 0x84: case 0x85:  // TEST Eb,Gb / Ev,Gv
    case 0x86: case 0x87:  // XCHG Eb,Gb / Ev,Gv
    case 0x88: case 0x89: case 0x8a: case 0x8b: {  // MOV Eb,Gb Ev,Gv Gb,Eb Gv,Ev
      const unsigned size = (b & 1) ? osz_ : 1;
      i.op = b < 0x86 ? Op::test : b < 0x88 ? Op::xchg : Op::mov;
      if (!modrm(size)) return cursor_fail();
      i.has_reg = true;
      return finish(b >= 0x8a ? Form::g_e : Form::e_g, size);
    }
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: {  // MOV AL/rAX <-> moffs
      const unsigned size = (b & 1) ? osz_ : 1;
      i.op = Op::mov;
      i.has_reg = true;
      i.reg = Reg{};
      const uint64_t addr = c_.take(asz_);
      if (c_.status != Status::ok) return cursor_fail();
      i.has_mem = true;
      i.mem.disp = static_cast<int64_t>(addr);
      return finish(b >= 0xa2 ? Form::e_g : Form::g_e, size);
    }
    case 0x6c: case 0x6d: case 0x6e: case 0x6f:
      return port_string_op(b);
    case 0xa4: case 0xa5: case 0xa6: case 0xa7:
    case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf:
      return string_op(b);
    case 0xa8: case 0xa9: {  // TEST AL,Ib / rAX,Iz
      const unsigned size = (b & 1) ? osz_ : 1;
      i.op = Op::test;
      i.has_reg = true;
      i.reg = Reg{};
      if (!immediate(size == 8 ? 4 : size, true, size)) return cursor_fail();
      return finish(Form::none, size);
    }
    case 0xc6: case 0xc7:  // MOV Eb,Ib / Ev,Iz (/0 only)
    case 0xf6: case 0xf7: {  // group 3: TEST Eb,Ib / Ev,Iz (/0), NOT (/2), NEG (/3)
      const unsigned size = (b & 1) ? osz_ : 1;
      if (!modrm(size)) return cursor_fail();
      const unsigned digit = (i.modrm >> 3) & 7;
      i.reg = Reg{};
      if (b >= 0xf6 && (digit == 2 || digit == 3)) {
        i.op = digit == 2 ? Op::not_ : Op::neg;
        return finish(Form::e_g, size);
      }
      if (digit != 0) return fail(Status::unsupported);
      i.op = b <= 0xc7 ? Op::mov : Op::test;
      if (!immediate(size == 8 ? 4 : size, true, size)) return cursor_fail();
      return finish(Form::e_imm, size);
    }
    case 0xfe: case 0xff: {  // group 4/5: INC, DEC (/0, /1); FF /2-/6 branches and PUSH
      const unsigned size = (b & 1) ? osz_ : 1;
      if (!modrm(size)) return cursor_fail();
      const unsigned digit = (i.modrm >> 3) & 7;
      i.reg = Reg{};
      if (digit <= 1) {
        i.op = digit == 0 ? Op::inc : Op::dec;
        return finish(Form::e_g, size);
      }
      // FE /2-/7 and FF /7 are undefined (SDM Vol. 2 table A-6).
      return fail(b == 0xfe || digit == 7 ? Status::invalid : Status::unsupported);
    }
    default:
      return fail(Status::unsupported);
  }
}

Status Decoder::two_byte(uint8_t b) {
  Instruction& i = out_;
  switch (b) {
    case 0xb6: case 0xb7: case 0xbe: case 0xbf: {  // MOVZX / MOVSX Gv, Eb/Ew
      i.op = b < 0xb8 ? Op::movzx : Op::movsx;
      const unsigned src = (b & 1) ? 2 : 1;
      // The r/m operand is byte-sized for Eb, so a mod 3 r/m register 4-7 is AH..BH.
      if (!modrm(src)) return cursor_fail();
      i.reg = make_reg(((i.modrm >> 3) & 7) | (rex_r() ? 8 : 0), osz_, rex_present());
      i.has_reg = true;
      i.op_size = static_cast<uint8_t>(osz_);
      if (i.has_mem) i.mem_size = static_cast<uint8_t>(src);
      return finish(Form::g_e, osz_);
    }
    case 0xb0: case 0xb1:    // CMPXCHG Eb,Gb / Ev,Gv
    case 0xc0: case 0xc1: {  // XADD Eb,Gb / Ev,Gv
      const unsigned size = (b & 1) ? osz_ : 1;
      i.op = b <= 0xb1 ? Op::cmpxchg : Op::xadd;
      if (!modrm(size)) return cursor_fail();
      i.has_reg = true;
      return finish(Form::e_g, size);
    }
    case 0xa3: case 0xab: case 0xb3: case 0xbb: {  // BT/BTS/BTR/BTC Ev,Gv
      static constexpr Op kOps[4] = {Op::bt, Op::bts, Op::btr, Op::btc};
      i.op = kOps[(b >> 3) & 3];
      if (!modrm(osz_)) return cursor_fail();
      i.has_reg = true;
      return finish(Form::e_g, osz_);
    }
    case 0xba: {  // group 8: BT/BTS/BTR/BTC Ev,Ib (/4-/7)
      static constexpr Op kOps[4] = {Op::bt, Op::bts, Op::btr, Op::btc};
      if (!modrm(osz_)) return cursor_fail();
      const unsigned digit = (i.modrm >> 3) & 7;
      if (digit < 4) return fail(Status::invalid);
      i.op = kOps[digit - 4];
      i.reg = Reg{};
      if (!immediate(1, false, osz_)) return cursor_fail();
      return finish(Form::e_imm, osz_);
    }
    default:
      return fail(Status::unsupported);
  }
}

Status Decoder::run() {
  if (!prefixes()) return cursor_fail();
  switch (mode_) {
    case Mode::long64:
      osz_ = rex_w() ? 8 : out_.opsize_prefix ? 2 : 4;
      asz_ = out_.addrsize_prefix ? 4 : 8;
      break;
    case Mode::prot32:
      osz_ = out_.opsize_prefix ? 2 : 4;
      asz_ = out_.addrsize_prefix ? 2 : 4;
      break;
    case Mode::real16:
      osz_ = out_.opsize_prefix ? 4 : 2;
      asz_ = out_.addrsize_prefix ? 4 : 2;
      break;
  }
  out_.addr_size = static_cast<uint8_t>(asz_);
  uint8_t b = static_cast<uint8_t>(c_.take(1));
  if (c_.status != Status::ok) return cursor_fail();
  if (b == 0x0f) {
    out_.two_byte = true;
    b = static_cast<uint8_t>(c_.take(1));
    if (c_.status != Status::ok) return cursor_fail();
    out_.opcode = b;
    return two_byte(b);
  }
  out_.opcode = b;
  return one_byte(b);
}

}  // namespace

Status decode(const uint8_t* bytes, size_t n, Mode mode, Instruction& out) {
  out = Instruction{};
  if (bytes == nullptr) n = 0;
  if (mode != Mode::real16 && mode != Mode::prot32 && mode != Mode::long64) return Status::bad_argument;
  Decoder d(bytes, n, mode, out);
  const Status s = d.run();
  if (s != Status::ok && s != Status::truncated) {
    // Keep what was decoded for diagnostics, but never a half-valid "ok" shape.
    out.reads_mem = out.writes_mem = false;
  }
  return s;
}

}  // namespace cos::x86dec
