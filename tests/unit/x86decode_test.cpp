// x86decode: the decoder (src/components/lib/x86decode/decode.cpp).
// Byte sequences were produced with GNU as and checked with objdump.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "x86decode/x86decode.hpp"

namespace {

using cos::x86dec::decode;
using cos::x86dec::Instruction;
using cos::x86dec::Mode;
using cos::x86dec::Op;
using cos::x86dec::Seg;
using cos::x86dec::Status;

std::vector<uint8_t> hex(const char* s) {
  std::vector<uint8_t> out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (; *s;) {
    if (*s == ' ') {
      ++s;
      continue;
    }
    out.push_back(static_cast<uint8_t>(nib(s[0]) << 4 | nib(s[1])));
    s += 2;
  }
  return out;
}

const char* mode_name(Mode m) { return m == Mode::real16 ? "real16" : m == Mode::prot32 ? "prot32" : "long64"; }

enum Access : uint8_t { kNoMem, kR, kW, kRW };
constexpr int kNone = -1;
// Register indexes.
constexpr int rax = 0, rcx = 1, rdx = 2, rbx = 3, rsp = 4, rbp = 5, rsi = 6, rdi = 7, r8 = 8, r9 = 9, r10 = 10,
              r12 = 12, r13 = 13, r15 = 15;

struct Case {
  const char* name;
  Mode mode;
  const char* bytes;
  Op op;
  int op_size;
  int mem_size;
  Access access;
  bool mem_is_dest;
  int reg = kNone;  // register operand index, kNone if none
  bool high8 = false;
  bool has_imm = false;
  uint64_t imm = 0;
  int base = kNone, index = kNone, scale = 1;
  int64_t disp = 0;
  bool rip = false;
  Seg seg = Seg::none;
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name << " [" << c.bytes << "]"; }

constexpr Mode L = Mode::long64, P = Mode::prot32, R = Mode::real16;

// clang-format off
const Case kCases[] = {
  // ---- Linux readl/writel/readb/writeb/readw/writew/readq/writeq (64-bit).
  {"readl_disp32", L, "8b 87 00 03 00 00", Op::mov, 4, 4, kR, false, rax, false, false, 0, rdi, kNone, 1, 0x300},
  {"writel_disp32", L, "89 b7 b0 00 00 00", Op::mov, 4, 4, kW, true, rsi, false, false, 0, rdi, kNone, 1, 0xb0},
  {"readb", L, "8a 07", Op::mov, 1, 1, kR, false, rax, false, false, 0, rdi},
  {"writeb_sil", L, "40 88 37", Op::mov, 1, 1, kW, true, rsi, false, false, 0, rdi},
  {"writeb_al", L, "88 07", Op::mov, 1, 1, kW, true, rax, false, false, 0, rdi},
  {"readw", L, "66 8b 07", Op::mov, 2, 2, kR, false, rax, false, false, 0, rdi},
  {"writew", L, "66 89 37", Op::mov, 2, 2, kW, true, rsi, false, false, 0, rdi},
  {"readq", L, "48 8b 07", Op::mov, 8, 8, kR, false, rax, false, false, 0, rdi},
  {"writeq", L, "48 89 37", Op::mov, 8, 8, kW, true, rsi, false, false, 0, rdi},
  // native_apic_mem_read/write on the fixmap address, the 11AP xchg variant, constant stores.
  {"apic_read_abs", L, "8b 04 25 30 c0 5f ff", Op::mov, 4, 4, kR, false, rax, false, false, 0, kNone, kNone, 1, -0xa03fd0},
  {"apic_write_abs", L, "89 04 25 b0 c0 5f ff", Op::mov, 4, 4, kW, true, rax, false, false, 0, kNone, kNone, 1, -0xa03f50},
  {"apic_xchg_abs", L, "87 04 25 b0 c0 5f ff", Op::xchg, 4, 4, kRW, true, rax, false, false, 0, kNone, kNone, 1, -0xa03f50},
  {"movl_imm_abs", L, "c7 04 25 b0 00 e0 fe 00 00 00 00", Op::mov, 4, 4, kW, true, kNone, false, true, 0, kNone, kNone, 1, -0x11fff50},
  // moffs (A0-A3) with 64-bit addresses.
  {"movabs_load_eax", L, "a1 30 00 e0 fe 00 00 00 00", Op::mov, 4, 4, kR, false, rax, false, false, 0, kNone, kNone, 1, 0xfee00030},
  {"movabs_store_eax", L, "a3 b0 00 e0 fe 00 00 00 00", Op::mov, 4, 4, kW, true, rax, false, false, 0, kNone, kNone, 1, 0xfee000b0},
  {"movabs_load_rax", L, "48 a1 30 00 e0 fe 00 00 00 00", Op::mov, 8, 8, kR, false, rax, false, false, 0, kNone, kNone, 1, 0xfee00030},
  {"movabs_load_al", L, "a0 30 00 e0 fe 00 00 00 00", Op::mov, 1, 1, kR, false, rax, false, false, 0, kNone, kNone, 1, 0xfee00030},
  {"movabs_store_al", L, "a2 30 00 e0 fe 00 00 00 00", Op::mov, 1, 1, kW, true, rax, false, false, 0, kNone, kNone, 1, 0xfee00030},
  {"moffs_addr32", L, "67 a1 30 00 e0 fe", Op::mov, 4, 4, kR, false, rax, false, false, 0, kNone, kNone, 1, 0xfee00030},
  // RIP-relative (the displacement counts from the end, after the immediate).
  {"rip_load", L, "8b 05 10 00 00 00", Op::mov, 4, 4, kR, false, rax, false, false, 0, kNone, kNone, 1, 0x10, true},
  {"rip_store_imm", L, "c7 05 10 00 00 00 78 56 34 12", Op::mov, 4, 4, kW, true, kNone, false, true, 0x12345678, kNone, kNone, 1, 0x10, true},
  {"rip_rex_b", L, "41 8b 05 f0 ff ff ff", Op::mov, 4, 4, kR, false, rax, false, false, 0, kNone, kNone, 1, -16, true},
  // REX.R / REX.X / REX.B and the SIB/disp special cases.
  {"rex_r", L, "44 8b 07", Op::mov, 4, 4, kR, false, r8, false, false, 0, rdi},
  {"rex_rb_r12_sib", L, "45 89 3c 24", Op::mov, 4, 4, kW, true, r15, false, false, 0, r12},
  {"rex_b_r13_disp8", L, "41 8b 45 00", Op::mov, 4, 4, kR, false, rax, false, false, 0, r13},
  {"rex_wrx_no_base", L, "4e 8b 04 e5 00 00 00 00", Op::mov, 8, 8, kR, false, r8, false, false, 0, kNone, r12, 8, 0},
  {"rex_x_index", L, "42 8b 04 27", Op::mov, 4, 4, kR, false, rax, false, false, 0, rdi, r12, 1},
  {"rex_b_byte_r9b", L, "45 8a 0c 24", Op::mov, 1, 1, kR, false, r9, false, false, 0, r12},
  {"rex_word_r10w", L, "66 45 89 55 00", Op::mov, 2, 2, kW, true, r10, false, false, 0, r13},
  {"rsp_base_sib", L, "8b 04 24", Op::mov, 4, 4, kR, false, rax, false, false, 0, rsp},
  {"rbp_disp8_neg", L, "8b 4d f8", Op::mov, 4, 4, kR, false, rcx, false, false, 0, rbp, kNone, 1, -8},
  {"sib_scale4_disp32", L, "8b 94 88 78 56 34 12", Op::mov, 4, 4, kR, false, rdx, false, false, 0, rax, rcx, 4, 0x12345678},
  // 8-bit high registers without REX; SPL with REX.
  {"load_ah", L, "8a 27", Op::mov, 1, 1, kR, false, rax, true, false, 0, rdi},
  {"store_bh", L, "88 3e", Op::mov, 1, 1, kW, true, rbx, true, false, 0, rsi},
  {"load_spl", L, "40 8a 27", Op::mov, 1, 1, kR, false, rsp, false, false, 0, rdi},
  // MOV r/m, imm.
  {"movb_imm", L, "c6 07 5a", Op::mov, 1, 1, kW, true, kNone, false, true, 0x5a, rdi},
  {"movw_imm", L, "66 c7 07 34 12", Op::mov, 2, 2, kW, true, kNone, false, true, 0x1234, rdi},
  {"movq_imm_sx", L, "48 c7 07 ff ff ff ff", Op::mov, 8, 8, kW, true, kNone, false, true, ~0ull, rdi},
  {"movq_imm_pos", L, "48 c7 07 ff ff ff 7f", Op::mov, 8, 8, kW, true, kNone, false, true, 0x7fffffff, rdi},
  {"movl_imm_neg", L, "c7 07 00 00 00 80", Op::mov, 4, 4, kW, true, kNone, false, true, 0x80000000, rdi},
  // MOVZX / MOVSX / MOVSXD.
  {"movzbl", L, "0f b6 07", Op::movzx, 4, 1, kR, false, rax, false, false, 0, rdi},
  {"movzwl", L, "0f b7 07", Op::movzx, 4, 2, kR, false, rax, false, false, 0, rdi},
  {"movzbq", L, "48 0f b6 07", Op::movzx, 8, 1, kR, false, rax, false, false, 0, rdi},
  {"movzbw", L, "66 0f b6 07", Op::movzx, 2, 1, kR, false, rax, false, false, 0, rdi},
  {"movsbl", L, "0f be 07", Op::movsx, 4, 1, kR, false, rax, false, false, 0, rdi},
  {"movswl", L, "0f bf 07", Op::movsx, 4, 2, kR, false, rax, false, false, 0, rdi},
  {"movswq", L, "48 0f bf 07", Op::movsx, 8, 2, kR, false, rax, false, false, 0, rdi},
  {"movzwl_r8d", L, "44 0f b7 07", Op::movzx, 4, 2, kR, false, r8, false, false, 0, rdi},
  {"movslq", L, "48 63 07", Op::movsxd, 8, 4, kR, false, rax, false, false, 0, rdi},
  {"movsxd_32", L, "63 07", Op::movsxd, 4, 4, kR, false, rax, false, false, 0, rdi},
  {"movsxd_16", L, "66 63 07", Op::movsxd, 2, 2, kR, false, rax, false, false, 0, rdi},
  // ALU r/m,r and r,r/m.
  {"add_m_r", L, "01 07", Op::add, 4, 4, kRW, true, rax, false, false, 0, rdi},
  {"add_r_m", L, "03 07", Op::add, 4, 4, kR, false, rax, false, false, 0, rdi},
  {"add_m_r8", L, "00 07", Op::add, 1, 1, kRW, true, rax, false, false, 0, rdi},
  {"add_r8_m", L, "02 07", Op::add, 1, 1, kR, false, rax, false, false, 0, rdi},
  {"or_m_r_disp32", L, "09 87 00 03 00 00", Op::or_, 4, 4, kRW, true, rax, false, false, 0, rdi, kNone, 1, 0x300},
  {"or_r_m", L, "0b 07", Op::or_, 4, 4, kR, false, rax, false, false, 0, rdi},
  {"adc_m_r", L, "11 07", Op::adc, 4, 4, kRW, true, rax, false, false, 0, rdi},
  {"adc_r_m", L, "13 07", Op::adc, 4, 4, kR, false, rax, false, false, 0, rdi},
  {"sbb_m_r", L, "19 07", Op::sbb, 4, 4, kRW, true, rax, false, false, 0, rdi},
  {"sbb_r_m", L, "1b 07", Op::sbb, 4, 4, kR, false, rax, false, false, 0, rdi},
  {"and_m_r", L, "21 07", Op::and_, 4, 4, kRW, true, rax, false, false, 0, rdi},
  {"and_r_m", L, "23 07", Op::and_, 4, 4, kR, false, rax, false, false, 0, rdi},
  {"sub_m_r", L, "29 07", Op::sub, 4, 4, kRW, true, rax, false, false, 0, rdi},
  {"sub_r_m", L, "2b 07", Op::sub, 4, 4, kR, false, rax, false, false, 0, rdi},
  {"xor_m_r", L, "31 07", Op::xor_, 4, 4, kRW, true, rax, false, false, 0, rdi},
  {"xor_r_m", L, "33 07", Op::xor_, 4, 4, kR, false, rax, false, false, 0, rdi},
  {"cmp_m_r", L, "39 07", Op::cmp, 4, 4, kR, true, rax, false, false, 0, rdi},
  {"cmp_r_m", L, "3b 07", Op::cmp, 4, 4, kR, false, rax, false, false, 0, rdi},
  {"cmp_r8_m", L, "3a 07", Op::cmp, 1, 1, kR, false, rax, false, false, 0, rdi},
  {"xor_q_m_r", L, "48 31 07", Op::xor_, 8, 8, kRW, true, rax, false, false, 0, rdi},
  // ALU r/m,imm (80, 81, 83).
  {"orb_imm8", L, "80 0f 01", Op::or_, 1, 1, kRW, true, kNone, false, true, 1, rdi},
  {"andl_imm32", L, "81 27 ff fe ff ff", Op::and_, 4, 4, kRW, true, kNone, false, true, 0xfffffeff, rdi},
  {"orl_imm8", L, "83 0f 10", Op::or_, 4, 4, kRW, true, kNone, false, true, 0x10, rdi},
  {"andl_imm8_sx", L, "83 27 f0", Op::and_, 4, 4, kRW, true, kNone, false, true, 0xfffffff0, rdi},
  {"andq_imm8_sx", L, "48 83 27 f0", Op::and_, 8, 8, kRW, true, kNone, false, true, 0xfffffffffffffff0, rdi},
  {"orq_imm32_sx", L, "48 81 0f 00 00 00 80", Op::or_, 8, 8, kRW, true, kNone, false, true, 0xffffffff80000000, rdi},
  {"cmpb_imm", L, "80 3f 00", Op::cmp, 1, 1, kR, true, kNone, false, true, 0, rdi},
  {"cmpl_imm8", L, "83 3f 00", Op::cmp, 4, 4, kR, true, kNone, false, true, 0, rdi},
  {"cmpl_imm32", L, "81 3f 00 10 00 00", Op::cmp, 4, 4, kR, true, kNone, false, true, 0x1000, rdi},
  {"addw_imm16", L, "66 81 07 34 12", Op::add, 2, 2, kRW, true, kNone, false, true, 0x1234, rdi},
  {"subw_imm8_sx", L, "66 83 2f fe", Op::sub, 2, 2, kRW, true, kNone, false, true, 0xfffe, rdi},
  {"adc_imm8", L, "83 17 01", Op::adc, 4, 4, kRW, true, kNone, false, true, 1, rdi},
  {"sbb_imm8", L, "83 1f 01", Op::sbb, 4, 4, kRW, true, kNone, false, true, 1, rdi},
  {"xorl_imm32", L, "81 37 55 aa 55 aa", Op::xor_, 4, 4, kRW, true, kNone, false, true, 0xaa55aa55, rdi},
  {"subl_imm32", L, "81 2f 01 00 00 00", Op::sub, 4, 4, kRW, true, kNone, false, true, 1, rdi},
  // TEST.
  {"test_m_r", L, "85 07", Op::test, 4, 4, kR, true, rax, false, false, 0, rdi},
  {"test_m_r8", L, "84 07", Op::test, 1, 1, kR, true, rax, false, false, 0, rdi},
  {"testb_imm", L, "f6 07 01", Op::test, 1, 1, kR, true, kNone, false, true, 1, rdi},
  {"testl_imm", L, "f7 07 00 10 00 00", Op::test, 4, 4, kR, true, kNone, false, true, 0x1000, rdi},
  {"testw_imm", L, "66 f7 07 34 12", Op::test, 2, 2, kR, true, kNone, false, true, 0x1234, rdi},
  {"testq_imm_sx", L, "48 f7 07 ff ff ff ff", Op::test, 8, 8, kR, true, kNone, false, true, ~0ull, rdi},
  // XCHG.
  {"xchg_m_r", L, "87 07", Op::xchg, 4, 4, kRW, true, rax, false, false, 0, rdi},
  {"xchg_m_r8", L, "86 07", Op::xchg, 1, 1, kRW, true, rax, false, false, 0, rdi},
  {"xchg_q", L, "48 87 07", Op::xchg, 8, 8, kRW, true, rax, false, false, 0, rdi},
  {"lock_xchg", L, "f0 87 07", Op::xchg, 4, 4, kRW, true, rax, false, false, 0, rdi},
  // BT family.
  {"bt_r", L, "0f a3 07", Op::bt, 4, 4, kR, true, rax, false, false, 0, rdi},
  {"bt_imm", L, "0f ba 27 05", Op::bt, 4, 4, kR, true, kNone, false, true, 5, rdi},
  {"lock_bts_r", L, "f0 0f ab 07", Op::bts, 4, 4, kRW, true, rax, false, false, 0, rdi},
  {"btr_imm", L, "0f ba 37 03", Op::btr, 4, 4, kRW, true, kNone, false, true, 3, rdi},
  {"btc_q_imm", L, "48 0f ba 3f 3f", Op::btc, 8, 8, kRW, true, kNone, false, true, 63, rdi},
  {"btr_q_r", L, "48 0f b3 0f", Op::btr, 8, 8, kRW, true, rcx, false, false, 0, rdi},
  {"bts_imm_zx", L, "0f ba 2f 81", Op::bts, 4, 4, kRW, true, kNone, false, true, 0x81, rdi},
  // LOCKed read-modify-write ALU forms.
  {"lock_or_imm8", L, "f0 83 0f 01", Op::or_, 4, 4, kRW, true, kNone, false, true, 1, rdi},
  {"lock_add", L, "f0 01 07", Op::add, 4, 4, kRW, true, rax, false, false, 0, rdi},
  {"lock_andb", L, "f0 80 27 fe", Op::and_, 1, 1, kRW, true, kNone, false, true, 0xfe, rdi},
  {"lock_xorq", L, "f0 48 31 07", Op::xor_, 8, 8, kRW, true, rax, false, false, 0, rdi},
  {"opsize_lock_subw", L, "66 f0 29 07", Op::sub, 2, 2, kRW, true, rax, false, false, 0, rdi},
  // Prefix combinations.
  {"fs_abs", L, "64 8b 04 25 00 00 00 00", Op::mov, 4, 4, kR, false, rax, false, false, 0, kNone, kNone, 1, 0, false, Seg::fs},
  {"es_ignored_in_64", L, "26 8b 07", Op::mov, 4, 4, kR, false, rax, false, false, 0, rdi, kNone, 1, 0, false, Seg::es},
  {"gs_seg_last_wins", L, "64 65 8b 07", Op::mov, 4, 4, kR, false, rax, false, false, 0, rdi, kNone, 1, 0, false, Seg::gs},
  {"addr32_opsize", L, "67 66 89 07", Op::mov, 2, 2, kW, true, rax, false, false, 0, rdi},
  {"rep_on_mov", L, "f3 89 07", Op::mov, 4, 4, kW, true, rax, false, false, 0, rdi},
  {"repne_on_mov", L, "f2 8b 07", Op::mov, 4, 4, kR, false, rax, false, false, 0, rdi},
  {"rex_then_66_ignored", L, "48 66 8b 07", Op::mov, 2, 2, kR, false, rax, false, false, 0, rdi},
  {"rex_w_beats_66", L, "66 48 8b 07", Op::mov, 8, 8, kR, false, rax, false, false, 0, rdi},
  {"rex_empty_byte", L, "66 40 8a 3f", Op::mov, 1, 1, kR, false, rdi, false, false, 0, rdi},
  {"two_rex_last_wins", L, "4c 41 8b 07", Op::mov, 4, 4, kR, false, rax, false, false, 0, r15},
  {"ds_rex_opsize_seg", L, "3e 66 41 89 07", Op::mov, 2, 2, kW, true, rax, false, false, 0, r15, kNone, 1, 0, false, Seg::ds},
  // String operations.
  {"rep_movsl", L, "f3 a5", Op::movs, 4, 4, kRW, true},
  {"rep_stosq", L, "f3 48 ab", Op::stos, 8, 8, kW, true, rax},
  {"stosb", L, "aa", Op::stos, 1, 1, kW, true, rax},
  {"movsb", L, "a4", Op::movs, 1, 1, kRW, true},
  {"movsw", L, "66 a5", Op::movs, 2, 2, kRW, true},
  {"lodsl", L, "ad", Op::lods, 4, 4, kR, false, rax},
  {"cmpsb", L, "a6", Op::cmps, 1, 1, kR, false},
  {"scasq", L, "48 af", Op::scas, 8, 8, kR, false, rax},
  // Unary read-modify-write forms and the exchanges.
  {"incl", L, "ff 07", Op::inc, 4, 4, kRW, true, kNone, false, false, 0, rdi},
  {"lock_decb", L, "f0 fe 0f", Op::dec, 1, 1, kRW, true, kNone, false, false, 0, rdi},
  {"incq_disp8", L, "48 ff 47 08", Op::inc, 8, 8, kRW, true, kNone, false, false, 0, rdi, kNone, 1, 8},
  {"notw", L, "66 f7 17", Op::not_, 2, 2, kRW, true, kNone, false, false, 0, rdi},
  {"negq", L, "48 f7 1f", Op::neg, 8, 8, kRW, true, kNone, false, false, 0, rdi},
  {"negb", L, "f6 1f", Op::neg, 1, 1, kRW, true, kNone, false, false, 0, rdi},
  {"cmpxchgb", L, "0f b0 0f", Op::cmpxchg, 1, 1, kRW, true, rcx, false, false, 0, rdi},
  {"lock_cmpxchgl", L, "f0 0f b1 0f", Op::cmpxchg, 4, 4, kRW, true, rcx, false, false, 0, rdi},
  {"cmpxchgq", L, "48 0f b1 37", Op::cmpxchg, 8, 8, kRW, true, rsi, false, false, 0, rdi},
  {"xaddq", L, "48 0f c1 07", Op::xadd, 8, 8, kRW, true, rax, false, false, 0, rdi},
  {"lock_xaddw", L, "66 f0 0f c1 07", Op::xadd, 2, 2, kRW, true, rax, false, false, 0, rdi},
  {"r16_incw", R, "ff 07", Op::inc, 2, 2, kRW, true, kNone, false, false, 0, rbx},
  // Port string operations: at most 32-bit elements, REX.W ignored.
  {"insb", L, "6c", Op::ins, 1, 1, kW, true},
  {"rep_insw", L, "f3 66 6d", Op::ins, 2, 2, kW, true},
  {"insl_rex_w", L, "48 6d", Op::ins, 4, 4, kW, true},
  {"outsb_fs", L, "64 6e", Op::outs, 1, 1, kR, false, kNone, false, false, 0, kNone, kNone, 1, 0, false, Seg::fs},
  {"rep_outsl_addr32", L, "67 f3 6f", Op::outs, 4, 4, kR, false},
  {"p32_outsw_es", P, "26 66 6f", Op::outs, 2, 2, kR, false, kNone, false, false, 0, kNone, kNone, 1, 0, false, Seg::es},
  {"p32_insl_addr16", P, "67 6d", Op::ins, 4, 4, kW, true},
  {"r16_insw", R, "6d", Op::ins, 2, 2, kW, true},
  {"r16_rep_outsl", R, "f3 66 6f", Op::outs, 4, 4, kR, false},
  // Register-only and accumulator-immediate forms: decoded, no memory.
  {"mov_reg_reg", L, "89 c1", Op::mov, 4, 0, kNoMem, false, rax},
  {"add_reg_reg", L, "01 c8", Op::add, 4, 0, kNoMem, false, rcx},
  {"add_eax_imm", L, "05 78 56 34 12", Op::add, 4, 0, kNoMem, false, rax, false, true, 0x12345678},
  {"cmp_al_imm", L, "3c 7f", Op::cmp, 1, 0, kNoMem, false, rax, false, true, 0x7f},
  {"and_rax_imm_sx", L, "48 25 00 ff ff ff", Op::and_, 8, 0, kNoMem, false, rax, false, true, 0xffffffffffffff00},
  {"test_al_imm", L, "a8 01", Op::test, 1, 0, kNoMem, false, rax, false, true, 1},
  {"test_ax_imm", L, "66 a9 34 12", Op::test, 2, 0, kNoMem, false, rax, false, true, 0x1234},

  // ---- 32-bit protected mode.
  {"p32_readl", P, "8b 87 00 03 00 00", Op::mov, 4, 4, kR, false, rax, false, false, 0, rdi, kNone, 1, 0x300},
  {"p32_writel", P, "89 b7 b0 00 00 00", Op::mov, 4, 4, kW, true, rsi, false, false, 0, rdi, kNone, 1, 0xb0},
  {"p32_readb", P, "8a 07", Op::mov, 1, 1, kR, false, rax, false, false, 0, rdi},
  {"p32_readw", P, "66 8b 07", Op::mov, 2, 2, kR, false, rax, false, false, 0, rdi},
  {"p32_writew", P, "66 89 37", Op::mov, 2, 2, kW, true, rsi, false, false, 0, rdi},
  {"p32_moffs_load", P, "a1 30 00 e0 fe", Op::mov, 4, 4, kR, false, rax, false, false, 0, kNone, kNone, 1, 0xfee00030},
  {"p32_moffs_store", P, "a3 b0 00 e0 fe", Op::mov, 4, 4, kW, true, rax, false, false, 0, kNone, kNone, 1, 0xfee000b0},
  {"p32_moffs_16", P, "66 a1 30 00 e0 fe", Op::mov, 2, 2, kR, false, rax, false, false, 0, kNone, kNone, 1, 0xfee00030},
  {"p32_moffs_addr16", P, "67 a1 30 00", Op::mov, 4, 4, kR, false, rax, false, false, 0, kNone, kNone, 1, 0x30},
  {"p32_abs_load", P, "8b 15 20 00 e0 fe", Op::mov, 4, 4, kR, false, rdx, false, false, 0, kNone, kNone, 1, -0x11fffe0},
  {"p32_abs_store", P, "89 0d b0 00 e0 fe", Op::mov, 4, 4, kW, true, rcx, false, false, 0, kNone, kNone, 1, -0x11fff50},
  {"p32_movl_imm_abs", P, "c7 05 b0 00 e0 fe 00 00 00 00", Op::mov, 4, 4, kW, true, kNone, false, true, 0, kNone, kNone, 1, -0x11fff50},
  {"p32_addr16_bx", P, "67 8b 07", Op::mov, 4, 4, kR, false, rax, false, false, 0, rbx},
  {"p32_esp_sib", P, "8b 04 24", Op::mov, 4, 4, kR, false, rax, false, false, 0, rsp},
  {"p32_sib_scale2", P, "8b 4c 5c 04", Op::mov, 4, 4, kR, false, rcx, false, false, 0, rsp, rbx, 2, 4},
  {"p32_load_bh", P, "8a 3f", Op::mov, 1, 1, kR, false, rbx, true, false, 0, rdi},
  {"p32_movzbl", P, "0f b6 07", Op::movzx, 4, 1, kR, false, rax, false, false, 0, rdi},
  {"p32_movzwl", P, "0f b7 0f", Op::movzx, 4, 2, kR, false, rcx, false, false, 0, rdi},
  {"p32_movswl", P, "0f bf 17", Op::movsx, 4, 2, kR, false, rdx, false, false, 0, rdi},
  {"p32_orl_imm32", P, "81 8f 10 03 00 00 00 00 01 00", Op::or_, 4, 4, kRW, true, kNone, false, true, 0x10000, rdi, kNone, 1, 0x310},
  {"p32_andl_imm32", P, "81 a7 10 03 00 00 ff ff fe ff", Op::and_, 4, 4, kRW, true, kNone, false, true, 0xfffeffff, rdi, kNone, 1, 0x310},
  {"p32_xchg_abs", P, "87 05 10 00 c0 fe", Op::xchg, 4, 4, kRW, true, rax, false, false, 0, kNone, kNone, 1, -0x13ffff0},
  {"p32_testb", P, "f6 07 10", Op::test, 1, 1, kR, true, kNone, false, true, 0x10, rdi},
  {"p32_alias_82", P, "82 07 01", Op::add, 1, 1, kRW, true, kNone, false, true, 1, rdi},
  {"p32_bts_imm", P, "0f ba 2f 01", Op::bts, 4, 4, kRW, true, kNone, false, true, 1, rdi},
  {"p32_rep_stosl", P, "f3 ab", Op::stos, 4, 4, kW, true, rax},

  // ---- 16-bit (real mode) addressing and operand sizes.
  {"r16_bx", R, "8b 07", Op::mov, 2, 2, kR, false, rax, false, false, 0, rbx},
  {"r16_bp_disp8", R, "89 46 fc", Op::mov, 2, 2, kW, true, rax, false, false, 0, rbp, kNone, 1, -4},
  {"r16_disp16_only", R, "8b 36 30 00", Op::mov, 2, 2, kR, false, rsi, false, false, 0, kNone, kNone, 1, 0x30},
  {"r16_opsize_eax", R, "66 8b 07", Op::mov, 4, 4, kR, false, rax, false, false, 0, rbx},
  {"r16_addr32_edi", R, "67 8b 07", Op::mov, 2, 2, kR, false, rax, false, false, 0, rdi},
  {"r16_moffs", R, "a1 30 00", Op::mov, 2, 2, kR, false, rax, false, false, 0, kNone, kNone, 1, 0x30},
  {"r16_moffs_eax", R, "66 a1 30 00", Op::mov, 4, 4, kR, false, rax, false, false, 0, kNone, kNone, 1, 0x30},
  {"r16_moffs_addr32", R, "67 66 a1 30 00 e0 fe", Op::mov, 4, 4, kR, false, rax, false, false, 0, kNone, kNone, 1, 0xfee00030},
  {"r16_movw_imm", R, "c7 06 b0 00 00 00", Op::mov, 2, 2, kW, true, kNone, false, true, 0, kNone, kNone, 1, 0xb0},
  {"r16_movl_imm", R, "66 c7 06 b0 00 ef be ad de", Op::mov, 4, 4, kW, true, kNone, false, true, 0xdeadbeef, kNone, kNone, 1, 0xb0},
  {"r16_es", R, "26 89 07", Op::mov, 2, 2, kW, true, rax, false, false, 0, rbx, kNone, 1, 0, false, Seg::es},
  {"r16_bx_si", R, "8b 00", Op::mov, 2, 2, kR, false, rax, false, false, 0, rbx, rsi},
  {"r16_bp_si_disp8", R, "8b 42 10", Op::mov, 2, 2, kR, false, rax, false, false, 0, rbp, rsi, 1, 0x10},
  {"r16_bp_di_disp16", R, "8a 8b 34 12", Op::mov, 1, 1, kR, false, rcx, false, false, 0, rbp, rdi, 1, 0x1234},
  {"r16_si_dh", R, "8a 34", Op::mov, 1, 1, kR, false, rdx, true, false, 0, rsi},
  {"r16_di_disp8", R, "8a 5d 12", Op::mov, 1, 1, kR, false, rbx, false, false, 0, rdi, kNone, 1, 0x12},
  {"r16_disp16_neg", R, "8b 87 00 80", Op::mov, 2, 2, kR, false, rax, false, false, 0, rbx, kNone, 1, -0x8000},
  {"r16_movzbw", R, "0f b6 07", Op::movzx, 2, 1, kR, false, rax, false, false, 0, rbx},
  {"r16_movzbl", R, "66 0f b6 07", Op::movzx, 4, 1, kR, false, rax, false, false, 0, rbx},
  {"r16_movsbw", R, "0f be 07", Op::movsx, 2, 1, kR, false, rax, false, false, 0, rbx},
  {"r16_addw_imm8", R, "83 07 01", Op::add, 2, 2, kRW, true, kNone, false, true, 1, rbx},
  {"r16_orw_imm16", R, "81 0f 00 80", Op::or_, 2, 2, kRW, true, kNone, false, true, 0x8000, rbx},
  {"r16_orl_imm32", R, "66 81 0f 00 01 00 00", Op::or_, 4, 4, kRW, true, kNone, false, true, 0x100, rbx},
  {"r16_cmpb", R, "80 3f 05", Op::cmp, 1, 1, kR, true, kNone, false, true, 5, rbx},
  {"r16_testw", R, "f7 07 10 00", Op::test, 2, 2, kR, true, kNone, false, true, 0x10, rbx},
  {"r16_xchg", R, "87 07", Op::xchg, 2, 2, kRW, true, rax, false, false, 0, rbx},
  {"r16_rep_stosw", R, "f3 ab", Op::stos, 2, 2, kW, true, rax},
  {"r16_rep_movsb", R, "f3 a4", Op::movs, 1, 1, kRW, true},
  {"r16_addr32_sib", R, "67 66 8b 1c 85 30 00 00 00", Op::mov, 4, 4, kR, false, rbx, false, false, 0, kNone, rax, 4, 0x30},
  {"r16_fs", R, "64 8a 07", Op::mov, 1, 1, kR, false, rax, false, false, 0, rbx, kNone, 1, 0, false, Seg::fs},
  {"r16_and_ah", R, "20 27", Op::and_, 1, 1, kRW, true, rax, true, false, 0, rbx},
};
// clang-format on

class DecodeCase : public ::testing::TestWithParam<Case> {};

TEST_P(DecodeCase, Fields) {
  const Case& c = GetParam();
  const std::vector<uint8_t> b = hex(c.bytes);
  Instruction i;
  ASSERT_EQ(decode(b.data(), b.size(), c.mode, i), Status::ok) << mode_name(c.mode);
  EXPECT_EQ(i.length, b.size());
  EXPECT_EQ(i.op, c.op) << op_name(i.op);
  EXPECT_EQ(i.op_size, c.op_size);
  EXPECT_EQ(i.mem_size, c.mem_size);
  EXPECT_EQ(i.has_mem, c.access != kNoMem);
  EXPECT_EQ(i.reads_mem, c.access == kR || c.access == kRW);
  EXPECT_EQ(i.writes_mem, c.access == kW || c.access == kRW);
  EXPECT_EQ(i.mem_is_dest, c.mem_is_dest);
  EXPECT_EQ(i.has_reg, c.reg != kNone);
  if (c.reg != kNone) {
    EXPECT_EQ(i.reg.index, c.reg);
    EXPECT_EQ(i.reg.high8, c.high8);
  }
  EXPECT_EQ(i.has_imm, c.has_imm);
  EXPECT_EQ(i.imm, c.imm);
  if (i.has_mem && !i.is_string()) {
    EXPECT_EQ(i.mem.base, c.base);
    EXPECT_EQ(i.mem.index, c.index);
    if (c.index != kNone) {
      EXPECT_EQ(i.mem.scale, c.scale);
    }
    EXPECT_EQ(i.mem.disp, c.disp);
    EXPECT_EQ(i.mem.rip_relative, c.rip);
  }
  EXPECT_EQ(i.mem.seg, c.seg);
  const int asz = c.mode == Mode::long64 ? (i.addrsize_prefix ? 4 : 8)
                  : c.mode == Mode::prot32 ? (i.addrsize_prefix ? 2 : 4)
                                           : (i.addrsize_prefix ? 4 : 2);
  EXPECT_EQ(i.addr_size, asz);
}

// Every proper prefix of a valid instruction is truncated, and says how many
// bytes at least are needed; extra bytes after it are not consumed.
TEST_P(DecodeCase, TruncatedPrefixesAndTrailingBytes) {
  const Case& c = GetParam();
  std::vector<uint8_t> b = hex(c.bytes);
  for (size_t n = 0; n < b.size(); ++n) {
    Instruction i;
    EXPECT_EQ(decode(b.data(), n, c.mode, i), Status::truncated) << "n=" << n;
    EXPECT_GT(i.length, n);
    EXPECT_LE(i.length, b.size());
  }
  const size_t len = b.size();
  b.insert(b.end(), {0x90, 0xcc, 0xff, 0x0f});
  Instruction i;
  ASSERT_EQ(decode(b.data(), b.size(), c.mode, i), Status::ok);
  EXPECT_EQ(i.length, len);
}

INSTANTIATE_TEST_SUITE_P(X86Decode, DecodeCase, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

// ---- Each MMIO form in each mode, with and without operand-size overrides.

struct Form {
  const char* name;
  const char* bytes;  // ModRM 07 / moffs with a 16-bit address where one follows
  Op op;
  bool byte_op;       // 8-bit operand
  int mem_size;       // 0: = operand size
  Access access;
  int imm_bytes;      // immediate bytes at the default operand size (-1: Iz, i.e. 2 or 4)
};

// clang-format off
const Form kForms[] = {
  {"mov_Eb_Gb", "88 07", Op::mov, true, 0, kW, 0},
  {"mov_Ev_Gv", "89 07", Op::mov, false, 0, kW, 0},
  {"mov_Gb_Eb", "8a 07", Op::mov, true, 0, kR, 0},
  {"mov_Gv_Ev", "8b 07", Op::mov, false, 0, kR, 0},
  {"mov_Eb_Ib", "c6 07", Op::mov, true, 0, kW, 1},
  {"mov_Ev_Iz", "c7 07", Op::mov, false, 0, kW, -1},
  {"movzx_Gv_Eb", "0f b6 07", Op::movzx, false, 1, kR, 0},
  {"movzx_Gv_Ew", "0f b7 07", Op::movzx, false, 2, kR, 0},
  {"movsx_Gv_Eb", "0f be 07", Op::movsx, false, 1, kR, 0},
  {"movsx_Gv_Ew", "0f bf 07", Op::movsx, false, 2, kR, 0},
  {"add_Eb_Gb", "00 07", Op::add, true, 0, kRW, 0},
  {"or_Ev_Gv", "09 07", Op::or_, false, 0, kRW, 0},
  {"adc_Gb_Eb", "12 07", Op::adc, true, 0, kR, 0},
  {"sbb_Gv_Ev", "1b 07", Op::sbb, false, 0, kR, 0},
  {"and_Ev_Gv", "21 07", Op::and_, false, 0, kRW, 0},
  {"sub_Gv_Ev", "2b 07", Op::sub, false, 0, kR, 0},
  {"xor_Eb_Gb", "30 07", Op::xor_, true, 0, kRW, 0},
  {"cmp_Ev_Gv", "39 07", Op::cmp, false, 0, kR, 0},
  {"grp1_Eb_Ib_or", "80 0f", Op::or_, true, 0, kRW, 1},
  {"grp1_Ev_Iz_and", "81 27", Op::and_, false, 0, kRW, -1},
  {"grp1_Ev_Ib_cmp", "83 3f", Op::cmp, false, 0, kR, 1},
  {"grp1_Ev_Ib_add", "83 07", Op::add, false, 0, kRW, 1},
  {"test_Eb_Gb", "84 07", Op::test, true, 0, kR, 0},
  {"test_Ev_Gv", "85 07", Op::test, false, 0, kR, 0},
  {"test_Eb_Ib", "f6 07", Op::test, true, 0, kR, 1},
  {"test_Ev_Iz", "f7 07", Op::test, false, 0, kR, -1},
  {"xchg_Eb_Gb", "86 07", Op::xchg, true, 0, kRW, 0},
  {"xchg_Ev_Gv", "87 07", Op::xchg, false, 0, kRW, 0},
  {"bt_Ev_Gv", "0f a3 07", Op::bt, false, 0, kR, 0},
  {"bts_Ev_Ib", "0f ba 2f", Op::bts, false, 0, kRW, 1},
  {"movs_b", "a4", Op::movs, true, 0, kRW, 0},
  {"movs_v", "a5", Op::movs, false, 0, kRW, 0},
  {"stos_b", "aa", Op::stos, true, 0, kW, 0},
  {"stos_v", "ab", Op::stos, false, 0, kW, 0},
};
// clang-format on

struct FormInMode {
  Form form;
  Mode mode;
  int prefix;  // 0: none, 0x66, or a REX.W byte 0x48 (64-bit mode only)
};

std::ostream& operator<<(std::ostream& os, const FormInMode& f) {
  return os << f.form.name << " " << mode_name(f.mode) << " prefix " << f.prefix;
}

std::vector<FormInMode> all_forms() {
  std::vector<FormInMode> v;
  for (const Form& f : kForms) {
    for (Mode m : {Mode::real16, Mode::prot32, Mode::long64}) {
      v.push_back({f, m, 0});
      v.push_back({f, m, 0x66});
      if (m == Mode::long64) v.push_back({f, m, 0x48});
    }
  }
  return v;
}

class FormCase : public ::testing::TestWithParam<FormInMode> {};

TEST_P(FormCase, SizesAndLength) {
  const FormInMode& p = GetParam();
  const Form& f = p.form;
  std::vector<uint8_t> b;
  if (p.prefix) b.push_back(static_cast<uint8_t>(p.prefix));
  const std::vector<uint8_t> body = hex(f.bytes);
  b.insert(b.end(), body.begin(), body.end());
  int osz = p.mode == Mode::real16 ? 2 : 4;
  if (p.prefix == 0x66) osz = p.mode == Mode::real16 ? 4 : 2;
  if (p.prefix == 0x48) osz = 8;
  const int size = f.byte_op ? 1 : osz;
  const int imm_bytes = f.imm_bytes == -1 ? (size == 8 ? 4 : size) : f.imm_bytes;
  for (int k = 0; k < imm_bytes; ++k) b.push_back(static_cast<uint8_t>(0x81 + k));  // negative imm8
  Instruction i;
  ASSERT_EQ(decode(b.data(), b.size(), p.mode, i), Status::ok);
  EXPECT_EQ(i.length, b.size());
  EXPECT_EQ(i.op, f.op);
  EXPECT_EQ(i.op_size, size);
  EXPECT_EQ(i.mem_size, f.mem_size ? f.mem_size : size);
  EXPECT_TRUE(i.has_mem);
  EXPECT_EQ(i.reads_mem, f.access == kR || f.access == kRW);
  EXPECT_EQ(i.writes_mem, f.access == kW || f.access == kRW);
  EXPECT_EQ(i.has_imm, imm_bytes > 0);
  if (!i.is_string()) {
    // ModRM 07 / 0f / 27 / 2f / 3f: (%bx) with 16-bit addressing, else (%edi)/(%rdi).
    EXPECT_EQ(i.mem.base, p.mode == Mode::real16 ? rbx : rdi);
  }
  if (imm_bytes == 1) {
    // 0x81: sign-extended (group 1 83, F6, C6, 80 on a byte) except BT's bit offset.
    const uint64_t mask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
    const uint64_t want = f.op == Op::bts ? 0x81 : (0xffffffffffffff81ull & mask);
    EXPECT_EQ(i.imm, want);
  }
}

INSTANTIATE_TEST_SUITE_P(X86DecodeForms, FormCase, ::testing::ValuesIn(all_forms()),
                         [](const ::testing::TestParamInfo<FormInMode>& info) {
                           std::string s = std::string(info.param.form.name) + "_" + mode_name(info.param.mode);
                           if (info.param.prefix == 0x66) s += "_66";
                           if (info.param.prefix == 0x48) s += "_rexw";
                           return s;
                         });

// ---- Errors.

Status dec(Mode m, const char* bytes, Instruction* out = nullptr) {
  const std::vector<uint8_t> b = hex(bytes);
  Instruction i;
  const Status s = decode(b.data(), b.size(), m, i);
  if (out) *out = i;
  return s;
}

TEST(X86DecodeErrors, UnknownOpcodesAreUnsupported) {
  for (const char* b : {"0f 0b",            // ud2
                        "c3",               // ret
                        "e8 00 00 00 00",   // call
                        "ff 17",            // call *(%rdi)
                        "ff 37",            // push (%rdi)
                        "f6 27",            // mulb (%rdi)
                        "f7 3f",            // idivl (%rdi)
                        "0f c7 0f",         // cmpxchg8b
                        "c6 f8 00",         // xabort
                        "c7 0f 00 00 00 00",// C7 /1
                        "d9 07",            // fld
                        "0f 10 07",         // movups
                        "0f 38 00 07",      // three-byte map
                        "c4 e2 79 18 07",   // VEX vbroadcastss
                        "c5 f8 10 07",      // VEX vmovups
                        "62 f1 7c 48 10 07",// EVEX
                        "8f 07",            // pop (%rdi)
                        "90"}) {
    EXPECT_EQ(dec(Mode::long64, b), Status::unsupported) << b;
  }
  EXPECT_EQ(dec(Mode::long64, "c7 47 04 00"), Status::truncated);  // a valid form, cut short
  // ARPL in 16/32-bit modes; 0x48 is DEC EAX outside 64-bit mode.
  EXPECT_EQ(dec(Mode::prot32, "63 07"), Status::unsupported);
  EXPECT_EQ(dec(Mode::real16, "63 07"), Status::unsupported);
  EXPECT_EQ(dec(Mode::prot32, "48 8b 07"), Status::unsupported);
}

TEST(X86DecodeErrors, UndefinedGroupDigits) {
  // FE /2-/7 and FF /7 are undefined (SDM Vol. 2 table A-6): #UD.
  for (const char* b : {"fe 17", "fe 27", "fe 3f", "ff 3f"}) EXPECT_EQ(dec(Mode::long64, b), Status::invalid) << b;
  EXPECT_EQ(dec(Mode::long64, "f0 ff c0"), Status::invalid);  // LOCK inc %eax: no memory
}

TEST(X86DecodeErrors, InvalidEncodings) {
  // LOCK without a read-modify-write memory destination raises #UD.
  for (const char* b : {"f0 89 07", "f0 8b 07", "f0 39 07", "f0 85 07", "f0 01 c0", "f0 03 07", "f0 0f b6 07",
                        "f0 87 c0", "f0 0f a3 07", "f0 a5", "f0 c7 07 00 00 00 00", "f0 83 3f 00"}) {
    EXPECT_EQ(dec(Mode::long64, b), Status::invalid) << b;
  }
  EXPECT_EQ(dec(Mode::long64, "82 07 01"), Status::invalid);  // 82 is undefined in 64-bit mode
  EXPECT_EQ(dec(Mode::long64, "0f ba 27 05"), Status::ok);
  EXPECT_EQ(dec(Mode::long64, "0f ba 07 05"), Status::invalid);  // 0F BA /0-/3
  EXPECT_EQ(dec(Mode::long64, "0f ba 1f 05"), Status::invalid);
}

TEST(X86DecodeErrors, FifteenByteLimit) {
  // 13 operand-size prefixes + 8b 07: exactly 15 bytes.
  std::vector<uint8_t> b(13, 0x66);
  b.push_back(0x8b);
  b.push_back(0x07);
  Instruction i;
  ASSERT_EQ(decode(b.data(), b.size(), Mode::long64, i), Status::ok);
  EXPECT_EQ(i.length, 15);
  EXPECT_EQ(i.op_size, 2);
  // One more prefix: 16 bytes.
  b.insert(b.begin(), 0x66);
  EXPECT_EQ(decode(b.data(), b.size(), Mode::long64, i), Status::too_long);
  // A long immediate form pushed past 15 bytes by prefixes.
  std::vector<uint8_t> c(5, 0x2e);
  for (uint8_t x : hex("c7 04 25 b0 00 e0 fe 00 00 00 00")) c.push_back(x);  // 5 + 11 = 16
  EXPECT_EQ(decode(c.data(), c.size(), Mode::long64, i), Status::too_long);
  // Only prefixes, plenty of bytes: too long, not a read past the buffer.
  std::vector<uint8_t> p(64, 0xf3);
  EXPECT_EQ(decode(p.data(), p.size(), Mode::long64, i), Status::too_long);
}

TEST(X86DecodeErrors, TruncatedReportsNeededLength) {
  Instruction i;
  EXPECT_EQ(decode(nullptr, 0, Mode::long64, i), Status::truncated);
  EXPECT_EQ(i.length, 1);
  const std::vector<uint8_t> b = hex("c7 04 25 b0 00 e0 fe 00 00 00 00");
  EXPECT_EQ(decode(b.data(), 1, Mode::long64, i), Status::truncated);
  EXPECT_EQ(i.length, 2);  // needs the ModRM
  EXPECT_EQ(decode(b.data(), 2, Mode::long64, i), Status::truncated);
  EXPECT_EQ(i.length, 3);  // needs the SIB
  EXPECT_EQ(decode(b.data(), 3, Mode::long64, i), Status::truncated);
  EXPECT_EQ(i.length, 7);  // needs the disp32
  EXPECT_EQ(decode(b.data(), 8, Mode::long64, i), Status::truncated);
  EXPECT_EQ(i.length, 11);  // needs the imm32
  const std::vector<uint8_t> m = hex("a1 30 00 e0 fe 00 00 00 00");
  EXPECT_EQ(decode(m.data(), 5, Mode::long64, i), Status::truncated);
  EXPECT_EQ(i.length, 9);  // 64-bit moffs
  EXPECT_EQ(decode(m.data(), 5, Mode::prot32, i), Status::ok);
  EXPECT_EQ(i.length, 5);
  EXPECT_EQ(decode(m.data(), 3, Mode::real16, i), Status::ok);
  EXPECT_EQ(i.length, 3);
}

TEST(X86DecodeErrors, BadModeIsRejected) {
  const std::vector<uint8_t> b = hex("8b 07");
  Instruction i;
  EXPECT_EQ(decode(b.data(), b.size(), static_cast<Mode>(7), i), Status::bad_argument);
}

// Fuzz: arbitrary bytes never crash, never report a length beyond n or 15,
// and every ok result is self-consistent.
TEST(X86DecodeErrors, RandomBytesAreHandled) {
  uint64_t s = 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return static_cast<uint32_t>((s * 0x2545F4914F6CDD1Dull) >> 32);
  };
  // Bias toward interesting bytes so decodable instructions are common.
  const uint8_t interesting[] = {0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x64, 0x40, 0x48, 0x4f, 0x41, 0x0f, 0x88, 0x89,
                                 0x8a, 0x8b, 0xc6, 0xc7, 0x80, 0x81, 0x83, 0x85, 0x87, 0xa1, 0xa3, 0xab, 0xb6, 0xbf,
                                 0xba, 0x04, 0x05, 0x24, 0x25, 0x44, 0x84, 0x07, 0x00, 0xff};
  int ok = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    uint8_t buf[20];
    const size_t n = next() % 21;
    for (size_t k = 0; k < n; ++k) {
      const uint32_t r = next();
      buf[k] = (r & 1) ? interesting[(r >> 1) % sizeof(interesting)] : static_cast<uint8_t>(r >> 8);
    }
    const Mode m = static_cast<Mode>(next() % 3);
    Instruction i;
    const Status st = decode(buf, n, m, i);
    if (st == Status::ok) {
      ++ok;
      ASSERT_GE(i.length, 1);
      ASSERT_LE(i.length, n);
      ASSERT_LE(i.length, 15);
      ASSERT_NE(i.op, Op::none);
      ASSERT_TRUE(i.op_size == 1 || i.op_size == 2 || i.op_size == 4 || i.op_size == 8);
      ASSERT_TRUE(!i.has_mem || i.reads_mem || i.writes_mem);
      ASSERT_TRUE(i.has_mem || i.mem_size == 0);
      ASSERT_TRUE(!i.has_reg || i.reg.index <= (i.reg.high8 ? 3 : 15));
      // Decoding exactly `length` bytes gives the same instruction.
      Instruction j;
      ASSERT_EQ(decode(buf, i.length, m, j), Status::ok);
      ASSERT_EQ(j.length, i.length);
      ASSERT_EQ(j.op, i.op);
    } else if (st == Status::truncated) {
      ASSERT_GT(i.length, n);
      ASSERT_LE(i.length, 15);
    }
  }
  EXPECT_GT(ok, 1000);
}

