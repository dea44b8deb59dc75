// vmrt: vCPU state-page accessors, dirty tracking, exit dispatch, stock
// handlers and initial modes (src/components/lib/vmrt/{vcpu_state,modes}.*).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "vmrt/modes.hpp"
#include "vmrt/vcpu_state.hpp"
#include "unit/vmrt_test_util.hpp"

namespace {

using vmrt::Action;
using vmrt::Cr;
using vmrt::Errc;
using vmrt::Reg;
using vmrt::Seg;
using vmrt_test::HostGuestMemory;
namespace vm = cos::vm;
namespace Load = cos::vm::Load;

class VcpuStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    page = std::make_unique<vm::StatePage>();
    std::memset(page.get(), 0, sizeof(vm::StatePage));
    page->magic = vm::kStateMagic;
    page->backend = vm::kBackendSvm;
    ASSERT_TRUE(g.add(0, 0x100000));
    v.attach(page.get(), &g.mem);
  }
  /// Pretends the kernel delivered an exit.
  void exit(vm::ExitReason reason, uint32_t length, uint64_t rip) {
    page->exit.reason = reason;
    page->exit.instruction_length = length;
    page->regs.rip = rip;
    v.note_exit();
  }
  std::unique_ptr<vm::StatePage> page;
  HostGuestMemory g;
  vmrt::VcpuState v;
};

TEST_F(VcpuStateTest, RegistersMapToTheirFieldsAndMarkRegsDirty) {
  EXPECT_EQ(v.dirty(), 0u);
  for (int i = 0; i <= static_cast<int>(Reg::rflags); ++i) v.set(static_cast<Reg>(i), 0x100 + i);
  EXPECT_EQ(v.dirty(), Load::regs);
  EXPECT_EQ(page->regs.rax, 0x100u);
  EXPECT_EQ(page->regs.rcx, 0x101u);
  EXPECT_EQ(page->regs.rbx, 0x103u);
  EXPECT_EQ(page->regs.rdi, 0x107u);
  EXPECT_EQ(page->regs.r15, 0x10fu);
  EXPECT_EQ(page->regs.rip, 0x110u);
  EXPECT_EQ(page->regs.rflags, 0x111u);
  for (int i = 0; i <= static_cast<int>(Reg::rflags); ++i) EXPECT_EQ(v.get(static_cast<Reg>(i)), 0x100u + i);
  EXPECT_EQ(v.take_dirty(), Load::regs);
  EXPECT_EQ(v.dirty(), 0u);
  EXPECT_EQ(v.regs().rsp, 0x104u);  // const access does not dirty
  EXPECT_EQ(v.dirty(), 0u);
}

TEST_F(VcpuStateTest, EachSetterMarksItsGroup) {
  v.set_segment(Seg::gs, vm::Segment{0x33, 0x93, 0xffff, 0x1234});
  v.set_segment(Seg::ldtr, vm::Segment{0, 0x82, 0xffff, 0});
  EXPECT_EQ(v.take_dirty(), Load::segments);
  EXPECT_EQ(page->gs.base, 0x1234u);
  EXPECT_EQ(v.segment(Seg::gs).selector, 0x33);
  EXPECT_EQ(page->ldtr.attr, 0x82);
  v.set(Cr::cr4, 0x20);
  v.set(Cr::efer, 0x500);
  EXPECT_EQ(v.take_dirty(), Load::cr);
  EXPECT_EQ(page->cr4, 0x20u);
  EXPECT_EQ(v.efer(), 0x500u);
  v.set_idtr(0x1000, 0xfff);
  EXPECT_EQ(v.take_dirty(), Load::dtables);
  EXPECT_EQ(page->idtr.limit, 0xfffu);
  v.set(vmrt::SyscallMsr::lstar, 0xffffffff81000000ull);
  EXPECT_EQ(v.take_dirty(), Load::syscall_msrs);
  EXPECT_EQ(page->lstar, 0xffffffff81000000ull);
  v.set_exception_bitmap(1u << 6);
  v.set_intercept_flags(vm::Intercept::rdtsc);
  EXPECT_EQ(v.take_dirty(), Load::intercepts);
  v.set_interrupt_shadow(true);
  EXPECT_EQ(v.take_dirty(), Load::interruptibility);
  EXPECT_EQ(page->interrupt_shadow, 1u);
  v.queue_event(0x20, vm::EventType::external_interrupt);
  EXPECT_EQ(v.take_dirty(), Load::inject);
  EXPECT_EQ(page->inject.vector, 0x20u);
  EXPECT_EQ(page->inject.has_error_code, 0u);
  // Requests and the save mask are read on every run: no load bit.
  v.request_interrupt_window();
  EXPECT_EQ(page->request, vm::Request::interrupt_window);
  v.request_interrupt_window(false);
  EXPECT_EQ(page->request, 0u);
  v.set_save_mask(Load::all);
  EXPECT_EQ(v.save_mask(), Load::all & ~(Load::inject | Load::intercepts));
  EXPECT_EQ(v.dirty(), 0u);
}

