// The host-testable parts of the Intel VMX backend (src/platform/x86_64/vmx):
// EPT entry encoding and walk, segment attribute conversion, exit
// qualification decoding, event information, instruction lengths and the
// VM-entry guest-state checks (also on the states vmrt's mode set-up builds,
// so the library and the kernel agree on what is loadable).
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "vmrt/modes.hpp"
#include "vmrt/paging.hpp"
#include "vmrt/vcpu_state.hpp"
#include "unit/vmrt_test_util.hpp"
#include "x86_64/vmx/decode.hpp"
#include "x86_64/vmx/ept.hpp"
#include "x86_64/vmx/guest_state.hpp"

namespace {

namespace vm = cos::vm;
namespace Load = cos::vm::Load;
namespace ept = cos::vmx::ept;
using cos::vmx::GuestLimits;
using cos::vmx::GuestState;
using cos::vmx::Seg;
using cos::vmx::SegmentState;

// --- EPT ------------------------------------------------------------------------

TEST(VmxEpt, TableEntryIsFullyPermissive) {
  EXPECT_EQ(ept::table_entry(0x123000), 0x123007u);
  EXPECT_EQ(ept::table_entry(0x123fff), 0x123007u);  // offset bits dropped
  EXPECT_TRUE(ept::present(ept::table_entry(0x1000)));
}

TEST(VmxEpt, LeafEntryRightsMemoryTypeAndIgnorePat) {
  constexpr uint64_t kWbIpat = (6u << 3) | (1u << 6);
  EXPECT_EQ(ept::leaf_entry(0x5000, 7, false), 0x5000u | 7 | kWbIpat);
  EXPECT_EQ(ept::leaf_entry(0x5000, 1, false), 0x5000u | 1 | kWbIpat);
  EXPECT_EQ(ept::leaf_entry(0x5000, 3, false), 0x5000u | 3 | kWbIpat);
  EXPECT_EQ(ept::leaf_entry(0x5000, 5, false), 0x5000u | 5 | kWbIpat);
  // Write without read would be an EPT misconfiguration: write implies read.
  EXPECT_EQ(ept::leaf_entry(0x5000, 2, false), 0x5000u | 3 | kWbIpat);
  // Execute-only only where the CPU supports it.
  EXPECT_EQ(ept::leaf_entry(0x5000, 4, false), 0x5000u | 5 | kWbIpat);
  EXPECT_EQ(ept::leaf_entry(0x5000, 4, true), 0x5000u | 4 | kWbIpat);
  // No rights: not present at all.
  EXPECT_EQ(ept::leaf_entry(0x5000, 0, true), 0u);
  EXPECT_FALSE(ept::present(ept::leaf_entry(0x5000, 0, true)));
  // Rights beyond rwx (abi::Rights::grant) are ignored; high address bits kept.
  EXPECT_EQ(ept::leaf_entry(0xf'ffff'f000ull, 0xf, false), 0xf'ffff'f000ull | 7 | kWbIpat);
  EXPECT_EQ(ept::address(ept::leaf_entry(0xabcd'e000, 1, false)), 0xabcd'e000u);
}

TEST(VmxEpt, LargeLeafIsAPdeWithBit7) {
  constexpr uint64_t kWbIpat = (6u << 3) | (1u << 6);
  EXPECT_EQ(ept::large_leaf_entry(0x40200000, 3, false), 0x40200000u | 3 | kWbIpat | (1u << 7));
  EXPECT_EQ(ept::large_leaf_entry(0x40200000, 4, false), 0x40200000u | 5 | kWbIpat | (1u << 7));
  EXPECT_EQ(ept::address(ept::large_leaf_entry(0x403ff000, 1, false)), 0x40200000u) << "low bits dropped";
  EXPECT_EQ(ept::large_leaf_entry(0x200000, 0, true), 0u) << "no rights: not present, no stray bit 7";
}

TEST(VmxEpt, PointerIsWriteBackFourLevels) {
  EXPECT_EQ(ept::eptp(0x7000), 0x7000u | 6 | (3u << 3));
  EXPECT_EQ(ept::eptp(0x7fff) & ~0xfffull, 0x7000u);
}

struct FakeEpt {
  std::map<uint64_t, std::vector<uint64_t>> pages;
  uint64_t* table(uint64_t pa) {
    auto& p = pages[pa];
    if (p.empty()) p.assign(512, 0);
    return p.data();
  }
};

TEST(VmxEpt, TranslateWalksFourLevelsAndLargePages) {
  FakeEpt mem;
  const uint64_t root = 0x10000;
  const uint64_t gpa = 0x12345678;
  mem.table(root)[ept::index(gpa, 3)] = ept::table_entry(0x11000);
  mem.table(0x11000)[ept::index(gpa, 2)] = ept::table_entry(0x12000);
  mem.table(0x12000)[ept::index(gpa, 1)] = ept::table_entry(0x13000);
  mem.table(0x13000)[ept::index(gpa, 0)] = ept::leaf_entry(0x777000, 1, false);
  uint64_t hpa = 0, perm = 0;
  ASSERT_TRUE(ept::translate(mem, root, gpa, hpa, perm));
  EXPECT_EQ(hpa, 0x777678u);
  EXPECT_EQ(perm, ept::kRead);
  EXPECT_FALSE(ept::translate(mem, root, gpa + 0x1000, hpa, perm));
  EXPECT_FALSE(ept::translate(mem, root, 1ull << 39, hpa, perm));
  // A 2 MiB leaf in the page directory.
  const uint64_t big = 0x40200000 + 0x1234;
  mem.table(root)[ept::index(big, 3)] = ept::table_entry(0x11000);
  mem.table(0x11000)[ept::index(big, 2)] = ept::table_entry(0x14000);
  mem.table(0x14000)[ept::index(big, 1)] = 0x80000000ull | 7 | ept::kLargePage;
  ASSERT_TRUE(ept::translate(mem, root, big, hpa, perm));
  EXPECT_EQ(hpa, 0x80001234u);
  EXPECT_EQ(perm, 7u);
}

// --- Segment attributes -----------------------------------------------------------

TEST(VmxSegments, AttributesToAccessRights) {
  using cos::vmx::ar_from_attr;
  EXPECT_EQ(ar_from_attr(0x9b), 0x9bu);      // real-mode code
  EXPECT_EQ(ar_from_attr(0x93), 0x93u);      // real-mode data
  EXPECT_EQ(ar_from_attr(0xc9b), 0xc09bu);   // flat 32-bit code: G, D
  EXPECT_EQ(ar_from_attr(0xa9b), 0xa09bu);   // 64-bit code: G, L
  EXPECT_EQ(ar_from_attr(0x19b), 0x109bu);   // AVL
  EXPECT_EQ(ar_from_attr(0x8b), 0x8bu);      // busy TSS
  EXPECT_EQ(ar_from_attr(0), 1u << 16);      // unusable
  // Not present = unusable, the DPL kept (SS.DPL is the CPL).
  EXPECT_EQ(ar_from_attr(0x60), (1u << 16) | 0x60);
  EXPECT_EQ(ar_from_attr(0x13), 1u << 16);
}

TEST(VmxSegments, AccessRightsToAttributes) {
  using cos::vmx::ar_from_attr;
  using cos::vmx::attr_from_ar;
  EXPECT_EQ(attr_from_ar(0x9b), 0x9b);
  EXPECT_EQ(attr_from_ar(0xc093), 0xc93);
  EXPECT_EQ(attr_from_ar(0xa09b), 0xa9b);
  EXPECT_EQ(attr_from_ar(1u << 16), 0);
  // Unusable: garbage in the other bits reads as 0 except the DPL.
  EXPECT_EQ(attr_from_ar((1u << 16) | 0xc0f3), 0x60);
  for (uint16_t attr : {0x93, 0x9b, 0xc93, 0xc9b, 0xa9b, 0x8b, 0x82, 0xff3, 0x0, 0x40, 0x20}) {
    EXPECT_EQ(attr_from_ar(ar_from_attr(attr)), (attr & 0x80) ? attr : (attr & 0x60)) << std::hex << attr;
  }
}

TEST(VmxSegments, FromAbiFixesWhatOnlyVmxRejects) {
  using cos::vmx::segment_from_abi;
  // Code/data get the accessed bit.
  EXPECT_EQ(segment_from_abi(Seg::cs, {0x10, 0x9a, 0xffff, 0}).ar, 0x9bu);
  EXPECT_EQ(segment_from_abi(Seg::ds, {0x18, 0xc92, 0xffffffff, 0}).ar, 0xc093u);
  // Unusable data segments stay unusable.
  EXPECT_EQ(segment_from_abi(Seg::fs, {0, 0, 0, 0}).ar, 1u << 16);
  // TR becomes a busy TSS; an unusable TR a busy 32-bit TSS.
  EXPECT_EQ(segment_from_abi(Seg::tr, {0x28, 0x89, 0x67, 0x1000}).ar, 0x8bu);
  EXPECT_EQ(segment_from_abi(Seg::tr, {0x28, 0x81, 0x67, 0x1000}).ar, 0x83u);
  EXPECT_EQ(segment_from_abi(Seg::tr, {0, 0, 0xffff, 0}).ar, 0x8bu);
  // LDTR is a system segment: no accessed bit.
  EXPECT_EQ(segment_from_abi(Seg::ldtr, {0, 0x82, 0xffff, 0}).ar, 0x82u);
  auto r = segment_from_abi(Seg::gs, {0x2b, 0x93, 0xfffff, 0x7fff'0000'0000ull});
  EXPECT_EQ(r.sel, 0x2b);
  EXPECT_EQ(r.limit, 0xfffffu);
  EXPECT_EQ(r.base, 0x7fff'0000'0000ull);
  vm::Segment back = cos::vmx::segment_to_abi(r);
  EXPECT_EQ(back.selector, 0x2b);
  EXPECT_EQ(back.attr, 0x93);
  EXPECT_EQ(back.limit, 0xfffffu);
  EXPECT_EQ(back.base, 0x7fff'0000'0000ull);
}

// --- Exit qualifications ------------------------------------------------------------

vm::Exit io(uint64_t qual, uint64_t rax) {
  vm::Exit e{};
  cos::vmx::decode_io(qual, rax, e);
  return e;
}

TEST(VmxDecode, IoQualification) {
  // OUT DX, AL to 0x3f8.
  vm::Exit e = io(0x03f8'0000ull | 0, 0x1234'5678'9abc'de36ull);
  EXPECT_EQ(e.io.port, 0x3f8);
  EXPECT_EQ(e.io.size, 1);
  EXPECT_EQ(e.io.in, 0);
  EXPECT_EQ(e.io.string, 0);
  EXPECT_EQ(e.io.rep, 0);
  EXPECT_EQ(e.io.data, 0x36u);
  // OUT DX, AX and OUT imm8, EAX (operand encoding bit 6 does not matter).
  e = io(0x00f4'0000ull | 1, 0xffff'ffff'1234'abcdull);
  EXPECT_EQ(e.io.size, 2);
  EXPECT_EQ(e.io.data, 0xabcdu);
  e = io(0x0080'0000ull | 3 | (1u << 6), 0xffff'ffff'1234'abcdull);
  EXPECT_EQ(e.io.port, 0x80);
  EXPECT_EQ(e.io.size, 4);
  EXPECT_EQ(e.io.data, 0x1234'abcdu);
  // IN: no data.
  e = io(0x0060'0000ull | (1u << 3), 0xff);
  EXPECT_EQ(e.io.port, 0x60);
  EXPECT_EQ(e.io.in, 1);
  EXPECT_EQ(e.io.data, 0u);
  // REP OUTSW: string data is in guest memory.
  e = io(0xffff'0000ull | 1 | (1u << 4) | (1u << 5), 0x4142);
  EXPECT_EQ(e.io.port, 0xffff);
  EXPECT_EQ(e.io.size, 2);
  EXPECT_EQ(e.io.string, 1);
  EXPECT_EQ(e.io.rep, 1);
  EXPECT_EQ(e.io.data, 0u);
  // INSB.
  e = io(0x01f0'0000ull | (1u << 3) | (1u << 4), 0);
  EXPECT_EQ(e.io.in, 1);
  EXPECT_EQ(e.io.string, 1);
  EXPECT_EQ(e.io.rep, 0);
}

TEST(VmxDecode, EptViolationQualification) {
  vm::Exit e{};
  // Read of an unmapped page.
  cos::vmx::decode_ept_violation(0x1 | (1u << 7) | (1u << 8), 0xfee0'0030, e);
  EXPECT_EQ(e.gpa.gpa, 0xfee0'0030u);
  EXPECT_EQ(e.gpa.access, vm::kAccessRead);
  EXPECT_EQ(e.gpa.present, 0u);
  // Write to a read/execute page (and the read of a read-modify-write).
  cos::vmx::decode_ept_violation(0x3 | (0x5u << 3), 0x1000, e);
  EXPECT_EQ(e.gpa.access, vm::kAccessRead | vm::kAccessWrite);
  EXPECT_EQ(e.gpa.present, 1u);
  // Instruction fetch from a read-only page.
  cos::vmx::decode_ept_violation(0x4 | (0x1u << 3), 0x2000, e);
  EXPECT_EQ(e.gpa.access, vm::kAccessExec);
  EXPECT_EQ(e.gpa.present, 1u);
}

TEST(VmxDecode, CrAccessQualification) {
  using cos::vmx::CrAccess;
  auto q = cos::vmx::decode_cr(0x0000'0300ull | 0x0);  // mov cr0, rbx
  EXPECT_EQ(q.cr, 0u);
  EXPECT_EQ(q.access, CrAccess::mov_to_cr);
  EXPECT_EQ(q.gpr, 3u);
  q = cos::vmx::decode_cr(0x0000'0f14ull);  // mov r15, cr4
  EXPECT_EQ(q.cr, 4u);
  EXPECT_EQ(q.access, CrAccess::mov_from_cr);
  EXPECT_EQ(q.gpr, 15u);
  q = cos::vmx::decode_cr(0x0000'0020ull);
  EXPECT_EQ(q.access, CrAccess::clts);
  q = cos::vmx::decode_cr(0x0011'0030ull);
  EXPECT_EQ(q.access, CrAccess::lmsw);
  EXPECT_EQ(q.lmsw_source, 0x11);
  vm::Exit e{};
  cos::vmx::decode_cr(0x0000'0808ull, e);  // mov cr8, r8
  EXPECT_EQ(e.cr.cr, 8u);
  EXPECT_EQ(e.cr.write, 1u);
  EXPECT_EQ(e.cr.gpr, 8u);
  cos::vmx::decode_cr(0x0000'0213ull, e);  // mov rdx, cr3
  EXPECT_EQ(e.cr.cr, 3u);
  EXPECT_EQ(e.cr.write, 0u);
  EXPECT_EQ(e.cr.gpr, 2u);
}

// --- Events -----------------------------------------------------------------------

TEST(VmxEvents, EntryInterruptionInformation) {
  using cos::vmx::entry_intr_info;
  EXPECT_EQ(entry_intr_info(0x20, vm::EventType::external_interrupt, true), 0x8000'0020u);
  EXPECT_EQ(entry_intr_info(2, vm::EventType::nmi, false), 0x8000'0202u);
  EXPECT_EQ(entry_intr_info(3, vm::EventType::nmi, false), 0u);  // NMI is vector 2
  // #GP: the error code is delivered in protected mode only (unrestricted guest).
  EXPECT_EQ(entry_intr_info(13, vm::EventType::exception, true), 0x8000'0b0du);
  EXPECT_EQ(entry_intr_info(13, vm::EventType::exception, false), 0x8000'030du);
  // #UD has no error code whatever the caller says.
  EXPECT_EQ(entry_intr_info(6, vm::EventType::exception, true), 0x8000'0306u);
  // #CP has an error code only on CPUs with CET (VM entry checks it).
  EXPECT_EQ(entry_intr_info(21, vm::EventType::exception, true), 0x8000'0315u);
  EXPECT_EQ(entry_intr_info(21, vm::EventType::exception, true, true), 0x8000'0b15u);
  for (unsigned v : {8u, 10u, 11u, 12u, 13u, 14u, 17u, 21u})
    EXPECT_TRUE(entry_intr_info(v, vm::EventType::exception, true, true) & (1u << 11)) << v;
  EXPECT_EQ(entry_intr_info(32, vm::EventType::exception, true), 0u);
  EXPECT_EQ(entry_intr_info(0x80, vm::EventType::software_interrupt, true), 0x8000'0480u);
  EXPECT_EQ(entry_intr_info(256, vm::EventType::external_interrupt, true), 0u);
  EXPECT_EQ(entry_intr_info(1, static_cast<vm::EventType>(1), true), 0u);
}

TEST(VmxEvents, ReinjectionDropsUndefinedBits) {
  EXPECT_EQ(cos::vmx::reinjection_info(0x8000'1b0eu), 0x8000'0b0eu);
  EXPECT_EQ(cos::vmx::reinjection_info(0x0000'0020u), 0u);
}

// --- Instruction lengths --------------------------------------------------------------

TEST(VmxInstructionLength, DefinedOnlyForInstructionExits) {
  using cos::vmx::exit_instruction_length;
  using R = cos::vmx::Reason;
  auto len = [](R r, uint32_t exit_info, uint32_t idt_info, uint64_t field) {
    return exit_instruction_length(static_cast<uint32_t>(r), exit_info, idt_info, field);
  };
  EXPECT_EQ(len(R::hlt, 0, 0, 1), 1u);
  EXPECT_EQ(len(R::io, 0, 0, 2), 2u);
  EXPECT_EQ(len(R::vmcall, 0, 0, 3), 3u);
  EXPECT_EQ(len(R::cpuid, 0, 0, 2), 2u);
  EXPECT_EQ(len(R::rdmsr, 0, 0, 2), 2u);
  EXPECT_EQ(len(R::cr_access, 0, 0, 3), 3u);
  EXPECT_EQ(len(R::xsetbv, 0, 0, 3), 3u);
  // Not instruction exits: the field is undefined.
  EXPECT_EQ(len(R::ept_violation, 0, 0, 5), 0u);
  EXPECT_EQ(len(R::external_interrupt, 0, 0, 5), 0u);
  EXPECT_EQ(len(R::triple_fault, 0, 0, 5), 0u);
  EXPECT_EQ(len(R::interrupt_window, 0, 0, 5), 0u);
  // Exceptions: only software ones (INT3: type 6) have a length.
  EXPECT_EQ(len(R::exception_nmi, 0x8000'0603u, 0, 1), 1u);
  EXPECT_EQ(len(R::exception_nmi, 0x8000'0b0du, 0, 3), 0u);
  // An EPT violation while delivering INT n: the length of INT n.
  EXPECT_EQ(len(R::ept_violation, 0, 0x8000'0480u, 2), 2u);
  EXPECT_EQ(len(R::ept_violation, 0, 0x8000'0020u, 2), 0u);
  // Out-of-range values are never passed on.
  EXPECT_EQ(len(R::hlt, 0, 0, 0), 0u);
  EXPECT_EQ(len(R::hlt, 0, 0, 16), 0u);
}

// --- Guest state -----------------------------------------------------------------------

/// Capability MSR values of a Skylake-class CPU (and of Bochs' corei7_skylake_x).
GuestLimits limits() {
  GuestLimits l{};
  l.cr0_fixed0 = 0x80000021;  // PG, NE, PE
  l.cr0_fixed1 = 0xffffffff;
  l.cr4_fixed0 = 0x2000;      // VMXE
  l.cr4_fixed1 = 0x3767ff;
  l.phys_bits = 39;
  return l;
}

TEST(VmxGuestState, ResetStatePasses) {
  GuestLimits l = limits();
  GuestState g = cos::vmx::reset_guest_state(l);
  EXPECT_EQ(cos::vmx::check_guest_state(g, l), nullptr);
  EXPECT_EQ(g.cr0 & 0x20, 0x20u);   // NE forced
  EXPECT_EQ(g.cr0 & 0x1, 0u);       // PE relaxed (unrestricted guest)
  EXPECT_EQ(g.cr4, 0x2000u);
  // CD and NW stay with the host (the guest sees them in the read shadow).
  EXPECT_EQ(g.cr0 & (3ull << 29), 0u);
  EXPECT_EQ(cos::vmx::kResetCr0, 0x60000010u);
  EXPECT_EQ(cos::vmx::cr0_host_owned(l), 0x60000020u);
  EXPECT_EQ(cos::vmx::cr0_real(0x60000011, l), 0x31u);
}

TEST(VmxGuestState, ChecksCatchWhatEntryRejects) {
  GuestLimits l = limits();
  auto fails = [&](auto change) {
    GuestState g = cos::vmx::reset_guest_state(l);
    change(g);
    return cos::vmx::check_guest_state(g, l) != nullptr;
  };
  EXPECT_TRUE(fails([](GuestState& g) { g.cr0 &= ~0x20ull; }));              // NE cleared
  EXPECT_TRUE(fails([](GuestState& g) { g.cr0 |= 0x80000000ull; }));          // PG without PE
  EXPECT_TRUE(fails([](GuestState& g) { g.cr0 |= 1ull << 29; }));            // NW without CD
  EXPECT_TRUE(fails([](GuestState& g) { g.cr4 &= ~0x2000ull; }));             // VMXE cleared
  EXPECT_TRUE(fails([](GuestState& g) { g.cr4 |= 1ull << 30; }));             // unsupported CR4 bit
  EXPECT_TRUE(fails([](GuestState& g) { g.cr3 = 1ull << 45; }));              // beyond MAXPHYADDR
  EXPECT_TRUE(fails([](GuestState& g) { g.efer = 1ull << 12; }));             // reserved EFER bit
  EXPECT_TRUE(fails([](GuestState& g) { g.efer = 1ull << 10; }));             // LMA without IA-32e
  EXPECT_TRUE(fails([](GuestState& g) { g.ia32e = true; }));                  // IA-32e without paging
  EXPECT_TRUE(fails([](GuestState& g) { g.dr7 = 1ull << 32; }));
  EXPECT_TRUE(fails([](GuestState& g) { g.rip = 1ull << 32; }));              // real mode, RIP > 4 GiB
  EXPECT_TRUE(fails([](GuestState& g) { g.rflags = 0; }));                    // bit 1 clear
  EXPECT_TRUE(fails([](GuestState& g) { g.rflags = 2 | (1ull << 17); }));     // virtual-8086
  EXPECT_TRUE(fails([](GuestState& g) { g.rflags = 2 | (1ull << 22); }));     // reserved
  EXPECT_TRUE(fails([](GuestState& g) { g.interruptibility = 1; }));          // STI blocking, IF = 0
  EXPECT_TRUE(fails([](GuestState& g) { g.interruptibility = 3; g.rflags |= 0x200; }));
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[1].ar = 1u << 16; }));         // CS unusable
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[1].ar = 0x9a; }));             // CS not accessed
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[1].ar = 0xfb; }));             // real-mode CS.DPL 3 != SS.DPL
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[1].ar = 0xf3; g.seg[2].ar = 0xf3; }));  // data CS with DPL 3
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[2].ar = 0x9b; }));             // SS is code
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[3].ar = 0x92; }));             // DS not accessed
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[3].ar = 0x13; }));             // DS not present
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[3].ar = 0x99; }));             // DS execute-only code
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[3].limit = 0xffffe; g.seg[3].ar |= 1u << 15; }));  // G with limit[11:0] != fff
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[3].limit = 0x100000; }));      // limit > 1 MiB without G
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[3].ar |= 0x100; }));           // reserved AR bits
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[0].base = 1ull << 32; }));    // ES base above 4 GiB
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[4].base = 1ull << 47; }));    // FS base not canonical
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[7].ar = 0x89; }));             // TR not busy
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[7].ar = 1u << 16; }));         // TR unusable
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[7].sel = 4; }));               // TR.TI
  EXPECT_TRUE(fails([](GuestState& g) { g.seg[6].ar = 0x83; }));             // LDTR wrong type
  EXPECT_TRUE(fails([](GuestState& g) { g.gdtr_limit = 0x10000; }));
  EXPECT_TRUE(fails([](GuestState& g) { g.idtr_base = 0x8000'0000'0000ull; }));
  EXPECT_TRUE(fails([](GuestState& g) { g.sysenter_eip = 0x8000'0000'0000ull; }));
  // And what passes: unusable data segments with any base, LDTR unusable, STI shadow with IF.
  EXPECT_FALSE(fails([](GuestState& g) { g.seg[3] = SegmentState{0, 0, 1ull << 40, 1u << 16}; }));
  EXPECT_FALSE(fails([](GuestState& g) { g.seg[6].ar = 1u << 16; }));
  EXPECT_FALSE(fails([](GuestState& g) { g.interruptibility = 1; g.rflags |= 0x200; }));
  EXPECT_FALSE(fails([](GuestState& g) { g.seg[7].ar = 0x83; }));           // 16-bit busy TSS outside IA-32e
}