TEST(X86DecodeMisc, ModeFromControlState) {
  using cos::x86dec::mode_for;
  EXPECT_EQ(mode_for(false, false, false, false), Mode::real16);
  EXPECT_EQ(mode_for(false, false, false, true), Mode::real16);
  EXPECT_EQ(mode_for(true, false, false, false), Mode::real16);  // 16-bit protected mode
  EXPECT_EQ(mode_for(true, false, false, true), Mode::prot32);
  EXPECT_EQ(mode_for(true, true, true, false), Mode::long64);
  EXPECT_EQ(mode_for(true, true, false, true), Mode::prot32);  // compatibility mode
  EXPECT_EQ(mode_for(true, true, false, false), Mode::real16);
}

TEST(X86DecodeMisc, EffectiveAddresses) {
  using cos::x86dec::effective_address;
  uint64_t regs[16] = {};
  for (int k = 0; k < 16; ++k) regs[k] = 0x1000u * (k + 1);
  Instruction i;
  ASSERT_EQ(dec(Mode::long64, "8b 87 00 03 00 00", &i), Status::ok);
  EXPECT_EQ(effective_address(i, regs, 0), regs[rdi] + 0x300);
  ASSERT_EQ(dec(Mode::long64, "8b 94 88 78 56 34 12", &i), Status::ok);
  EXPECT_EQ(effective_address(i, regs, 0), regs[rax] + regs[rcx] * 4 + 0x12345678);
  ASSERT_EQ(dec(Mode::long64, "c7 05 10 00 00 00 78 56 34 12", &i), Status::ok);
  EXPECT_EQ(effective_address(i, regs, 0xffffffff81000000ull), 0xffffffff81000000ull + 10 + 0x10);
  ASSERT_EQ(dec(Mode::long64, "8b 04 25 30 c0 5f ff", &i), Status::ok);
  EXPECT_EQ(effective_address(i, regs, 0), 0xffffffffff5fc030ull);
  ASSERT_EQ(dec(Mode::long64, "a1 30 00 e0 fe 00 00 00 00", &i), Status::ok);
  EXPECT_EQ(effective_address(i, regs, 0), 0xfee00030ull);
  ASSERT_EQ(dec(Mode::long64, "67 8b 47 fc", &i), Status::ok);  // mov -4(%edi),%eax
  regs[rdi] = 0x1'0000'0002ull;
  EXPECT_EQ(effective_address(i, regs, 0), 0xfffffffeull);  // wraps at 32 bits
  ASSERT_EQ(dec(Mode::prot32, "8b 05 b0 00 e0 fe", &i), Status::ok);
  EXPECT_EQ(effective_address(i, regs, 0), 0xfee000b0ull);
  ASSERT_EQ(dec(Mode::real16, "8b 42 10", &i), Status::ok);  // 0x10(%bp,%si)
  regs[rbp] = 0xfff0;
  regs[rsi] = 0x0008;
  EXPECT_EQ(effective_address(i, regs, 0), 0x0008u);  // 0xfff0 + 8 + 0x10 wraps at 16 bits
  ASSERT_EQ(dec(Mode::long64, "f3 48 ab", &i), Status::ok);
  EXPECT_EQ(effective_address(i, regs, 0), regs[rdi]);
  ASSERT_EQ(dec(Mode::long64, "89 c1", &i), Status::ok);
  EXPECT_EQ(effective_address(i, regs, 0), 0u);
}

