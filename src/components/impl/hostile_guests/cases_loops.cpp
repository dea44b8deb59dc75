// hostile_guests cases: guests that never stop on their own — #DB and #AC
// delivery loops (which the kernel reflects itself, x86_64/guest_policy.hpp),
// halts and spins with interrupts off, exit storms — triple faults, and debug
// registers that must not survive into the next VM. A PC would hang or reset
// on each; the VMM must get control back within its own deadline.
#include "hostile_guests/harness.hpp"

namespace hg {
namespace {

HG_SNIPPET(db_tf_real)
HG_SNIPPET(db_tf_long)
HG_SNIPPET(db_ist_loop_long)
HG_SNIPPET(db_stack_bp_long)
HG_SNIPPET(ac_cpl3_long)
HG_SNIPPET(ac_conforming_pm32)
HG_SNIPPET(triple_real)
HG_SNIPPET(triple_pm32)
HG_SNIPPET(triple_long)
HG_SNIPPET(triple_stack_long)
HG_SNIPPET(cli_hlt_real)
HG_SNIPPET(cli_hlt_pm32)
HG_SNIPPET(cli_hlt_long)
HG_SNIPPET(spin_real)
HG_SNIPPET(spin_pm32)
HG_SNIPPET(spin_long)
HG_SNIPPET(exit_storm_long)
HG_SNIPPET(dr_write_long)
HG_SNIPPET(dr_read_long)
HG_SNIPPET(dr_arm_long)
HG_AT(db_tf_real_handler)
HG_AT(db_tf_long_handler)
HG_AT(db_ist_loop_long_handler)
HG_AT(db_stack_bp_long_handler)
HG_AT(db_stack_bp_long_after)
HG_AT(ac_cpl3_long_handler)
HG_AT(ac_conforming_pm32_handler)
HG_AT(cli_hlt_real_hlt)
HG_AT(cli_hlt_pm32_hlt)
HG_AT(cli_hlt_long_hlt)
HG_AT(spin_real_jmp)
HG_AT(spin_pm32_jmp)
HG_AT(spin_long_jmp)
HG_AT(dr_write_long_done)
HG_AT(dr_read_long_done)
HG_AT(dr_arm_long_done)

using vmtest::RunEnd;
constexpr uint64_t kRflagsIf = 1u << 9;
constexpr uint64_t kCr0Am = 1u << 18;
/// Fewer iterations than this in the loop budget means the loop did not
/// really loop (Bochs is the slower emulator: a few hundred per 300 ms).
constexpr uint64_t kMinLoops = 10;

}  // namespace

// ---------------------------------------------------------------- #DB

// TF set and a #DB handler that returns with TF still set: a #DB after every
// instruction. Each is an exit the kernel reflects itself; the VMM sees none
// and stops the guest by its deadline.
VT_CASE(db_single_step_loop_real) {
  VT_OK(start(k_db_tf_real, {.mode = Mode::real}));
  VT_OK(vmtest::set_ivt(guest().memory(), 1, 0, static_cast<uint16_t>(k_db_tf_real.at(hg_db_tf_real_handler_at))));
  auto r = run(g_params.loop_us);
  HG_END(r, timeout, none);
  VT_EQ(r.exits, 0);
  const uint64_t steps = mb32(MB_R0);
  VT_ASSERT(steps >= kMinLoops);
  VT_ASSERT(r.kernel_exits >= steps);
  VT_EQ(mb32(MB_FAULTS), 0);  // no other exception
}

VT_CASE(db_single_step_loop_long) {
  VT_OK(start(k_db_tf_long, {.mode = Mode::long64}));
  VT_ASSERT(set_handler(Mode::long64, 1, k_db_tf_long.at(hg_db_tf_long_handler_at)));
  auto r = run(g_params.loop_us);
  HG_END(r, timeout, none);
  VT_EQ(r.exits, 0);
  const uint64_t steps = mb64(MB_R0);
  VT_ASSERT(steps >= kMinLoops);
  VT_ASSERT(r.kernel_exits >= steps);
  VT_EQ(mb32(MB_FAULTS), 0);
}

// An instruction breakpoint on the #DB handler, which runs on IST1: every
// delivery raises the next #DB at once, with the same stack (on hardware
// without the intercept, the CPU never leaves microcode: CVE-2015-8104).
// What a PC shows when it is stopped: RIP at the handler, one frame on the
// IST stack, the handler never ran.
// Not under QEMU: its SVM arms a guest's breakpoints only when the guest
// writes DR7, and the kernel makes it drop them at every exit (see
// guest_breakpoints_stay_in_the_guest_long), so the loop ends at the first
// exit there.
VT_CASE(db_breakpoint_on_ist_handler_long) {
  if (cpu_is_qemu()) return vmtest::skip("QEMU's TCG does not re-arm a guest's breakpoints after an exit");
  VT_OK(start(k_db_ist_loop_long, {.mode = Mode::long64}));
  const uint64_t handler = k_db_ist_loop_long.at(hg_db_ist_loop_long_handler_at);
  VT_ASSERT(set_handler(Mode::long64, 1, handler, 0, 1));
  auto r = run(g_params.loop_us);
  HG_END(r, timeout, none);
  VT_EQ(r.exits, 0);
  VT_ASSERT(r.kernel_exits >= kMinLoops);
  VT_EQ(mb64(MB_R0), 0);
  VT_EQ(cpu().rip(), handler);
  VT_EQ(cpu().get(vmrt::Reg::rsp), layout::kIstTop - 40);
}

// A write breakpoint on the IST1 slot #DB delivery writes first, then a
// single step: if the CPU reports the delivery's own write, every delivery
// is followed by the next (the CVE-2015-8104 loop); if it does not, the
// handler runs once and the guest halts. Either way the VMM stays in charge.
// Not under QEMU: its TCG (7.2) drops the #DB whose delivery hits the
// breakpoint, and a data breakpoint hit while it delivers an exception
// leaves its I/O lock taken, so the next lock aborts QEMU.
VT_CASE(db_data_breakpoint_on_ist_stack_long) {
  if (cpu_is_qemu())
    return vmtest::skip("QEMU's TCG aborts when a data breakpoint hits during exception delivery");
  VT_OK(start(k_db_stack_bp_long, {.mode = Mode::long64}));
  VT_ASSERT(set_handler(Mode::long64, 1, k_db_stack_bp_long.at(hg_db_stack_bp_long_handler_at), 0, 1));
  auto r = run(g_params.loop_us);
  if (r.end == RunEnd::timeout) {
    VT_EQ(r.exits, 0);
    VT_ASSERT(r.kernel_exits >= kMinLoops);
    VT_EQ(mb64(MB_R0), 0);
    vmtest::note("every delivery raised the next #DB: the loop ran until the VMM's deadline");
  } else {
    HG_END(r, stopped, hlt);
    VT_EQ(cpu().rip(), k_db_stack_bp_long.at(hg_db_stack_bp_long_after_at));
    if (mb64(MB_R0) != 1) return vmtest::fail(describe(r, "the handler to run once"), __FILE__, __LINE__);
    vmtest::note("the CPU raised no #DB for the delivery's own stack write: the handler ran once");
  }
  VT_EQ(mb32(MB_FAULTS), 0);
}

// ---------------------------------------------------------------- #AC

// #AC at CPL 3 (CR0.AM, RFLAGS.AC, a misaligned load) whose handler returns
// to the load: #AC for ever, each reflected by the kernel. A CPU that does
// not check alignment (QEMU's TCG) completes the loads instead.
VT_CASE(ac_loop_cpl3_long) {
  VT_OK(start(k_ac_cpl3_long, {.mode = Mode::long64}));
  VT_ASSERT(set_handler(Mode::long64, 17, k_ac_cpl3_long.at(hg_ac_cpl3_long_handler_at), 0, 1));
  cpu().set(vmrt::Cr::cr0, cpu().cr0() | kCr0Am);
  auto r = run(g_params.loop_us);
  HG_END(r, timeout, none);
  VT_EQ(r.exits, 0);
  VT_EQ(mb32(MB_FAULTS), 0);
  const uint64_t acs = mb64(MB_R0), loads = mb64(MB_R1);
  if (acs) {
    VT_ASSERT(acs >= kMinLoops);
    VT_EQ(loads, 0);
    VT_ASSERT(r.kernel_exits >= acs);
  } else {
    VT_ASSERT(loads >= kMinLoops);
    vmtest::note("the CPU raised no #AC: it does not check alignment");
  }
}

// #AC delivered at CPL 3 onto a misaligned stack (the handler is in a
// conforming code segment): if delivering #AC raises #AC, the CPU would
// loop in microcode (CVE-2015-5307); here each is an exit the kernel
// reflects. Accepted outcomes, all within the VMM's deadline and without an
// exit reaching it: the delivery loop, a handler loop, or no #AC at all.
VT_CASE(ac_delivery_loop_conforming_pm32) {
  VT_OK(start(k_ac_conforming_pm32, {.mode = Mode::protected32}));
  VT_ASSERT(set_handler(Mode::protected32, 17, k_ac_conforming_pm32.at(hg_ac_conforming_pm32_handler_at),
                        SEL_CONFORMING32));
  cpu().set(vmrt::Cr::cr0, cpu().cr0() | kCr0Am);
  auto r = run(g_params.loop_us);
  HG_END(r, timeout, none);
  VT_EQ(r.exits, 0);
  VT_EQ(mb32(MB_FAULTS), 0);
  const uint64_t acs = mb32(MB_R0), loads = mb32(MB_R1);
  if (!acs && !loads) {
    VT_ASSERT(r.kernel_exits >= kMinLoops);
    vmtest::note("delivering #AC raised #AC: the CVE-2015-5307 loop, bounded by the VMM's deadline");
  } else if (acs) {
    VT_EQ(loads, 0);
    VT_ASSERT(acs >= kMinLoops);
    vmtest::note("the handler ran at CPL 3 and the load faulted again, for ever");
  } else {
    VT_ASSERT(loads >= kMinLoops);
    vmtest::note("the CPU raised no #AC: it does not check alignment");
  }
}

// ---------------------------------------------------------------- triple faults

VT_CASE(triple_fault_real) {
  VT_OK(start(k_triple_real, {.mode = Mode::real, .handlers = false}));
  cpu().set_idtr(0, 0);  // every vector is beyond the limit
  auto r = run();
  HG_END(r, stopped, shutdown);
  VT_EQ(r.exits, 1);
}

VT_CASE(triple_fault_protected) {
  VT_OK(start(k_triple_pm32, {.mode = Mode::protected32, .handlers = false}));
  auto r = run();
  HG_END(r, stopped, shutdown);
  VT_EQ(r.exits, 1);
}

VT_CASE(triple_fault_long) {
  VT_OK(start(k_triple_long, {.mode = Mode::long64, .handlers = false}));
  auto r = run();
  HG_END(r, stopped, shutdown);
  VT_EQ(r.exits, 1);
}

// Handlers exist, but the stack is not mapped: #UD, #PF and #DF all fail
// to push their frames.
VT_CASE(triple_fault_unmapped_stack_long) {
  VT_OK(start(k_triple_stack_long, {.mode = Mode::long64}));
  auto r = run();
  HG_END(r, stopped, shutdown);
  VT_EQ(r.exits, 1);
  VT_EQ(mb32(MB_FAULTS), 0);
}

// ---------------------------------------------------------------- halts and spins

/// `cli; hlt`: a PC stays halted until an NMI or a reset. The VMM sees the
/// HLT with IF = 0 and does not run the guest again.
void cli_hlt(const Snippet& s, Mode mode, const uint8_t* label) {
  VT_OK(start(s, {.mode = mode}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(r.exits, 1);
  VT_EQ(cpu().rip(), s.at(label));
  VT_EQ(pc().stats.halted_with_if, false);
}
VT_CASE(cli_hlt_real) { cli_hlt(k_cli_hlt_real, Mode::real, hg_cli_hlt_real_hlt_at); }
VT_CASE(cli_hlt_protected) { cli_hlt(k_cli_hlt_pm32, Mode::protected32, hg_cli_hlt_pm32_hlt_at); }
VT_CASE(cli_hlt_long) { cli_hlt(k_cli_hlt_long, Mode::long64, hg_cli_hlt_long_hlt_at); }

/// `jmp .` with IF = 0: no exit ever; the VMM's deadline ends the run (the
/// kernel's tick takes the CPU back from the guest).
void spin(const Snippet& s, Mode mode, const uint8_t* label) {
  VT_OK(start(s, {.mode = mode}));
  auto r = run(g_params.loop_us);
  HG_END(r, timeout, none);
  VT_EQ(r.exits, 0);
  VT_EQ(cpu().rip(), s.at(label));
  VT_EQ(cpu().get(vmrt::Reg::rflags) & kRflagsIf, 0);
}
VT_CASE(jmp_self_if0_real) { spin(k_spin_real, Mode::real, hg_spin_real_jmp_at); }
VT_CASE(jmp_self_if0_protected) { spin(k_spin_pm32, Mode::protected32, hg_spin_pm32_jmp_at); }
VT_CASE(jmp_self_if0_long) { spin(k_spin_long, Mode::long64, hg_spin_long_jmp_at); }

// OUT and CPUID in a loop with IF = 0: the guest exits all the time, so no
// vcpu_run timeout ever fires; the VMM's own deadline (checked after every
// exit) ends it.
VT_CASE(exit_storm_long) {
  VT_OK(start(k_exit_storm_long, {.mode = Mode::long64}));
  auto r = run(g_params.loop_us);
  HG_END(r, timeout, none);
  VT_ASSERT(r.exits >= 2 * kMinLoops);
  const uint64_t rounds = mb64(MB_R0);
  VT_ASSERT(rounds >= kMinLoops);
  VT_ASSERT(pc().stats.count(vm::ExitReason::io) >= rounds);
  VT_ASSERT(pc().stats.count(vm::ExitReason::cpuid) >= rounds);
  VT_EQ(pc().stats.unexpected, 0);
}

// ---------------------------------------------------------------- debug registers

// One VM leaves markers in DR0-DR3 and DR6 and arms DR7; a fresh VM must
// find the power-on values (SDM Vol. 3B 18.2: DR0-DR3 0, DR6 0xffff0ff0,
// DR7 0x400).
VT_CASE(debug_registers_do_not_cross_vms) {
  VT_OK(start(k_dr_write_long, {.mode = Mode::long64}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_dr_write_long.at(hg_dr_write_long_done_at));
  VT_EQ(cpu().get(vmrt::Cr::dr7), 0x4ff);
  VT_ASSERT(finish());
  VT_OK(start(k_dr_read_long, {.mode = Mode::long64}));
  r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_dr_read_long.at(hg_dr_read_long_done_at));
  VT_EQ(mb64(MB_R0), 0);
  VT_EQ(mb64(MB_R1), 0);
  VT_EQ(mb64(MB_R2), 0);
  VT_EQ(mb64(MB_R3), 0);
  VT_EQ(mb64(MB_R4), 0xffff0ff0);
  VT_EQ(mb64(MB_R5), 0x400);
}

// A guest arms execution breakpoints (DR0-DR3, DR7) on code the VMM runs
// right after the guest's exit. They are the guest's: they must not fire
// in the VMM, the kernel or another guest. (QEMU's TCG kept them armed after
// #VMEXIT: the VMM took a #DB in user mode and was killed, or the kernel
// looped on a #DB at its system-call entry, until the SVM backend made QEMU
// drop them at every exit of a guest with armed breakpoints.)
VT_CASE(guest_breakpoints_stay_in_the_guest_long) {
  VT_OK(start(k_dr_arm_long, {.mode = Mode::long64}));
  set_mb64(MB_ARG0, reinterpret_cast<uint64_t>(&mb64));
  set_mb64(MB_ARG1, reinterpret_cast<uint64_t>(&vmtest::canary_verify));
  set_mb64(MB_ARG2, reinterpret_cast<uint64_t>(&vmtest::run_guest));
  set_mb64(MB_ARG3, reinterpret_cast<uint64_t>(&finish));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_dr_arm_long.at(hg_dr_arm_long_done_at));
  VT_EQ(cpu().get(vmrt::Cr::dr7) & 0xff, 0x55);
  // The VMM runs the code the guest pointed at: still here afterwards.
  VT_EQ(mb64(MB_ARG0), reinterpret_cast<uint64_t>(&mb64));
  VT_ASSERT(finish());
  VT_OK(start(k_dr_read_long, {.mode = Mode::long64}));
  r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(mb64(MB_R5), 0x400);  // and the next VM starts without them
}

}  // namespace hg
