// vmrt MSR checks (src/components/lib/vmrt/msr.*): values the CPU refuses
// get #GP instead of reaching the state page; vendor differences.
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "unit/vmrt_cpu_fixture.hpp"
#include "vmrt/msr.hpp"

namespace {

using vmrt::GuestCpu;
using vmrt::MsrStatus;
using vmrt::Seg;
using vmrt::SyscallMsr;
using vmrt_test::CpuFixture;
namespace msr = vmrt::msr;
namespace vm = cos::vm;

GuestCpu intel() {
  GuestCpu c;
  c.vendor = GuestCpu::Vendor::intel;
  return c;
}
GuestCpu amd() {
  GuestCpu c;
  c.vendor = GuestCpu::Vendor::amd;
  c.ffxsr = true;
  return c;
}

TEST(MsrChecks, Canonical) {
  EXPECT_TRUE(vmrt::is_canonical(0, 48));
  EXPECT_TRUE(vmrt::is_canonical(0x0000'7fff'ffff'ffffull, 48));
  EXPECT_FALSE(vmrt::is_canonical(0x0000'8000'0000'0000ull, 48));
  EXPECT_TRUE(vmrt::is_canonical(0xffff'8000'0000'0000ull, 48));
  EXPECT_FALSE(vmrt::is_canonical(0xfff0'8000'0000'0000ull, 48));
  EXPECT_TRUE(vmrt::is_canonical(0x0000'8000'0000'0000ull, 57));
  EXPECT_FALSE(vmrt::is_canonical(0x0100'0000'0000'0000ull, 57));
  EXPECT_TRUE(vmrt::is_canonical(0xff00'0000'0000'0000ull, 57));
}

TEST(MsrChecks, PatMemoryTypes) {
  EXPECT_TRUE(vmrt::pat_valid(0x0007'0406'0007'0406ull));  // the power-on value
  EXPECT_TRUE(vmrt::pat_valid(0x0706'0504'0100'0706ull));
  for (uint64_t bad : {2ull, 3ull, 8ull, 0x10ull, 0xffull})
    for (unsigned entry = 0; entry < 8; ++entry)
      EXPECT_FALSE(vmrt::pat_valid((0x0007'0406'0007'0406ull & ~(0xffull << (8 * entry))) | (bad << (8 * entry))))
          << bad << " in entry " << entry;
}

TEST(MsrChecks, Efer) {
  uint64_t out = 0;
  const uint64_t pg = vmrt::kCr0Pg | vmrt::kCr0Pe;
  EXPECT_TRUE(vmrt::efer_write(intel(), 0, 0, vmrt::kEferSce | vmrt::kEferLme | vmrt::kEferNxe, out));
  EXPECT_EQ(out, vmrt::kEferSce | vmrt::kEferLme | vmrt::kEferNxe);
  EXPECT_FALSE(vmrt::efer_write(intel(), 0, 0, 1ull << 1, out));   // reserved
  EXPECT_FALSE(vmrt::efer_write(intel(), 0, 0, 1ull << 12, out));  // SVME: SVM is not offered
  EXPECT_FALSE(vmrt::efer_write(intel(), 0, 0, 1ull << 63, out));
  EXPECT_FALSE(vmrt::efer_write(intel(), 0, 0, vmrt::kEferFfxsr, out));  // Intel has no FFXSR
  EXPECT_TRUE(vmrt::efer_write(amd(), 0, 0, vmrt::kEferFfxsr, out));
  GuestCpu no_nx = intel();
  no_nx.nx = false;
  EXPECT_FALSE(vmrt::efer_write(no_nx, 0, 0, vmrt::kEferNxe, out));
  // LME cannot change while paging is on; LMA is read-only.
  const uint64_t lm = vmrt::kEferLme | vmrt::kEferLma;
  EXPECT_FALSE(vmrt::efer_write(intel(), lm, pg, 0, out));
  EXPECT_FALSE(vmrt::efer_write(intel(), 0, pg, vmrt::kEferLme, out));
  EXPECT_TRUE(vmrt::efer_write(intel(), lm, pg, vmrt::kEferLme | vmrt::kEferNxe, out));
  EXPECT_EQ(out, lm | vmrt::kEferNxe);  // LMA kept although not written
  EXPECT_TRUE(vmrt::efer_write(intel(), 0, 0, vmrt::kEferLma, out));
  EXPECT_EQ(out, 0u);  // LMA written: ignored
}

TEST(MsrChecks, TscAux) {
  uint64_t out = 0;
  EXPECT_TRUE(vmrt::tsc_aux_write(intel(), 0x1234, out));
  EXPECT_EQ(out, 0x1234u);
  EXPECT_FALSE(vmrt::tsc_aux_write(intel(), 1ull << 32, out));
  EXPECT_TRUE(vmrt::tsc_aux_write(amd(), 0x5'0000'0007ull, out));
  EXPECT_EQ(out, 7u);
  GuestCpu none = intel();
  none.tsc_aux = false;
  EXPECT_FALSE(vmrt::tsc_aux_write(none, 0, out));
}

TEST(MsrChecks, FromCpuid) {
  struct Fake {
    std::map<std::pair<uint32_t, uint32_t>, std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>> leaves;
  } f;
  auto fn = [](void* ctx, uint32_t leaf, uint32_t sub, uint32_t* r) {
    auto* fk = static_cast<Fake*>(ctx);
    auto it = fk->leaves.find({leaf, sub});
    if (it == fk->leaves.end()) {
      r[0] = r[1] = r[2] = r[3] = 0;
      return;
    }
    std::tie(r[0], r[1], r[2], r[3]) = it->second;
  };
  // AuthenticAMD with LM, NX, SYSCALL, FFXSR, RDTSCP; LA57.
  f.leaves[{0, 0}] = {7, 0x68747541, 0x444d4163, 0x69746e65};
  f.leaves[{7, 0}] = {0, 0, 1u << 16, 0};
  f.leaves[{0x80000000u, 0}] = {0x80000008u, 0, 0, 0};
  f.leaves[{0x80000001u, 0}] = {0, 0, 0, (1u << 11) | (1u << 20) | (1u << 25) | (1u << 27) | (1u << 29)};
  GuestCpu c = GuestCpu::from_cpuid(fn, &f);
  EXPECT_EQ(c.vendor, GuestCpu::Vendor::amd);
  EXPECT_EQ(c.linear_bits, 57u);
  EXPECT_TRUE(c.long_mode && c.nx && c.syscall && c.ffxsr && c.tsc_aux);
  // GenuineIntel without extended leaves: nothing 64-bit.
  f.leaves.clear();
  f.leaves[{0, 0}] = {1, 0x756e6547, 0x6c65746e, 0x49656e69};
  c = GuestCpu::from_cpuid(fn, &f);
  EXPECT_EQ(c.vendor, GuestCpu::Vendor::intel);
  EXPECT_EQ(c.linear_bits, 48u);
  EXPECT_FALSE(c.long_mode || c.nx || c.syscall || c.ffxsr || c.tsc_aux);
}

class StateMsrTest : public CpuFixture {
 protected:
  void SetUp() override {
    CpuFixture::SetUp();
    long_mode();
    v.set_save_mask(vm::Load::cr | vm::Load::segments | vm::Load::syscall_msrs);
    exit_at(vm::ExitReason::msr_write, 2, 0x1000);
  }
};

TEST_F(StateMsrTest, NonCanonicalAddressesAreRefused) {
  const uint64_t bad = 0x0000'8000'0000'0000ull, good = 0xffff'ffff'8100'0000ull;
  for (uint32_t index : {msr::lstar, msr::cstar, msr::kernel_gs_base, msr::fs_base, msr::gs_base}) {
    EXPECT_EQ(vmrt::write_state_msr(v, intel(), index, bad), MsrStatus::gp) << std::hex << index;
    EXPECT_EQ(vmrt::write_state_msr(v, amd(), index, bad), MsrStatus::gp) << std::hex << index;
    EXPECT_EQ(v.dirty(), 0u) << "nothing stored for " << std::hex << index;
    EXPECT_EQ(vmrt::write_state_msr(v, intel(), index, good), MsrStatus::done);
    uint64_t back = 0;
    EXPECT_EQ(vmrt::read_state_msr(v, index, back), MsrStatus::done);
    EXPECT_EQ(back, good);
    (void)v.take_dirty();
  }
  EXPECT_EQ(page->fs.base, good);
  EXPECT_EQ(page->lstar, good);
}

TEST_F(StateMsrTest, SysenterAddressesByVendor) {
  const uint64_t bad = 0x1234'5678'9abc'def0ull;
  EXPECT_EQ(vmrt::write_state_msr(v, intel(), msr::sysenter_eip, bad), MsrStatus::gp);
  EXPECT_EQ(vmrt::write_state_msr(v, intel(), msr::sysenter_esp, bad), MsrStatus::gp);
  // AMD has no 64-bit SYSENTER: the upper half is not kept.
  EXPECT_EQ(vmrt::write_state_msr(v, amd(), msr::sysenter_eip, bad), MsrStatus::done);
  EXPECT_EQ(page->sysenter_eip, 0x9abc'def0ull);
  EXPECT_EQ(vmrt::write_state_msr(v, intel(), msr::sysenter_esp, 0xffff'fe00'0000'3000ull), MsrStatus::done);
  EXPECT_EQ(page->sysenter_esp, 0xffff'fe00'0000'3000ull);
}

TEST_F(StateMsrTest, ReservedBits) {
  EXPECT_EQ(vmrt::write_state_msr(v, intel(), msr::sfmask, 1ull << 32), MsrStatus::gp);
  EXPECT_EQ(vmrt::write_state_msr(v, intel(), msr::sfmask, 0x47700), MsrStatus::done);
  EXPECT_EQ(vmrt::write_state_msr(v, intel(), msr::sysenter_cs, 0x7'0000'0010ull), MsrStatus::done);
  EXPECT_EQ(page->sysenter_cs, 0x10u);
  EXPECT_EQ(vmrt::write_state_msr(v, intel(), msr::star, ~0ull), MsrStatus::done);
  EXPECT_EQ(page->star, ~0ull);
  (void)v.take_dirty();
  // EFER: a reserved bit, then LME off while paging is on.
  EXPECT_EQ(vmrt::write_state_msr(v, intel(), msr::efer, page->efer | (1ull << 9)), MsrStatus::gp);
  EXPECT_EQ(vmrt::write_state_msr(v, intel(), msr::efer, vmrt::kEferNxe), MsrStatus::gp);
  EXPECT_EQ(v.dirty(), 0u);
  EXPECT_EQ(vmrt::write_state_msr(v, intel(), msr::efer, vmrt::kEferLme | vmrt::kEferSce), MsrStatus::done);
  EXPECT_EQ(page->efer, vmrt::kEferLme | vmrt::kEferLma | vmrt::kEferSce);
  EXPECT_EQ(vmrt::write_state_msr(v, intel(), 0x10, 0), MsrStatus::unknown);
  uint64_t x;
  EXPECT_EQ(vmrt::read_state_msr(v, msr::pat, x), MsrStatus::unknown);
}

}  // namespace
