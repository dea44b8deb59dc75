// vm_tests: in-system tests of the hardware-virtualization ABI and of vmrt
// (composition_scripts/vm_tests.toml). Small guests (guests.S) execute every
// intercepted instruction class — CPUID, RDMSR, WRMSR, HLT, IN, OUT,
// INS/OUTS, VMCALL/VMMCALL, INVD, WBINVD, XSETBV, intercepted exceptions —,
// touch unmapped and read-only guest-physical memory, take injected
// interrupts and triple-fault; each case checks that the VMM sees the right
// vm::ExitReason and qualification, and that the kernel carries on (the
// system shuts down cleanly at the end). The last cases drive vmrt's
// emulators against hostile guests: REP INS/OUTS with huge counts, DF = 1
// and bad pointers (bounded per exit, resumable, #GP/#PF injected),
// unassigned MMIO (all ones, writes ignored, #UD for what cannot be
// emulated) and WRMSR values the CPU refuses (#GP).
//
// Every case runs twice: with synchronous vCPUs (vcpu_run enters the guest on
// this thread) and with vCPUs that have their own thread (vcpu_resume, exits
// notify an endpoint; names prefixed `own_thread/`). Each prints `PASS
// <name>`, `SKIP <name>: <why>` or `FAIL <name>: <expr> at <file>:<line> (got
// X, expected Y)`; the run ends with
// `vm_tests: N passed, M failed, K skipped` and the plain line `N passed, M failed`.
//
// Guest-physical layout of the shared VM (RAM 0..0x20000):
//   0x0000 IVT | 0x1000 the case's code | 0x1800 IRQ/exception handler | 0x3000 data
//   0x4000 string I/O buffer | 0x5000 64-bit IDT
//   0x7000 stack top | 0x8000 read-only test page | 0x9000 unmap test page
//   0xa000 GDT+TSS | 0x10000.. page tables (long mode)
// 0x30000, 0x40000, 0x50000, 0x300000: not RAM (gpa_fault cases); 0x60000: frames
// the map cases map and unmap themselves; 0x70000:
// never RAM (the unassigned-MMIO cases).
#include <initializer_list>

#include "runtime/cos.hpp"
#include "fmt/format.hpp"
#include "vmrt/vmrt.hpp"
#include "vmtest/framework.hpp"

namespace {

namespace vm = cos::vm;
namespace sys = cos::sys;
namespace Rights = cos::abi::Rights;
using cos::abi::Error;
using vmrt::Action;
using vmrt::Cr;
using vmrt::Reg;
using vmrt::Seg;

// The case framework (VT_CASE, VT_ASSERT, VT_EQ, VT_OK, VT_SYS_ERR, PASS /
// FAIL / SKIP lines) is vmtest's (vmtest/framework.hpp).
using vmtest::fail;
using vmtest::fail_eq;
using vmtest::fail_err;
using vmtest::skip;

// ---------------------------------------------------------------- guests

struct Snippet {
  const uint8_t* start;
  const uint8_t* end;
};
#define VT_SNIPPET(name)                                          \
  extern "C" const uint8_t vt_##name##_start[], vt_##name##_end[]; \
  const Snippet k_##name = {vt_##name##_start, vt_##name##_end};
#define VT_AT(label) extern "C" const uint8_t vt_##label##_at[];

}  // namespace

VT_SNIPPET(hlt)
VT_SNIPPET(spin)
VT_SNIPPET(cpuid)
VT_SNIPPET(rdmsr)
VT_SNIPPET(wrmsr)
VT_SNIPPET(in)
VT_SNIPPET(in_imm)
VT_SNIPPET(out)
VT_SNIPPET(outs)
VT_SNIPPET(ins)
VT_SNIPPET(hypercall)
VT_SNIPPET(invd)
VT_SNIPPET(wbinvd)
VT_SNIPPET(xsetbv)
VT_SNIPPET(ud)
VT_SNIPPET(de)
VT_SNIPPET(gpa_read)
VT_SNIPPET(gpa_write)
VT_SNIPPET(gpa_exec)
VT_SNIPPET(ro_write)
VT_SNIPPET(unmap)
VT_SNIPPET(irq_main)
VT_SNIPPET(irq_handler)
VT_SNIPPET(irq_window)
VT_SNIPPET(window_request)
VT_SNIPPET(triple)
VT_SNIPPET(io_unassigned)
VT_SNIPPET(pm32)
VT_SNIPPET(long64)
VT_SNIPPET(outs_down)
VT_SNIPPET(ins_limit)
VT_SNIPPET(stop_handler)
VT_SNIPPET(mmio_empty)
VT_SNIPPET(msr_bad)
VT_SNIPPET(msr_gp_handler)
VT_SNIPPET(ins_huge)
VT_SNIPPET(ins_pf)
VT_SNIPPET(pf_handler64)
VT_AT(hlt) VT_AT(spin) VT_AT(cpuid) VT_AT(cpuid_hlt) VT_AT(rdmsr) VT_AT(rdmsr_hlt) VT_AT(wrmsr) VT_AT(in) VT_AT(in_hlt)
VT_AT(in_imm) VT_AT(out) VT_AT(outs) VT_AT(ins) VT_AT(hypercall) VT_AT(hypercall_hlt) VT_AT(invd) VT_AT(wbinvd)
VT_AT(xsetbv) VT_AT(ud) VT_AT(de) VT_AT(gpa_read) VT_AT(gpa_read_hlt) VT_AT(gpa_write) VT_AT(gpa_exec)
VT_AT(ro_write) VT_AT(ro_write_hlt) VT_AT(unmap_hlt) VT_AT(unmap_read) VT_AT(unmap_hlt2) VT_AT(irq_main)
VT_AT(irq_handler) VT_AT(irq_window_out) VT_AT(window_request_hlt) VT_AT(window_request_sti)
VT_AT(window_request_end) VT_AT(triple) VT_AT(pm32) VT_AT(pm32_gp) VT_AT(long64_out) VT_AT(long64_fault)
VT_AT(outs_down) VT_AT(outs_down_hlt) VT_AT(ins_limit) VT_AT(stop_handler) VT_AT(mmio_empty_hlt) VT_AT(msr_bad_hlt)
VT_AT(ins_huge) VT_AT(ins_pf) VT_AT(pf_handler64)

