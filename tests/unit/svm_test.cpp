// The AMD SVM backend's pure parts (src/platform/x86_64/svm): exit
// normalisation, instruction-length rules, NPT entries and walks, and the
// guest-state checks that stand in for VMRUN's consistency checks.
#include <gtest/gtest.h>

#include "x86_64/svm/decode.hpp"
#include "x86_64/svm/guest_state.hpp"
#include "x86_64/svm/npt.hpp"

#include <array>
#include <map>

namespace {

using cos::svm::ExitCode;
using cos::svm::RawExit;
using cos::vm::ExitReason;

RawExit raw(ExitCode code, uint64_t info1 = 0, uint64_t info2 = 0) {
  RawExit r{};
  r.exitcode = static_cast<uint64_t>(code);
  r.exitinfo1 = info1;
  r.exitinfo2 = info2;
  r.rip = 0x1000;
  return r;
}

TEST(SvmDecode, OutToSerialPort) {
  // OUT DX, AL to 0x3f8: port in bits 16-31, SZ8, not IN; next RIP in EXITINFO2.
  RawExit r = raw(ExitCode::ioio, (0x3f8ull << 16) | cos::svm::Ioio::sz8, 0x1001);
  r.rax = 0x1234'5636;
  cos::vm::Exit e;
  ASSERT_TRUE(cos::svm::decode(r, e));
  EXPECT_EQ(e.reason, ExitReason::io);
  EXPECT_EQ(e.io.port, 0x3f8);
  EXPECT_EQ(e.io.size, 1);
  EXPECT_EQ(e.io.in, 0);
  EXPECT_EQ(e.io.data, 0x36u) << "only the low byte of rax is written";
  EXPECT_EQ(cos::svm::instruction_length(r, nullptr, 0, false), 1u);
}

TEST(SvmDecode, RepInsWord) {
  namespace I = cos::svm::Ioio;
  RawExit r = raw(ExitCode::ioio, (0x1f0ull << 16) | I::in | I::str | I::rep | I::sz16, 0x1003);
  cos::vm::Exit e;
  ASSERT_TRUE(cos::svm::decode(r, e));
  EXPECT_EQ(e.io.in, 1);
  EXPECT_EQ(e.io.string, 1);
  EXPECT_EQ(e.io.rep, 1);
  EXPECT_EQ(e.io.size, 2);
  EXPECT_EQ(e.io.data, 0u);
  EXPECT_EQ(cos::svm::instruction_length(r, nullptr, 0, false), 3u) << "f3 66 6d";
}

TEST(SvmDecode, NestedPageFault) {
  namespace F = cos::svm::NpfError;
  cos::vm::Exit e;
  ASSERT_TRUE(cos::svm::decode(raw(ExitCode::npf, F::user | F::write, 0xfee00030), e));
  EXPECT_EQ(e.reason, ExitReason::gpa_fault);
  EXPECT_EQ(e.gpa.gpa, 0xfee00030u);
  EXPECT_EQ(e.gpa.access, cos::vm::kAccessWrite);
  EXPECT_EQ(e.gpa.present, 0u);
  ASSERT_TRUE(cos::svm::decode(raw(ExitCode::npf, F::present | F::fetch, 0x2000), e));
  EXPECT_EQ(e.gpa.access, cos::vm::kAccessExec);
  EXPECT_EQ(e.gpa.present, 1u);
}

TEST(SvmDecode, MsrAndExceptions) {
  cos::vm::Exit e;
  RawExit r = raw(ExitCode::msr, 1);
  r.rcx = 0x1b;
  ASSERT_TRUE(cos::svm::decode(r, e));
  EXPECT_EQ(e.reason, ExitReason::msr_write);
  EXPECT_EQ(e.msr.index, 0x1bu);
  EXPECT_EQ(cos::svm::instruction_length(r, nullptr, 0, false), 2u);

  RawExit pf = raw(static_cast<ExitCode>(0x40 + 14), 0x6, 0xdeadb000);
  ASSERT_TRUE(cos::svm::decode(pf, e));
  EXPECT_EQ(e.reason, ExitReason::exception);
  EXPECT_EQ(e.exception.vector, 14u);
  EXPECT_EQ(e.exception.has_error_code, 1u);
  EXPECT_EQ(e.exception.error_code, 6u);
  EXPECT_EQ(e.exception.cr2, 0xdeadb000u);
  ASSERT_TRUE(cos::svm::decode(raw(static_cast<ExitCode>(0x40 + 6)), e));
  EXPECT_EQ(e.exception.has_error_code, 0u) << "#UD has no error code";
}

TEST(SvmDecode, HostOwnedExitsAreNotReported) {
  cos::vm::Exit e;
  EXPECT_FALSE(cos::svm::decode(raw(ExitCode::intr), e));
  EXPECT_FALSE(cos::svm::decode(raw(ExitCode::nmi), e));
  EXPECT_FALSE(cos::svm::decode(raw(ExitCode::vintr), e));
}

TEST(SvmDecode, EveryReasonClass) {
  struct Case {
    ExitCode code;
    ExitReason reason;
  } cases[] = {{ExitCode::cpuid, ExitReason::cpuid},     {ExitCode::hlt, ExitReason::hlt},
               {ExitCode::vmmcall, ExitReason::hypercall}, {ExitCode::xsetbv, ExitReason::xsetbv},
               {ExitCode::invd, ExitReason::invd},       {ExitCode::wbinvd, ExitReason::wbinvd},
               {ExitCode::shutdown, ExitReason::shutdown}, {ExitCode::invalid, ExitReason::entry_failure},
               {ExitCode::rdtsc, ExitReason::rdtsc},     {ExitCode::pause, ExitReason::pause},
               {ExitCode::vmload, ExitReason::vendor}};
  for (const Case& c : cases) {
    cos::vm::Exit e;
    ASSERT_TRUE(cos::svm::decode(raw(c.code), e));
    EXPECT_EQ(e.reason, c.reason) << "exit code " << std::hex << static_cast<uint64_t>(c.code);
    EXPECT_EQ(e.vendor_code, static_cast<uint64_t>(c.code));
  }
  cos::vm::Exit e;
  ASSERT_TRUE(cos::svm::decode(raw(static_cast<ExitCode>(0x13), 0), e));  // CR3 write
  EXPECT_EQ(e.reason, ExitReason::cr_access);
  EXPECT_EQ(e.cr.cr, 3u);
  EXPECT_EQ(e.cr.write, 1u);
}

TEST(SvmInstructionLength, FixedEncodingsWithoutBytes) {
  EXPECT_EQ(cos::svm::instruction_length(raw(ExitCode::cpuid), nullptr, 0, false), 2u);
  EXPECT_EQ(cos::svm::instruction_length(raw(ExitCode::hlt), nullptr, 0, false), 1u);
  EXPECT_EQ(cos::svm::instruction_length(raw(ExitCode::vmmcall), nullptr, 0, false), 3u);
  EXPECT_EQ(cos::svm::instruction_length(raw(ExitCode::xsetbv), nullptr, 0, false), 3u);
  EXPECT_EQ(cos::svm::instruction_length(raw(ExitCode::shutdown), nullptr, 0, false), 0u);
}

TEST(SvmInstructionLength, IoNextRipWrapsAtTheCodeSize) {
  // IN AL, DX at EIP 0xffffffa7 in 16-bit code with a 4 GiB CS limit: the
  // next IP wraps to 0xffa9 (guest_fuzz seed 11, program 12190).
  RawExit r = raw(ExitCode::ioio, 0, 0xffa9);
  r.rip = 0xffffffa7;
  EXPECT_EQ(cos::svm::instruction_length(r, nullptr, 0, false), 2u);
  r.rip = 0xfffffffe;  // 32-bit code wrapping at 4 GiB
  r.exitinfo2 = 0x1;
  EXPECT_EQ(cos::svm::instruction_length(r, nullptr, 0, false), 3u);
  r.rip = 0xfffe;  // 16-bit wrap at 64 KiB
  r.exitinfo2 = 0x0;
  EXPECT_EQ(cos::svm::instruction_length(r, nullptr, 0, false), 2u);
  r.rip = 0xffffffa7;  // in 64-bit code nothing wraps: an inconsistent exit has no length
  r.exitinfo2 = 0xffa9;
  EXPECT_EQ(cos::svm::instruction_length(r, nullptr, 0, true), 0u);
}

TEST(SvmInstructionLength, PrefixesAreCounted) {
  const uint8_t rex_cpuid[] = {0x48, 0x0f, 0xa2};       // REX.W cpuid, 64-bit mode
  const uint8_t cs_hlt[] = {0x2e, 0xf4};                 // segment override + hlt
  const uint8_t pause[] = {0xf3, 0x90};                  // pause: f3 is part of the opcode
  EXPECT_EQ(cos::svm::instruction_length(raw(ExitCode::cpuid), rex_cpuid, 3, true), 3u);
  EXPECT_EQ(cos::svm::instruction_length(raw(ExitCode::cpuid), rex_cpuid, 3, false), 2u)
      << "0x48 is dec eax outside 64-bit mode: bytes disagree, fall back to the encoding";
  EXPECT_EQ(cos::svm::instruction_length(raw(ExitCode::hlt), cs_hlt, 2, false), 2u);
  EXPECT_EQ(cos::svm::instruction_length(raw(ExitCode::pause), pause, 2, false), 2u);
}

TEST(SvmInstructionLength, NripSaveWins) {
  RawExit r = raw(ExitCode::cpuid);
  r.nrip_valid = true;
  r.next_rip = r.rip + 4;
  EXPECT_EQ(cos::svm::instruction_length(r, nullptr, 0, false), 4u);
}

TEST(SvmDecode, InvalidExitCodeIn32Bits) {
  // QEMU 7.2 stores VMEXIT_INVALID as 0xffffffff.
  RawExit r = raw(ExitCode::cpuid);
  r.exitcode = 0xffffffffull;
  cos::vm::Exit e;
  ASSERT_TRUE(cos::svm::decode(r, e));
  EXPECT_EQ(e.reason, ExitReason::entry_failure);
  EXPECT_EQ(cos::svm::instruction_length(r, nullptr, 0, false), 0u);
}

TEST(SvmDecode, InvdReportedAsWbinvdIsCorrected) {
  const uint8_t invd[] = {0x0f, 0x08};
  const uint8_t wbinvd[] = {0x0f, 0x09};
  RawExit r = raw(ExitCode::wbinvd);
  cos::svm::fix_wbinvd_alias(r, invd, 2, false);
  cos::vm::Exit e;
  ASSERT_TRUE(cos::svm::decode(r, e));
  EXPECT_EQ(e.reason, ExitReason::invd);
  RawExit w = raw(ExitCode::wbinvd);
  cos::svm::fix_wbinvd_alias(w, wbinvd, 2, false);
  ASSERT_TRUE(cos::svm::decode(w, e));
  EXPECT_EQ(e.reason, ExitReason::wbinvd);
}

TEST(Npt, EntryEncoding) {
  namespace npt = cos::svm::npt;
  namespace R = cos::abi::Rights;
  uint64_t rx = npt::leaf_entry(0x123456000, R::read | R::exec);
  EXPECT_TRUE(npt::present(rx));
  EXPECT_EQ(rx & npt::kAddrMask, 0x123456000u);
  EXPECT_EQ(rx & npt::kUser, npt::kUser) << "nested accesses are user accesses";
  EXPECT_EQ(rx & npt::kWrite, 0u);
  EXPECT_EQ(rx & npt::kNoExecute, 0u);
  uint64_t rw = npt::leaf_entry(0x5000, R::read | R::write);
  EXPECT_EQ(rw & npt::kWrite, npt::kWrite);
  EXPECT_EQ(rw & npt::kNoExecute, npt::kNoExecute);
  uint64_t t = npt::table_entry(0xabc000);
  EXPECT_TRUE(npt::present(t));
  EXPECT_EQ(t & (npt::kWrite | npt::kUser), npt::kWrite | npt::kUser);
  EXPECT_FALSE(npt::present(0));
}

TEST(Npt, LargeLeafIsAPdeWithPsThatTranslatesA2MiBRange) {
  namespace npt = cos::svm::npt;
  namespace R = cos::abi::Rights;
  const uint64_t big = npt::large_leaf_entry(0x40200000, R::read | R::write);
  EXPECT_EQ(big, npt::leaf_entry(0x40200000, R::read | R::write) | npt::kLargePage);
  EXPECT_EQ(big & (1ull << 12), 0u) << "the large page's PAT bit stays clear";
  EXPECT_EQ(npt::address(npt::large_leaf_entry(0x40201000, R::read)), 0x40200000u) << "low bits dropped";
  EXPECT_EQ(npt::large_leaf_entry(0x200000, R::read) & npt::kNoExecute, npt::kNoExecute);
  // The walk stops at the PDE and adds the gpa's low 21 bits.
  std::map<uint64_t, std::array<uint64_t, 512>> t;
  struct Mem {
    std::map<uint64_t, std::array<uint64_t, 512>>& t;
    uint64_t* table(uint64_t pa) { return t[pa].data(); }
  } mem{t};
  mem.table(0x1000)[0] = npt::table_entry(0x2000);
  mem.table(0x2000)[1] = npt::table_entry(0x3000);
  mem.table(0x3000)[7] = big;
  uint64_t hpa = 0;
  bool writable = false;
  ASSERT_TRUE(npt::translate(mem, 0x1000, (1ull << 30) + (7ull << 21) + 0x1ff123, hpa, writable));
  EXPECT_EQ(hpa, 0x40200000u + 0x1ff123);
  EXPECT_TRUE(writable);
  EXPECT_FALSE(npt::translate(mem, 0x1000, (1ull << 30) + (8ull << 21), hpa, writable));
}

}  // namespace