TEST(X86DecodeMisc, RegisterOnlyFormsNameTheRmRegister) {
  Instruction i;
  ASSERT_EQ(dec(Mode::long64, "44 89 c1", &i), Status::ok);  // mov %r8d,%ecx
  EXPECT_FALSE(i.has_mem);
  EXPECT_TRUE(i.has_rm_reg);
  EXPECT_EQ(i.rm_reg.index, rcx);
  EXPECT_EQ(i.reg.index, r8);
  ASSERT_EQ(dec(Mode::long64, "0f b6 c4", &i), Status::ok);  // movzbl %ah,%eax
  EXPECT_TRUE(i.rm_reg.high8);
  EXPECT_EQ(i.rm_reg.index, rax);
  EXPECT_EQ(i.reg.index, rax);
  EXPECT_FALSE(i.reg.high8);
  ASSERT_EQ(dec(Mode::long64, "40 0f b6 c4", &i), Status::ok);  // movzbl %spl,%eax
  EXPECT_FALSE(i.rm_reg.high8);
  EXPECT_EQ(i.rm_reg.index, rsp);
  // 0F B6 with ModRM reg 4-7 names a full register (ESP..EDI), never AH..BH.
  ASSERT_EQ(dec(Mode::long64, "0f b6 27", &i), Status::ok);  // movzbl (%rdi),%esp
  EXPECT_EQ(i.reg.index, rsp);
  EXPECT_FALSE(i.reg.high8);
}

