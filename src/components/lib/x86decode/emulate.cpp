// x86decode: emulation of decoded instructions on an MMIO location, the ALU
// flag rules (Intel SDM Vol. 1 3.4.3.1 and appendix A; Vol. 2 per
// instruction), effective addresses and names.
#include "x86decode/x86decode.hpp"

namespace cos::x86dec {
namespace {

constexpr uint64_t size_mask(unsigned size) { return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (size * 8)) - 1; }

constexpr uint64_t sign_extend(uint64_t v, unsigned size) {
  if (size >= 8) return v;
  const unsigned shift = 64 - size * 8;
  return static_cast<uint64_t>(static_cast<int64_t>(v << shift) >> shift);
}

bool valid_size(unsigned size) { return size == 1 || size == 2 || size == 4 || size == 8; }

uint64_t get_reg(const uint64_t* regs, Reg r, unsigned size) {
  if (r.high8) return (regs[r.index & 3] >> 8) & 0xff;
  return regs[r.index & 15] & size_mask(size);
}

// x86 register write rules: 64-bit replaces, 32-bit zero-extends, 16- and
// 8-bit merge into the old value (AH..BH: bits 8-15).
void set_reg(uint64_t* regs, Reg r, unsigned size, uint64_t v) {
  if (r.high8) {
    uint64_t& dst = regs[r.index & 3];
    dst = (dst & ~uint64_t{0xff00}) | ((v & 0xff) << 8);
    return;
  }
  uint64_t& dst = regs[r.index & 15];
  switch (size) {
    case 8: dst = v; break;
    case 4: dst = v & 0xffffffffu; break;
    default: dst = (dst & ~size_mask(size)) | (v & size_mask(size)); break;
  }
}

// PF: set when the low byte of the result has an even number of 1 bits.
bool parity_even(uint64_t v) {
  uint8_t b = static_cast<uint8_t>(v);
  b ^= b >> 4;
  b ^= b >> 2;
  b ^= b >> 1;
  return (b & 1) == 0;
}

// ZF, SF, PF from the result; CF, OF, AF as given.
uint64_t result_flags(uint64_t r, unsigned size, bool cf, bool of, bool af) {
  const uint64_t sign = uint64_t{1} << (size * 8 - 1);
  uint64_t f = 0;
  if (cf) f |= flag::CF;
  if (parity_even(r)) f |= flag::PF;
  if (af) f |= flag::AF;
  if (r == 0) f |= flag::ZF;
  if (r & sign) f |= flag::SF;
  if (of) f |= flag::OF;
  return f;
}

bool is_alu(Op op) { return op >= Op::add && op <= Op::cmp; }

}  // namespace

uint64_t alu(Op op, unsigned size, uint64_t a, uint64_t b, uint64_t& rflags) {
  if (!valid_size(size) || !(is_alu(op) || op == Op::test)) return a;
  const uint64_t m = size_mask(size);
  const unsigned msb = size * 8 - 1;
  a &= m;
  b &= m;
  const uint64_t carry_in = (op == Op::adc || op == Op::sbb) && (rflags & flag::CF) ? 1 : 0;
  uint64_t r = 0;
  bool cf = false, of = false, af = false;
  switch (op) {
    case Op::add:
    case Op::adc:
      r = (a + b + carry_in) & m;
      // Carry out of the top bit: both set, or either set and the sum's bit clear.
      cf = (((a & b) | ((a | b) & ~r)) >> msb) & 1;
      of = (((a ^ r) & (b ^ r)) >> msb) & 1;
      af = ((a ^ b ^ r) & 0x10) != 0;
      break;
    case Op::sub:
    case Op::sbb:
    case Op::cmp:
      r = (a - b - carry_in) & m;
      // Borrow out of the top bit.
      cf = (((~a & b) | (~(a ^ b) & r)) >> msb) & 1;
      of = (((a ^ b) & (a ^ r)) >> msb) & 1;
      af = ((a ^ b ^ r) & 0x10) != 0;
      break;
    case Op::or_: r = a | b; break;
    case Op::and_:
    case Op::test: r = a & b; break;
    case Op::xor_: r = a ^ b; break;
    default: break;
  }
  rflags = (rflags & ~flag::kArith) | result_flags(r, size, cf, of, af);
  return r;
}