struct Calls {
  int n = 0;
  vm::ExitReason seen = vm::ExitReason::none;
};

Action skip_handler(vmrt::VcpuState& v, void* ctx) {
  auto* c = static_cast<Calls*>(ctx);
  ++c->n;
  c->seen = v.exit_reason();
  return Action::skip;
}
Action stop_handler(vmrt::VcpuState&, void* ctx) {
  ++static_cast<Calls*>(ctx)->n;
  return Action::stop;
}

TEST_F(VcpuStateTest, DispatchCallsTheHandlerWithItsContextAndSkips) {
  Calls c;
  v.on(vm::ExitReason::cpuid, skip_handler, &c);
  exit(vm::ExitReason::cpuid, 2, 0x1000);
  v.take_dirty();
  auto a = v.dispatch();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.value(), Action::skip);
  EXPECT_EQ(c.n, 1);
  EXPECT_EQ(c.seen, vm::ExitReason::cpuid);
  EXPECT_EQ(v.rip(), 0x1002u);
  EXPECT_EQ(v.dirty(), Load::regs);
}

TEST_F(VcpuStateTest, ResumeAndStopLeaveRipAlone) {
  Calls c;
  v.on(vm::ExitReason::hlt, stop_handler, &c);
  v.on(vm::ExitReason::gpa_fault, vmrt::handlers::resume);
  exit(vm::ExitReason::hlt, 1, 0x2000);
  EXPECT_EQ(v.dispatch().value(), Action::stop);
  EXPECT_EQ(v.rip(), 0x2000u);
  exit(vm::ExitReason::gpa_fault, 0, 0x3000);
  EXPECT_EQ(v.dispatch().value(), Action::resume);
  EXPECT_EQ(v.rip(), 0x3000u);
  EXPECT_EQ(v.dirty(), 0u);
}

TEST_F(VcpuStateTest, UnhandledExitsAreErrorsUnlessAFallbackExists) {
  exit(vm::ExitReason::msr_read, 2, 0x4000);
  EXPECT_FALSE(v.handlers.handles(vm::ExitReason::msr_read));
  auto a = v.dispatch();
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, Errc::unhandled_exit);
  EXPECT_EQ(a.error().detail, static_cast<uint64_t>(vm::ExitReason::msr_read));
  EXPECT_EQ(a.error().addr, 0x4000u);
  EXPECT_STREQ(a.error().what, "msr_read");

  Calls c;
  v.on_unhandled(stop_handler, &c);
  EXPECT_TRUE(v.handlers.handles(vm::ExitReason::msr_read));
  EXPECT_EQ(v.dispatch().value(), Action::stop);
  // A reason cos/vm.hpp does not define also reaches the fallback.
  page->exit.reason = static_cast<vm::ExitReason>(99);
  EXPECT_EQ(v.dispatch().value(), Action::stop);
  EXPECT_EQ(c.n, 2);
  // Removing a handler.
  v.on(vm::ExitReason::vendor, skip_handler, &c);
  v.on(vm::ExitReason::vendor, nullptr);
  page->exit.reason = vm::ExitReason::vendor;
  EXPECT_EQ(v.dispatch().value(), Action::stop);
}