// PKRU is never the guest's (x86_64/guest_policy.hpp): on a CPU whose
// IA32_VMX_CR4_FIXED1 allows PKE (bit 22) a VMM's CR4.PKE is still refused,
// and the bits a guest may set exclude it (and VMXE).
TEST(VmxGuestState, ProtectionKeysAreNeverTheGuests) {
  GuestLimits l = limits();
  l.cr4_fixed1 |= 1ull << 22;  // a CPU with PKU
  GuestState g = cos::vmx::reset_guest_state(l);
  EXPECT_EQ(cos::vmx::check_guest_state(g, l), nullptr);
  g.cr4 |= 1ull << 22;
  EXPECT_NE(cos::vmx::check_guest_state(g, l), nullptr);
  EXPECT_EQ(cos::vmx::cr4_guest_valid(l) & (1ull << 22), 0u);
  EXPECT_EQ(cos::vmx::cr4_guest_valid(l) & 0x2000u, 0u) << "VMXE";
  EXPECT_EQ(cos::vmx::cr4_guest_valid(l) & 0xa0u, 0xa0u) << "PAE and PGE stay the guest's";
}

TEST(VmxGuestState, Virtual8086) {
  GuestLimits l = limits();
  GuestState g = cos::vmx::reset_guest_state(l);
  g.cr0 |= 1;  // protected mode
  g.rflags = 2 | (1ull << 17);
  for (unsigned i = 0; i < 6; ++i) g.seg[i] = SegmentState{uint16_t(0x1000 + i), 0xffff, (0x1000ull + i) << 4, 0xf3};
  EXPECT_EQ(cos::vmx::check_guest_state(g, l), nullptr);
  g.seg[unsigned(Seg::ds)].base = 0;
  EXPECT_NE(cos::vmx::check_guest_state(g, l), nullptr);
  g.seg[unsigned(Seg::ds)].base = 0x10030;
  g.seg[unsigned(Seg::cs)].ar = 0xfb;  // must be 0xf3 in virtual-8086 mode
  EXPECT_NE(cos::vmx::check_guest_state(g, l), nullptr);
}