EmulateResult emulate(const Instruction& insn, uint64_t* regs, uint64_t& rflags, const MmioOps& mmio) {
  EmulateResult fail;
  fail.rip_delta = 0;
  if (insn.is_string() || insn.is_port_string()) {
    fail.status = Status::string_op;
    return fail;
  }
  if (!insn.has_mem) {
    fail.status = insn.op == Op::none ? Status::bad_argument : Status::no_memory_operand;
    return fail;
  }
  fail.status = Status::bad_argument;
  const unsigned size = insn.op_size, msize = insn.mem_size;
  if (regs == nullptr || insn.length == 0 || insn.length > 15 || !valid_size(size) || !valid_size(msize)) return fail;
  if ((insn.reads_mem && mmio.read == nullptr) || (insn.writes_mem && mmio.write == nullptr)) return fail;
  if (insn.reg.index > 15 || (insn.reg.high8 && insn.reg.index > 3)) return fail;
  // The operand that is not memory: none for the unary operations; the
  // destination register for loads and extensions; else a source.
  const bool unary = insn.op == Op::inc || insn.op == Op::dec || insn.op == Op::not_ || insn.op == Op::neg;
  const bool loads = insn.op == Op::movzx || insn.op == Op::movsx || insn.op == Op::movsxd ||
                     (insn.op == Op::mov && !insn.mem_is_dest);
  const bool uses_other = !unary && !loads;
  if (uses_other && !insn.has_imm && !insn.has_reg) return fail;
  if (loads && !insn.has_reg) return fail;
  if (unary && (insn.has_reg || insn.has_imm)) return fail;

  auto read = [&](unsigned n) { return mmio.read(mmio.ctx, n) & size_mask(n); };
  auto write = [&](unsigned n, uint64_t v) { mmio.write(mmio.ctx, n, v & size_mask(n)); };
  const uint64_t other = !uses_other ? 0 : insn.has_imm ? insn.imm & size_mask(size) : get_reg(regs, insn.reg, size);

  switch (insn.op) {
    case Op::mov:
      if (msize != size) return fail;
      if (insn.mem_is_dest) {
        if (!insn.writes_mem) return fail;
        write(size, other);
      } else {
        if (!insn.reads_mem) return fail;
        set_reg(regs, insn.reg, size, read(size));
      }
      break;
    case Op::movzx:
      set_reg(regs, insn.reg, size, read(msize));
      break;
    case Op::movsx:
    case Op::movsxd:
      set_reg(regs, insn.reg, size, sign_extend(read(msize), msize) & size_mask(size));
      break;
    case Op::add: case Op::or_: case Op::adc: case Op::sbb:
    case Op::and_: case Op::sub: case Op::xor_: case Op::cmp:
      if (msize != size) return fail;
      if (insn.mem_is_dest) {
        const uint64_t r = alu(insn.op, size, read(size), other, rflags);
        if (insn.op != Op::cmp) write(size, r);
      } else {
        if (insn.has_imm) return fail;
        const uint64_t r = alu(insn.op, size, other, read(size), rflags);
        if (insn.op != Op::cmp) set_reg(regs, insn.reg, size, r);
      }
      break;
    case Op::test:
      if (msize != size) return fail;
      alu(Op::test, size, read(size), other, rflags);
      break;
    case Op::xchg: {
      if (msize != size || insn.has_imm) return fail;
      const uint64_t v = read(size);
      write(size, other);
      set_reg(regs, insn.reg, size, v);
      break;
    }
    case Op::inc:
    case Op::dec: {
      // As ADD/SUB 1, but CF keeps its value (SDM Vol. 2A INC/DEC).
      if (msize != size || !insn.mem_is_dest) return fail;
      const uint64_t cf = rflags & flag::CF;
      const uint64_t r = alu(insn.op == Op::inc ? Op::add : Op::sub, size, read(size), 1, rflags);
      rflags = (rflags & ~flag::CF) | cf;
      write(size, r);
      break;
    }
    case Op::not_:
      if (msize != size || !insn.mem_is_dest) return fail;
      write(size, ~read(size));  // no flags
      break;
    case Op::neg: {
      // 0 - operand: CF set unless the operand is 0 (SDM Vol. 2B NEG).
      if (msize != size || !insn.mem_is_dest) return fail;
      write(size, alu(Op::sub, size, 0, read(size), rflags));
      break;
    }
    case Op::cmpxchg: {
      // Compare the accumulator with the operand: equal -> store the source,
      // else load the operand into the accumulator. The operand is written
      // either way (with its own value on a mismatch, SDM Vol. 2A CMPXCHG).
      if (msize != size || insn.has_imm || !insn.has_reg) return fail;
      const uint64_t v = read(size);
      alu(Op::cmp, size, get_reg(regs, Reg{}, size), v, rflags);
      if (rflags & flag::ZF) {
        write(size, other);
      } else {
        write(size, v);
        set_reg(regs, Reg{}, size, v);
      }
      break;
    }
    case Op::xadd: {
      if (msize != size || insn.has_imm || !insn.has_reg) return fail;
      const uint64_t v = read(size);
      write(size, alu(Op::add, size, v, other, rflags));
      set_reg(regs, insn.reg, size, v);
      break;
    }
    case Op::bt: case Op::bts: case Op::btr: case Op::btc: {
      if (msize != size || size == 1) return fail;
      const unsigned bit = static_cast<unsigned>(other & (size * 8 - 1));
      const uint64_t v = read(size);
      const uint64_t mask = uint64_t{1} << bit;
      rflags = (v & mask) ? (rflags | flag::CF) : (rflags & ~flag::CF);
      if (insn.op == Op::bts) write(size, v | mask);
      if (insn.op == Op::btr) write(size, v & ~mask);
      if (insn.op == Op::btc) write(size, v ^ mask);
      break;
    }
    default:
      return fail;
  }
  EmulateResult ok;
  ok.status = Status::ok;
  ok.rip_delta = insn.length;
  return ok;
}