TEST_F(VcpuStateTest, SkipWithoutInstructionLengthFails) {
  v.on(vm::ExitReason::shutdown, vmrt::handlers::skip);
  exit(vm::ExitReason::shutdown, 0, 0x5000);
  auto a = v.dispatch();
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, Errc::no_instruction_length);
  EXPECT_EQ(v.rip(), 0x5000u);
}

TEST_F(VcpuStateTest, SkipWrapsIpIn16BitCode) {
  vmrt::setup_real_mode(v, {0xf000, 0xfffe, 0, 0, 0});
  v.set_save_mask(Load::cr | Load::segments);
  v.on(vm::ExitReason::io, vmrt::handlers::skip);
  exit(vm::ExitReason::io, 3, 0xfffe);
  ASSERT_TRUE(v.dispatch().ok());
  EXPECT_EQ(v.rip(), 0x1u);
  // Without the segments saved the library cannot know: plain addition.
  v.set_save_mask(0);
  exit(vm::ExitReason::io, 3, 0xfffe);
  ASSERT_TRUE(v.dispatch().ok());
  EXPECT_EQ(v.rip(), 0x10001u);
}

TEST_F(VcpuStateTest, ExitReasonTable) {
  EXPECT_EQ(vmrt::exit_reason_index(vm::ExitReason::none), 0);
  EXPECT_EQ(vmrt::exit_reason_index(vm::ExitReason::pause), 17);
  EXPECT_EQ(vmrt::exit_reason_index(vm::ExitReason::vendor), static_cast<int>(vmrt::kExitReasonSlots) - 1);
  EXPECT_EQ(vmrt::exit_reason_index(static_cast<vm::ExitReason>(18)), -1);
  EXPECT_STREQ(vmrt::exit_reason_name(vm::ExitReason::gpa_fault), "gpa_fault");
  EXPECT_STREQ(vmrt::exit_reason_name(vm::ExitReason::interrupt_window), "interrupt_window");
  EXPECT_STREQ(vmrt::exit_reason_name(static_cast<vm::ExitReason>(77)), "unknown");
  for (uint32_t r = 0; r <= 17; ++r)
    EXPECT_STRNE(vmrt::exit_reason_name(static_cast<vm::ExitReason>(r)), "unknown") << r;
  EXPECT_STREQ(vmrt::backend_name(vm::kBackendVmx), "vmx");
  EXPECT_STREQ(vmrt::backend_name(vm::kBackendSvm), "svm");
  EXPECT_STREQ(vmrt::backend_name(0), "unknown");
}

TEST_F(VcpuStateTest, HypercallInstructionPerBackend) {
  const uint8_t* vmx = vmrt::hypercall_instruction(vm::kBackendVmx);
  const uint8_t* svm = vmrt::hypercall_instruction(vm::kBackendSvm);
  ASSERT_TRUE(vmx && svm);
  EXPECT_EQ(vmx[2], 0xc1);
  EXPECT_EQ(svm[2], 0xd9);
  EXPECT_EQ(vmrt::hypercall_instruction(3), nullptr);
  ASSERT_TRUE(vmrt::write_hypercall(g.mem, 0x1000, v.backend()).ok());
  uint8_t b[3];
  ASSERT_TRUE(g.mem.read(0x1000, b, 3).ok());
  EXPECT_EQ(b[0], 0x0f);
  EXPECT_EQ(b[1], 0x01);
  EXPECT_EQ(b[2], 0xd9);
  EXPECT_EQ(vmrt::write_hypercall(g.mem, 0x1000, 9).error().code, Errc::bad_argument);
  EXPECT_EQ(vmrt::write_hypercall(g.mem, 0x200000, vm::kBackendVmx).error().code, Errc::not_ram);
}

