// hostile_guests cases: port I/O. Every port in every size (an empty PC
// bus: IN reads all ones, OUT vanishes — including the ports that would stop
// or reset the emulator or reprogram the kernel's own devices if they
// reached the hardware), I/O permission at CPL 3, and string I/O with counts
// no VMM can serve in one exit (vmrt::emulate_io: bounded per exit,
// resumable, faults exactly where the CPU would fault).
#include "hostile_guests/harness.hpp"

namespace hg {
namespace {

HG_SNIPPET(ports_real)
HG_SNIPPET(ports_long)
HG_SNIPPET(emulator_ports_long)
HG_SNIPPET(ports_cpl3_pm32)
HG_SNIPPET(rep_insb_long)
HG_SNIPPET(rep_outsw_down_long)
HG_SNIPPET(rep_insd_runaway_pm32)
HG_SNIPPET(rep_ins_limit_real)
HG_SNIPPET(rep_outsb_wrap_real)
HG_SNIPPET(handlers32)
HG_AT(ports_real_done)
HG_AT(ports_long_done)
HG_AT(emulator_ports_long_done)
HG_AT(ports_cpl3_pm32_hlt)
HG_AT(handlers32_halt)
HG_AT(rep_insb_long_done)
HG_AT(rep_outsw_down_long_done)
HG_AT(rep_insd_runaway_pm32_insn)
HG_AT(rep_ins_limit_real_done)
HG_AT(rep_outsb_wrap_real_done)

using vmtest::RunEnd;
constexpr uint32_t kNone = 0xff;
constexpr uint32_t kGp = 13, kPf = 14;
constexpr uint64_t kMax = vmrt::kStringIoMaxElements;

/// Checks every port exit of a sweep against what the guest does: ports in
/// order (stride apart), IN and OUT in sizes 1, 2, 4, the OUT values.
struct SweepCheck {
  uint64_t stride = 1;
  uint32_t next_port = 0;
  unsigned step = 0;  // 0..5: in 1, in 2, in 4, out 1, out 2, out 4
  uint64_t wrong = 0;

  static bool observe(vmrt::VcpuState& v, void* ctx) {
    auto* c = static_cast<SweepCheck*>(ctx);
    if (v.exit_reason() != vm::ExitReason::io) return true;
    const auto& io = v.exit().io;
    static const uint8_t kSize[6] = {1, 2, 4, 1, 2, 4};
    static const uint32_t kOut[3] = {PORT_OUT8, PORT_OUT16, PORT_OUT32};
    bool ok = io.port == c->next_port && io.size == kSize[c->step] && io.in == (c->step < 3) && !io.string;
    if (ok && c->step >= 3) ok = io.data == kOut[c->step - 3];
    c->wrong += !ok;
    if (++c->step == 6) {
      c->step = 0;
      c->next_port = static_cast<uint32_t>((c->next_port + c->stride) & 0xffff);
    }
    return true;
  }
};

void port_sweep(const Snippet& s, Mode mode, const uint8_t* done) {
  VT_OK(start(s, {.mode = mode}));
  const uint64_t stride = g_params.port_stride;
  set_mb64(MB_ARG0, stride);
  SweepCheck check;
  check.stride = stride;
  pc().observer = SweepCheck::observe;
  pc().observer_ctx = &check;
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), s.at(done));
  const uint64_t ports = (0x10000 + stride - 1) / stride;
  VT_EQ(mb32(MB_R1), ports);
  VT_EQ(mb32(MB_R0), 0);  // every IN read all ones, merged as the CPU merges
  VT_EQ(check.wrong, 0);  // every exit reported the port, size, direction and value
  VT_EQ(pc().stats.io_in, 3 * ports);
  VT_EQ(pc().stats.io_out, 3 * ports);
  VT_EQ(r.exits, 6 * ports + 1);
  VT_EQ(mb32(MB_FAULTS), 0);
  if (stride > 1) vmtest::note("every port-stride-th port");
}

}  // namespace

VT_CASE(ports_all_sizes_real) { port_sweep(k_ports_real, Mode::real, hg_ports_real_done_at); }
VT_CASE(ports_all_sizes_long) { port_sweep(k_ports_long, Mode::long64, hg_ports_long_done_at); }

// The ports that would stop the emulator (QEMU's isa-debug-exit, Bochs'
// "Shutdown"), reset the machine (0xcf9, the keyboard controller, port 0x92)
// or reprogram the kernel's PIC and console UART: all go to the VMM's empty
// bus; the run goes on and the UART's status reads all ones.
VT_CASE(emulator_control_ports_long) {
  VT_OK(start(k_emulator_ports_long, {.mode = Mode::long64}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_emulator_ports_long.at(hg_emulator_ports_long_done_at));
  VT_EQ(mb64(MB_R0), 0xff);
  VT_EQ(pc().stats.io_out, 8);
  VT_EQ(pc().stats.io_in, 1);
  VT_EQ(pc().stats.io_string_elements, 12);
}

// CPL 3 with IOPL 0 and no I/O bitmap: #GP(0) from the CPU before any exit.
VT_CASE(ports_cpl3_iopl0_gp_protected) {
  VT_OK(start(k_ports_cpl3_pm32, {.mode = Mode::protected32}));
  set_mb64(MB_ARG0, 0);
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_handlers32.at(hg_handlers32_halt_at, layout::kHandlers));
  VT_EQ(probe(0), kGp);
  VT_EQ(probe(1), kGp);
  VT_EQ(probe(2), kGp);
  VT_EQ(mb32(MB_LAST_ERROR), 0);
  VT_EQ(faults(kGp), 4);  // and the final HLT at CPL 3
  VT_EQ(mb64(MB_LAST_IP), k_ports_cpl3_pm32.at(hg_ports_cpl3_pm32_hlt_at));
  VT_EQ(pc().stats.count(vm::ExitReason::io), 0);
}

