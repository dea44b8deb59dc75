// hostile_guests cases: guest-physical memory that is not RAM. Sweeps over
// the guest-physical space (up to 64 GiB in long mode, 4 GiB in protected
// mode, the first MiB and the high memory area in real mode): an empty PC
// bus reads all ones and ignores writes, everywhere, the APIC ranges
// included (no APIC here). Unusual instructions on such memory (XCHG,
// LOCK-prefixed read-modify-writes, string moves, SSE moves), execution
// from it, a stack on it, and page tables and an IDT on it.
#include "fmt/format.hpp"
#include "hostile_guests/harness.hpp"

namespace hg {
namespace {

HG_SNIPPET(mmio_rmw_long)
HG_SNIPPET(mmio_unemulated_long)
HG_SNIPPET(mmio_strings_long)
HG_SNIPPET(mmio_execute_long)
HG_SNIPPET(pf_loop_long)
HG_SNIPPET(mmio_stack_long)
HG_SNIPPET(mmio_page_tables_long)
HG_SNIPPET(mmio_idt_long)
HG_SNIPPET(mmio_real)
HG_SNIPPET(mmio_pm32)
HG_SNIPPET(gpa_sweep_long)
HG_SNIPPET(gpa_sweep_pm32)
HG_SNIPPET(gpa_sweep_real)
HG_AT(mmio_rmw_long_done)
HG_AT(mmio_unemulated_long_done)
HG_AT(mmio_strings_long_done)
HG_AT(mmio_execute_long_done)
HG_AT(mmio_stack_long_done)
HG_AT(mmio_real_done)
HG_AT(mmio_pm32_done)
HG_AT(gpa_sweep_long_done)
HG_AT(gpa_sweep_pm32_done)
HG_AT(gpa_sweep_real_done)

constexpr uint32_t kNone = 0xff;
constexpr uint32_t kUd = 6, kPf = 14;
constexpr uint64_t kMiB = 1ull << 20, kGiB = 1ull << 30, kPage = 4096;
constexpr uint64_t kAllOnes32 = 0xffffffffull;

/// Addresses a {first, end, stride} range list visits.
uint64_t visits(const uint64_t (*ranges)[3], unsigned n) {
  uint64_t total = 0;
  for (unsigned i = 0; i < n; ++i)
    if (ranges[i][1] > ranges[i][0]) total += (ranges[i][1] - ranges[i][0] + ranges[i][2] - 1) / ranges[i][2];
  return total;
}

}  // namespace

// ---------------------------------------------------------------- sweeps

// Every page of the windows a guest is most likely to poke (just past guest
// RAM, the I/O APIC's and local APIC's MiB, the MiB on both sides of 4 GiB,
// the last MiB below 64 GiB) and one page every gpa_stride_long MiB from
// 2 MiB to 64 GiB: read 8 bytes, write 0, read again. Guest RAM is the first
// MiB; the guest's page tables map 64 GiB with 2 MiB pages.
VT_CASE(gpa_sweep_64g_long) {
  VT_OK(start(k_gpa_sweep_long, {.mode = Mode::long64, .map_bytes = 64 * kGiB}));
  const uint64_t stride = g_params.gpa_stride_long * kMiB;
  const uint64_t ranges[][3] = {
      {1 * kMiB, 2 * kMiB, kPage},
      {0xfec00000, 0xfed00000, kPage},
      {0xfee00000, 0xfef00000, kPage},
      {4 * kGiB - kMiB, 4 * kGiB + kMiB, kPage},
      {64 * kGiB - kMiB, 64 * kGiB, kPage},
      {2 * kMiB, 64 * kGiB, stride},
  };
  constexpr unsigned n = sizeof(ranges) / sizeof(ranges[0]);
  VT_ASSERT(set_entries(ranges, n));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_gpa_sweep_long.at(hg_gpa_sweep_long_done_at));
  const uint64_t want = visits(ranges, n);
  VT_EQ(mb64(MB_R0), want);
  VT_EQ(mb64(MB_R1), 0);
  VT_EQ(pc().stats.mmio_emulated, 3 * want);
  VT_EQ(pc().stats.mmio_faults, 0);
  VT_EQ(r.exits, 3 * want + 1);
  static char note[96];
  cos::fmt::snformat(note, sizeof(note), "%lu pages: the dense windows and one every %lu MiB",
                     static_cast<unsigned long>(want), static_cast<unsigned long>(g_params.gpa_stride_long));
  vmtest::note(note);
}