namespace {

constexpr uint64_t kRamBytes = 0x20000;
constexpr uint64_t kCodeGpa = 0x1000, kHandlerGpa = 0x1800, kDataGpa = 0x3000, kStackTop = 0x7000;
constexpr uint64_t kRoPage = 0x8000, kUnmapPage = 0x9000, kGdtGpa = 0xa000;
constexpr uint64_t kTablesGpa = 0x10000, kTablesBytes = 0x8000;
constexpr uint8_t kIrqVector = 0x20;
constexpr uint64_t kRun = Rights::read | Rights::write | Rights::exec;
/// Every wait for an exit gives up after this long (the case then fails
/// instead of hanging the suite; the vCPU is replaced).
constexpr uint64_t kTimeoutUs = 20'000'000;

vmrt::Vm g_vm;
vmrt::Vcpu g_cpu;
uint32_t g_priority = 100;
/// The pass running now: synchronous vCPUs (vcpu_run on this thread) or
/// vCPUs with their own thread (vcpu_resume + the exit endpoint).
bool g_own_thread;
/// Param `vcpu_cpu`: the CPU own-thread vCPUs run on (thd_cpu on the vCPU;
/// ~0: where they are created, CPU 0). With the component on another CPU
/// (`cpu` in the script), every exit and resume crosses CPUs.
uint64_t g_vcpu_cpu = ~0ull;
bool g_cpu_lost;  // timed out: still running, unusable

/// The guest-physical address of a label in a snippet copied to `base`.
uint64_t at(const Snippet& s, const uint8_t* label, uint64_t base = kCodeGpa) {
  return base + static_cast<uint64_t>(label - s.start);
}

vmrt::Status fresh_cpu() {
  if (g_cpu.created()) (void)g_cpu.destroy();
  vmrt::VcpuConfig cfg;
  cfg.own_thread = g_own_thread;
  cfg.priority = g_priority;
  cfg.save_mask = vm::Load::cr | vm::Load::segments | vm::Load::dtables | vm::Load::interruptibility;
  VMRT_TRY(g_cpu.create(g_vm, cfg));
  if (g_own_thread && g_vcpu_cpu != ~0ull) {
    if (const int64_t r = sys::thd_cpu(g_cpu.slot(), g_vcpu_cpu); r < 0)
      return vmrt::sys_error("thd_cpu(vCPU)", r);
  }
  g_cpu_lost = false;
  return {};
}

/// Copies a snippet to `base` (clearing the code page first) and patches its
/// hypercall instruction if `hypercall` is given.
vmrt::Status copy(const Snippet& s, uint64_t base = kCodeGpa, const uint8_t* hypercall = nullptr) {
  if (base == kCodeGpa) VMRT_TRY(g_vm.memory().fill(kCodeGpa, 0xf4, 0x800));  // hlt everywhere
  VMRT_TRY(g_vm.copy_to_guest(base, s.start, static_cast<uint64_t>(s.end - s.start)));
  if (hypercall) VMRT_TRY(vmrt::write_hypercall(g_vm.memory(), at(s, hypercall, base), g_cpu.backend()));
  return {};
}

/// Loads a snippet at 0x1000 and puts the shared vCPU in real mode there.
vmrt::Status load_real(const Snippet& s, const uint8_t* hypercall = nullptr) {
  if (g_cpu_lost || !g_cpu.created()) VMRT_TRY(fresh_cpu());
  VMRT_TRY(copy(s, kCodeGpa, hypercall));
  vmrt::RealModeConfig rm;
  rm.ip = kCodeGpa;
  rm.sp = kStackTop;
  vmrt::setup_real_mode(g_cpu, rm);
  g_cpu.request_interrupt_window(false);
  return {};
}

/// Runs the shared vCPU until its next exit.
vmrt::Result<vm::ExitReason> step(vmrt::Vcpu& cpu = g_cpu) {
  auto r = cpu.step(kTimeoutUs);
  if (!r && r.error().code == vmrt::Errc::timeout && &cpu == &g_cpu) g_cpu_lost = true;
  return r;
}

bool expect_exit(vmrt::Vcpu& cpu, vm::ExitReason want, uint64_t rip, const char* file, int line) {
  auto r = step(cpu);
  if (!r) {
    fail_err("running the guest", file, line, r.error());
    return false;
  }
  if (r.value() != want) {
    char buf[160];
    cos::fmt::snformat(buf, sizeof(buf), "exit '%s' (vendor code %#lx, qualification %#lx) at rip %#lx, expected '%s'",
                       vmrt::exit_reason_name(r.value()), static_cast<unsigned long>(cpu.exit().vendor_code),
                       static_cast<unsigned long>(cpu.exit().vendor_qualification),
                       static_cast<unsigned long>(cpu.rip()), vmrt::exit_reason_name(want));
    fail(buf, file, line);
    return false;
  }
  if (rip != ~0ull && cpu.rip() != rip) {
    fail_eq("exit rip", file, line, cpu.rip(), rip);
    return false;
  }
  return true;
}
/// Steps the vCPU; the case fails unless the exit has reason `reason` at `rip` (~0: any rip).
#define VT_EXIT_ON(cpu, reason, rip)                                                 \
  do {                                                                               \
    if (!expect_exit(cpu, vm::ExitReason::reason, rip, __FILE__, __LINE__)) return; \
  } while (0)
#define VT_EXIT(reason, rip) VT_EXIT_ON(g_cpu, reason, rip)

/// Skips the exiting instruction.
#define VT_SKIP_INSN() VT_OK(g_cpu.advance_rip())

bool cpu_has_xsave() {
  uint32_t a = 1, b, c = 0, d;
  asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
  return c & (1u << 26);
}

// ---------------------------------------------------------------- cases: exits

VT_CASE(hlt_exit_and_saved_state) {
  VT_OK(load_real(k_hlt));
  VT_EXIT(hlt, at(k_hlt, vt_hlt_at));
  VT_EQ(g_cpu.exit().instruction_length, 1);
  VT_EQ(g_cpu.segment(Seg::cs).base, 0);
  VT_EQ(g_cpu.segment(Seg::ss).limit, 0xffff);
  VT_EQ(g_cpu.cr0() & vmrt::kCr0Pe, 0);
  VT_EQ(g_cpu.idtr().limit, 0x3ff);
  VT_EQ(g_cpu.get(Reg::rsp), kStackTop);
  VT_EQ(g_cpu.backend() == vm::kBackendSvm || g_cpu.backend() == vm::kBackendVmx, 1);
}

VT_CASE(cpuid_exit_and_emulated_result) {
  VT_OK(load_real(k_cpuid));
  VT_EXIT(cpuid, at(k_cpuid, vt_cpuid_at));
  VT_EQ(g_cpu.get(Reg::rax), 0x80000000u);
  VT_EQ(g_cpu.get(Reg::rcx), 5);
  VT_EQ(g_cpu.exit().instruction_length, 2);
  g_cpu.set(Reg::rax, 0x11);
  g_cpu.set(Reg::rbx, 0x22);
  g_cpu.set(Reg::rcx, 0x33);
  g_cpu.set(Reg::rdx, 0x44);
  VT_SKIP_INSN();
  VT_EXIT(hlt, at(k_cpuid, vt_cpuid_hlt_at));
  VT_EQ(g_cpu.get(Reg::rax) & 0xffffffff, 0x11);
  VT_EQ(g_cpu.get(Reg::rbx) & 0xffffffff, 0x22);
  VT_EQ(g_cpu.get(Reg::rcx) & 0xffffffff, 0x33);
  VT_EQ(g_cpu.get(Reg::rdx) & 0xffffffff, 0x44);
}

VT_CASE(rdmsr_exit) {
  VT_OK(load_real(k_rdmsr));
  VT_EXIT(msr_read, at(k_rdmsr, vt_rdmsr_at));
  VT_EQ(g_cpu.exit().msr.index, 0x4b564d01u);
  VT_EQ(g_cpu.get(Reg::rcx) & 0xffffffff, 0x4b564d01u);
  VT_EQ(g_cpu.exit().instruction_length, 2);
  g_cpu.set(Reg::rax, 0x11223344);
  g_cpu.set(Reg::rdx, 0x55667788);
  VT_SKIP_INSN();
  VT_EXIT(hlt, at(k_rdmsr, vt_rdmsr_hlt_at));
  VT_EQ(g_cpu.get(Reg::rax) & 0xffffffff, 0x11223344u);
  VT_EQ(g_cpu.get(Reg::rdx) & 0xffffffff, 0x55667788u);
}

VT_CASE(wrmsr_exit) {
  VT_OK(load_real(k_wrmsr));
  VT_EXIT(msr_write, at(k_wrmsr, vt_wrmsr_at));
  VT_EQ(g_cpu.exit().msr.index, 0x4b564d02u);
  VT_EQ(g_cpu.get(Reg::rax) & 0xffffffff, 0xdeadbeefu);
  VT_EQ(g_cpu.get(Reg::rdx) & 0xffffffff, 0x12345678u);
  VT_EQ(g_cpu.exit().instruction_length, 2);
}

VT_CASE(in_exit_and_emulated_value) {
  VT_OK(load_real(k_in));
  VT_EXIT(io, at(k_in, vt_in_at));
  const auto& io = g_cpu.exit().io;
  VT_EQ(io.port, 0x5a5);
  VT_EQ(io.size, 2);
  VT_EQ(io.in, 1);
  VT_EQ(io.string, 0);
  VT_EQ(io.rep, 0);
  VT_EQ(g_cpu.exit().instruction_length, 1);
  g_cpu.set(Reg::rax, (g_cpu.get(Reg::rax) & ~0xffffull) | 0xbeef);
  VT_SKIP_INSN();
  VT_EXIT(hlt, at(k_in, vt_in_hlt_at));
  VT_EQ(g_cpu.get(Reg::rbx) & 0xffff, 0xbeef);
}

VT_CASE(in_immediate_port) {
  VT_OK(load_real(k_in_imm));
  VT_EXIT(io, at(k_in_imm, vt_in_imm_at));
  VT_EQ(g_cpu.exit().io.port, 0x71);
  VT_EQ(g_cpu.exit().io.size, 1);
  VT_EQ(g_cpu.exit().io.in, 1);
  VT_EQ(g_cpu.exit().instruction_length, 2);
}

VT_CASE(out_exit_with_data) {
  VT_OK(load_real(k_out));
  VT_EXIT(io, at(k_out, vt_out_at));
  const auto& io = g_cpu.exit().io;
  VT_EQ(io.port, 0x5a6);
  VT_EQ(io.size, 4);
  VT_EQ(io.in, 0);
  VT_EQ(io.string, 0);
  VT_EQ(io.data, 0x12345678u);
  VT_EQ(g_cpu.exit().instruction_length, 2);
}

VT_CASE(rep_outs_exit) {
  VT_OK(load_real(k_outs));
  VT_EXIT(io, at(k_outs, vt_outs_at));
  const auto& io = g_cpu.exit().io;
  VT_EQ(io.port, 0x5a7);
  VT_EQ(io.size, 1);
  VT_EQ(io.in, 0);
  VT_EQ(io.string, 1);
  VT_EQ(io.rep, 1);
  VT_EQ(g_cpu.get(Reg::rcx) & 0xffff, 3);
  VT_EQ(g_cpu.get(Reg::rsi) & 0xffff, kDataGpa);
  VT_EQ(g_cpu.exit().instruction_length, 2);
}

VT_CASE(ins_exit) {
  VT_OK(load_real(k_ins));
  VT_EXIT(io, at(k_ins, vt_ins_at));
  const auto& io = g_cpu.exit().io;
  VT_EQ(io.port, 0x5a8);
  VT_EQ(io.size, 2);
  VT_EQ(io.in, 1);
  VT_EQ(io.string, 1);
  VT_EQ(io.rep, 0);
  VT_EQ(g_cpu.exit().instruction_length, 1);
}

VT_CASE(hypercall_exit) {
  VT_OK(load_real(k_hypercall, vt_hypercall_at));
  VT_EXIT(hypercall, at(k_hypercall, vt_hypercall_at));
  VT_EQ(g_cpu.get(Reg::rax) & 0xffffffff, 0x42);
  VT_EQ(g_cpu.exit().instruction_length, 3);
  VT_SKIP_INSN();
  VT_EXIT(hlt, at(k_hypercall, vt_hypercall_hlt_at));
}

VT_CASE(invd_exit) {
  VT_OK(load_real(k_invd));
  // QEMU before 8.1 reports INVD under SVM with the WBINVD exit code; the
  // kernel tells them apart by the instruction bytes, so the VMM sees INVD.
  auto r = step();
  VT_OK(r);
  VT_EQ(r.value(), vm::ExitReason::invd);
  VT_EQ(g_cpu.rip(), at(k_invd, vt_invd_at));
  VT_EQ(g_cpu.exit().instruction_length, 2);
}

VT_CASE(wbinvd_exit) {
  VT_OK(load_real(k_wbinvd));
  VT_EXIT(wbinvd, at(k_wbinvd, vt_wbinvd_at));
  VT_EQ(g_cpu.exit().instruction_length, 2);
}

VT_CASE(xsetbv_exit) {
  if (!cpu_has_xsave()) return skip("the CPU has no XSAVE (XSETBV would be #UD)");
  VT_OK(load_real(k_xsetbv));
  g_cpu.set(Cr::cr4, g_cpu.cr4() | vmrt::kCr4OsXsave);
  VT_EXIT(xsetbv, at(k_xsetbv, vt_xsetbv_at));
  VT_EQ(g_cpu.get(Reg::rcx) & 0xffffffff, 0);
  VT_EQ(g_cpu.get(Reg::rax) & 0xffffffff, 1);
  VT_EQ(g_cpu.get(Reg::rdx) & 0xffffffff, 0);
  VT_EQ(g_cpu.exit().instruction_length, 3);
}

VT_CASE(intercepted_ud) {
  VT_OK(load_real(k_ud));
  g_cpu.set_exception_bitmap(1u << 6);
  VT_EXIT(exception, at(k_ud, vt_ud_at));
  VT_EQ(g_cpu.exit().exception.vector, 6);
  VT_EQ(g_cpu.exit().exception.has_error_code, 0);
}

VT_CASE(intercepted_de) {
  VT_OK(load_real(k_de));
  g_cpu.set_exception_bitmap(1u << 0);
  VT_EXIT(exception, at(k_de, vt_de_at));
  VT_EQ(g_cpu.exit().exception.vector, 0);
}

VT_CASE(protected_mode_io_and_gp_error_code) {
  if (g_cpu_lost || !g_cpu.created()) VT_OK(fresh_cpu());
  VT_OK(copy(k_pm32));
  vmrt::ProtectedModeConfig pm;
  pm.entry = kCodeGpa;
  pm.stack = kStackTop;
  pm.gdt_gpa = kGdtGpa;
  VT_OK(vmrt::setup_protected_mode(g_cpu, g_vm.memory(), pm));
  g_cpu.set_exception_bitmap(1u << 13);
  VT_EXIT(io, at(k_pm32, vt_pm32_at));
  VT_EQ(g_cpu.exit().io.port, 0x80);
  VT_EQ(g_cpu.exit().instruction_length, 2);
  VT_EQ(g_cpu.segment(Seg::cs).selector, vmrt::gdt::kCode32);
  VT_EQ(g_cpu.cr0() & vmrt::kCr0Pe, vmrt::kCr0Pe);
  VT_SKIP_INSN();
  VT_EXIT(exception, at(k_pm32, vt_pm32_gp_at));
  VT_EQ(g_cpu.exit().exception.vector, 13);
  VT_EQ(g_cpu.exit().exception.has_error_code, 1);
  VT_EQ(g_cpu.exit().exception.error_code, 0x1230);
}

// ---------------------------------------------------------------- cases: guest memory

VT_CASE(gpa_fault_read_then_demand_map) {
  VT_OK(load_real(k_gpa_read));
  VT_EXIT(gpa_fault, at(k_gpa_read, vt_gpa_read_at));
  VT_EQ(g_cpu.exit().gpa.gpa, 0x30010);
  VT_EQ(g_cpu.exit().gpa.access & vm::kAccessWrite, 0);
  VT_EQ(g_cpu.exit().gpa.access & vm::kAccessRead, vm::kAccessRead);
  VT_EQ(g_cpu.exit().gpa.present, 0);
  // Map the page on demand and let the guest retry the load.
  if (!g_vm.memory().find(0x30000)) VT_OK(g_vm.add_ram(0x30000, 0x1000));
  uint8_t v = 0x5a;
  VT_OK(g_vm.copy_to_guest(0x30010, &v, 1));
  VT_EXIT(hlt, at(k_gpa_read, vt_gpa_read_hlt_at));
  VT_EQ(g_cpu.get(Reg::rax) & 0xff, 0x5a);
}

VT_CASE(gpa_fault_write) {
  VT_OK(load_real(k_gpa_write));
  VT_EXIT(gpa_fault, at(k_gpa_write, vt_gpa_write_at));
  VT_EQ(g_cpu.exit().gpa.gpa, 0x40020);
  VT_EQ(g_cpu.exit().gpa.access & vm::kAccessWrite, vm::kAccessWrite);
  VT_EQ(g_cpu.exit().gpa.present, 0);
}

VT_CASE(gpa_fault_exec) {
  VT_OK(load_real(k_gpa_exec));
  VT_EXIT(gpa_fault, ~0ull);
  VT_EQ(g_cpu.exit().gpa.gpa, 0x50000);
  VT_EQ(g_cpu.exit().gpa.access & vm::kAccessExec, vm::kAccessExec);
  VT_EQ(g_cpu.segment(Seg::cs).base, 0x50000);
}

VT_CASE(gpa_fault_read_only_page) {
  VT_OK(load_real(k_ro_write));
  uint8_t zero = 0;
  VT_OK(g_vm.copy_to_guest(kRoPage, &zero, 1));
  VT_OK(g_vm.protect(kRoPage, 0x1000, Rights::read | Rights::exec));
  VT_EXIT(gpa_fault, at(k_ro_write, vt_ro_write_at));
  VT_EQ(g_cpu.exit().gpa.gpa, kRoPage);
  VT_EQ(g_cpu.exit().gpa.access & vm::kAccessWrite, vm::kAccessWrite);
  VT_EQ(g_cpu.exit().gpa.present, 1);
  // Make it writable again; the guest's retried store succeeds.
  VT_OK(g_vm.protect(kRoPage, 0x1000, kRun));
  VT_EXIT(hlt, at(k_ro_write, vt_ro_write_hlt_at));
  uint8_t v = 0;
  VT_OK(g_vm.copy_from_guest(&v, kRoPage, 1));
  VT_EQ(v, 1);
}

VT_CASE(unmap_invalidates_guest_tlb) {
  VT_OK(load_real(k_unmap));
  uint8_t v = 0x77;
  VT_OK(g_vm.copy_to_guest(kUnmapPage, &v, 1));
  VT_EXIT(hlt, at(k_unmap, vt_unmap_hlt_at));
  VT_EQ(g_cpu.get(Reg::rax) & 0xff, 0x77);  // the guest has used the mapping
  VT_OK(g_vm.unmap(kUnmapPage, 0x1000));
  VT_SKIP_INSN();
  VT_EXIT(gpa_fault, at(k_unmap, vt_unmap_read_at));
  VT_EQ(g_cpu.exit().gpa.gpa, kUnmapPage);
  VT_EQ(g_cpu.exit().gpa.present, 0);
  VT_OK(g_vm.map(kUnmapPage, 0x1000, kRun));
  VT_EXIT(hlt, at(k_unmap, vt_unmap_hlt2_at));
  VT_EQ(g_cpu.get(Reg::rbx) & 0xff, 0x77);
}

// 2 MiB guest pages (vm_map with kVmMapLarge): a VM of its own whose first
// 2 MiB of RAM is one 2 MiB mapping. The guest reads through it; unmapping one
// 4 KiB page of it (vmrt splits the rest into 4 KiB pages) must end the
// guest's cached 2 MiB translation for that page while its code, on another
// page of the same 2 MiB, keeps running; mapping the page again lets the
// retried load see the same memory.
VT_CASE(large_guest_page_split_and_invalidated) {
  vmrt::Vm vm2;
  VT_OK(vm2.create(g_vm.env()));
  vmrt::Vcpu cpu2;
  vmrt::VcpuConfig cfg;
  cfg.own_thread = g_own_thread;
  cfg.priority = g_priority;
  uint64_t large = 0;
  uint64_t rax = 0, rbx = 0, fault_gpa = 0;
  auto run = [&]() -> bool {
    if (auto r = vm2.add_ram(0, 2u << 20); !r) return fail_err("vm2.add_ram", __FILE__, __LINE__, r.error()), false;
    large = vm2.large_mappings();
    if (large != 1) return false;
    uint8_t v = 0x77;
    if (!vm2.copy_to_guest(kCodeGpa, k_unmap.start, static_cast<uint64_t>(k_unmap.end - k_unmap.start)) ||
        !vm2.copy_to_guest(kUnmapPage, &v, 1))
      return fail("copy", __FILE__, __LINE__), false;
    if (auto r = cpu2.create(vm2, cfg); !r) return fail_err("cpu2.create", __FILE__, __LINE__, r.error()), false;
    vmrt::RealModeConfig rm;
    rm.ip = kCodeGpa;
    rm.sp = kStackTop;
    vmrt::setup_real_mode(cpu2, rm);
    if (!expect_exit(cpu2, vm::ExitReason::hlt, at(k_unmap, vt_unmap_hlt_at), __FILE__, __LINE__)) return false;
    rax = cpu2.get(Reg::rax) & 0xff;
    if (auto r = vm2.unmap(kUnmapPage, 0x1000); !r) return fail_err("vm2.unmap", __FILE__, __LINE__, r.error()), false;
    if (auto r = cpu2.advance_rip(); !r) return fail_err("advance_rip", __FILE__, __LINE__, r.error()), false;
    if (!expect_exit(cpu2, vm::ExitReason::gpa_fault, at(k_unmap, vt_unmap_read_at), __FILE__, __LINE__)) return false;
    fault_gpa = cpu2.exit().gpa.gpa;
    if (auto r = vm2.map(kUnmapPage, 0x1000, kRun); !r) return fail_err("vm2.map", __FILE__, __LINE__, r.error()), false;
    if (!expect_exit(cpu2, vm::ExitReason::hlt, at(k_unmap, vt_unmap_hlt2_at), __FILE__, __LINE__)) return false;
    rbx = cpu2.get(Reg::rbx) & 0xff;
    return true;
  };
  bool ok = run();
  if (cpu2.created()) VT_OK(cpu2.destroy());
  VT_OK(vm2.destroy());
  VT_EQ(large, 1);  // the frame's host pages were 2 MiB aligned
  VT_ASSERT(ok);
  VT_EQ(rax, 0x77);
  VT_EQ(fault_gpa, kUnmapPage);
  VT_EQ(rbx, 0x77);
}

// Where the CPU does not report an exiting instruction's length (SVM without
// NRIP save) the kernel fetches its bytes and remembers the guest-physical
// translations it used; a vm_unmap must end them. Guest-physical 0x60000
// first holds CPUID in frame A, then CPUID with an operand-size prefix in
// frame B: the second exit must measure 3 bytes, not A's 2.
VT_CASE(instruction_length_follows_a_remapped_page) {
  constexpr uint64_t kPage = 0x60000;
  cos::abi::ObjType frame_type = cos::abi::ObjType::frame;
  vmrt::Env* env = g_vm.env();
  uint64_t vm = g_vm.slot(), ut = env->untyped;
  auto a = env->slots.alloc(), b = env->slots.alloc();
  VT_ASSERT(a.ok() && b.ok());
  VT_EQ(sys::retype(ut, a.value(), frame_type, 1), 0);
  VT_EQ(sys::retype(ut, b.value(), frame_type, 1), 0);
  auto hva = env->reserve_window(0x2000);
  VT_ASSERT(hva.ok());
  VT_OK(env->map_into_window(hva.value(), a.value(), 0, 1));
  VT_OK(env->map_into_window(hva.value() + 0x1000, b.value(), 0, 1));
  const uint8_t code_a[] = {0x0f, 0xa2, 0xf4}, code_b[] = {0x66, 0x0f, 0xa2, 0xf4};  // cpuid; hlt
  __builtin_memcpy(reinterpret_cast<uint8_t*>(hva.value()), code_a, sizeof(code_a));
  __builtin_memcpy(reinterpret_cast<uint8_t*>(hva.value() + 0x1000), code_b, sizeof(code_b));

  if (g_cpu_lost || !g_cpu.created()) VT_OK(fresh_cpu());
  vmrt::RealModeConfig rm;
  rm.cs = kPage >> 4;
  rm.sp = kStackTop;
  vmrt::setup_real_mode(g_cpu, rm);
  int64_t map_a = sys::vm_map(vm, kPage, a.value(), 0, kRun, ut);
  bool ok = map_a == 0;
  uint32_t len_a = 0, len_b = 0;
  if (ok) ok = expect_exit(g_cpu, vm::ExitReason::cpuid, 0, __FILE__, __LINE__);
  if (ok) len_a = g_cpu.exit().instruction_length;
  int64_t unmap_a = ok ? sys::vm_unmap(vm, kPage) : -1;
  int64_t map_b = unmap_a == 1 ? sys::vm_map(vm, kPage, b.value(), 0, kRun, ut) : -1;
  if (map_b == 0) {
    g_cpu.set(Reg::rip, 0);
    ok = expect_exit(g_cpu, vm::ExitReason::cpuid, 0, __FILE__, __LINE__);
    if (ok) len_b = g_cpu.exit().instruction_length;
    if (ok && g_cpu.advance_rip()) ok = expect_exit(g_cpu, vm::ExitReason::hlt, 3, __FILE__, __LINE__);
    (void)sys::vm_unmap(vm, kPage);
  }
  env->unmap_window(hva.value(), 2);
  for (uint64_t f : {a.value(), b.value()}) {
    sys::cap_delete(f);
    env->slots.free(f);
  }
  if (!ok) return;
  VT_EQ(map_a, 0);
  VT_EQ(len_a, 2);
  VT_EQ(unmap_a, 1);  // one 4 KiB page
  VT_EQ(map_b, 0);
  VT_EQ(len_b, 3);
}

VT_CASE(vm_map_errors) {
  uint64_t vm = g_vm.slot(), ut = g_vm.env()->untyped;
  auto f = g_vm.env()->slots.alloc();
  VT_ASSERT(f.ok());
  uint64_t frame = f.value();
  VT_EQ(sys::retype(ut, frame, cos::abi::ObjType::frame, 1), 0);
  int64_t r1 = sys::vm_map(vm, 0x60001, frame, 0, kRun, ut);
  int64_t r2 = sys::vm_map(vm, cos::abi::kGuestPhysTop, frame, 0, kRun, ut);
  int64_t r3 = sys::vm_map(vm, 0x60000, frame, 0, Rights::write, ut);
  int64_t r4 = sys::vm_map(vm, 0x60000, frame, 1, kRun, ut);
  int64_t r5 = sys::vm_map(vm, 0x0, frame, 0, kRun, ut);  // RAM is mapped there
  int64_t r6 = sys::vm_unmap(vm, 0x61000);
  int64_t r7 = sys::vm_map(frame, 0x60000, frame, 0, kRun, ut);
  sys::cap_delete(frame);
  g_vm.env()->slots.free(frame);
  VT_EQ(r1, static_cast<int64_t>(Error::bad_address));
  VT_EQ(r2, static_cast<int64_t>(Error::bad_address));
  VT_EQ(r3, static_cast<int64_t>(Error::bad_argument));
  VT_EQ(r4, static_cast<int64_t>(Error::bad_argument));
  VT_EQ(r5, static_cast<int64_t>(Error::already_mapped));
  VT_EQ(r6, static_cast<int64_t>(Error::not_mapped));
  VT_EQ(r7, static_cast<int64_t>(Error::wrong_type));
}

VT_CASE(add_ram_errors_leave_nothing_behind) {
  auto overlap = g_vm.add_ram(0x1f000, 0x2000);
  VT_ASSERT(!overlap.ok());
  VT_EQ(overlap.error().code, vmrt::Errc::region_overlap);
  auto misaligned = g_vm.add_ram(0x100800, 0x1000);
  VT_ASSERT(!misaligned.ok());
  VT_EQ(misaligned.error().code, vmrt::Errc::bad_argument);
  // More than the whole untyped grant: the frames it managed to make and map
  // are unmapped and deleted again, so their memory can be used afterwards.
  unsigned regions = g_vm.memory().region_count();
  uint64_t slots = g_vm.env()->slots.available();
  auto huge = g_vm.add_ram(0x1000000, 16u << 20);
  VT_ASSERT(!huge.ok());
  VT_EQ(huge.error().code, vmrt::Errc::syscall);
  VT_EQ(huge.error().sys, static_cast<int64_t>(Error::out_of_memory));
  VT_EQ(g_vm.memory().region_count(), regions);
  VT_EQ(g_vm.env()->slots.available(), slots);
  VT_EQ(sys::vm_unmap(g_vm.slot(), 0x1000000), static_cast<int64_t>(Error::not_mapped));
  VT_OK(g_vm.add_ram(0x1000000, 1u << 20));
  uint32_t word = 0x600dcafe;
  VT_OK(g_vm.copy_to_guest(0x10ffffc, &word, 4));
}

// ---------------------------------------------------------------- cases: events

vmrt::Status setup_irq_handler() {
  VMRT_TRY(copy(k_irq_handler, kHandlerGpa));
  uint16_t ivt[2] = {static_cast<uint16_t>(kHandlerGpa), 0};
  return g_vm.copy_to_guest(kIrqVector * 4, ivt, sizeof(ivt));
}

VT_CASE(inject_interrupt_async) {
  VT_OK(load_real(k_irq_main));
  VT_OK(setup_irq_handler());
  VT_EXIT(hlt, at(k_irq_main, vt_irq_main_at));
  VT_OK(g_cpu.inject_interrupt(kIrqVector));
  VT_SKIP_INSN();
  VT_EXIT(hlt, at(k_irq_handler, vt_irq_handler_at, kHandlerGpa));
  VT_EQ(g_cpu.get(Reg::rbx) & 0xff, 0x42);
}

VT_CASE(inject_interrupt_in_reply) {
  VT_OK(load_real(k_irq_main));
  VT_OK(setup_irq_handler());
  VT_EXIT(hlt, at(k_irq_main, vt_irq_main_at));
  g_cpu.queue_event(kIrqVector, vm::EventType::external_interrupt);
  VT_SKIP_INSN();
  VT_EXIT(hlt, at(k_irq_handler, vt_irq_handler_at, kHandlerGpa));
  VT_EQ(g_cpu.get(Reg::rbx) & 0xff, 0x42);
}

VT_CASE(inject_waits_for_interrupt_window) {
  VT_OK(load_real(k_irq_window));
  VT_OK(setup_irq_handler());
  VT_EXIT(io, at(k_irq_window, vt_irq_window_out_at));
  VT_OK(g_cpu.inject_interrupt(kIrqVector));  // IF = 0 now
  VT_SKIP_INSN();
  VT_EXIT(hlt, at(k_irq_handler, vt_irq_handler_at, kHandlerGpa));
  VT_EQ(g_cpu.get(Reg::rcx) & 0xff, 7);  // delivered only after STI
  VT_EQ(g_cpu.get(Reg::rbx) & 0xff, 0x42);
}

VT_CASE(interrupt_window_request) {
  VT_OK(load_real(k_window_request));
  VT_EXIT(hlt, at(k_window_request, vt_window_request_hlt_at));
  g_cpu.request_interrupt_window();
  VT_SKIP_INSN();
  VT_EXIT(interrupt_window, ~0ull);
  g_cpu.request_interrupt_window(false);
  uint64_t rip = g_cpu.rip();
  VT_ASSERT(rip > at(k_window_request, vt_window_request_sti_at));
  VT_ASSERT(rip <= at(k_window_request, vt_window_request_end_at));
  VT_EQ(g_cpu.get(Reg::rflags) & (1u << 9), 1u << 9);
  VT_EXIT(hlt, at(k_window_request, vt_window_request_end_at));
}

// ---------------------------------------------------------------- cases: running vCPUs

VT_CASE(run_timeout_leaves_current_state) {
  if (g_own_thread) return skip("an own-thread vCPU keeps running after a wait times out");
  VT_OK(load_real(k_spin));
  auto r = g_cpu.step(5000);  // the guest never exits: vcpu_run ends after 5 ms
  VT_ASSERT(!r.ok());
  VT_EQ(r.error().code, vmrt::Errc::timeout);
  // The state page holds the interrupted guest: inside the loop, counting.
  VT_EQ(g_cpu.exit().reason, vm::ExitReason::none);
  VT_ASSERT(g_cpu.rip() >= at(k_spin, vt_spin_at) && g_cpu.rip() < at(k_spin, vt_spin_end));
  uint64_t count = g_cpu.get(Reg::rbx) & 0xffffffff;
  VT_ASSERT(count > 0);
  // Editing it and running again goes on from there.
  g_cpu.set(Reg::rbx, 0);
  r = g_cpu.step(5000);
  VT_ASSERT(!r.ok());
  VT_EQ(r.error().code, vmrt::Errc::timeout);
  VT_ASSERT((g_cpu.get(Reg::rbx) & 0xffffffff) > 0);
}

VT_CASE(run_ends_on_wakeup_notification) {
  if (g_own_thread) return skip("own-thread vCPUs share the endpoint with their exits");
  VT_OK(load_real(k_spin));
  auto s = g_vm.env()->slots.alloc();
  VT_ASSERT(s.ok());
  uint64_t snd = s.value();
  VT_EQ(sys::asnd_create(g_vm.env()->untyped, snd, g_cpu.wakeup_endpoint()), 0);
  int64_t a1 = sys::asnd(snd), a2 = sys::asnd(snd);
  // Two notifications are pending: vcpu_run returns 0 (no exit) at once and
  // consumes them.
  int64_t r = sys::vcpu_run(g_cpu.slot(), g_cpu.take_dirty(), g_cpu.wakeup_endpoint(), 0);
  int64_t left = sys::rcv(g_cpu.wakeup_endpoint(), 0, cos::abi::kRcvNonBlocking);
  sys::cap_delete(snd);
  g_vm.env()->slots.free(snd);
  VT_EQ(a1, 0);
  VT_EQ(a2, 0);
  VT_EQ(r, 0);
  VT_EQ(left, static_cast<int64_t>(Error::would_block));
  VT_EQ(g_cpu.exit().reason, vm::ExitReason::none);
  VT_EQ(g_cpu.rip(), kCodeGpa);  // never entered: still at the start
}

VT_CASE(run_and_resume_check_the_vcpu_kind) {
  // vcpu_run is for synchronous vCPUs, vcpu_resume for those with a thread.
  if (g_own_thread) {
    VT_SYS_ERR(sys::vcpu_run(g_cpu.slot(), 0, 0, 1000), vcpu_mode);
  } else {
    VT_SYS_ERR(sys::vcpu_resume(g_cpu.slot(), 0), vcpu_mode);
  }
  // A synchronous vCPU takes no priority; an own-thread one at most 255.
  auto s = g_vm.env()->slots.alloc();
  VT_ASSERT(s.ok());
  uint64_t frame = s.value(), vcpu = 0;
  VT_EQ(sys::retype(g_vm.env()->untyped, frame, cos::abi::ObjType::frame, 1), 0);
  auto d = g_vm.env()->slots.alloc();
  VT_ASSERT(d.ok());
  vcpu = d.value();
  int64_t r1 = sys::vcpu_create(g_vm.env()->untyped, vcpu, g_vm.slot(), frame, 0, 5);
  int64_t r2 = sys::vcpu_create(g_vm.env()->untyped, vcpu, g_vm.slot(), frame, g_cpu.wakeup_endpoint(), 256);
  sys::cap_delete(frame);
  g_vm.env()->slots.free(frame);
  g_vm.env()->slots.free(vcpu);
  VT_EQ(r1, static_cast<int64_t>(Error::bad_argument));
  VT_EQ(r2, static_cast<int64_t>(Error::bad_argument));
}

VT_CASE(thd_cpu_places_own_thread_vcpus_only) {
  // A synchronous vCPU runs where its caller runs: nothing to place. An
  // own-thread one moves with thd_cpu on the vCPU capability (both
  // backends run guests on every CPU).
  const int64_t cpus = sys::cpu_count();
  VT_EQ(sys::thd_cpu(g_cpu.slot(), static_cast<uint64_t>(cpus)),
        static_cast<int64_t>(g_own_thread ? Error::bad_argument : Error::wrong_type));
  if (!g_own_thread) {
    VT_SYS_ERR(sys::thd_cpu(g_cpu.slot(), 0), wrong_type);
    return;
  }
  const uint64_t here = g_vcpu_cpu == ~0ull ? 0 : g_vcpu_cpu;
  VT_EQ(sys::thd_cpu(g_cpu.slot(), static_cast<uint64_t>(cpus) - 1), 0);
  VT_EQ(sys::thd_cpu(g_cpu.slot(), here), 0);
}

VT_CASE(inject_twice_is_event_pending) {
  vmrt::Vcpu extra;
  vmrt::VcpuConfig cfg;
  cfg.own_thread = g_own_thread;
  cfg.priority = g_priority;
  VT_OK(extra.create(g_vm, cfg));
  int64_t r1 = sys::vcpu_inject(extra.slot(), kIrqVector, static_cast<uint64_t>(vm::EventType::external_interrupt), 0);
  int64_t r2 = sys::vcpu_inject(extra.slot(), kIrqVector + 1, static_cast<uint64_t>(vm::EventType::external_interrupt), 0);
  VT_OK(extra.destroy());
  VT_EQ(r1, 0);
  VT_EQ(r2, static_cast<int64_t>(Error::event_pending));
}

VT_CASE(killed_vcpu_does_not_run_again) {
  // thd_kill of a vCPU: a synchronous one is refused to vcpu_run from then
  // on; one with its own thread loses the thread (vcpu_resume: comp_dead).
  vmrt::Vcpu extra;
  vmrt::VcpuConfig cfg;
  cfg.own_thread = g_own_thread;
  cfg.priority = g_priority;
  VT_OK(extra.create(g_vm, cfg));
  const int64_t suspend = sys::thd_suspend(extra.slot());
  const int64_t resume = sys::thd_resume(extra.slot());
  const int64_t kill = sys::thd_kill(extra.slot());
  const int64_t again = sys::thd_kill(extra.slot());
  const int64_t run = g_own_thread ? sys::vcpu_resume(extra.slot(), 0) : sys::vcpu_run(extra.slot(), 0, 0, 1000);
  VT_OK(extra.destroy());
  VT_EQ(suspend, g_own_thread ? 0 : static_cast<int64_t>(Error::vcpu_mode));
  VT_EQ(resume, g_own_thread ? 0 : static_cast<int64_t>(Error::vcpu_mode));
  VT_EQ(kill, 0);
  VT_EQ(again, static_cast<int64_t>(Error::comp_dead));
  VT_EQ(run, static_cast<int64_t>(Error::comp_dead));
}

// ---------------------------------------------------------------- cases: failures the kernel survives

VT_CASE(triple_fault_is_shutdown_exit) {
  // A VM of its own, destroyed afterwards.
  vmrt::Vm vm2;
  VT_OK(vm2.create(g_vm.env()));
  vmrt::Vcpu cpu2;
  vmrt::VcpuConfig cfg;
  cfg.own_thread = g_own_thread;
  cfg.priority = g_priority;
  auto run = [&]() -> bool {
    if (auto r = vm2.add_ram(0, 0x10000); !r) return fail_err("vm2.add_ram", __FILE__, __LINE__, r.error()), false;
    if (auto r = vm2.copy_to_guest(kCodeGpa, k_triple.start, static_cast<uint64_t>(k_triple.end - k_triple.start)); !r)
      return fail_err("copy", __FILE__, __LINE__, r.error()), false;
    if (auto r = cpu2.create(vm2, cfg); !r) return fail_err("cpu2.create", __FILE__, __LINE__, r.error()), false;
    vmrt::RealModeConfig rm;
    rm.ip = kCodeGpa;
    rm.sp = kStackTop;
    vmrt::setup_real_mode(cpu2, rm);
    cpu2.set_idtr(0, 0);  // every vector is beyond the limit
    return expect_exit(cpu2, vm::ExitReason::shutdown, ~0ull, __FILE__, __LINE__);
  };
  bool ok = run();
  if (cpu2.created()) VT_OK(cpu2.destroy());
  VT_OK(vm2.destroy());
  VT_ASSERT(ok);
}

VT_CASE(system_runs_on_after_triple_fault) {
  VT_OK(load_real(k_hlt));
  VT_EXIT(hlt, at(k_hlt, vt_hlt_at));
}

VT_CASE(bad_guest_state_is_refused) {
  VT_OK(load_real(k_hlt));
  g_cpu.set(Cr::cr0, vmrt::kCr0Et | vmrt::kCr0Ne | (1u << 29));  // CR0.NW without CD
  auto r = step();
  VT_ASSERT(!r.ok());
  VT_EQ(r.error().code, vmrt::Errc::syscall);
  VT_EQ(r.error().sys, static_cast<int64_t>(Error::bad_guest_state));
  VT_ASSERT((g_cpu.dirty() & vm::Load::cr) != 0);  // nothing was loaded: still dirty
  // Fixed, the same vCPU runs.
  g_cpu.set(Cr::cr0, vmrt::kCr0Et | vmrt::kCr0Ne);
  VT_EXIT(hlt, at(k_hlt, vt_hlt_at));
}

// ---------------------------------------------------------------- cases: vmrt

VT_CASE(long_mode_guest_with_vmrt_page_tables) {
  if (g_cpu_lost || !g_cpu.created()) VT_OK(fresh_cpu());
  VT_OK(copy(k_long64));
  vmrt::PageTableBuilder pt(g_vm.memory(), kTablesGpa, kTablesBytes);
  VT_OK(pt.map(0, 0, 1ull << 30));
  VT_OK(pt.map(0x40000000, kUnmapPage, 0x1000));
  auto cr3 = pt.root();
  VT_OK(cr3);
  uint8_t marker = 0xa7;
  VT_OK(g_vm.copy_to_guest(kUnmapPage + 0x10, &marker, 1));
  vmrt::LongModeConfig lm;
  lm.entry = kCodeGpa;
  lm.stack = kStackTop;
  lm.gdt_gpa = kGdtGpa;
  lm.cr3 = cr3.value();
  VT_OK(vmrt::setup_long_mode(g_cpu, g_vm.memory(), lm));
  VT_EXIT(io, at(k_long64, vt_long64_out_at));
  VT_EQ(g_cpu.exit().io.data & 0xff, marker);
  VT_ASSERT(g_cpu.long_mode_64());
  VT_EQ(g_cpu.efer() & vmrt::kEferLma, vmrt::kEferLma);
  auto t = g_cpu.translate(0x40000010);
  VT_OK(t);
  VT_EQ(t.value().gpa, kUnmapPage + 0x10);
  VT_EQ(t.value().page_size, 0x1000);
  VT_SKIP_INSN();
  VT_EXIT(gpa_fault, at(k_long64, vt_long64_fault_at));
  VT_EQ(g_cpu.exit().gpa.gpa, 0x300008);
  auto t2 = g_cpu.translate(g_cpu.get(Reg::rbx));
  VT_OK(t2);
  VT_EQ(t2.value().gpa, 0x300008);
  VT_EQ(t2.value().page_size, 2u << 20);
}

Action stop_on_hlt(vmrt::VcpuState&, void*) { return Action::stop; }

VT_CASE(run_loop_with_stock_handlers) {
  VT_OK(load_real(k_io_unassigned));
  g_cpu.on(vm::ExitReason::io, vmrt::handlers::io_unassigned);
  g_cpu.on(vm::ExitReason::hlt, stop_on_hlt);
  vmrt::RunOptions opts;
  opts.timeout_us = kTimeoutUs;
  auto r = g_cpu.run(opts);
  g_cpu.on(vm::ExitReason::io, nullptr);
  g_cpu.on(vm::ExitReason::hlt, nullptr);
  if (!r && r.error().code == vmrt::Errc::timeout) g_cpu_lost = true;
  VT_OK(r);
  VT_EQ(r.value(), vm::ExitReason::hlt);
  VT_EQ(g_cpu.get(Reg::rbx) & 0xffff, 0x12ff);  // al = 0xff, ah kept
}

VT_CASE(run_loop_reports_unhandled_exits) {
  VT_OK(load_real(k_cpuid));
  vmrt::RunOptions opts;
  opts.timeout_us = kTimeoutUs;
  opts.quiet = true;
  auto r = g_cpu.run(opts);
  if (!r && r.error().code == vmrt::Errc::timeout) g_cpu_lost = true;
  VT_ASSERT(!r.ok());
  VT_EQ(r.error().code, vmrt::Errc::unhandled_exit);
  VT_EQ(r.error().detail, static_cast<uint64_t>(vm::ExitReason::cpuid));
  VT_EQ(r.error().addr, at(k_cpuid, vt_cpuid_at));
}


// ---------------------------------------------------------------- cases: hostile guests against vmrt's emulators

/// A port device for the string I/O cases: IN returns 0x30, 0x31, ...; the
/// first 64 values moved either way are kept.
struct PortLog {
  uint32_t values[64];
  unsigned kept = 0;
  uint64_t total = 0;
  uint32_t next = 0x30;