TEST(VmxGuestState, Pdptes) {
  uint64_t ok[4] = {0x1001, 0, 0x2001, 0xfff0};  // not-present entries may hold anything
  EXPECT_TRUE(cos::vmx::pdptes_valid(ok, 39));
  uint64_t reserved[4] = {0x1003, 0, 0, 0};  // bit 1
  EXPECT_FALSE(cos::vmx::pdptes_valid(reserved, 39));
  uint64_t high[4] = {(1ull << 40) | 1, 0, 0, 0};
  EXPECT_FALSE(cos::vmx::pdptes_valid(high, 39));
  EXPECT_TRUE(cos::vmx::pdptes_valid(high, 41));
  uint64_t nx[4] = {(1ull << 63) | 1, 0, 0, 0};
  EXPECT_FALSE(cos::vmx::pdptes_valid(nx, 52));
}

/// vcpu_load's overlay on a vCPU fresh from vcpu_init.
class VmxOverlay : public ::testing::Test {
 protected:
  void SetUp() override {
    page = std::make_unique<vm::StatePage>();
    std::memset(page.get(), 0, sizeof(vm::StatePage));
    page->magic = vm::kStateMagic;
    page->backend = vm::kBackendVmx;
    ASSERT_TRUE(mem.add(0, 0x200000));
    v.attach(page.get(), &mem.mem);
    g = cos::vmx::reset_guest_state(l);
    cr0 = 0x60000010;
    cr4 = 0;
  }
  const char* overlay(uint64_t mask) { return cos::vmx::overlay_state(g, cr0, cr4, *page, mask, l); }
  GuestLimits l = limits();
  std::unique_ptr<vm::StatePage> page;
  vmrt_test::HostGuestMemory mem;
  vmrt::VcpuState v;
  GuestState g;
  uint64_t cr0, cr4;
};