TEST(X86DecodeMisc, PrefixRecording) {
  Instruction i;
  ASSERT_EQ(dec(Mode::long64, "f3 48 ab", &i), Status::ok);
  EXPECT_TRUE(i.rep);
  EXPECT_FALSE(i.repne);
  EXPECT_EQ(i.rex, 0x48);
  ASSERT_EQ(dec(Mode::long64, "f3 f2 a4", &i), Status::ok);  // the last of F2/F3 counts
  EXPECT_TRUE(i.repne);
  EXPECT_FALSE(i.rep);
  ASSERT_EQ(dec(Mode::long64, "48 66 8b 07", &i), Status::ok);
  EXPECT_EQ(i.rex, 0);
  EXPECT_TRUE(i.opsize_prefix);
  ASSERT_EQ(dec(Mode::long64, "f0 0f ab 07", &i), Status::ok);
  EXPECT_TRUE(i.lock);
  EXPECT_TRUE(i.two_byte);
  EXPECT_EQ(i.opcode, 0xab);
  EXPECT_TRUE(i.has_modrm);
  EXPECT_EQ(i.modrm, 0x07);
  EXPECT_EQ(i.imm_size, 0);
  ASSERT_EQ(dec(Mode::long64, "48 81 0f 00 00 00 80", &i), Status::ok);
  EXPECT_EQ(i.imm_size, 4);
}