namespace {

/// A map of host "physical" addresses to 512-entry tables.
struct FakeMem {
  std::map<uint64_t, std::array<uint64_t, 512>> tables;
  uint64_t* table(uint64_t pa) { return tables[pa].data(); }
};

TEST(Npt, TranslateWalksFourLevelsAndLargePages) {
  namespace npt = cos::svm::npt;
  FakeMem mem;
  const uint64_t root = 0x1000, pdpt = 0x2000, pd = 0x3000, pt = 0x4000;
  const uint64_t gpa = (1ull << 39) * 0 + (1ull << 30) * 2 + (1ull << 21) * 3 + (1ull << 12) * 4 + 0x123;
  mem.table(root)[0] = npt::table_entry(pdpt);
  mem.table(pdpt)[2] = npt::table_entry(pd);
  mem.table(pd)[3] = npt::table_entry(pt);
  mem.table(pt)[4] = npt::leaf_entry(0xabc000, cos::abi::Rights::read);
  uint64_t hpa = 0;
  bool writable = true;
  ASSERT_TRUE(npt::translate(mem, root, gpa, hpa, writable));
  EXPECT_EQ(hpa, 0xabc123u);
  EXPECT_FALSE(writable);
  // Unmapped neighbours.
  EXPECT_FALSE(npt::translate(mem, root, gpa + 0x1000, hpa, writable));
  EXPECT_FALSE(npt::translate(mem, root, 1ull << 39, hpa, writable));
  // A 2 MiB page at the PD level.
  mem.table(pd)[5] = (0x40000000ull | npt::kPresent | npt::kWrite | npt::kUser | npt::kLargePage);
  ASSERT_TRUE(npt::translate(mem, root, (2ull << 30) + (5ull << 21) + 0x1234, hpa, writable));
  EXPECT_EQ(hpa, 0x40001234u);
  EXPECT_TRUE(writable);
}

cos::svm::CrState reset_cr() {
  cos::svm::Vmcb c{};
  cos::svm::reset_guest_state(c);
  return {c.cr0, c.cr3, c.cr4, c.efer, c.dr7, c.cs.attr};
}

/// A CPU like QEMU's qemu64 model: no UMIP, LA57, PKE, FSGSBASE, PCID,
/// XSAVE, SMEP, SMAP; 40-bit physical addresses.
const cos::svm::GuestLimits kQemu64{cos::svm::cr4_valid_bits(0, 0, 0), 40};

TEST(SvmGuestState, ResetStatePasses) {
  cos::svm::Vmcb c{};
  cos::svm::reset_guest_state(c);
  EXPECT_EQ(c.rip, 0xfff0u);
  EXPECT_EQ(c.cs.base, 0xffff0000u);
  EXPECT_EQ(c.efer & cos::x86::Efer::svme, cos::x86::Efer::svme) << "VMRUN requires EFER.SVME";
  EXPECT_EQ(cos::svm::cpl_for(c), 0);
  EXPECT_EQ(cos::svm::check_guest_state(reset_cr(), kQemu64), nullptr);
}

TEST(SvmGuestState, ChecksCatchWhatVmrunRejects) {
  using cos::svm::CrState;
  auto fails = [](auto change) {
    CrState s = reset_cr();
    change(s);
    return cos::svm::check_guest_state(s, kQemu64) != nullptr;
  };
  EXPECT_TRUE(fails([](CrState& s) { s.cr0 |= 1ull << 32; }));                 // CR0[63:32]
  EXPECT_TRUE(fails([](CrState& s) { s.cr3 = 1ull << 44; }));                  // beyond 40 physical bits
  EXPECT_FALSE(fails([](CrState& s) { s.cr3 = 1ull << 39; }));
  EXPECT_TRUE(fails([](CrState& s) { s.cr4 = 1ull << 11; }));                  // UMIP: not offered
  EXPECT_TRUE(fails([](CrState& s) { s.cr4 = 1ull << 13; }));                  // VMXE: reserved on AMD
  EXPECT_FALSE(fails([](CrState& s) { s.cr4 = 0x7ff; }));                      // VME..OSXMMEXCPT
  EXPECT_TRUE(fails([](CrState& s) { s.cr0 |= 1ull << 29; }));                 // NW without CD
  EXPECT_TRUE(fails([](CrState& s) { s.cr3 = 1ull << 52; }));                  // CR3 reserved
  EXPECT_TRUE(fails([](CrState& s) { s.cr4 = 1ull << 30; }));                  // CR4 reserved
  EXPECT_TRUE(fails([](CrState& s) { s.dr7 = 1ull << 32; }));                  // DR7[63:32]
  EXPECT_TRUE(fails([](CrState& s) { s.efer = 1ull << 16; }));                 // EFER reserved
  // Long mode with paging needs PAE and PE, and CS.L excludes CS.D.
  auto long_mode = [](CrState& s) {
    s.efer = cos::x86::Efer::lme | cos::x86::Efer::lma;
    s.cr0 = cos::x86::Cr0::pe | cos::x86::Cr0::pg | cos::x86::Cr0::et;
    s.cr4 = cos::x86::Cr4::pae;
    s.cs_attr = 0xa9b;  // L, G, present code
  };
  EXPECT_FALSE(fails(long_mode));
  EXPECT_TRUE(fails([&](CrState& s) { long_mode(s); s.cr4 = 0; }));
  EXPECT_TRUE(fails([&](CrState& s) { long_mode(s); s.cs_attr |= cos::x86::SegAttr::db; }));
  EXPECT_FALSE(fails([](CrState& s) { s.cr0 |= (1ull << 29) | (1ull << 30); }));  // NW with CD is fine
}

TEST(SvmGuestState, Cr4BitsFollowCpuid) {
  using cos::svm::cr4_valid_bits;
  EXPECT_EQ(cr4_valid_bits(0, 0, 0), 0x7ffull);
  EXPECT_EQ(cr4_valid_bits(0, 0, 1u << 2) & (1ull << 11), 1ull << 11);                 // UMIP
  EXPECT_EQ(cr4_valid_bits(1u << 26, 0, 0) & (1ull << 18), 1ull << 18);                 // OSXSAVE
  EXPECT_EQ(cr4_valid_bits(0, (1u << 7) | (1u << 20), 0) & (3ull << 20), 3ull << 20);  // SMEP, SMAP
  EXPECT_EQ(cr4_valid_bits(~0u, ~0u, ~0u) & ((1ull << 13) | (1ull << 14)), 0u);       // never VMXE, SMXE
}

TEST(SvmGuestState, ProtectionKeysAreNeverTheGuests) {
  // A CPU with PKU (CPUID.(7,0):ECX[3]) offers CR4.PKE; guests never get it.
  constexpr uint32_t kPku = 1u << 3;
  EXPECT_EQ(cos::svm::cr4_valid_bits(0, 0, kPku) & cos::x86::Cr4::pke, cos::x86::Cr4::pke);
  EXPECT_EQ(cos::svm::guest_cr4_valid(0, 0, kPku) & cos::x86::Cr4::pke, 0u);
  EXPECT_EQ(cos::svm::guest_cr4_valid(0, 0, kPku | (1u << 2)) & (1ull << 11), 1ull << 11) << "UMIP stays";
  const cos::svm::GuestLimits pku_cpu{cos::svm::guest_cr4_valid(0, 0, kPku), 40};
  cos::svm::CrState s = reset_cr();
  s.cr4 = cos::x86::Cr4::pke;
  EXPECT_NE(cos::svm::check_guest_state(s, pku_cpu), nullptr) << "a VMM's CR4.PKE is refused";
}

// MOV to CR4 as the kernel decodes it when the CPU has no decode assists.
TEST(SvmDecode, MovToCr) {
  cos::svm::MovToCr m{};
  const uint8_t rcx[] = {0x0f, 0x22, 0xe1};  // mov %rcx, %cr4
  ASSERT_TRUE(cos::svm::decode_mov_to_cr(rcx, sizeof(rcx), true, 4, m));
  EXPECT_EQ(m.gpr, 1u);
  EXPECT_EQ(m.length, 3u);
  const uint8_t r10[] = {0x41, 0x0f, 0x22, 0xe2, 0x90};  // mov %r10, %cr4 (REX.B)
  ASSERT_TRUE(cos::svm::decode_mov_to_cr(r10, sizeof(r10), true, 4, m));
  EXPECT_EQ(m.gpr, 10u);
  EXPECT_EQ(m.length, 4u);
  const uint8_t rex_not_last[] = {0x41, 0x66, 0x0f, 0x22, 0xe2};  // REX before a legacy prefix is ignored
  ASSERT_TRUE(cos::svm::decode_mov_to_cr(rex_not_last, sizeof(rex_not_last), true, 4, m));
  EXPECT_EQ(m.gpr, 2u);
  EXPECT_EQ(m.length, 5u);
  const uint8_t mod0[] = {0x0f, 0x22, 0x23};  // mod = 00: still a register operand (ebx)
  ASSERT_TRUE(cos::svm::decode_mov_to_cr(mod0, sizeof(mod0), false, 4, m));
  EXPECT_EQ(m.gpr, 3u);
  const uint8_t inc_in_32bit[] = {0x41, 0x0f, 0x22, 0xe2};  // 0x41 is INC ECX outside 64-bit mode
  EXPECT_FALSE(cos::svm::decode_mov_to_cr(inc_in_32bit, sizeof(inc_in_32bit), false, 4, m));
  EXPECT_FALSE(cos::svm::decode_mov_to_cr(rcx, 2, true, 4, m)) << "cut off";
  const uint8_t mov_from[] = {0x0f, 0x20, 0xe1};
  EXPECT_FALSE(cos::svm::decode_mov_to_cr(mov_from, sizeof(mov_from), true, 4, m));
  const uint8_t to_cr0[] = {0x0f, 0x22, 0xc0};  // the bytes changed under the CPU: not what exited
  EXPECT_FALSE(cos::svm::decode_mov_to_cr(to_cr0, sizeof(to_cr0), true, 4, m));
  EXPECT_TRUE(cos::svm::decode_mov_to_cr(to_cr0, sizeof(to_cr0), true, 0, m));
  const uint8_t to_cr12[] = {0x44, 0x0f, 0x22, 0xe0};  // REX.R: CR12, not CR4
  EXPECT_FALSE(cos::svm::decode_mov_to_cr(to_cr12, sizeof(to_cr12), true, 4, m));
  const uint8_t lock_cr8[] = {0xf0, 0x0f, 0x22, 0xc0};  // AMD's LOCK MOV CR0 is CR8
  EXPECT_FALSE(cos::svm::decode_mov_to_cr(lock_cr8, sizeof(lock_cr8), true, 4, m));
  uint8_t many[15];
  for (auto& b : many) b = 0x66;
  EXPECT_FALSE(cos::svm::decode_mov_to_cr(many, sizeof(many), true, 4, m));
}

TEST(GuestPolicy, Cr4WriteFaults) {
  using cos::x86::Cr4WriteContext;
  namespace Cr4 = cos::x86::Cr4;
  namespace Cr0 = cos::x86::Cr0;
  const uint64_t valid = cos::svm::guest_cr4_valid(0, (1u << 7) | (1u << 20), (1u << 3) | (1u << 7) | (1u << 16));
  const uint64_t lm = Cr4::pae | Cr4::pge;
  const Cr4WriteContext longmode{valid, Cr0::pe | Cr0::pg | Cr0::wp, 0x5000, true};
  const Cr4WriteContext legacy{valid, Cr0::pe, 0x5000, false};
  auto faults = [](uint64_t old, uint64_t v, const Cr4WriteContext& c) { return cos::x86::cr4_write_faults(old, v, c); };
  EXPECT_FALSE(faults(lm, lm & ~Cr4::pge, longmode)) << "Linux's global TLB flush";
  EXPECT_FALSE(faults(lm, lm | Cr4::smep | Cr4::smap, longmode));
  EXPECT_TRUE(faults(lm, lm | Cr4::pke, longmode)) << "PKE is the host's even where the CPU has PKU";
  EXPECT_TRUE(faults(lm, lm | Cr4::vmxe, longmode));
  EXPECT_TRUE(faults(lm, lm | (1ull << 32), longmode));
  EXPECT_TRUE(faults(lm, Cr4::pge, longmode)) << "PAE cleared in long mode";
  EXPECT_FALSE(faults(lm, Cr4::pge, legacy));
  EXPECT_TRUE(faults(lm, lm | Cr4::la57, longmode)) << "LA57 changed in long mode";
  EXPECT_TRUE(faults(lm, lm | Cr4::pcide, longmode)) << "PCID not offered by this CPU";
  const Cr4WriteContext pcid_ok{valid | Cr4::pcide, longmode.cr0, 0x5000, true};
  const Cr4WriteContext pcid_bad{valid | Cr4::pcide, longmode.cr0, 0x5001, true};
  EXPECT_FALSE(faults(lm, lm | Cr4::pcide, pcid_ok));
  EXPECT_TRUE(faults(lm, lm | Cr4::pcide, pcid_bad)) << "PCIDE with CR3[11:0] != 0";
  EXPECT_TRUE(faults(Cr4::pae, Cr4::pae | Cr4::pcide, Cr4WriteContext{valid | Cr4::pcide, Cr0::pe, 0, false}));
  EXPECT_TRUE(faults(lm, lm | Cr4::cet, Cr4WriteContext{valid, Cr0::pe | Cr0::pg, 0, true})) << "CET without WP";
  EXPECT_FALSE(faults(lm, lm | Cr4::cet, longmode));
}

TEST(SvmDecode, Cr0Writers) {
  using cos::svm::Cr0Writer;
  cos::svm::Cr0Write w{};
  const uint8_t mov_eax[] = {0x0f, 0x22, 0xc0};  // mov %eax, %cr0
  ASSERT_TRUE(cos::svm::decode_cr0_write(mov_eax, sizeof(mov_eax), false, w));
  EXPECT_EQ(w.kind, Cr0Writer::mov);
  EXPECT_EQ(w.gpr, 0u);
  EXPECT_EQ(w.length, 3u);
  const uint8_t mov_cr4[] = {0x0f, 0x22, 0xe0};  // a MOV to CR4 is not a CR0 write
  EXPECT_FALSE(cos::svm::decode_cr0_write(mov_cr4, sizeof(mov_cr4), false, w));
  const uint8_t clts[] = {0x66, 0x0f, 0x06};  // an operand-size prefix changes nothing
  ASSERT_TRUE(cos::svm::decode_cr0_write(clts, sizeof(clts), false, w));
  EXPECT_EQ(w.kind, Cr0Writer::clts);
  EXPECT_EQ(w.length, 3u);
  const uint8_t lmsw_si[] = {0x0f, 0x01, 0xf6};  // lmsw %si
  ASSERT_TRUE(cos::svm::decode_cr0_write(lmsw_si, sizeof(lmsw_si), false, w));
  EXPECT_EQ(w.kind, Cr0Writer::lmsw_register);
  EXPECT_EQ(w.gpr, 6u);
  EXPECT_EQ(w.length, 3u);
  const uint8_t lmsw_r9[] = {0x41, 0x0f, 0x01, 0xf1};  // REX.B in 64-bit code
  ASSERT_TRUE(cos::svm::decode_cr0_write(lmsw_r9, sizeof(lmsw_r9), true, w));
  EXPECT_EQ(w.gpr, 9u);
  EXPECT_EQ(w.length, 4u);
  const uint8_t lmsw_mem[] = {0x0f, 0x01, 0x37};  // lmsw (%bx): a memory operand, left to the VMM
  EXPECT_FALSE(cos::svm::decode_cr0_write(lmsw_mem, sizeof(lmsw_mem), false, w));
  const uint8_t smsw[] = {0x0f, 0x01, 0xe0};  // smsw %ax (0f 01 /4) reads CR0
  EXPECT_FALSE(cos::svm::decode_cr0_write(smsw, sizeof(smsw), false, w));
  EXPECT_FALSE(cos::svm::decode_cr0_write(lmsw_si, 2, false, w)) << "cut off";
  EXPECT_FALSE(cos::svm::decode_cr0_write(clts, 2, false, w)) << "cut off";
}

TEST(SvmDecode, LmswLoadsFourBitsAndNeverClearsPe) {
  namespace Cr0 = cos::x86::Cr0;
  const uint64_t cr0 = Cr0::et | Cr0::ne | Cr0::cd;
  EXPECT_EQ(cos::svm::lmsw_result(cr0, 0xffff), cr0 | Cr0::pe | Cr0::mp | Cr0::em | Cr0::ts);
  EXPECT_EQ(cos::svm::lmsw_result(cr0 | Cr0::pe | Cr0::ts, 0x0), cr0 | Cr0::pe) << "PE stays, TS clears";
  EXPECT_EQ(cos::svm::lmsw_result(cr0 | Cr0::mp, 0x8), cr0 | Cr0::ts);
}

TEST(GuestPolicy, Cr0WriteFaults) {
  using cos::x86::Cr0WriteContext;
  namespace Cr0 = cos::x86::Cr0;
  namespace Cr4 = cos::x86::Cr4;
  namespace Efer = cos::x86::Efer;
  auto faults = [](uint64_t old, uint64_t v, const Cr0WriteContext& c) { return cos::x86::cr0_write_faults(old, v, c); };
  const uint64_t real = Cr0::et | Cr0::ne, prot = real | Cr0::pe, paged = prot | Cr0::pg;
  const Cr0WriteContext lme_no_pae{Efer::lme, 0, false}, lme_pae{Efer::lme, Cr4::pae, false}, legacy{0, 0, false};
  EXPECT_FALSE(faults(real, prot, lme_no_pae)) << "protected mode with LME set: fine";
  EXPECT_TRUE(faults(prot, paged, lme_no_pae)) << "paging on with LME and without PAE";
  EXPECT_FALSE(faults(prot, paged, lme_pae)) << "entering long mode";
  EXPECT_FALSE(faults(prot, paged, legacy)) << "legacy paging";
  EXPECT_TRUE(faults(real, real | Cr0::pg, legacy)) << "PG without PE";
  EXPECT_TRUE(faults(prot, prot | Cr0::nw, legacy)) << "NW without CD";
  EXPECT_FALSE(faults(prot, prot | Cr0::nw | Cr0::cd, legacy));
  EXPECT_TRUE(faults(prot, prot | (1ull << 32), legacy)) << "bits 63:32";
  const Cr0WriteContext code64{Efer::lme | Efer::lma, Cr4::pae, true};
  EXPECT_TRUE(faults(paged, prot, code64)) << "paging off in 64-bit code";
  EXPECT_FALSE(faults(paged, prot, Cr0WriteContext{Efer::lme | Efer::lma, Cr4::pae, false})) << "leaving long mode from compatibility mode";
  EXPECT_TRUE(faults(paged, prot, Cr0WriteContext{0, Cr4::pae | Cr4::pcide, false})) << "paging off with PCIDE";
  EXPECT_FALSE(faults(paged, paged | Cr0::ts, code64)) << "TS in long mode";
}

TEST(SvmGuestState, LmeIsHeldBackOnlyWithPagingAndPaeOff) {
  namespace Cr0 = cos::x86::Cr0;
  namespace Cr4 = cos::x86::Cr4;
  namespace Efer = cos::x86::Efer;
  using cos::svm::lme_held_back;
  using cos::svm::lme_without_paging;
  EXPECT_TRUE(lme_held_back(Efer::lme, Cr0::et, 0)) << "guest_fuzz seed 11 program 23628's state";
  EXPECT_TRUE(lme_held_back(Efer::lme | Efer::sce, Cr0::pe, Cr4::pse));
  EXPECT_FALSE(lme_held_back(Efer::lme, Cr0::pe, Cr4::pae)) << "the usual order: PAE, then LME";
  EXPECT_FALSE(lme_held_back(Efer::lme | Efer::lma, Cr0::pe | Cr0::pg, Cr4::pae)) << "long mode";
  EXPECT_FALSE(lme_held_back(0, Cr0::pe, 0));
  EXPECT_TRUE(lme_without_paging(Efer::lme, Cr0::pe));
  EXPECT_FALSE(lme_without_paging(Efer::lme | Efer::lma, Cr0::pe | Cr0::pg));
  EXPECT_FALSE(lme_without_paging(0, Cr0::pe));
}

TEST(SvmGuestState, SegmentBasesAsVmxChecksThem) {
  cos::vm::StatePage s{};
  const uint64_t both = cos::vm::Load::segments | cos::vm::Load::dtables;
  EXPECT_EQ(cos::svm::check_segment_bases(s, both), nullptr);
  s.cs.base = 0xffffffff96fc0000ull;  // what hung QEMU's TCG in a real-mode guest
  EXPECT_NE(cos::svm::check_segment_bases(s, both), nullptr);
  EXPECT_EQ(cos::svm::check_segment_bases(s, cos::vm::Load::dtables), nullptr) << "only the groups loaded";
  s.cs.base = 0xffff0000;
  EXPECT_EQ(cos::svm::check_segment_bases(s, both), nullptr);
  s.fs.base = 0xffff800000000000ull;  // canonical: fine
  EXPECT_EQ(cos::svm::check_segment_bases(s, both), nullptr);
  s.gs.base = 0x0000800000000000ull;  // not canonical
  EXPECT_NE(cos::svm::check_segment_bases(s, both), nullptr);
  s.gs.base = 0;
  s.idtr.base = 0x1234567812345678ull;
  EXPECT_NE(cos::svm::check_segment_bases(s, both), nullptr);
  EXPECT_EQ(cos::svm::check_segment_bases(s, cos::vm::Load::segments), nullptr);
}

TEST(SvmGuestState, CplAndRflags) {
  cos::svm::Vmcb c{};
  cos::svm::reset_guest_state(c);
  c.ss.attr = 0xf3;  // DPL 3
  EXPECT_EQ(cos::svm::cpl_for(c), 0) << "real mode runs at CPL 0";
  c.cr0 |= cos::x86::Cr0::pe;
  EXPECT_EQ(cos::svm::cpl_for(c), 3);
  EXPECT_EQ(cos::svm::rflags_for_entry(0), 2u);
  EXPECT_EQ(cos::svm::rflags_for_entry(~0ull), 0x3f7fd7u);
}

// TR: refused unless a present TSS (as the VMX backend refuses it; QEMU's
// TCG aborts on any other TR), and loaded into the VMCB with the available
// type QEMU expects, reported back busy.
TEST(SvmGuestState, TrIsAPresentTssLoadedAvailableReportedBusy) {
  using cos::svm::tr_attr_from_vmcb;
  using cos::svm::tr_attr_to_vmcb;
  using cos::svm::tr_attr_valid;
  for (uint16_t a : {0x8b, 0x89, 0x83, 0x81}) EXPECT_TRUE(tr_attr_valid(a)) << a;
  for (uint16_t a : {0x0b, 0x9b, 0x82, 0x8c, 0x00, 0x8a}) EXPECT_FALSE(tr_attr_valid(a)) << a;
  EXPECT_EQ(tr_attr_to_vmcb(0x8b), 0x89);
  EXPECT_EQ(tr_attr_to_vmcb(0x83), 0x81);
  EXPECT_EQ(tr_attr_from_vmcb(0x89), 0x8b);
  EXPECT_EQ(tr_attr_from_vmcb(0x8b), 0x8b);
  EXPECT_EQ(tr_attr_to_vmcb(0x82), 0x82);  // not a TSS: left alone (refused anyway)
}

}  // namespace