TEST_F(VmxOverlay, VmrtRealModeLoads) {
  vmrt::setup_real_mode(v, {0x1000, 0x0123, 0x2000, 0x3000, 0x7ffe});
  ASSERT_EQ(overlay(Load::all), nullptr);
  EXPECT_EQ(g.rip, 0x123u);
  EXPECT_EQ(g.seg[unsigned(Seg::cs)].base, 0x10000u);
  EXPECT_EQ(g.seg[unsigned(Seg::cs)].ar, 0x9bu);
  EXPECT_FALSE(g.ia32e);
  EXPECT_EQ(cr0 & 1, 0u);
  EXPECT_EQ(g.cr0 & 0x20, 0x20u);
  // The guest-visible CR0 keeps CD/NW; the CPU's does not get them.
  page->cr0 = 0x60000010;
  ASSERT_EQ(overlay(Load::cr), nullptr);
  EXPECT_EQ(cr0, 0x60000010u);
  EXPECT_EQ(g.cr0, 0x30u);
}

TEST_F(VmxOverlay, VmrtProtectedModeLoads) {
  ASSERT_TRUE(vmrt::setup_protected_mode(v, mem.mem, {0x100000, 0x90000, 0x6000, 0, false}).ok());
  ASSERT_EQ(overlay(Load::all), nullptr);
  EXPECT_EQ(g.seg[unsigned(Seg::cs)].ar, 0xc09bu);
  EXPECT_EQ(g.seg[unsigned(Seg::tr)].ar, 0x8bu);
  EXPECT_FALSE(cos::vmx::uses_pae_pdptes(g));
  ASSERT_TRUE(vmrt::setup_protected_mode(v, mem.mem, {0x100000, 0x90000, 0x6000, 0x7020, true}).ok());
  ASSERT_EQ(overlay(Load::all), nullptr);
  EXPECT_TRUE(cos::vmx::uses_pae_pdptes(g));
}