TEST_F(VcpuStateTest, FreshnessGuardsTranslation) {
  vmrt::setup_real_mode(v, {0, 0x1000, 0, 0, 0});
  EXPECT_TRUE(v.translate(0x1234).ok());  // set by the VMM itself: current
  v.set_save_mask(0);
  exit(vm::ExitReason::hlt, 1, 0x1000);
  EXPECT_EQ(v.fresh(), Load::regs);
  auto t = v.translate(0x1234);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, Errc::stale_state);
  EXPECT_EQ(v.linear(Seg::cs, 0).error().code, Errc::stale_state);
  v.set_save_mask(Load::cr | Load::segments);
  exit(vm::ExitReason::hlt, 1, 0x1000);
  EXPECT_EQ(v.translate(0x1234).value().gpa, 0x1234u);
}

TEST_F(VcpuStateTest, LinearAddresses) {
  vmrt::setup_real_mode(v, {0x1234, 0x10, 0x2000, 0, 0});
  EXPECT_EQ(v.linear(Seg::cs, 0x10).value(), 0x12350u);
  EXPECT_EQ(v.linear(Seg::es, 0xffff).value(), 0x2ffffu);
  EXPECT_FALSE(v.long_mode_64());
  auto cr3 = vmrt::build_identity_map(g.mem, 0x10000, 0x4000, 1u << 30);
  ASSERT_TRUE(cr3.ok());
  ASSERT_TRUE(vmrt::setup_long_mode(v, g.mem, {0x400000, 0x8000, 0x9000, cr3.value(), true, false}).ok());
  EXPECT_TRUE(v.long_mode_64());
  v.set_segment(Seg::fs, vm::Segment{0, 0x93, 0xffff, 0x7000'0000'0000ull});
  v.set_segment(Seg::ds, vm::Segment{0, 0x93, 0xffff, 0x5000});
  EXPECT_EQ(v.linear(Seg::fs, 8).value(), 0x7000'0000'0008ull);
  EXPECT_EQ(v.linear(Seg::ds, 8).value(), 8u);  // ignored in 64-bit mode
}