  void keep(uint32_t v) {
    if (kept < 64) values[kept++] = v;
    ++total;
  }
  vmrt::PortIo io() {
    vmrt::PortIo p;
    p.ctx = this;
    p.in = [](void* c, uint16_t, unsigned) -> uint32_t {
      auto* l = static_cast<PortLog*>(c);
      uint32_t v = l->next++ & 0xff;
      l->keep(v);
      return v;
    };
    p.out = [](void* c, uint16_t, unsigned, uint32_t v) { static_cast<PortLog*>(c)->keep(v); };
    return p;
  }
};

struct IoRun {
  PortLog log;
  uint64_t max_elements = vmrt::kStringIoMaxElements;
  unsigned exits = 0;
};

Action emulate_io_exit(vmrt::VcpuState& v, void* ctx) {
  auto* run = static_cast<IoRun*>(ctx);
  ++run->exits;
  auto r = vmrt::emulate_io(v, run->log.io(), nullptr, run->max_elements);
  return r ? vmrt::io_action(r.value().outcome) : Action::stop;
}

/// Runs the shared vCPU with `io` (may be null) on I/O exits, `gpa` on
/// guest-physical faults and `msr` on WRMSR, until a HLT.
vmrt::Result<vm::ExitReason> run_until_hlt(vmrt::ExitHandler io, void* io_ctx, vmrt::ExitHandler gpa = nullptr,
                                           void* gpa_ctx = nullptr, vmrt::ExitHandler msr = nullptr,
                                           void* msr_ctx = nullptr) {
  g_cpu.on(vm::ExitReason::io, io, io_ctx);
  g_cpu.on(vm::ExitReason::gpa_fault, gpa, gpa_ctx);
  g_cpu.on(vm::ExitReason::msr_write, msr, msr_ctx);
  g_cpu.on(vm::ExitReason::hlt, stop_on_hlt);
  vmrt::RunOptions opts;
  opts.timeout_us = kTimeoutUs;
  opts.quiet = true;
  auto r = g_cpu.run(opts);
  for (auto reason : {vm::ExitReason::io, vm::ExitReason::gpa_fault, vm::ExitReason::msr_write, vm::ExitReason::hlt})
    g_cpu.on(reason, nullptr);
  if (!r && r.error().code == vmrt::Errc::timeout) g_cpu_lost = true;
  return r;
}

/// Points real-mode interrupt vector `vector` at 0000:handler.
vmrt::Status set_ivt(unsigned vector, uint64_t handler) {
  uint16_t entry[2] = {static_cast<uint16_t>(handler), 0};
  return g_vm.copy_to_guest(vector * 4, entry, sizeof(entry));
}

constexpr uint64_t kStringBuf = 0x4000, kIdtGpa = 0x5000;

/// Loads a 64-bit snippet at 0x1000: the first GiB identity-mapped, gva
/// 0x40000000 -> the page at 0x9000, nothing else.
vmrt::Status load_long(const Snippet& s) {
  if (g_cpu_lost || !g_cpu.created()) VMRT_TRY(fresh_cpu());
  VMRT_TRY(copy(s));
  vmrt::PageTableBuilder pt(g_vm.memory(), kTablesGpa, kTablesBytes);
  VMRT_TRY(pt.map(0, 0, 1ull << 30));
  VMRT_TRY(pt.map(0x40000000, kUnmapPage, 0x1000));
  auto cr3 = pt.root();
  if (!cr3) return cr3.error();
  vmrt::LongModeConfig lm;
  lm.entry = kCodeGpa;
  lm.stack = kStackTop;
  lm.gdt_gpa = kGdtGpa;
  lm.cr3 = cr3.value();
  VMRT_TRY(vmrt::setup_long_mode(g_cpu, g_vm.memory(), lm));
  g_cpu.request_interrupt_window(false);
  return {};
}

VT_CASE(rep_ins_with_a_huge_count_is_bounded_and_resumable) {
  VT_OK(load_long(k_ins_huge));
  const uint64_t rip = at(k_ins_huge, vt_ins_huge_at);
  VT_EXIT(io, rip);
  VT_EQ(g_cpu.get(Reg::rcx), ~0ull);
  PortLog log;
  auto r = vmrt::emulate_io(g_cpu, log.io());
  VT_OK(r);
  VT_EQ(r.value().outcome, vmrt::IoOutcome::partial);
  VT_EQ(r.value().elements, vmrt::kStringIoMaxElements);
  VT_EQ(g_cpu.get(Reg::rcx), ~0ull - vmrt::kStringIoMaxElements);
  VT_EQ(g_cpu.get(Reg::rdi), kStringBuf + vmrt::kStringIoMaxElements);
  VT_EQ(g_cpu.rip(), rip);
  // The guest executes the instruction again and exits again, where the
  // last exit left it.
  VT_EXIT(io, rip);
  VT_EQ(g_cpu.get(Reg::rcx), ~0ull - vmrt::kStringIoMaxElements);
  r = vmrt::emulate_io(g_cpu, log.io());
  VT_OK(r);
  VT_EQ(r.value().outcome, vmrt::IoOutcome::partial);
  VT_EQ(g_cpu.get(Reg::rcx), ~0ull - 2 * vmrt::kStringIoMaxElements);
  VT_EQ(g_cpu.get(Reg::rdi), kStringBuf + 2 * vmrt::kStringIoMaxElements);
  VT_EQ(log.total, 2 * vmrt::kStringIoMaxElements);
  uint8_t got[64];
  VT_OK(g_vm.copy_from_guest(got, kStringBuf, sizeof(got)));
  for (unsigned i = 0; i < 64; ++i) VT_EQ(got[i], log.values[i]);
}

VT_CASE(rep_outs_with_df_set_moves_down_across_exits) {
  VT_OK(load_real(k_outs_down));
  for (uint16_t k = 0; k < 5; ++k) {
    uint16_t w = static_cast<uint16_t>(0xa000 + k);
    VT_OK(g_vm.copy_to_guest(kDataGpa + 2 * k, &w, 2));
  }
  IoRun run;
  run.max_elements = 2;
  auto r = run_until_hlt(emulate_io_exit, &run);
  VT_OK(r);
  VT_EQ(g_cpu.rip(), at(k_outs_down, vt_outs_down_hlt_at));
  VT_EQ(run.exits, 3);  // 2 + 2 + 1 words
  VT_EQ(run.log.total, 5);
  for (unsigned i = 0; i < 5; ++i) VT_EQ(run.log.values[i], 0xa004 - i);
  VT_EQ(g_cpu.get(Reg::rsi) & 0xffff, kDataGpa - 2);
  VT_EQ(g_cpu.get(Reg::rcx) & 0xffff, 0);
}

VT_CASE(rep_ins_beyond_the_segment_limit_is_gp) {
  VT_OK(load_real(k_ins_limit));
  VT_OK(copy(k_stop_handler, kHandlerGpa));
  VT_OK(set_ivt(13, at(k_stop_handler, vt_stop_handler_at, kHandlerGpa)));
  IoRun run;
  auto r = run_until_hlt(emulate_io_exit, &run);
  VT_OK(r);
  VT_EQ(g_cpu.rip(), at(k_stop_handler, vt_stop_handler_at, kHandlerGpa));
  VT_EQ(run.exits, 1);
  VT_EQ(run.log.total, 16);  // the seventeenth element faulted before reading the port
  VT_EQ(g_cpu.get(Reg::rdi) & 0xffffffff, 0x10000);
  VT_EQ(g_cpu.get(Reg::rcx) & 0xffffffff, 0xffffffffu - 16);
  uint16_t frame[3];  // IP, CS, FLAGS of the #GP
  VT_OK(g_vm.copy_from_guest(frame, kStackTop - 6, sizeof(frame)));
  VT_EQ(frame[0], at(k_ins_limit, vt_ins_limit_at));
  uint8_t got[16];
  VT_OK(g_vm.copy_from_guest(got, 0xfff0, sizeof(got)));
  for (unsigned i = 0; i < 16; ++i) VT_EQ(got[i], run.log.values[i]);
}

VT_CASE(rep_ins_into_an_unmapped_page_is_pf) {
  VT_OK(load_long(k_ins_pf));
  VT_OK(copy(k_pf_handler64, kHandlerGpa));
  // A 64-bit IDT with an interrupt gate for #PF (SDM Vol. 3A 6.14.1).
  uint8_t idt[32 * 16] = {};
  const uint64_t handler = kHandlerGpa;
  uint8_t* gate = idt + 14 * 16;
  gate[0] = handler & 0xff, gate[1] = (handler >> 8) & 0xff;
  gate[2] = vmrt::gdt::kCode64 & 0xff, gate[3] = vmrt::gdt::kCode64 >> 8;
  gate[5] = 0x8e;  // present, DPL 0, 64-bit interrupt gate
  gate[6] = (handler >> 16) & 0xff, gate[7] = (handler >> 24) & 0xff;
  VT_OK(g_vm.copy_to_guest(kIdtGpa, idt, sizeof(idt)));
  g_cpu.set_idtr(kIdtGpa, sizeof(idt) - 1);
  IoRun run;
  auto r = run_until_hlt(emulate_io_exit, &run);
  VT_OK(r);
  VT_EQ(g_cpu.rip(), at(k_pf_handler64, vt_pf_handler64_at, kHandlerGpa));
  VT_EQ(g_cpu.get(Reg::rax), vmrt::kPfWrite);  // the error code: a write to a page that is not present
  VT_EQ(g_cpu.get(Cr::cr2), 0x40001000);
  VT_EQ(g_cpu.get(Reg::rcx), 92);
  VT_EQ(g_cpu.get(Reg::rdi), 0x40001000);
  VT_EQ(run.log.total, 8);
  uint8_t got[8];
  VT_OK(g_vm.copy_from_guest(got, kUnmapPage + 0xff8, sizeof(got)));
  for (unsigned i = 0; i < 8; ++i) VT_EQ(got[i], run.log.values[i]);
}

struct MmioRun {
  unsigned exits = 0, faults = 0;
  uint8_t last_vector = 0;
};

Action emulate_mmio_exit(vmrt::VcpuState& v, void* ctx) {
  auto* run = static_cast<MmioRun*>(ctx);
  ++run->exits;
  auto r = vmrt::emulate_mmio(v, nullptr);  // no devices: everything is the empty bus
  if (!r) return Action::stop;
  if (r.value().outcome == vmrt::MmioOutcome::fault) {
    ++run->faults;
    run->last_vector = r.value().fault.vector;
  }
  return Action::resume;
}

VT_CASE(unassigned_mmio_reads_all_ones_and_ignores_writes) {
  VT_OK(load_real(k_mmio_empty));
  uint16_t zero = 0;
  VT_OK(g_vm.copy_to_guest(kDataGpa, &zero, sizeof(zero)));
  MmioRun run;
  auto r = run_until_hlt(nullptr, nullptr, emulate_mmio_exit, &run);
  VT_OK(r);
  VT_EQ(g_cpu.rip(), at(k_mmio_empty, vt_mmio_empty_hlt_at));
  VT_EQ(run.exits, 7);  // movb, mov, mov, xchg, lock or, lock cmpxchg, movsw
  VT_EQ(run.faults, 0);
  VT_EQ(g_cpu.get(Reg::rbx) & 0xff, 0xff);     // the byte written before was ignored
  VT_EQ(g_cpu.get(Reg::rcx) & 0xffff, 0xffff);
  VT_EQ(g_cpu.get(Reg::rdx) & 0xffff, 0xffff);  // XCHG and CMPXCHG (mismatch) got all ones
  uint16_t copied = 0;
  VT_OK(g_vm.copy_from_guest(&copied, kDataGpa, sizeof(copied)));
  VT_EQ(copied, 0xffff);
  VT_EQ(g_cpu.get(Reg::rsi) & 0xffff, 0x32);
  VT_EQ(g_cpu.get(Reg::rdi) & 0xffff, kDataGpa + 2);
}

VT_CASE(unusual_mmio_instructions_get_ud) {
  // Each runs with DS = 0x7000 (unassigned), SI = 0x20, ES:DI = 0:0x3000.
  struct Insn {
    const char* name;
    uint8_t bytes[6];
    uint8_t length;
    bool sse;
  } insns[] = {
      {"cmpsb", {0xa6}, 1, false},
      {"mulb (0x20)", {0xf6, 0x26, 0x20, 0x00}, 4, false},
      {"movaps (0x20), %xmm0", {0x0f, 0x28, 0x06, 0x20, 0x00}, 5, true},
      {"ljmp $0x7000, $0 (execution)", {0xea, 0x00, 0x00, 0x00, 0x70}, 5, false},
  };
  const uint8_t prologue[] = {0xb8, 0x00, 0x70, 0x8e, 0xd8,  // mov $0x7000, %ax; mov %ax, %ds
                              0xbe, 0x20, 0x00, 0xbf, 0x00, 0x30};  // mov $0x20, %si; mov $0x3000, %di
  const char* name = vmtest::current();
  for (const Insn& insn : insns) {
    vmtest::set_current(insn.name);  // a failure names the instruction
    VT_OK(load_real(k_hlt));
    VT_OK(g_vm.copy_to_guest(kCodeGpa, prologue, sizeof(prologue)));
    VT_OK(g_vm.copy_to_guest(kCodeGpa + sizeof(prologue), insn.bytes, insn.length));
    VT_OK(copy(k_stop_handler, kHandlerGpa));
    VT_OK(set_ivt(6, at(k_stop_handler, vt_stop_handler_at, kHandlerGpa)));
    if (insn.sse) g_cpu.set(Cr::cr4, g_cpu.cr4() | (1u << 9));  // CR4.OSFXSR: SSE enabled
    MmioRun run;
    auto r = run_until_hlt(nullptr, nullptr, emulate_mmio_exit, &run);
    VT_OK(r);
    VT_EQ(g_cpu.rip(), at(k_stop_handler, vt_stop_handler_at, kHandlerGpa));
    VT_EQ(run.faults, 1);
    VT_EQ(run.last_vector, vmrt::kVectorUd);
    uint16_t frame[2];  // IP, CS of the #UD
    VT_OK(g_vm.copy_from_guest(frame, kStackTop - 6, sizeof(frame)));
    const bool exec = insn.bytes[0] == 0xea;
    VT_EQ(frame[0], exec ? 0 : kCodeGpa + sizeof(prologue));
    VT_EQ(frame[1], exec ? 0x7000 : 0);
  }
  vmtest::set_current(name);
}

struct MsrRun {
  vmrt::GuestCpu cpu;
  uint64_t pat = 0x0007040600070406ull;
  unsigned gp = 0;
};

/// WRMSR through vmrt's checks: state-page MSRs and PAT; #GP for the rest.
Action checked_wrmsr(vmrt::VcpuState& v, void* ctx) {
  auto* run = static_cast<MsrRun*>(ctx);
  const uint32_t index = v.exit().msr.index;
  const uint64_t value = (v.get(Reg::rdx) << 32) | (v.get(Reg::rax) & 0xffffffffu);
  vmrt::MsrStatus s = vmrt::write_state_msr(v, run->cpu, index, value);
  if (s == vmrt::MsrStatus::unknown && index == vmrt::msr::pat) {
    s = vmrt::pat_valid(value) ? vmrt::MsrStatus::done : vmrt::MsrStatus::gp;
    if (s == vmrt::MsrStatus::done) run->pat = value;
  }
  if (s == vmrt::MsrStatus::done) return Action::skip;
  ++run->gp;
  vmrt::inject_fault(v, vmrt::GuestFault::gp());
  return Action::resume;
}

void host_cpuid(void*, uint32_t leaf, uint32_t subleaf, uint32_t* r) {
  asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(subleaf));
}

