// simple_vmm's MSRs (src/components/impl/simple_vmm/msrs.*): KVM's answers
// for the model-specific MSRs Linux reads, the checks on PAT/TSC_AUX and the
// state-page MSRs, per guest vendor.
#include <gtest/gtest.h>

#include "simple_vmm/msrs.hpp"
#include "unit/vmrt_cpu_fixture.hpp"

namespace {

using cos::simple_vmm::MsrResult;
using cos::simple_vmm::Msrs;
using vmrt::GuestCpu;
using vmrt_test::CpuFixture;
namespace msr = cos::simple_vmm::msr;
namespace vm = cos::vm;

class SimpleVmmMsrs : public CpuFixture {
 protected:
  void SetUp() override {
    CpuFixture::SetUp();
    long_mode();
    v.set_save_mask(vm::Load::cr | vm::Load::segments | vm::Load::syscall_msrs);
    exit_at(vm::ExitReason::msr_read, 2, 0x1000);
  }
  void vendor(GuestCpu::Vendor vend) {
    GuestCpu c;
    c.vendor = vend;
    m = Msrs{};
    m.init(c);
  }
  MsrResult rd(uint32_t index, uint64_t& value) { return m.read(v, index, value); }
  MsrResult wr(uint32_t index, uint64_t value) { return m.write(v, index, value); }
  Msrs m;
};

TEST_F(SimpleVmmMsrs, KvmFixedAnswers) {
  for (auto vend : {GuestCpu::Vendor::amd, GuestCpu::Vendor::intel}) {
    vendor(vend);
    uint64_t x = 1;
    // Linux's AMD C1E check reads it without a fixup (the trace).
    EXPECT_EQ(rd(msr::k8_int_pending_msg, x), MsrResult::done);
    EXPECT_EQ(x, 0u);
    EXPECT_EQ(rd(msr::ucode_rev, x), MsrResult::done);
    EXPECT_EQ(x, 1ull << 32);
    EXPECT_EQ(rd(msr::k7_clk_ctl, x), MsrResult::done);
    EXPECT_EQ(x, 0x20000000u);
    EXPECT_EQ(rd(msr::perf_status, x), MsrResult::done);
    EXPECT_EQ(x, 1000 | (4ull << 40));
    for (uint32_t i : {msr::platform_info, msr::misc_features_enables, msr::smi_count, msr::amd_syscfg,
                       msr::vm_hsave_pa, msr::amd_nb_cfg, msr::rapl_power_unit, msr::mcg_cap}) {
      x = 1;
      EXPECT_EQ(rd(i, x), MsrResult::done) << std::hex << i;
      EXPECT_EQ(x, 0u) << std::hex << i;
    }
    EXPECT_EQ(wr(msr::k8_int_pending_msg, 0), MsrResult::gp);  // KVM has no write for it
    EXPECT_EQ(rd(0xc0011020, x), MsrResult::gp);                 // LS_CFG: unknown, #GP
    EXPECT_EQ(wr(0x1234, 0), MsrResult::gp);
  }
}

TEST_F(SimpleVmmMsrs, LegacyPmuOfAVcpuWithoutOne) {
  vendor(GuestCpu::Vendor::amd);
  uint64_t x = 7;
  for (uint32_t i = msr::k7_evntsel0; i <= msr::k7_perfctr3; ++i) {
    EXPECT_EQ(wr(i, 0xffff), MsrResult::done);
    EXPECT_EQ(rd(i, x), MsrResult::done);
    EXPECT_EQ(x, 0u);  // Linux's perf probe then reports no PMU
  }
  EXPECT_EQ(rd(msr::f15h_perf_ctl0, x), MsrResult::done);
  EXPECT_EQ(wr(msr::f15h_perf_ctl0, 0), MsrResult::gp);
  EXPECT_EQ(wr(msr::p6_evntsel0, 0x430000), MsrResult::done);
}

TEST_F(SimpleVmmMsrs, HwcrTakesKvmsBits) {
  vendor(GuestCpu::Vendor::amd);
  uint64_t x = 1;
  EXPECT_EQ(wr(msr::amd_hwcr, 0x40), MsrResult::done);  // Linux on family 0Fh: flush filter off
  EXPECT_EQ(rd(msr::amd_hwcr, x), MsrResult::done);
  EXPECT_EQ(x, 0u);
  EXPECT_EQ(wr(msr::amd_hwcr, 1ull << 18), MsrResult::done);  // McStatusWrEn
  EXPECT_EQ(rd(msr::amd_hwcr, x), MsrResult::done);
  EXPECT_EQ(x, 1ull << 18);
  EXPECT_EQ(wr(msr::amd_hwcr, 1), MsrResult::gp);
}

TEST_F(SimpleVmmMsrs, VendorOnlyMsrs) {
  vendor(GuestCpu::Vendor::intel);
  uint64_t x = 1;
  EXPECT_EQ(rd(msr::feature_control, x), MsrResult::done);
  EXPECT_EQ(x, 0u);
  EXPECT_EQ(wr(msr::feature_control, 1 | (1u << 2)), MsrResult::gp);  // VMX is not offered
  EXPECT_EQ(wr(msr::feature_control, 1), MsrResult::done);            // Linux locks it
  EXPECT_EQ(wr(msr::feature_control, 1), MsrResult::gp);              // locked
  EXPECT_EQ(rd(msr::feature_control, x), MsrResult::done);
  EXPECT_EQ(x, 1u);
  EXPECT_EQ(rd(msr::amd_de_cfg, x), MsrResult::gp);
  EXPECT_EQ(wr(msr::misc_features_enables, 0), MsrResult::done);
  EXPECT_EQ(wr(msr::misc_features_enables, 1), MsrResult::gp);  // no CPUID faulting
  vendor(GuestCpu::Vendor::amd);
  EXPECT_EQ(rd(msr::feature_control, x), MsrResult::gp);
  EXPECT_EQ(rd(msr::amd_de_cfg, x), MsrResult::done);
  EXPECT_EQ(x, 0u);
  EXPECT_EQ(wr(msr::amd_de_cfg, 2), MsrResult::gp);
  EXPECT_EQ(wr(msr::amd_de_cfg, 0), MsrResult::done);
}

TEST_F(SimpleVmmMsrs, ChecksOnStateAndPatAndTscAux) {
  vendor(GuestCpu::Vendor::intel);
  uint64_t x = 0;
  EXPECT_EQ(wr(vmrt::msr::lstar, 0x0000'8000'0000'0000ull), MsrResult::gp);
  EXPECT_EQ(wr(vmrt::msr::lstar, 0xffff'ffff'8100'0000ull), MsrResult::done);
  EXPECT_EQ(rd(vmrt::msr::lstar, x), MsrResult::done);
  EXPECT_EQ(x, 0xffff'ffff'8100'0000ull);
  EXPECT_EQ(wr(vmrt::msr::pat, 0x0007'0406'0007'0402ull), MsrResult::gp);
  EXPECT_EQ(wr(vmrt::msr::pat, 0x0007'0106'0007'0406ull), MsrResult::done);
  EXPECT_EQ(rd(vmrt::msr::pat, x), MsrResult::done);
  EXPECT_EQ(x, 0x0007'0106'0007'0406ull);
  EXPECT_EQ(wr(vmrt::msr::tsc_aux, 1ull << 32), MsrResult::gp);
  EXPECT_EQ(wr(vmrt::msr::tsc_aux, 3), MsrResult::done);
  EXPECT_EQ(rd(vmrt::msr::tsc_aux, x), MsrResult::done);
  EXPECT_EQ(x, 3u);
  EXPECT_EQ(wr(vmrt::msr::efer, page->efer | (1ull << 12)), MsrResult::gp);  // SVME
  EXPECT_EQ(rd(msr::apic_base, x), MsrResult::apic);
  EXPECT_EQ(wr(0x830, 0), MsrResult::apic);
  EXPECT_EQ(wr(msr::misc_enable, 0x801), MsrResult::done);
  EXPECT_EQ(rd(msr::misc_enable, x), MsrResult::done);
  EXPECT_EQ(x, 0x801u);
  EXPECT_EQ(wr(msr::debugctl, 3), MsrResult::done);
  EXPECT_EQ(wr(msr::debugctl, 4), MsrResult::gp);
}

}  // namespace