TEST_F(VcpuStateTest, IoUnassignedReadsAllOnes) {
  vmrt::setup_real_mode(v, {0, 0x1000, 0, 0, 0});
  v.on(vm::ExitReason::io, vmrt::handlers::io_unassigned);
  page->regs.rax = 0x1234'5678'9abc'def0ull;
  page->exit.io = {};
  page->exit.io.port = 0x60;
  page->exit.io.size = 1;
  page->exit.io.in = 1;
  exit(vm::ExitReason::io, 1, 0x1000);
  EXPECT_EQ(v.dispatch().value(), Action::skip);
  EXPECT_EQ(page->regs.rax, 0x1234'5678'9abc'deffull);
  EXPECT_EQ(page->regs.rip, 0x1001u);
  page->exit.io.size = 4;
  exit(vm::ExitReason::io, 1, 0x1001);
  ASSERT_TRUE(v.dispatch().ok());
  EXPECT_EQ(page->regs.rax, 0xffffffffu);
  page->exit.io.in = 0;  // OUT: dropped, rax untouched
  page->regs.rax = 5;
  exit(vm::ExitReason::io, 1, 0x1002);
  ASSERT_TRUE(v.dispatch().ok());
  EXPECT_EQ(page->regs.rax, 5u);
  EXPECT_EQ(page->regs.rip, 0x1003u);
}

TEST_F(VcpuStateTest, IoUnassignedRepInsFillsMemoryAndConsumesTheCount) {
  vmrt::setup_real_mode(v, {0, 0x1000, 0x0100, 0, 0});  // es = 0x100 (base 0x1000)
  v.set_save_mask(Load::cr | Load::segments);
  v.on(vm::ExitReason::io, vmrt::handlers::io_unassigned);
  const uint8_t rep_insw[2] = {0xf3, 0x6d};  // the instruction at cs:ip (cs base 0)
  ASSERT_TRUE(g.mem.write(0x1000, rep_insw, sizeof(rep_insw)).ok());
  page->regs.rdi = 0x10;
  page->regs.rcx = 0xabcd'0003ull;  // only cx counts in 16-bit code
  page->exit.io = {};
  page->exit.io.port = 0x1f0;
  page->exit.io.size = 2;
  page->exit.io.in = 1;
  page->exit.io.string = 1;
  page->exit.io.rep = 1;
  exit(vm::ExitReason::io, 2, 0x1000);
  ASSERT_EQ(v.dispatch().value(), Action::skip);
  uint8_t buf[8];
  ASSERT_TRUE(g.mem.read(0x1010, buf, sizeof(buf)).ok());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(buf[i], 0xff) << i;
  EXPECT_EQ(buf[6], 0);
  EXPECT_EQ(page->regs.rdi, 0x16u);
  EXPECT_EQ(page->regs.rcx, 0xabcd'0000ull);
}

TEST_F(VcpuStateTest, MsrInjectGpQueuesTheException) {
  v.on(vm::ExitReason::msr_read, vmrt::handlers::msr_inject_gp);
  exit(vm::ExitReason::msr_read, 2, 0x1000);
  EXPECT_EQ(v.dispatch().value(), Action::resume);
  EXPECT_EQ(v.dirty(), Load::inject);
  EXPECT_EQ(page->inject.vector, 13u);
  EXPECT_EQ(page->inject.type, vm::EventType::exception);
  EXPECT_EQ(page->inject.has_error_code, 1u);
  EXPECT_EQ(page->regs.rip, 0x1000u);
}

// ---------------------------------------------------------------- initial modes

TEST_F(VcpuStateTest, RealMode) {
  vmrt::setup_real_mode(v, {0x1000, 0x0123, 0x2000, 0x3000, 0x7ffe});
  EXPECT_EQ(v.dirty(), vmrt::kLoadInitial);
  EXPECT_EQ(page->regs.rip, 0x123u);
  EXPECT_EQ(page->regs.rsp, 0x7ffeu);
  EXPECT_EQ(page->regs.rflags, 2u);
  EXPECT_EQ(page->cs.selector, 0x1000);
  EXPECT_EQ(page->cs.base, 0x10000u);
  EXPECT_EQ(page->cs.limit, 0xffffu);
  EXPECT_EQ(page->cs.attr, vmrt::attr::kRealCode);
  EXPECT_EQ(page->ds.base, 0x20000u);
  EXPECT_EQ(page->gs.base, 0x20000u);
  EXPECT_EQ(page->ss.base, 0x30000u);
  EXPECT_EQ(page->ss.attr, vmrt::attr::kRealData);
  EXPECT_EQ(page->tr.attr, vmrt::attr::kTssBusy);
  EXPECT_EQ(page->ldtr.attr, vmrt::attr::kLdt);
  EXPECT_EQ(page->idtr.limit, 0x3ffu);
  EXPECT_EQ(page->cr0, vmrt::kCr0Et | vmrt::kCr0Ne);
  EXPECT_EQ(page->efer, 0u);
  EXPECT_EQ(page->dr7, 0x400u);
  EXPECT_EQ(vmrt::paging_mode(v.paging_regs()), vmrt::PagingMode::off);
}

TEST_F(VcpuStateTest, GdtLayout) {
  ASSERT_TRUE(vmrt::write_gdt(g.mem, 0x5000).ok());
  uint64_t gdt[7];
  ASSERT_TRUE(g.mem.read(0x5000, gdt, sizeof(gdt)).ok());
  EXPECT_EQ(gdt[0], 0u);
  EXPECT_EQ(gdt[1], 0u);
  EXPECT_EQ(gdt[vmrt::gdt::kCode32 / 8], 0x00cf9b000000ffffull);
  EXPECT_EQ(gdt[vmrt::gdt::kData / 8], 0x00cf93000000ffffull);
  EXPECT_EQ(gdt[vmrt::gdt::kCode64 / 8], 0x00af9b000000ffffull);
  // TSS at 0x5100, limit 0x67, busy 64-bit TSS (type 0xb), present.
  EXPECT_EQ(gdt[vmrt::gdt::kTss / 8], 0x00008b0051000067ull);
  EXPECT_EQ(gdt[vmrt::gdt::kTss / 8 + 1], 0u);
  EXPECT_EQ(g.mem.read_obj<uint16_t>(0x5100 + 0x66).value(), 0x68);
  EXPECT_EQ(vmrt::write_gdt(g.mem, 0x5008).error().code, Errc::bad_argument);
  EXPECT_EQ(vmrt::write_gdt(g.mem, 0x200000).error().code, Errc::not_ram);
}

TEST_F(VcpuStateTest, ProtectedMode) {
  ASSERT_TRUE(vmrt::setup_protected_mode(v, g.mem, {0x100000, 0x90000, 0x6000, 0, false}).ok());
  EXPECT_EQ(v.dirty(), vmrt::kLoadInitial);
  EXPECT_EQ(page->regs.rip, 0x100000u);
  EXPECT_EQ(page->regs.rsp, 0x90000u);
  EXPECT_EQ(page->cr0, vmrt::kCr0Pe | vmrt::kCr0Et | vmrt::kCr0Ne);
  EXPECT_EQ(page->cs.selector, vmrt::gdt::kCode32);
  EXPECT_EQ(page->cs.attr, vmrt::attr::kCode32);
  EXPECT_EQ(page->cs.limit, 0xffffffffu);
  EXPECT_EQ(page->ss.selector, vmrt::gdt::kData);
  EXPECT_EQ(page->tr.selector, vmrt::gdt::kTss);
  EXPECT_EQ(page->tr.base, 0x6100u);
  EXPECT_EQ(page->gdtr.base, 0x6000u);
  EXPECT_EQ(page->gdtr.limit, vmrt::gdt::kLimit);
  EXPECT_EQ(vmrt::paging_mode(v.paging_regs()), vmrt::PagingMode::off);
  // With paging.
  ASSERT_TRUE(vmrt::setup_protected_mode(v, g.mem, {0x100000, 0x90000, 0x6000, 0x7000, false}).ok());
  EXPECT_EQ(vmrt::paging_mode(v.paging_regs()), vmrt::PagingMode::legacy32);
  ASSERT_TRUE(vmrt::setup_protected_mode(v, g.mem, {0x100000, 0x90000, 0x6000, 0x7020, true}).ok());
  EXPECT_EQ(vmrt::paging_mode(v.paging_regs()), vmrt::PagingMode::pae);
  EXPECT_EQ(vmrt::setup_protected_mode(v, g.mem, {0, 0, 0x6000, 0x7020, false}).error().code, Errc::bad_argument);
}

TEST_F(VcpuStateTest, LongModeWithTheLibrarysPageTables) {
  auto cr3 = vmrt::build_identity_map(g.mem, 0x10000, 0x4000, 1u << 30);
  ASSERT_TRUE(cr3.ok());
  ASSERT_TRUE(vmrt::setup_long_mode(v, g.mem, {0x2000, 0x8000, 0x9000, cr3.value(), true, true}).ok());
  EXPECT_EQ(v.dirty(), vmrt::kLoadInitial);
  EXPECT_EQ(page->cr0, vmrt::kCr0Pe | vmrt::kCr0Et | vmrt::kCr0Ne | vmrt::kCr0Wp | vmrt::kCr0Pg);
  EXPECT_EQ(page->cr4, vmrt::kCr4Pae);
  EXPECT_EQ(page->efer, vmrt::kEferLme | vmrt::kEferLma | vmrt::kEferNxe | vmrt::kEferSce);
  EXPECT_EQ(page->cr3, cr3.value());
  EXPECT_EQ(page->cs.selector, vmrt::gdt::kCode64);
  EXPECT_EQ(page->cs.attr, vmrt::attr::kCode64);
  EXPECT_EQ(vmrt::paging_mode(v.paging_regs()), vmrt::PagingMode::level4);
  auto t = v.translate(0x3f12'3456, vm::kAccessWrite);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.value().gpa, 0x3f12'3456u);
  EXPECT_EQ(vmrt::setup_long_mode(v, g.mem, {0, 0, 0x9000, 0, true, false}).error().code, Errc::bad_argument);
  EXPECT_EQ(vmrt::setup_long_mode(v, g.mem, {0, 0, 0x9000, 0x1234, true, false}).error().code, Errc::bad_argument);
}

}  // namespace