// The same below 4 GiB in protected mode without paging, 32-bit accesses.
VT_CASE(gpa_sweep_4g_protected) {
  VT_OK(start(k_gpa_sweep_pm32, {.mode = Mode::protected32}));
  const uint64_t stride = g_params.gpa_stride_pm32 * kMiB;
  const uint64_t ranges[][3] = {
      {1 * kMiB, 2 * kMiB, kPage},
      {0xfec00000, 0xfed00000, kPage},
      {0xfee00000, 0xfef00000, kPage},
      {0xfff00000, 0xffffffff, kPage},
      {2 * kMiB, 0xffffffff, stride},
  };
  constexpr unsigned n = sizeof(ranges) / sizeof(ranges[0]);
  VT_ASSERT(set_entries(ranges, n));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_gpa_sweep_pm32.at(hg_gpa_sweep_pm32_done_at));
  const uint64_t want = visits(ranges, n);
  VT_EQ(mb32(MB_R0), want);
  VT_EQ(mb32(MB_R1), 0);
  VT_EQ(pc().stats.mmio_emulated, 3 * want);
  VT_EQ(pc().stats.mmio_faults, 0);
}

// Every page from 512 KiB (the end of guest RAM here) to the top of the
// high memory area (0x10ffef), through real-mode segments.
VT_CASE(gpa_sweep_1m_real) {
  VT_OK(start(k_gpa_sweep_real, {.mode = Mode::real, .ram_bytes = 512 * 1024}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_gpa_sweep_real.at(hg_gpa_sweep_real_done_at));
  constexpr uint64_t kPages = (0x100000 - 0x80000) / kPage + 16;
  VT_EQ(mb32(MB_R0), kPages);
  VT_EQ(mb32(MB_R1), 0);
  VT_EQ(pc().stats.mmio_emulated, 3 * kPages);
  VT_EQ(pc().stats.mmio_faults, 0);
}

// ---------------------------------------------------------------- instructions on MMIO

// XCHG, LOCK OR/AND/XADD/CMPXCHG/BTS, INC/NOT/NEG, MOV, MOVSQ, ADD and an
// XCHG across two unassigned pages, on the local APIC's (empty) page: each
// acts on all ones and stores nothing.
VT_CASE(mmio_unusual_instructions_long) {
  VT_OK(start(k_mmio_rmw_long, {.mode = Mode::long64}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_mmio_rmw_long.at(hg_mmio_rmw_long_done_at));
  VT_EQ(mb64(MB_R0), kAllOnes32);  // XCHG
  VT_EQ(mb64(MB_R1), kAllOnes32);  // LOCK XADD
  VT_EQ(mb64(MB_R2), kAllOnes32);  // LOCK CMPXCHG: compared with all ones, failed
  VT_EQ(mb64(MB_R3), 0);           // ZF
  VT_EQ(mb64(MB_R4), 1);           // LOCK BTS: the old bit
  VT_EQ(mb64(MB_R5), ~0ull);       // MOV after a store
  VT_EQ(mb64(MB_R6), ~0ull);       // MOVSQ into RAM
  VT_EQ(mb64(MB_R7), 0);           // 1 + 0xffffffff
  VT_EQ(mb32(MB_VALUES) & 0xffff, 0xffff);  // XCHG across the page boundary
  VT_EQ(pc().stats.mmio_faults, 0);
  VT_EQ(pc().stats.mmio_emulated, 14);
  VT_EQ(mb32(MB_FAULTS), 0);
}

// SSE and x87 moves, CMPXCHG8B/16B and MUL on MMIO: the VMM cannot see the
// guest's vector registers and does not emulate these; vmrt raises #UD
// (vmrt/mmio.hpp, as KVM does for what its emulator cannot perform). A PC
// would read all ones: this is the documented difference.
VT_CASE(mmio_sse_and_x87_moves_get_ud_long) {
  VT_OK(start(k_mmio_unemulated_long, {.mode = Mode::long64}));
  cpu().set(vmrt::Cr::cr4, cpu().cr4() | (1u << 9) | (1u << 10));  // OSFXSR, OSXMMEXCPT
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_mmio_unemulated_long.at(hg_mmio_unemulated_long_done_at));
  for (unsigned i = 0; i < 10; ++i) VT_EQ(probe(i), kUd);
  VT_ASSERT(pc().stats.mmio_faults >= 8);  // CMPXCHG16B may be #UD without an exit (no CX16)
  VT_EQ(pc().stats.mmio_last_fault, kUd);
  vmtest::note("#UD as documented; a PC would load all ones");
}

// MOVS between RAM and the empty bus, LODS from it, and REP STOSQ with RCX
// = 2^64 - 1 into it: bounded per exit, #PF at 4 GiB.
VT_CASE(mmio_string_moves_long) {
  VT_OK(start(k_mmio_strings_long, {.mode = Mode::long64}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_mmio_strings_long.at(hg_mmio_strings_long_done_at));
  VT_EQ(mb64(MB_R0), ~0ull);
  uint8_t buf[64];
  VT_OK(guest().copy_from_guest(buf, layout::kBuffer, sizeof(buf)));
  for (uint8_t b : buf) VT_EQ(b, 0xff);
  VT_EQ(probe(0), kPf);
  VT_EQ(mb32(MB_LAST_ERROR), vmrt::kPfWrite);
  VT_EQ(mb64(MB_CR2), 4 * kGiB);
  VT_EQ(mb64(MB_R1), ~0ull - 3000);
  VT_EQ(mb64(MB_R2), 4 * kGiB);
  VT_ASSERT(pc().stats.mmio_max_elements <= vmrt::kStringIoMaxElements);
}

// A #PF handler that returns to the faulting REP STOSQ: it faults again at
// once, for ever. The VMM emulated the stores into the empty bus before the
// first #PF and stops the guest by its deadline.
VT_CASE(pf_loop_after_mmio_string_long) {
  VT_OK(start(k_pf_loop_long, {.mode = Mode::long64}));
  auto r = run(g_params.loop_us);
  HG_END(r, timeout, none);
  VT_ASSERT(faults(kPf) >= 10);
  VT_EQ(mb64(MB_CR2), 4 * kGiB);
  VT_EQ(cpu().get(vmrt::Reg::rdi), 4 * kGiB);
  VT_EQ(cpu().get(vmrt::Reg::rcx), ~0ull - 3000);
  VT_EQ(pc().stats.mmio_faults, 1);
}

// A CALL into the empty bus: it fetches FF FF, which is not an instruction:
// #UD at the target.
VT_CASE(execute_from_empty_bus_long) {
  VT_OK(start(k_mmio_execute_long, {.mode = Mode::long64}));
  set_mb64(MB_ARG0, 0xc0000000);
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_mmio_execute_long.at(hg_mmio_execute_long_done_at));
  VT_EQ(probe(0), kUd);
  VT_EQ(mb64(MB_LAST_IP), 0xc0000000);
  VT_EQ(mb64(MB_R0), layout::kStackTop - 8);  // the CALL's return address was pushed
  VT_EQ(pc().stats.mmio_faults, 1);
}

// PUSH onto and POP from a stack on the empty bus: a PC loses the push and
// pops all ones; vmrt does not perform stack accesses on MMIO and raises
// #UD (vmrt/mmio.hpp). The handlers run on IST1, in RAM, so the #UD can be
// delivered; nothing reached the stack.
VT_CASE(stack_on_empty_bus_long) {
  VT_OK(start(k_mmio_stack_long, {.mode = Mode::long64, .ist = 1}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_mmio_stack_long.at(hg_mmio_stack_long_done_at));
  VT_EQ(probe(0), kUd);
  VT_EQ(probe(1), kUd);
  VT_EQ(pc().stats.mmio_faults, 2);
  vmtest::note("#UD as documented; a PC would drop the push and pop all ones");
}

// CR3 on the empty bus: every page-table entry reads all ones (reserved
// bits): #PF on the next fetch, and again delivering it: a triple fault.
VT_CASE(page_tables_on_empty_bus_long) {
  VT_OK(start(k_mmio_page_tables_long, {.mode = Mode::long64}));
  auto r = run(10'000'000);
  HG_END(r, stopped, shutdown);
}

// The IDT on the empty bus: every gate reads all ones; #UD cannot be
// delivered: a triple fault.
VT_CASE(idt_on_empty_bus_long) {
  VT_OK(start(k_mmio_idt_long, {.mode = Mode::long64}));
  auto r = run(10'000'000);
  HG_END(r, stopped, shutdown);
}

// The unassigned-memory basics in real mode (DS = 0x7000, above the 448 KiB
// of RAM here is nothing) and in protected mode (the I/O APIC's page).
VT_CASE(mmio_empty_bus_real) {
  VT_OK(start(k_mmio_real, {.mode = Mode::real, .ram_bytes = 0x70000}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_mmio_real.at(hg_mmio_real_done_at));
  VT_EQ(mb32(MB_R0) & 0xff, 0xff);
  VT_EQ(mb32(MB_R1) & 0xffff, 0xffff);
  VT_EQ(mb32(MB_R2) & 0xffff, 0xffff);
  VT_EQ(mb32(MB_R3) & 0xffff, 0xffff);
  VT_EQ(pc().stats.mmio_faults, 0);
  VT_EQ(pc().stats.mmio_emulated, 7);
}

VT_CASE(mmio_empty_bus_protected) {
  VT_OK(start(k_mmio_pm32, {.mode = Mode::protected32}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_mmio_pm32.at(hg_mmio_pm32_done_at));
  VT_EQ(mb32(MB_R0), kAllOnes32);
  VT_EQ(mb32(MB_R1), kAllOnes32);
  VT_EQ(mb32(MB_R2), kAllOnes32);
  VT_EQ(mb32(MB_R3), kAllOnes32);
  VT_EQ(pc().stats.mmio_faults, 0);
}

}  // namespace hg
