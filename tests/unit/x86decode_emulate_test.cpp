// x86decode: emulate() and alu() (src/components/lib/x86decode/emulate.cpp),
// against known values and, on an x86-64 Linux host, against the CPU itself.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__) && defined(__linux__)
#include <sys/mman.h>
#define X86DEC_NATIVE 1
#endif

#include "x86decode/x86decode.hpp"

namespace {

using cos::x86dec::alu;
using cos::x86dec::decode;
using cos::x86dec::emulate;
using cos::x86dec::EmulateResult;
using cos::x86dec::Instruction;
using cos::x86dec::MmioOps;
using cos::x86dec::Mode;
using cos::x86dec::Op;
using cos::x86dec::Status;
namespace flag = cos::x86dec::flag;

constexpr int rax = 0, rcx = 1, rbx = 3, rsi = 6, rdi = 7, r8 = 8, r12 = 12, r15 = 15;
constexpr uint64_t kIF = 0x200, kFixed = 0x2;

std::vector<uint8_t> hex(const char* s) {
  std::vector<uint8_t> out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  while (*s) {
    if (*s == ' ') {
      ++s;
      continue;
    }
    out.push_back(static_cast<uint8_t>(nib(s[0]) << 4 | nib(s[1])));
    s += 2;
  }
  return out;
}

uint64_t mask(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

// A fake MMIO register: one 64-bit cell and a log of accesses.
struct Device {
  struct Access {
    bool write;
    unsigned size;
    uint64_t value;
    bool operator==(const Access& o) const { return write == o.write && size == o.size && value == o.value; }
  };
  uint64_t cell = 0;
  std::vector<Access> log;

  static uint64_t read_cb(void* ctx, unsigned size) {
    auto* d = static_cast<Device*>(ctx);
    const uint64_t v = d->cell & mask(size);
    d->log.push_back({false, size, v});
    return v;
  }
  static void write_cb(void* ctx, unsigned size, uint64_t value) {
    auto* d = static_cast<Device*>(ctx);
    d->cell = (d->cell & ~mask(size)) | (value & mask(size));
    d->log.push_back({true, size, value});
  }
  MmioOps ops() {
    MmioOps o;
    o.ctx = this;
    o.read = read_cb;
    o.write = write_cb;
    return o;
  }
};

std::ostream& operator<<(std::ostream& os, const Device::Access& a) {
  return os << (a.write ? "W" : "R") << a.size << "=0x" << std::hex << a.value << std::dec;
}

// Decodes and emulates `bytes` in `mode`; the result must be ok.
struct Emu {
  uint64_t regs[16] = {};
  uint64_t rflags = kFixed | kIF;
  Device dev;
  Instruction insn;
  EmulateResult res;

  Emu& exec(const char* bytes, Mode mode = Mode::long64) {
    const std::vector<uint8_t> b = hex(bytes);
    EXPECT_EQ(decode(b.data(), b.size(), mode, insn), Status::ok) << bytes;
    res = emulate(insn, regs, rflags, dev.ops());
    EXPECT_EQ(res.status, Status::ok) << bytes;
    EXPECT_EQ(res.rip_delta, b.size()) << bytes;
    return *this;
  }
};

uint64_t arith(uint64_t rflags) { return rflags & flag::kArith; }

// ---- Loads and stores (Linux MMIO accessors).

TEST(X86Emulate, ReadlZeroExtends) {
  Emu r;
  r.regs[rax] = ~0ull;
  r.dev.cell = 0xdead'beef'1234'5678ull;
  r.exec("8b 87 00 03 00 00");
  EXPECT_EQ(r.regs[rax], 0x12345678u);
  ASSERT_EQ(r.dev.log.size(), 1u);
  EXPECT_EQ(r.dev.log[0], (Device::Access{false, 4, 0x12345678}));
  EXPECT_EQ(r.rflags, kFixed | kIF);
}

TEST(X86Emulate, NarrowLoadsMerge) {
  Emu r;
  r.regs[rax] = 0x1111'1111'1111'1111ull;
  r.dev.cell = 0xab;
  r.exec("8a 07");  // mov (%rdi),%al
  EXPECT_EQ(r.regs[rax], 0x1111'1111'1111'11abull);
  r.exec("8a 27");  // mov (%rdi),%ah
  EXPECT_EQ(r.regs[rax], 0x1111'1111'1111'ababull);
  r.dev.cell = 0xbeef;
  r.exec("66 8b 07");  // mov (%rdi),%ax
  EXPECT_EQ(r.regs[rax], 0x1111'1111'1111'beefull);
  r.regs[rsi] = 0x2222'2222'2222'2222ull;
  r.dev.cell = 0x5a;
  r.exec("40 8a 37");  // mov (%rdi),%sil
  EXPECT_EQ(r.regs[rsi], 0x2222'2222'2222'225aull);
  r.regs[r8] = ~0ull;
  r.exec("44 8b 07");  // mov (%rdi),%r8d
  EXPECT_EQ(r.regs[r8], 0x5au);
}

TEST(X86Emulate, Readq) {
  Emu r;
  r.dev.cell = 0x0123'4567'89ab'cdefull;
  r.exec("48 8b 07");
  EXPECT_EQ(r.regs[rax], 0x0123'4567'89ab'cdefull);
  EXPECT_EQ(r.dev.log[0].size, 8u);
}

TEST(X86Emulate, Stores) {
  Emu r;
  r.regs[rsi] = 0xaaaa'aaaa'1234'5678ull;
  r.exec("89 b7 b0 00 00 00");  // writel
  EXPECT_EQ(r.dev.log.back(), (Device::Access{true, 4, 0x12345678}));
  r.exec("66 89 37");  // writew
  EXPECT_EQ(r.dev.log.back(), (Device::Access{true, 2, 0x5678}));
  r.exec("40 88 37");  // writeb %sil
  EXPECT_EQ(r.dev.log.back(), (Device::Access{true, 1, 0x78}));
  r.exec("48 89 37");  // writeq
  EXPECT_EQ(r.dev.log.back(), (Device::Access{true, 8, 0xaaaa'aaaa'1234'5678ull}));
  r.regs[rbx] = 0x1234;
  r.exec("88 3e");  // mov %bh,(%rsi)
  EXPECT_EQ(r.dev.log.back(), (Device::Access{true, 1, 0x12}));
  r.regs[r15] = 0xffff'ffff'cafe'f00dull;
  r.exec("45 89 3c 24");  // mov %r15d,(%r12)
  EXPECT_EQ(r.dev.log.back(), (Device::Access{true, 4, 0xcafef00d}));
  r.regs[rax] = 0x77;
  r.exec("87 04 25 b0 c0 5f ff");  // xchg %eax, APIC (X86_BUG_11AP write)
  EXPECT_EQ(r.dev.log.size(), 8u);  // 6 stores, then R + W
  for (const auto& a : r.dev.log) EXPECT_FALSE(!a.write && &a != &r.dev.log[6]);
  // No load except the xchg's; stores never read.
  EXPECT_EQ(r.dev.log[6].write, false);
  EXPECT_EQ(r.dev.log[7], (Device::Access{true, 4, 0x77}));
  EXPECT_EQ(r.regs[rsi], 0xaaaa'aaaa'1234'5678ull);  // stores leave registers alone
}

TEST(X86Emulate, StoreImmediates) {
  Emu r;
  r.exec("c7 04 25 b0 00 e0 fe 00 00 00 00");
  EXPECT_EQ(r.dev.log.back(), (Device::Access{true, 4, 0}));
  r.exec("c7 05 10 00 00 00 78 56 34 12");
  EXPECT_EQ(r.dev.log.back(), (Device::Access{true, 4, 0x12345678}));
  r.exec("c6 07 5a");
  EXPECT_EQ(r.dev.log.back(), (Device::Access{true, 1, 0x5a}));
  r.exec("66 c7 07 34 12");
  EXPECT_EQ(r.dev.log.back(), (Device::Access{true, 2, 0x1234}));
  r.exec("48 c7 07 00 00 00 80");
  EXPECT_EQ(r.dev.log.back(), (Device::Access{true, 8, 0xffff'ffff'8000'0000ull}));
  r.exec("c7 05 b0 00 e0 fe 0b 00 00 00", Mode::prot32);  // movl $0xb,0xfee000b0
  EXPECT_EQ(r.dev.log.back(), (Device::Access{true, 4, 0xb}));
  r.exec("c7 06 b0 00 00 00", Mode::real16);
  EXPECT_EQ(r.dev.log.back(), (Device::Access{true, 2, 0}));
  for (const auto& a : r.dev.log) EXPECT_TRUE(a.write);
}

TEST(X86Emulate, Moffs) {
  Emu r;
  r.dev.cell = 0x00050014;  // APIC version register
  r.exec("a1 30 00 e0 fe", Mode::prot32);
  EXPECT_EQ(r.regs[rax], 0x00050014u);
  r.regs[rax] = 0xffff'ffff'0000'0000ull | 0x99;
  r.exec("a3 b0 00 e0 fe 00 00 00 00");
  EXPECT_EQ(r.dev.log.back(), (Device::Access{true, 4, 0x99}));
  r.dev.cell = 0x42;
  r.exec("a0 30 00 e0 fe 00 00 00 00");
  EXPECT_EQ(r.regs[rax] & 0xff, 0x42u);
  r.exec("66 a1 30 00", Mode::real16);
  EXPECT_EQ(r.regs[rax], 0x42u);  // 32-bit load in real mode
}

TEST(X86Emulate, ZeroAndSignExtension) {
  Emu r;
  r.regs[rax] = ~0ull;
  r.dev.cell = 0x80;
  r.exec("0f b6 07");  // movzbl
  EXPECT_EQ(r.regs[rax], 0x80u);
  r.exec("0f be 07");  // movsbl
  EXPECT_EQ(r.regs[rax], 0xffffff80u);
  r.dev.cell = 0x8000;
  r.exec("48 0f bf 07");  // movswq
  EXPECT_EQ(r.regs[rax], 0xffff'ffff'ffff'8000ull);
  r.exec("0f b7 07");  // movzwl
  EXPECT_EQ(r.regs[rax], 0x8000u);
  r.regs[rax] = 0x1111'1111'1111'1111ull;
  r.dev.cell = 0xff;
  r.exec("66 0f be 07");  // movsbw
  EXPECT_EQ(r.regs[rax], 0x1111'1111'1111'ffffull);
  r.exec("66 0f b6 07");  // movzbw
  EXPECT_EQ(r.regs[rax], 0x1111'1111'1111'00ffull);
  r.dev.cell = 0x8000'0000;
  r.exec("48 63 07");  // movslq
  EXPECT_EQ(r.regs[rax], 0xffff'ffff'8000'0000ull);
  r.exec("63 07");  // movsxd without REX.W: a 32-bit move
  EXPECT_EQ(r.regs[rax], 0x8000'0000ull);
  r.regs[rcx] = 0x3333'3333'3333'3333ull;
  r.dev.cell = 0x81;
  r.exec("0f be 0f", Mode::real16);  // movsbw (%bx),%cx
  EXPECT_EQ(r.regs[rcx], 0x3333'3333'3333'ff81ull);
  EXPECT_EQ(r.dev.log.back().size, 1u);
}

// ---- ALU forms: results, writes and flags.

TEST(X86Emulate, OrAndOnMemory) {
  Emu r;
  r.dev.cell = 0x100;
  r.exec("83 0f 10");  // orl $0x10,(%rdi)
  EXPECT_EQ(r.dev.cell, 0x110u);
  EXPECT_EQ(r.dev.log.size(), 2u);
  EXPECT_EQ(r.dev.log[0], (Device::Access{false, 4, 0x100}));
  EXPECT_EQ(r.dev.log[1], (Device::Access{true, 4, 0x110}));
  EXPECT_EQ(arith(r.rflags), 0u);  // 0x10: one bit in the low byte -> PF clear
  r.exec("81 27 ff fe ff ff");  // andl $0xfffffeff,(%rdi)
  EXPECT_EQ(r.dev.cell, 0x10u);
  r.exec("81 27 ef ff ff ff");  // andl $~0x10
  EXPECT_EQ(r.dev.cell, 0u);
  EXPECT_EQ(arith(r.rflags), flag::ZF | flag::PF);
  EXPECT_EQ(r.rflags & (kIF | kFixed), kIF | kFixed);
  r.dev.cell = 0x7f;
  r.exec("80 0f 80");  // orb $0x80
  EXPECT_EQ(r.dev.cell, 0xffu);
  EXPECT_EQ(arith(r.rflags), flag::SF | flag::PF);
  r.rflags |= flag::CF | flag::OF | flag::AF;
  r.exec("f0 48 83 27 f0");  // lock andq $-16
  EXPECT_EQ(r.dev.cell, 0xf0u);
  EXPECT_EQ(arith(r.rflags), flag::PF);  // logic ops clear CF, OF (and AF)
}

TEST(X86Emulate, AddSubFlags) {
  Emu r;
  r.regs[rax] = 1;
  r.dev.cell = 0xffffffff;
  r.exec("01 07");  // add %eax,(%rdi)
  EXPECT_EQ(r.dev.cell, 0u);
  EXPECT_EQ(arith(r.rflags), flag::CF | flag::ZF | flag::PF | flag::AF);

  r.regs[rax] = 0xffff'ffff'7fff'ffffull;
  r.dev.cell = 1;
  r.exec("03 07");  // add (%rdi),%eax
  EXPECT_EQ(r.regs[rax], 0x8000'0000ull);  // zero-extended
  EXPECT_EQ(arith(r.rflags), flag::OF | flag::SF | flag::AF | flag::PF);
  EXPECT_EQ(r.dev.log.size(), 3u);  // R W R: no write for a register destination

  r.regs[rax] = 0x1111'1111'1111'1111ull;
  r.dev.cell = 0x7f;
  r.exec("02 27");  // add (%rdi),%ah
  EXPECT_EQ(r.regs[rax], 0x1111'1111'1111'9011ull);
  EXPECT_EQ(arith(r.rflags), flag::OF | flag::SF | flag::AF | flag::PF);

  r.dev.cell = 0x1234;
  r.exec("66 83 2f 01");  // subw $1
  EXPECT_EQ(r.dev.cell, 0x1233u);
  EXPECT_EQ(arith(r.rflags), flag::PF);  // 0x33: four bits
  r.dev.cell = 0;
  r.exec("66 83 2f 01");  // 0 - 1
  EXPECT_EQ(r.dev.cell, 0xffffu);
  EXPECT_EQ(arith(r.rflags), flag::CF | flag::SF | flag::AF | flag::PF);
  r.dev.cell = 0x8000'0000'0000'0000ull;
  r.exec("48 83 2f 01");  // subq $1: signed overflow
  EXPECT_EQ(r.dev.cell, 0x7fff'ffff'ffff'ffffull);
  EXPECT_EQ(arith(r.rflags), flag::OF | flag::AF | flag::PF);
}

TEST(X86Emulate, AdcSbbUseCarry) {
  Emu r;
  r.regs[rax] = 0xffffffff;
  r.dev.cell = 0;
  r.rflags |= flag::CF;
  r.exec("13 07");  // adc (%rdi),%eax: 0xffffffff + 0 + 1
  EXPECT_EQ(r.regs[rax], 0u);
  EXPECT_EQ(arith(r.rflags), flag::CF | flag::ZF | flag::PF | flag::AF);
  r.exec("13 07");  // again with CF = 1: 0 + 0 + 1
  EXPECT_EQ(r.regs[rax], 1u);
  EXPECT_EQ(arith(r.rflags), 0u);
  r.exec("13 07");  // CF = 0: 1 + 0
  EXPECT_EQ(r.regs[rax], 1u);

  r.regs[rax] = 0;
  r.rflags |= flag::CF;
  r.exec("1b 07");  // sbb (%rdi),%eax: 0 - 0 - 1
  EXPECT_EQ(r.regs[rax], 0xffffffffu);
  EXPECT_EQ(arith(r.rflags), flag::CF | flag::SF | flag::AF | flag::PF);
  r.dev.cell = 0xffffffff;
  r.regs[rax] = 0xffffffff;
  r.exec("19 07");  // sbb %eax,(%rdi) with CF = 1: 0xffffffff - 0xffffffff - 1
  EXPECT_EQ(r.dev.cell, 0xffffffffu);
  EXPECT_EQ(arith(r.rflags), flag::CF | flag::SF | flag::AF | flag::PF);
  r.dev.cell = 5;
  r.rflags &= ~flag::CF;
  r.exec("83 1f 05");  // sbbl $5 with CF = 0
  EXPECT_EQ(r.dev.cell, 0u);
  EXPECT_EQ(arith(r.rflags), flag::ZF | flag::PF);
  r.rflags |= flag::CF;
  r.dev.cell = 0xff;
  r.exec("80 17 00");  // adcb $0 with CF = 1: 0xff + 1
  EXPECT_EQ(r.dev.cell, 0u);
  EXPECT_EQ(arith(r.rflags), flag::CF | flag::ZF | flag::PF | flag::AF);
}

TEST(X86Emulate, CmpAndTestOnlySetFlags) {
  Emu r;
  r.regs[rax] = 2;
  r.dev.cell = 1;
  r.exec("39 07");  // cmp %eax,(%rdi): 1 - 2
  EXPECT_EQ(arith(r.rflags), flag::CF | flag::SF | flag::AF | flag::PF);
  r.regs[rax] = 5;
  r.dev.cell = 5;
  r.exec("3b 07");  // cmp (%rdi),%eax
  EXPECT_EQ(arith(r.rflags), flag::ZF | flag::PF);
  EXPECT_EQ(r.regs[rax], 5u);
  r.dev.cell = 0x80;
  r.exec("80 3f 00");  // cmpb $0
  EXPECT_EQ(arith(r.rflags), flag::SF);
  r.dev.cell = 0x7fffffff;
  r.exec("81 3f 00 00 00 80");  // cmpl $0x80000000: 0x7fffffff - 0x80000000 overflows
  EXPECT_EQ(arith(r.rflags), flag::CF | flag::OF | flag::SF | flag::PF);
  r.dev.cell = 3;
  r.exec("f6 07 01");  // testb $1
  EXPECT_EQ(arith(r.rflags), 0u);
  r.dev.cell = 2;
  r.rflags |= flag::CF | flag::OF;
  r.exec("f6 07 01");
  EXPECT_EQ(arith(r.rflags), flag::ZF | flag::PF);
  r.dev.cell = 0x8000'0000;
  r.exec("f7 07 00 00 00 80");  // testl $0x80000000
  EXPECT_EQ(arith(r.rflags), flag::SF | flag::PF);
  r.regs[rax] = 0x100;
  r.dev.cell = 0x300;
  r.exec("85 07");
  EXPECT_EQ(arith(r.rflags), flag::PF);  // result 0x100: low byte 0 -> PF
  for (const auto& a : r.dev.log) EXPECT_FALSE(a.write);
  EXPECT_EQ(r.dev.cell, 0x300u);
}

TEST(X86Emulate, Xchg) {
  Emu r;
  r.regs[rax] = 0xffff'ffff'0000'0011ull;
  r.dev.cell = 0x22;
  r.exec("87 07");
  EXPECT_EQ(r.regs[rax], 0x22u);
  EXPECT_EQ(r.dev.cell, 0x11u);
  ASSERT_EQ(r.dev.log.size(), 2u);
  EXPECT_FALSE(r.dev.log[0].write);  // read first, then write
  EXPECT_TRUE(r.dev.log[1].write);
  r.regs[rax] = 0xabcd;
  r.dev.cell = 0x99;
  r.exec("86 27");  // xchg %ah,(%rdi)
  EXPECT_EQ(r.regs[rax], 0x99cdu);
  EXPECT_EQ(r.dev.cell, 0xabu);
  r.regs[rax] = 0x1111'2222'3333'4444ull;
  r.exec("48 87 07");
  EXPECT_EQ(r.regs[rax], 0xabu);
  EXPECT_EQ(r.dev.cell, 0x1111'2222'3333'4444ull);
  EXPECT_EQ(r.rflags, kFixed | kIF);
}

TEST(X86Emulate, BitTests) {
  Emu r;
  r.dev.cell = 0x20;
  r.exec("0f ba 27 05");  // btl $5
  EXPECT_EQ(r.rflags & flag::CF, flag::CF);
  EXPECT_EQ(r.dev.log.size(), 1u);
  r.dev.cell = 0xff;
  r.exec("0f ba 37 03");  // btrl $3
  EXPECT_EQ(r.dev.cell, 0xf7u);
  EXPECT_EQ(r.rflags & flag::CF, flag::CF);
  r.regs[rax] = 35;  // 35 mod 32 = 3
  r.dev.cell = 0;
  r.exec("0f ab 07");  // bts %eax
  EXPECT_EQ(r.dev.cell, 8u);
  EXPECT_EQ(r.rflags & flag::CF, 0u);
  r.exec("48 0f ba 3f 3f");  // btcq $63
  EXPECT_EQ(r.dev.cell, 0x8000'0000'0000'0008ull);
  r.exec("0f ba 27 23");  // btl $35 -> bit 3
  EXPECT_EQ(r.rflags & flag::CF, flag::CF);
  r.rflags |= flag::ZF;
  r.exec("0f a3 07");  // bt %eax,(%rdi): bit 3
  EXPECT_EQ(r.rflags & (flag::CF | flag::ZF), flag::CF | flag::ZF);  // ZF unaffected
}

TEST(X86Emulate, RealModeAlu) {
  Emu r;
  r.regs[rax] = 0x0f00;
  r.dev.cell = 0xff;
  r.exec("20 27", Mode::real16);  // and %ah,(%bx)
  EXPECT_EQ(r.dev.cell, 0x0fu);
  r.dev.cell = 0x7fff;
  r.exec("83 07 01", Mode::real16);  // addw $1,(%bx)
  EXPECT_EQ(r.dev.cell, 0x8000u);
  EXPECT_EQ(arith(r.rflags), flag::OF | flag::SF | flag::AF | flag::PF);
  r.dev.cell = 0x1;
  r.exec("66 81 0f 00 01 00 00", Mode::real16);  // orl $0x100,(%bx)
  EXPECT_EQ(r.dev.cell, 0x101u);
  EXPECT_EQ(r.dev.log.back().size, 4u);
}

// ---- What emulate() refuses, without touching anything.

TEST(X86Emulate, Refusals) {
  uint64_t regs[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  uint64_t rflags = kFixed;
  Device dev;
  auto check = [&](const char* bytes, Status want) {
    Instruction insn;
    const std::vector<uint8_t> b = hex(bytes);
    ASSERT_EQ(decode(b.data(), b.size(), Mode::long64, insn), Status::ok) << bytes;
    const EmulateResult res = emulate(insn, regs, rflags, dev.ops());
    EXPECT_EQ(res.status, want) << bytes;
    EXPECT_EQ(res.rip_delta, 0);
    EXPECT_FALSE(res.ok());
  };
  check("f3 a5", Status::string_op);
  check("f3 48 ab", Status::string_op);
  check("aa", Status::string_op);
  check("a4", Status::string_op);
  check("ad", Status::string_op);
  check("6c", Status::string_op);    // insb
  check("f3 6f", Status::string_op); // rep outsl
  check("89 c1", Status::no_memory_operand);
  check("05 01 00 00 00", Status::no_memory_operand);
  EXPECT_TRUE(dev.log.empty());
  for (int k = 0; k < 16; ++k) EXPECT_EQ(regs[k], static_cast<uint64_t>(k + 1));
  EXPECT_EQ(rflags, kFixed);

  // Missing callbacks for the accesses the instruction makes.
  Instruction insn;
  const std::vector<uint8_t> st = hex("89 07"), ld = hex("8b 07"), rmw = hex("09 07");
  MmioOps read_only = dev.ops();
  read_only.write = nullptr;
  MmioOps write_only = dev.ops();
  write_only.read = nullptr;
  ASSERT_EQ(decode(st.data(), st.size(), Mode::long64, insn), Status::ok);
  EXPECT_EQ(emulate(insn, regs, rflags, read_only).status, Status::bad_argument);
  EXPECT_EQ(emulate(insn, regs, rflags, write_only).status, Status::ok);  // a store needs no read
  ASSERT_EQ(decode(ld.data(), ld.size(), Mode::long64, insn), Status::ok);
  EXPECT_EQ(emulate(insn, regs, rflags, write_only).status, Status::bad_argument);
  ASSERT_EQ(decode(rmw.data(), rmw.size(), Mode::long64, insn), Status::ok);
  EXPECT_EQ(emulate(insn, regs, rflags, read_only).status, Status::bad_argument);
  EXPECT_EQ(emulate(insn, nullptr, rflags, dev.ops()).status, Status::bad_argument);
  EXPECT_EQ(dev.log.size(), 1u);  // only the store above
  // An Instruction that decode() did not produce.
  Instruction blank;
  EXPECT_EQ(emulate(blank, regs, rflags, dev.ops()).status, Status::bad_argument);
  Instruction forged = insn;
  forged.op_size = 3;
  EXPECT_EQ(emulate(forged, regs, rflags, dev.ops()).status, Status::bad_argument);
  forged = insn;
  forged.op = static_cast<Op>(99);
  EXPECT_EQ(emulate(forged, regs, rflags, dev.ops()).status, Status::bad_argument);
  EXPECT_EQ(dev.log.size(), 1u);
}

TEST(X86Emulate, CallableOverload) {
  uint64_t regs[16] = {};
  uint64_t rflags = kFixed;
  uint64_t cell = 0x40;
  std::string trace;
  auto rd = [&](unsigned size) {
    trace += "R" + std::to_string(size);
    return cell;
  };
  auto wr = [&](unsigned size, uint64_t v) {
    trace += "W" + std::to_string(size);
    cell = v;
  };
  const std::vector<uint8_t> b = hex("f0 83 0f 01");
  Instruction insn;
  ASSERT_EQ(decode(b.data(), b.size(), Mode::long64, insn), Status::ok);
  const EmulateResult res = emulate(insn, regs, rflags, rd, wr);
  EXPECT_TRUE(res.ok());
  EXPECT_EQ(res.rip_delta, 4);
  EXPECT_EQ(cell, 0x41u);
  EXPECT_EQ(trace, "R4W4");
}

// ---- alu() against precomputed values for every operation and size.

TEST(X86Alu, KnownValues) {
  struct K {
    Op op;
    unsigned size;
    uint64_t a, b, cf_in, result, flags;
  };
  constexpr uint64_t C = flag::CF, P = flag::PF, A = flag::AF, Z = flag::ZF, S = flag::SF, O = flag::OF;
  const K ks[] = {
      {Op::add, 1, 0x7f, 0x01, 0, 0x80, O | S | A},
      {Op::add, 1, 0xff, 0x01, 0, 0x00, C | Z | P | A},
      {Op::add, 1, 0x80, 0x80, 0, 0x00, C | Z | P | O},
      {Op::add, 2, 0x7fff, 0x0001, 0, 0x8000, O | S | A | P},
      {Op::add, 4, 0x0000000f, 0x00000001, 0, 0x10, A},
      {Op::add, 8, 0x7fffffffffffffff, 1, 0, 0x8000000000000000, O | S | A | P},
      {Op::add, 8, ~0ull, ~0ull, 0, ~0ull - 1, C | S | A},
      {Op::adc, 1, 0xff, 0x00, 1, 0x00, C | Z | P | A},
      {Op::adc, 4, 0x7fffffff, 0x00000000, 1, 0x80000000, O | S | A | P},
      {Op::adc, 8, ~0ull, ~0ull, 1, ~0ull, C | S | A | P},
      {Op::sub, 1, 0x00, 0x01, 0, 0xff, C | S | A | P},
      {Op::sub, 1, 0x80, 0x01, 0, 0x7f, O | A},
      {Op::sub, 2, 0x1000, 0x0001, 0, 0x0fff, A | P},
      {Op::sub, 4, 5, 5, 0, 0, Z | P},
      {Op::sub, 8, 0, 0x8000000000000000, 0, 0x8000000000000000, C | O | S | P},
      {Op::sbb, 1, 0x00, 0x00, 1, 0xff, C | S | A | P},
      {Op::sbb, 4, 0x80000000, 0x00000000, 1, 0x7fffffff, O | A | P},
      {Op::sbb, 8, 5, 4, 1, 0, Z | P},
      {Op::sbb, 2, 0xffff, 0xffff, 1, 0xffff, C | S | A | P},
      {Op::cmp, 4, 1, 2, 0, 0xffffffff, C | S | A | P},
      {Op::cmp, 1, 0x41, 0x41, 1, 0, Z | P},  // CMP ignores CF
      {Op::and_, 4, 0xf0f0, 0x0ff0, 0, 0x00f0, P},
      {Op::and_, 1, 0x80, 0x80, 0, 0x80, S},
      {Op::or_, 2, 0x8000, 0x0001, 0, 0x8001, S},
      {Op::or_, 8, 0, 0, 0, 0, Z | P},
      {Op::xor_, 4, 0xffffffff, 0xffffffff, 0, 0, Z | P},
      {Op::xor_, 1, 0x03, 0x01, 0, 0x02, 0},
      {Op::test, 8, 0x8000000000000000, ~0ull, 0, 0x8000000000000000, S | P},
  };
  for (const K& k : ks) {
    for (uint64_t other : {uint64_t{0}, flag::kArith}) {  // prior flag values do not leak (except CF into ADC/SBB)
      uint64_t rflags = kFixed | kIF | (other & ~flag::CF) | (k.cf_in ? flag::CF : 0);
      const uint64_t r = alu(k.op, k.size, k.a, k.b, rflags);
      EXPECT_EQ(r, k.result) << cos::x86dec::op_name(k.op) << k.size << " " << k.a << "," << k.b;
      EXPECT_EQ(arith(rflags), k.flags) << cos::x86dec::op_name(k.op) << k.size << " " << k.a << "," << k.b;
      EXPECT_EQ(rflags & ~flag::kArith, kFixed | kIF);
    }
  }
  // Non-ALU operations are not alu()'s business.
  uint64_t rflags = kFixed;
  EXPECT_EQ(alu(Op::mov, 4, 7, 9, rflags), 7u);
  EXPECT_EQ(rflags, kFixed);
}

#ifdef X86DEC_NATIVE
// ---- The host CPU as the reference (x86-64 Linux hosts).
//
// x86dec_test_run_native(state, code): loads rax..r15 (except rsp) and rflags
// from state[0..15] / state[16], calls code, stores them back.
extern "C" void x86dec_test_run_native(uint64_t* state, const void* code);
asm(R"(
  .text
  .globl x86dec_test_run_native
  .type x86dec_test_run_native, @function
x86dec_test_run_native:
  push %rbx
  push %rbp
  push %r12
  push %r13
  push %r14
  push %r15
  push %rsi
  push %rdi
  pushq 128(%rdi)
  popfq
  mov 0(%rdi), %rax
  mov 8(%rdi), %rcx
  mov 16(%rdi), %rdx
  mov 24(%rdi), %rbx
  mov 40(%rdi), %rbp
  mov 48(%rdi), %rsi
  mov 64(%rdi), %r8
  mov 72(%rdi), %r9
  mov 80(%rdi), %r10
  mov 88(%rdi), %r11
  mov 96(%rdi), %r12
  mov 104(%rdi), %r13
  mov 112(%rdi), %r14
  mov 120(%rdi), %r15
  mov 56(%rdi), %rdi
  call *8(%rsp)
  pushfq
  push %rdi
  mov 16(%rsp), %rdi
  mov %rax, 0(%rdi)
  mov %rcx, 8(%rdi)
  mov %rdx, 16(%rdi)
  mov %rbx, 24(%rdi)
  mov %rbp, 40(%rdi)
  mov %rsi, 48(%rdi)
  mov %r8, 64(%rdi)
  mov %r9, 72(%rdi)
  mov %r10, 80(%rdi)
  mov %r11, 88(%rdi)
  mov %r12, 96(%rdi)
  mov %r13, 104(%rdi)
  mov %r14, 112(%rdi)
  mov %r15, 120(%rdi)
  pop %rax
  mov %rax, 56(%rdi)
  pop %rax
  mov %rax, 128(%rdi)
  add $16, %rsp
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbp
  pop %rbx
  ret
  .size x86dec_test_run_native, .-x86dec_test_run_native
)");

class X86Native : public ::testing::Test {
 protected:
  void SetUp() override {
    page_ = mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page_ == MAP_FAILED) GTEST_SKIP() << "no executable memory on this host";
  }
  void TearDown() override {
    if (page_ != MAP_FAILED) munmap(page_, 4096);
  }
  // Runs bytes + RET natively with state (16 regs + rflags).
  void run(const std::vector<uint8_t>& bytes, uint64_t* state) {
    auto* p = static_cast<uint8_t*>(page_);
    std::memcpy(p, bytes.data(), bytes.size());
    p[bytes.size()] = 0xc3;
    __builtin___clear_cache(reinterpret_cast<char*>(p), reinterpret_cast<char*>(p + bytes.size() + 1));
    x86dec_test_run_native(state, p);
  }
  uint64_t next() {
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return rng_ * 0x2545F4914F6CDD1Dull;
  }
  // Random 64-bit values biased toward edge cases.
  uint64_t value() {
    static constexpr uint64_t kEdges[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
                                          0xffffffff, 0x7fffffffffffffff, 0x8000000000000000, ~0ull, 0x0f, 0x10};
    const uint64_t r = next();
    switch (r & 3) {
      case 0: return kEdges[(r >> 8) % (sizeof(kEdges) / sizeof(kEdges[0]))];
      case 1: return kEdges[(r >> 8) % (sizeof(kEdges) / sizeof(kEdges[0]))] ^ ((r >> 40) & 0x1f);
      default: return next();
    }
  }

  void* page_ = MAP_FAILED;
  uint64_t rng_ = 0x1234'5678'9abc'def1ull;
};

// Arithmetic flags the SDM leaves undefined for an operation.
uint64_t undefined_flags(Op op) {
  switch (op) {
    case Op::and_: case Op::or_: case Op::xor_: case Op::test: return flag::AF;
    case Op::bt: case Op::bts: case Op::btr: case Op::btc: return flag::kArith & ~flag::CF & ~flag::ZF;
    default: return 0;
  }
}

TEST_F(X86Native, AluMatchesCpu) {
  // op r/m, reg with ModRM c8: r/m = rax (destination), reg = rcx.
  struct O {
    Op op;
    uint8_t opc;  // the 8-bit form; +1 for 16/32/64
  };
  const O ops[] = {{Op::add, 0x00}, {Op::or_, 0x08}, {Op::adc, 0x10}, {Op::sbb, 0x18}, {Op::and_, 0x20},
                   {Op::sub, 0x28}, {Op::xor_, 0x30}, {Op::cmp, 0x38}, {Op::test, 0x84}};
  for (const O& o : ops) {
    for (unsigned size : {1u, 2u, 4u, 8u}) {
      std::vector<uint8_t> code;
      if (size == 2) code.push_back(0x66);
      if (size == 8) code.push_back(0x48);
      code.push_back(static_cast<uint8_t>(size == 1 ? o.opc : o.opc + 1));
      code.push_back(0xc8);
      for (int iter = 0; iter < 3000; ++iter) {
        uint64_t state[17] = {};
        const uint64_t a = value(), b = value();
        const uint64_t fin = kFixed | (next() & flag::kArith);
        state[rax] = a;
        state[rcx] = b;
        state[16] = fin;
        run(code, state);
        uint64_t rflags = fin;
        const uint64_t r = alu(o.op, size, a, b, rflags);
        const uint64_t care = flag::kArith & ~undefined_flags(o.op);
        if (o.op != Op::cmp && o.op != Op::test) {
          ASSERT_EQ(r, state[rax] & mask(size)) << cos::x86dec::op_name(o.op) << size << " " << a << " " << b;
        }
        ASSERT_EQ(rflags & care, state[16] & care)
            << cos::x86dec::op_name(o.op) << size << " a=" << std::hex << a << " b=" << b << " fin=" << fin;
      }
    }
  }
}

// Decoded-and-emulated instructions against the same bytes run natively on a
// memory cell: registers, memory and defined flags must agree.
TEST_F(X86Native, EmulateMatchesCpu) {
  const char* kInsns[] = {
      // Linux accessors and friends.
      "8b 87 00 03 00 00", "89 b7 b0 00 00 00", "8a 07", "40 88 37", "88 07", "66 8b 07", "66 89 37", "48 8b 07",
      "48 89 37", "8a 27", "88 3e", "40 8a 37", "44 8b 07", "45 89 3c 24", "41 8b 45 00", "42 8b 04 27",
      "45 8a 0c 24", "66 45 89 55 00", "8b 4d f8", "8b 94 88 78 56 34 12", "67 8b 47 fc",
      // Immediates.
      "c6 07 5a", "66 c7 07 34 12", "c7 07 00 00 00 80", "48 c7 07 ff ff ff ff", "48 c7 07 ff ff ff 7f",
      // Extensions.
      "0f b6 07", "0f b7 07", "48 0f b6 07", "66 0f b6 07", "0f be 07", "0f bf 07", "48 0f bf 07", "44 0f b7 07",
      "48 63 07", "63 07", "66 0f be 2f", "0f b6 3f",
      // ALU with every row and direction, all sizes.
      "00 07", "01 07", "02 07", "03 07", "08 07", "09 07", "0a 27", "0b 07", "10 07", "11 07", "12 07", "13 07",
      "18 07", "19 07", "1a 07", "1b 07", "20 07", "21 07", "22 07", "23 07", "28 07", "29 07", "2a 07", "2b 07",
      "30 07", "31 07", "32 07", "33 07", "38 07", "39 07", "3a 07", "3b 07", "66 01 07", "66 2b 07", "48 01 07",
      "48 19 07", "48 3b 07", "4c 21 07", "49 31 04 24", "20 27", "28 3e",
      "80 07 81", "80 0f 01", "80 17 7f", "80 1f 80", "80 27 fe", "80 2f 01", "80 37 ff", "80 3f 00",
      "81 07 78 56 34 12", "81 27 ff fe ff ff", "81 3f 00 00 00 80", "66 81 07 34 12", "66 81 37 00 80",
      "48 81 0f 00 00 00 80", "48 81 2f ff ff ff 7f", "83 07 ff", "83 0f 10", "83 17 01", "83 1f 01", "83 27 f0",
      "83 2f 80", "83 37 7f", "83 3f 00", "66 83 2f fe", "48 83 27 f0", "48 83 3f ff",
      "f0 01 07", "f0 83 0f 01", "f0 80 27 fe", "f0 48 31 07", "66 f0 29 07",
      // TEST, XCHG, BT.
      "84 07", "85 07", "66 85 07", "48 85 07", "84 27", "f6 07 01", "f6 07 80", "f7 07 00 10 00 00",
      "66 f7 07 34 12", "48 f7 07 ff ff ff ff", "86 07", "87 07", "48 87 07", "86 27", "66 87 37",
      "0f ba 27 05", "0f ba 2f 1f", "0f ba 37 03", "0f ba 3f 00", "48 0f ba 3f 3f", "66 0f ba 27 0f",
      "0f a3 0f", "0f ab 0f", "48 0f b3 0f", "0f bb 0f", "66 0f a3 0f",
      // INC, DEC, NOT, NEG, CMPXCHG, XADD.
      "ff 07", "fe 07", "66 ff 0f", "48 ff 07", "f0 ff 07", "fe 0f", "f0 48 ff 0f", "f6 17", "f7 17",
      "48 f7 17", "f6 1f", "f7 1f", "66 f7 1f", "48 f7 1f", "f0 f7 1f", "0f b0 0f", "0f b1 0f", "66 0f b1 0f",
      "48 0f b1 0f", "f0 0f b1 0f", "0f b0 27", "0f c0 0f", "0f c1 0f", "66 0f c1 0f", "48 0f c1 0f",
      "f0 0f c1 0f",
  };
  uint64_t cell[2] = {};
  const uint64_t cell_addr = reinterpret_cast<uint64_t>(&cell[0]);
  for (const char* text : kInsns) {
    const std::vector<uint8_t> bytes = hex(text);
    Instruction insn;
    ASSERT_EQ(decode(bytes.data(), bytes.size(), Mode::long64, insn), Status::ok) << text;
    ASSERT_TRUE(insn.has_mem && insn.mem.base >= 0 && insn.mem.base != 4 && !insn.mem.rip_relative) << text;
    ASSERT_FALSE(insn.has_reg && insn.reg.index == 4 && !insn.reg.high8) << text;  // never rsp
    for (int iter = 0; iter < 300; ++iter) {
      uint64_t regs[16];
      for (uint64_t& v : regs) v = value();
      regs[4] = 0;
      if (insn.mem.index >= 0) regs[insn.mem.index] = 0;
      if (insn.has_reg && (insn.op == Op::bt || insn.op == Op::bts || insn.op == Op::btr || insn.op == Op::btc)) {
        // Keep a register bit offset inside the addressed word, as the MMIO
        // exit would report the word holding the bit anyway.
        regs[insn.reg.index] &= insn.op_size * 8 - 1;
      }
      regs[insn.mem.base] = cell_addr - static_cast<uint64_t>(insn.mem.disp);
      if (insn.addr_size == 4) {
        // 67-prefixed: the cell must be below 4 GiB; skip otherwise.
        if (cell_addr + 0x1000 > 0xffffffffull) break;
      }
      const uint64_t mem0 = value();
      const uint64_t fin = kFixed | (next() & flag::kArith);

      uint64_t state[17];
      std::memcpy(state, regs, sizeof(regs));
      state[16] = fin;
      cell[0] = mem0;
      run(bytes, state);
      const uint64_t native_mem = cell[0];

      Device dev;
      dev.cell = mem0;
      uint64_t rflags = fin;
      const EmulateResult res = emulate(insn, regs, rflags, dev.ops());
      ASSERT_EQ(res.status, Status::ok) << text;
      ASSERT_EQ(res.rip_delta, bytes.size());
      for (int k = 0; k < 16; ++k) {
        if (k == 4) continue;
        ASSERT_EQ(regs[k], state[k]) << text << " register " << k << " iter " << iter;
      }
      ASSERT_EQ(dev.cell, native_mem) << text << " iter " << iter;
      const uint64_t care = flag::kArith & ~undefined_flags(insn.op);
      ASSERT_EQ(rflags & care, state[16] & care) << text << " iter " << iter;
      // Reads and writes happen exactly as decoded.
      bool read = false, wrote = false;
      for (const auto& a : dev.log) {
        (a.write ? wrote : read) = true;
        EXPECT_EQ(a.size, insn.mem_size) << text << " " << a;
      }
      EXPECT_EQ(read, insn.reads_mem) << text;
      EXPECT_EQ(wrote, insn.writes_mem) << text;
    }
  }
}
#endif  // X86DEC_NATIVE

}  // namespace