TEST(X86DecodeMisc, PortStringOperations) {
  Instruction i;
  ASSERT_EQ(dec(Mode::long64, "f3 6c", &i), Status::ok);
  EXPECT_TRUE(i.is_port_string());
  EXPECT_FALSE(i.is_string());
  EXPECT_TRUE(i.rep);
  EXPECT_EQ(i.addr_size, 8);
  EXPECT_EQ(dec(Mode::long64, "f0 6c"), Status::invalid);  // LOCK is #UD
  EXPECT_EQ(dec(Mode::prot32, "f0 66 6f"), Status::invalid);
  uint64_t regs[16] = {};
  regs[rsi] = 0x1'2345'6789ull;
  regs[rdi] = 0x2'0000'0010ull;
  ASSERT_EQ(dec(Mode::long64, "67 6e", &i), Status::ok);  // outsb: rSI, 32-bit
  EXPECT_EQ(cos::x86dec::effective_address(i, regs, 0), 0x2345'6789ull);
  ASSERT_EQ(dec(Mode::long64, "6c", &i), Status::ok);  // insb: rDI
  EXPECT_EQ(cos::x86dec::effective_address(i, regs, 0), 0x2'0000'0010ull);
  EXPECT_STREQ(cos::x86dec::op_name(Op::ins), "ins");
  EXPECT_STREQ(cos::x86dec::op_name(Op::outs), "outs");
}

TEST(X86DecodeMisc, Names) {
  EXPECT_STREQ(cos::x86dec::op_name(Op::mov), "mov");
  EXPECT_STREQ(cos::x86dec::op_name(Op::xor_), "xor");
  EXPECT_STREQ(cos::x86dec::op_name(static_cast<Op>(200)), "?");
  EXPECT_STREQ(cos::x86dec::status_name(Status::unsupported), "unsupported instruction");
  EXPECT_STREQ(cos::x86dec::status_name(static_cast<Status>(200)), "?");
}

}  // namespace