VT_CASE(bad_msr_writes_get_gp) {
  VT_OK(load_real(k_msr_bad));
  VT_OK(copy(k_msr_gp_handler, kHandlerGpa));
  VT_OK(set_ivt(13, kHandlerGpa));
  MsrRun run;
  run.cpu = vmrt::GuestCpu::from_cpuid(host_cpuid, nullptr);
  auto r = run_until_hlt(nullptr, nullptr, nullptr, nullptr, checked_wrmsr, &run);
  VT_OK(r);
  VT_EQ(g_cpu.rip(), at(k_msr_bad, vt_msr_bad_hlt_at));
  // LSTAR, FS_BASE, KERNEL_GS_BASE, EFER, PAT, SFMASK; SYSENTER_EIP on Intel
  // (AMD keeps its low 32 bits).
  const bool intel = run.cpu.vendor == vmrt::GuestCpu::Vendor::intel;
  const unsigned want = 6 + (intel ? 1 : 0);
  VT_EQ(run.gp, want);
  VT_EQ(g_cpu.get(Reg::rbx) & 0xffff, want);  // each reached the guest's #GP handler
  VT_EQ(g_cpu.get(vmrt::SyscallMsr::lstar), 0xffffffff81000000ull);
  VT_EQ(g_cpu.get(vmrt::SyscallMsr::kernel_gs_base), 0);
  VT_EQ(g_cpu.get(vmrt::SyscallMsr::sfmask), 0);
  VT_EQ(g_cpu.get(vmrt::SyscallMsr::sysenter_eip), 0);
  VT_EQ(g_cpu.segment(Seg::fs).base, 0);
  VT_EQ(g_cpu.efer(), 0);
  VT_EQ(run.pat, 0x0007040600070406ull);
}
}  // namespace