uint64_t effective_address(const Instruction& insn, const uint64_t* regs, uint64_t rip) {
  if (!insn.has_mem || regs == nullptr) return 0;
  const uint64_t amask = size_mask(insn.addr_size);
  if (insn.is_string() || insn.is_port_string()) {
    const bool di = insn.op == Op::stos || insn.op == Op::scas || insn.op == Op::ins;
    return regs[di ? 7 : 6] & amask;
  }
  const Memory& m = insn.mem;
  uint64_t ea = static_cast<uint64_t>(m.disp);
  if (m.rip_relative) ea += rip + insn.length;
  if (m.base >= 0) ea += regs[m.base & 15];
  if (m.index >= 0) ea += regs[m.index & 15] * m.scale;
  return ea & amask;
}

const char* op_name(Op op) {
  switch (op) {
    case Op::none: return "none";
    case Op::mov: return "mov";
    case Op::movzx: return "movzx";
    case Op::movsx: return "movsx";
    case Op::movsxd: return "movsxd";
    case Op::add: return "add";
    case Op::or_: return "or";
    case Op::adc: return "adc";
    case Op::sbb: return "sbb";
    case Op::and_: return "and";
    case Op::sub: return "sub";
    case Op::xor_: return "xor";
    case Op::cmp: return "cmp";
    case Op::test: return "test";
    case Op::xchg: return "xchg";
    case Op::bt: return "bt";
    case Op::bts: return "bts";
    case Op::btr: return "btr";
    case Op::btc: return "btc";
    case Op::inc: return "inc";
    case Op::dec: return "dec";
    case Op::not_: return "not";
    case Op::neg: return "neg";
    case Op::cmpxchg: return "cmpxchg";
    case Op::xadd: return "xadd";
    case Op::movs: return "movs";
    case Op::cmps: return "cmps";
    case Op::stos: return "stos";
    case Op::lods: return "lods";
    case Op::scas: return "scas";
    case Op::ins: return "ins";
    case Op::outs: return "outs";
  }
  return "?";
}

const char* status_name(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::truncated: return "truncated";
    case Status::too_long: return "too long";
    case Status::unsupported: return "unsupported instruction";
    case Status::invalid: return "invalid instruction (#UD)";
    case Status::string_op: return "string instruction";
    case Status::no_memory_operand: return "no memory operand";
    case Status::bad_argument: return "bad argument";
  }
  return "?";
}

}  // namespace cos::x86dec