TEST_F(VmxOverlay, VmrtLongModeLoadsAndSetsIa32e) {
  auto cr3 = vmrt::build_identity_map(mem.mem, 0x10000, 0x4000, 1u << 30);
  ASSERT_TRUE(cr3.ok());
  ASSERT_TRUE(vmrt::setup_long_mode(v, mem.mem, {0x400000, 0x8000, 0x9000, cr3.value(), true, true}).ok());
  ASSERT_EQ(overlay(Load::all), nullptr);
  EXPECT_TRUE(g.ia32e);
  EXPECT_TRUE(g.efer & (1u << 10));
  EXPECT_FALSE(cos::vmx::uses_pae_pdptes(g));
  // LMA follows LME && PG whatever the VMM wrote.
  page->efer &= ~(1ull << 10);
  ASSERT_EQ(overlay(Load::cr), nullptr);
  EXPECT_TRUE(g.efer & (1u << 10));
  // Long mode without PAE is refused.
  page->cr4 &= ~(1ull << 5);
  EXPECT_NE(overlay(Load::cr), nullptr);
}

TEST_F(VmxOverlay, RejectsBadStateAndFixesHarmlessOnes) {
  auto fresh = [&] {
    g = cos::vmx::reset_guest_state(l);
    vmrt::setup_real_mode(v, {0, 0x1000, 0, 0, 0});
  };
  fresh();
  page->cr0 |= 1u << 29;  // NW without CD
  EXPECT_NE(overlay(Load::all), nullptr);
  fresh();
  page->cr4 = 1u << 13;  // VMXE
  EXPECT_NE(overlay(Load::all), nullptr);
  fresh();
  page->cr0 |= 1u << 31;  // PG without PE
  EXPECT_NE(overlay(Load::all), nullptr);
  fresh();
  page->lstar = 0x8000'0000'0000ull;
  EXPECT_NE(overlay(Load::syscall_msrs), nullptr);
  EXPECT_EQ(overlay(Load::regs), nullptr);  // only the loaded groups count
  fresh();
  page->cs.attr = 0;  // CS unusable
  EXPECT_NE(overlay(Load::segments), nullptr);
  // TR of attr 0 (fine on SVM) becomes a busy TSS; reserved RFLAGS bits vanish.
  fresh();
  page->tr = vm::Segment{0, 0, 0, 0};
  page->regs.rflags = 0x202 | (1ull << 40);
  ASSERT_EQ(overlay(Load::all), nullptr);
  EXPECT_EQ(g.seg[unsigned(Seg::tr)].ar, 0x8bu);
  EXPECT_EQ(g.rflags, 0x202u);
}

TEST_F(VmxOverlay, InterruptShadow) {
  vmrt::setup_real_mode(v, {0, 0x1000, 0, 0, 0});
  page->regs.rflags = 0x202;
  page->interrupt_shadow = 1;
  ASSERT_EQ(overlay(Load::all), nullptr);
  EXPECT_EQ(g.interruptibility, 1u);  // blocking by STI
  // Moving RIP without loading the shadow ends it.
  page->regs.rip = 0x1001;
  ASSERT_EQ(overlay(Load::regs), nullptr);
  EXPECT_EQ(g.interruptibility, 0u);
  // A shadow with IF = 0 becomes MOV-SS blocking (STI blocking needs IF).
  page->regs.rflags = 0x2;
  ASSERT_EQ(overlay(Load::regs | Load::interruptibility), nullptr);
  EXPECT_EQ(g.interruptibility, 2u);
}

}  // namespace