int main() {
  g_priority = static_cast<uint32_t>(cos::param_u64("vcpu_priority", 100));
  g_vcpu_cpu = cos::param_u64("vcpu_cpu", ~0ull);
  if (auto r = g_vm.create(); !r) {
    char buf[160];
    r.error().format(buf, sizeof(buf));
    if (r.error().sys == static_cast<int64_t>(Error::no_virtualization)) {
      cos::printf("vm_tests: no hardware virtualization; %d cases skipped\n", vmtest::case_count());
      cos::printf("vm_tests: 0 passed, 0 failed, %d skipped\n0 passed, 0 failed\n", vmtest::case_count());
      return 0;
    }
    cos::printf("vm_tests: creating the VM: %s\n", buf);
    return 1;
  }
  if (auto r = g_vm.add_ram(0, kRamBytes); !r) {
    char buf[160];
    r.error().format(buf, sizeof(buf));
    cos::printf("vm_tests: adding guest RAM: %s\n", buf);
    return 1;
  }
  if (auto r = fresh_cpu(); !r) {
    char buf[160];
    r.error().format(buf, sizeof(buf));
    cos::printf("vm_tests: creating the vCPU: %s\n", buf);
    return 1;
  }
  cos::printf("vm_tests: %d cases, backend %s, each run with synchronous vCPUs and with vCPUs of their own thread\n",
              vmtest::case_count(), vmrt::backend_name(g_cpu.backend()));
  int passed = 0, failed = 0, skipped = 0;
  for (bool own_thread : {false, true}) {
    g_own_thread = own_thread;
    const char* prefix = own_thread ? "own_thread/" : "";
    if (own_thread) {
      // The cases change the shared VM (demand-mapped pages, RAM regions):
      // the second pass starts from a fresh one.
      if (g_cpu.created()) (void)g_cpu.destroy();
      (void)g_vm.destroy();
      vmrt::Status s = g_vm.create();
      if (s) s = g_vm.add_ram(0, kRamBytes);
      if (!s) {
        char buf[160];
        s.error().format(buf, sizeof(buf));
        cos::printf("FAIL %screating the VM: %s\n", prefix, buf);
        ++failed;
        continue;
      }
    }
    if (auto r = fresh_cpu(); !r) {
      char buf[160];
      r.error().format(buf, sizeof(buf));
      cos::printf("FAIL %screating the vCPU: %s\n", prefix, buf);
      ++failed;
      continue;
    }
    for (int i = 0; i < vmtest::case_count(); ++i) {
      switch (vmtest::run_case(vmtest::case_at(i), prefix)) {
        case vmtest::Verdict::pass: ++passed; break;
        case vmtest::Verdict::fail: ++failed; break;
        case vmtest::Verdict::skip: ++skipped; break;
      }
    }
  }
  cos::printf("vm_tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
  cos::printf("%d passed, %d failed\n", passed, failed);
  if (g_cpu.created() && !g_cpu_lost) (void)g_cpu.destroy();
  if (!g_cpu_lost) (void)g_vm.destroy();
  return failed ? 1 : 0;
}