// CPL 3 with IOPL 3: the ports work as at CPL 0.
VT_CASE(ports_cpl3_iopl3_protected) {
  VT_OK(start(k_ports_cpl3_pm32, {.mode = Mode::protected32}));
  set_mb64(MB_ARG0, 3);
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(probe(0), kNone);
  VT_EQ(probe(1), kNone);
  VT_EQ(probe(2), kNone);
  VT_EQ(mb32(MB_R0) & 0xff, 0xff);
  VT_EQ(mb32(MB_R1), 0xffffffffu);
  VT_EQ(faults(kGp), 1);  // the final HLT
  VT_EQ(pc().stats.count(vm::ExitReason::io), 3);
}

// ---------------------------------------------------------------- string I/O

// REP INSB with RCX = 2^64 - 1: 5000 bytes into the empty bus below 4 GiB,
// at most kStringIoMaxElements per exit, then #PF (write, not present) at
// 4 GiB with RCX and RDI where the CPU leaves them.
VT_CASE(rep_insb_rcx_max_long) {
  VT_OK(start(k_rep_insb_long, {.mode = Mode::long64}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_rep_insb_long.at(hg_rep_insb_long_done_at));
  VT_EQ(probe(0), kPf);
  VT_EQ(mb32(MB_LAST_ERROR), vmrt::kPfWrite);
  VT_EQ(mb64(MB_CR2), 1ull << 32);
  VT_EQ(mb64(MB_R0), ~0ull - 5000);
  VT_EQ(mb64(MB_R1), 1ull << 32);
  VT_EQ(pc().stats.io_string_elements, 5000);
  VT_ASSERT(pc().stats.io_max_elements <= kMax);
  VT_EQ(pc().stats.count(vm::ExitReason::io), (5000 + kMax - 1) / kMax);
  VT_EQ(pc().stats.io_faults, 1);
}

// REP OUTSW with DF = 1 and RCX = 2^64 - 1 from 0x3000 down to 0, then the
// next word at 2^64 - 2, which nothing maps: #PF (a read).
VT_CASE(rep_outsw_rcx_max_df_long) {
  VT_OK(start(k_rep_outsw_down_long, {.mode = Mode::long64}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_rep_outsw_down_long.at(hg_rep_outsw_down_long_done_at));
  constexpr uint64_t kWords = 0x3000 / 2 + 1;
  VT_EQ(probe(0), kPf);
  VT_EQ(mb32(MB_LAST_ERROR), 0);
  VT_EQ(mb64(MB_CR2), ~0ull - 1);
  VT_EQ(mb64(MB_R0), ~0ull - kWords);
  VT_EQ(mb64(MB_R1), ~0ull - 1);
  VT_EQ(pc().stats.io_string_elements, kWords);
  VT_ASSERT(pc().stats.io_max_elements <= kMax);
}

// REP INSD with ECX = 2^32 - 1 into the empty bus: more than any budget.
// The VMM answers each exit with a bounded step and stays in control; the
// registers show exactly the elements done.
VT_CASE(rep_insd_ecx_max_runaway_protected) {
  VT_OK(start(k_rep_insd_runaway_pm32, {.mode = Mode::protected32}));
  auto r = run(g_params.loop_us);
  HG_END(r, timeout, none);
  const uint64_t done = pc().stats.io_string_elements;
  VT_ASSERT(pc().stats.count(vm::ExitReason::io) >= 2);
  VT_ASSERT(pc().stats.io_max_elements <= kMax);
  VT_EQ(pc().stats.io_faults, 0);
  VT_EQ(cpu().get(vmrt::Reg::rcx), 0xffffffffull - done);
  VT_EQ(cpu().get(vmrt::Reg::rdi), 0x10000000ull + 4 * done);
  VT_EQ(cpu().rip(), k_rep_insd_runaway_pm32.at(hg_rep_insd_runaway_pm32_insn_at));
}

// ADDR32 REP INSB in real mode from ES:DI = 0:0xfff0: sixteen bytes, then
// the 64 KiB segment limit: #GP.
VT_CASE(rep_insb_segment_limit_real) {
  VT_OK(start(k_rep_ins_limit_real, {.mode = Mode::real}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_rep_ins_limit_real.at(hg_rep_ins_limit_real_done_at));
  VT_EQ(probe(0), kGp);
  VT_EQ(mb32(MB_R0), 0xffffffffu - 16);
  VT_EQ(mb32(MB_R1), 0x10000);
  VT_EQ(pc().stats.io_string_elements, 16);
}

// REP OUTSB with 16-bit addresses: SI wraps inside the segment, no fault.
VT_CASE(rep_outsb_wraps_in_segment_real) {
  VT_OK(start(k_rep_outsb_wrap_real, {.mode = Mode::real}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_rep_outsb_wrap_real.at(hg_rep_outsb_wrap_real_done_at));
  VT_EQ(probe(0), kNone);
  VT_EQ(mb32(MB_R0) & 0xffff, 0);
  VT_EQ(mb32(MB_R1) & 0xffff, 0xffef);
  VT_EQ(pc().stats.io_string_elements, 0xffff);
  VT_EQ(pc().stats.io_faults, 0);
}

}  // namespace hg
