// SVM exit normalisation, instruction-length rules and NPT entry encoding
// (pure pieces of src/platform/x86_64/svm).
#include <gtest/gtest.h>

#include "x86_64/svm/decode.hpp"
#include "x86_64/svm/npt.hpp"

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

}  // namespace
