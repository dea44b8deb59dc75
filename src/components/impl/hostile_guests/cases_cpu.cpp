// hostile_guests cases: the CPU's own interfaces. RDMSR/WRMSR sweeps over
// the architectural, AMD and Intel MSR ranges (every access must exit to the
// VMM, which answers like a PC without the MSR: #GP), the MSRs of the
// virtualization extensions (EFER.SVME, VM_CR, VM_HSAVE_PA,
// IA32_FEATURE_CONTROL, the VMX capability MSRs), CPUID sweeps, every
// virtualization instruction of both vendors with garbage operands, and
// control-register values the CPU refuses.
#include <initializer_list>

#include "fmt/format.hpp"
#include "hostile_guests/harness.hpp"

namespace hg {
namespace {

HG_SNIPPET(msr_sweep_long)
HG_SNIPPET(msr_list_long)
HG_SNIPPET(msr_sweep_real)
HG_SNIPPET(cpuid_real)
HG_SNIPPET(cpuid_long)
HG_SNIPPET(virt_insns_long)
HG_SNIPPET(virt_insns_pm32)
HG_SNIPPET(control_regs_long)
HG_SNIPPET(cr8_long)
HG_SNIPPET(cr4_pke_long)
HG_SNIPPET(lme_no_pae_pm32)
HG_AT(msr_sweep_long_done)
HG_AT(msr_list_long_done)
HG_AT(msr_sweep_real_done)
HG_AT(cpuid_real_done)
HG_AT(cpuid_long_done)
HG_AT(virt_insns_long_done)
HG_AT(virt_insns_pm32_done)
HG_AT(control_regs_long_done)
HG_AT(cr8_long_done)
HG_AT(cr4_pke_long_done)
HG_AT(cr4_pke_long_stepped)
HG_AT(cr4_pke_long_db_handler)
HG_AT(lme_no_pae_pm32_stepped)
HG_AT(lme_no_pae_pm32_done)
HG_AT(lme_no_pae_pm32_db_handler)

using vmrt::MsrStatus;
constexpr uint32_t kNone = 0xff;
constexpr uint32_t kUd = 6, kGp = 13;
constexpr uint64_t kGarbage = 0xdeadbeefcafebabeull;

bool amd() { return pc().guest_cpu().vendor == vmrt::GuestCpu::Vendor::amd; }

/// RDMSR or WRMSR sweep over {first, end} ranges in long mode; checks that
/// every access exited to the VMM and that the guest got exactly the
/// VMM's answers. Returns false (the case failed) or true.
bool msr_sweep(const uint64_t (*ranges)[3], unsigned n, bool write) {
  auto s = start(k_msr_sweep_long, {.mode = Mode::long64});
  if (!s) {
    vmtest::fail_err("start", __FILE__, __LINE__, s.error());
    return false;
  }
  if (!set_entries(ranges, n)) {
    vmtest::fail("set_entries", __FILE__, __LINE__);
    return false;
  }
  set_mb64(MB_ARG1, write ? 1 : 0);
  auto r = run();
  if (r.end != vmtest::RunEnd::stopped || r.reason != vm::ExitReason::hlt) {
    vmtest::fail(describe(r, "stopped hlt"), __FILE__, __LINE__);
    return false;
  }
  uint64_t total = 0;
  for (unsigned i = 0; i < n; ++i) total += ranges[i][1] - ranges[i][0];
  const vmtest::PcStats& st = pc().stats;
  const vm::ExitReason reason = write ? vm::ExitReason::msr_write : vm::ExitReason::msr_read;
  struct Check {
    const char* what;
    uint64_t got, want;
  } checks[] = {
      {"accesses the guest made", mb64(MB_R1), total},
      {"exits the VMM saw", st.count(reason), total},
      {"accesses without #GP", mb64(MB_R0), st.msr_done},
      {"#GP the guest took", faults(kGp), st.msr_gp},
      {"other exceptions", mb32(MB_FAULTS) - faults(kGp), 0},
  };
  for (const Check& c : checks)
    if (c.got != c.want) {
      vmtest::fail_eq(c.what, __FILE__, __LINE__, c.got, c.want);
      return false;
    }
  if (!write) {
    // The values read, folded as the guest folds them: the guest got what
    // the VMM answered (the state did not change during a read sweep).
    uint64_t x = 0;
    for (unsigned i = 0; i < n; ++i)
      for (uint64_t m = ranges[i][0]; m < ranges[i][1]; ++m) {
        uint64_t v = 0;
        if (pc().read_msr(cpu(), static_cast<uint32_t>(m), v) == MsrStatus::done) x ^= v;
      }
    if (mb64(MB_R2) != x) {
      vmtest::fail_eq("XOR of the values read", __FILE__, __LINE__, mb64(MB_R2), x);
      return false;
    }
  }
  return true;
}

/// One entry of msr_list_long: {op (0 read, 1 write), index, value}.
struct MsrAccess {
  uint64_t op, index, value;
  uint32_t want;  ///< the vector the guest must get (kNone: none)
};

/// Runs the accesses and checks the vector of each.
void msr_list(const MsrAccess* list, unsigned n) {
  uint64_t entries[64][3];
  VT_ASSERT(n <= 64);
  for (unsigned i = 0; i < n; ++i) entries[i][0] = list[i].op, entries[i][1] = list[i].index, entries[i][2] = list[i].value;
  VT_OK(start(k_msr_list_long, {.mode = Mode::long64}));
  VT_ASSERT(set_entries(entries, n));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_msr_list_long.at(hg_msr_list_long_done_at));
  for (unsigned i = 0; i < n; ++i) {
    if (probe(i) != list[i].want) {
      static char what[96];
      cos::fmt::snformat(what, sizeof(what), "%s of MSR %#lx: vector", list[i].op ? "WRMSR" : "RDMSR",
                         static_cast<unsigned long>(list[i].index));
      vmtest::fail_eq(what, __FILE__, __LINE__, probe(i), list[i].want);
      return;
    }
  }
  VT_EQ(pc().stats.count(vm::ExitReason::msr_read) + pc().stats.count(vm::ExitReason::msr_write), n);
}

uint64_t msr_value(unsigned i) { return mb64(MB_VALUES + 8ull * i); }

}  // namespace

// ---------------------------------------------------------------- MSR sweeps

VT_CASE(rdmsr_sweep_architectural_long) {
  const uint64_t ranges[][3] = {{0, 0x2000, 0}};
  msr_sweep(ranges, 1, false);
}

VT_CASE(rdmsr_sweep_amd_ranges_long) {
  const uint64_t ranges[][3] = {{0xc0000000, 0xc0002000, 0}, {0xc0010000, 0xc0012000, 0}};
  msr_sweep(ranges, 2, false);
}

// Ranges no CPU implements, the hypervisor range and the top of the index
// space.
VT_CASE(rdmsr_sweep_unimplemented_ranges_long) {
  const uint64_t ranges[][3] = {{0x2000, 0x2100, 0},         {0x40000000, 0x40000100, 0}, {0x4b564d00, 0x4b564d10, 0},
                                {0x80000000, 0x80000100, 0}, {0xc0002000, 0xc0002100, 0}, {0xc0012000, 0xc0012100, 0},
                                {0xffffff00, 0x100000000, 0}};
  if (!msr_sweep(ranges, 7, false)) return;
  VT_EQ(pc().stats.msr_done, 0);  // none of them exists
}

// WRMSR of 0xdeadbeef:cafebabe to every architectural MSR: only
// SYSENTER_CS takes it (and SYSENTER_ESP/EIP on AMD, which ignore bits
// 63:32); everything else is #GP (PAT: reserved types).
VT_CASE(wrmsr_sweep_architectural_long) {
  const uint64_t ranges[][3] = {{0, 0x2000, 0}};
  if (!msr_sweep(ranges, 1, true)) return;
  VT_EQ(pc().stats.msr_done, amd() ? 3 : 1);
  VT_EQ(cpu().get(vmrt::SyscallMsr::sysenter_cs), kGarbage & 0xffffffffu);
}

// ... and to the AMD ranges: STAR takes anything, TSC_AUX (where offered)
// on AMD ignores bits 63:32; EFER, the bases, LSTAR/CSTAR/SFMASK and every
// AMD model-specific MSR (VM_CR, VM_HSAVE_PA, ...) are #GP.
VT_CASE(wrmsr_sweep_amd_ranges_long) {
  const uint64_t ranges[][3] = {{0xc0000000, 0xc0002000, 0}, {0xc0010000, 0xc0012000, 0}};
  if (!msr_sweep(ranges, 2, true)) return;
  const bool tsc_aux = amd() && pc().guest_cpu().tsc_aux;
  VT_EQ(pc().stats.msr_done, tsc_aux ? 2 : 1);
  VT_EQ(cpu().get(vmrt::SyscallMsr::star), kGarbage);
  VT_EQ(cpu().efer(), vmrt::kEferLme | vmrt::kEferLma | vmrt::kEferNxe);
}

// RDMSR of every architectural MSR in real mode.
VT_CASE(rdmsr_sweep_architectural_real) {
  VT_OK(start(k_msr_sweep_real, {.mode = Mode::real}));
  set_mb64(MB_ARG0, 0);
  set_mb64(MB_ARG1, 0x2000);
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_msr_sweep_real.at(hg_msr_sweep_real_done_at));
  const vmtest::PcStats& st = pc().stats;
  VT_EQ(mb32(MB_R1), 0x2000);
  VT_EQ(st.count(vm::ExitReason::msr_read), 0x2000);
  VT_EQ(mb32(MB_R0), st.msr_done);
  VT_EQ(faults(kGp), st.msr_gp);
  uint32_t x = 0;
  for (uint32_t m = 0; m < 0x2000; ++m) {
    uint64_t v = 0;
    if (pc().read_msr(cpu(), m, v) != MsrStatus::done) continue;
    x ^= static_cast<uint32_t>(v);
    x = (x << 7) | (x >> 25);
    x ^= static_cast<uint32_t>(v >> 32);
  }
  VT_EQ(mb32(MB_R2), x);
}

// ---------------------------------------------------------------- the virtualization MSRs

// EFER.SVME: the guest's CPUID offers no SVM, so setting it is #GP and EFER
// stays as it was; writing EFER unchanged is fine.
VT_CASE(efer_svme_write_gp_long) {
  const uint64_t efer = vmrt::kEferLme | vmrt::kEferLma | vmrt::kEferNxe;
  const MsrAccess list[] = {
      {0, vmrt::msr::efer, 0, kNone},
      {1, vmrt::msr::efer, efer | (1u << 12), kGp},
      {0, vmrt::msr::efer, 0, kNone},
      {1, vmrt::msr::efer, efer, kNone},
  };
  msr_list(list, 4);
  if (vmtest::failed()) return;
  VT_EQ(msr_value(0), efer);
  VT_EQ(msr_value(2), efer);
  VT_EQ(cpu().efer(), efer);
}

// VM_CR (0xc0010114) and VM_HSAVE_PA (0xc0010117): #GP for reads and
// writes (SVMDIS, LOCK, an address, a misaligned address).
VT_CASE(vm_cr_and_hsave_pa_gp_long) {
  const MsrAccess list[] = {
      {0, 0xc0010114, 0, kGp},        {1, 0xc0010114, 0x10, kGp},    {1, 0xc0010114, 0x8, kGp},
      {0, 0xc0010117, 0, kGp},        {1, 0xc0010117, 0x100000, kGp}, {1, 0xc0010117, 0xfff, kGp},
      {1, 0xc0010117, ~0ull, kGp},
  };
  msr_list(list, 7);
}

// IA32_FEATURE_CONTROL (0x3a) and the VMX capability MSRs 0x480-0x491:
// #GP for a CPU whose CPUID offers no VMX.
VT_CASE(feature_control_and_vmx_msrs_gp_long) {
  MsrAccess list[22];
  unsigned n = 0;
  list[n++] = {0, 0x3a, 0, kGp};
  list[n++] = {1, 0x3a, 5, kGp};  // lock, VMXON outside SMX
  for (uint32_t m = 0x480; m <= 0x491; ++m) list[n++] = {0, m, 0, kGp};
  list[n++] = {1, 0x480, 0, kGp};
  list[n++] = {1, 0x48b, ~0ull, kGp};
  msr_list(list, n);
}

// Values WRMSR refuses (SDM Vol. 2B WRMSR; vmrt/msr.hpp): #GP, nothing
// stored; a canonical LSTAR is taken and reads back.
VT_CASE(noncanonical_msr_writes_gp_long) {
  constexpr uint64_t kBad = 0x0000800000000000ull, kGood = 0xffffffff81000000ull;
  const uint32_t sysenter = amd() ? kNone : kGp;  // AMD ignores bits 63:32
  const MsrAccess list[] = {
      {1, vmrt::msr::lstar, kBad, kGp},        {1, vmrt::msr::cstar, kBad, kGp},
      {1, vmrt::msr::kernel_gs_base, kBad, kGp}, {1, vmrt::msr::fs_base, kBad, kGp},
      {1, vmrt::msr::gs_base, kBad, kGp},      {1, vmrt::msr::sysenter_eip, kBad, sysenter},
      {1, vmrt::msr::sysenter_esp, kBad, sysenter}, {1, vmrt::msr::efer, 2, kGp},
      {1, vmrt::msr::pat, 0x0007040600070402ull, kGp}, {1, vmrt::msr::sfmask, 1ull << 32, kGp},
      {1, vmrt::msr::lstar, kGood, kNone},     {0, vmrt::msr::lstar, 0, kNone},
  };
  msr_list(list, 12);
  if (vmtest::failed()) return;
  VT_EQ(msr_value(11), kGood);
  VT_EQ(cpu().segment(vmrt::Seg::fs).base, 0);
  VT_EQ(cpu().get(vmrt::SyscallMsr::kernel_gs_base), 0);
}

// ---------------------------------------------------------------- CPUID

namespace {

/// The CPUID queries of the sweeps: the basic, hypervisor and extended
/// leaves, subleaves of the leaves that have them, and odd leaves.
unsigned cpuid_queries(uint64_t (*q)[3]) {
  unsigned n = 0;
  auto add = [&](uint32_t leaf, uint32_t sub) { q[n][0] = leaf, q[n][1] = sub, q[n][2] = 0, ++n; };
  for (uint32_t l = 0; l < 0x20; ++l) add(l, 0);
  for (uint32_t l = 0x40000000; l < 0x40000010; ++l) add(l, 0);
  for (uint32_t l = 0x80000000; l < 0x80000020; ++l) add(l, 0);
  for (uint32_t l : {4u, 7u, 0xbu, 0xdu, 0x12u})
    for (uint32_t s = 1; s < 8; ++s) add(l, s);
  for (uint32_t l : {0x12345678u, 0x50000000u, 0x8fffffffu, 0xc0000000u, 0xffffffffu}) add(l, 0);
  add(1, 0xffffffff);
  return n;
}

void cpuid_sweep(const Snippet& s, Mode mode, const uint8_t* done) {
  uint64_t q[MB_MAX_ENTRIES][3];
  const unsigned n = cpuid_queries(q);
  VT_OK(start(s, {.mode = mode}));
  VT_ASSERT(set_entries(q, n));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), s.at(done));
  VT_EQ(mb32(MB_R1), n);
  VT_EQ(pc().stats.cpuid_count, n);                // every CPUID exited
  VT_EQ(mb32(MB_R0), pc().stats.cpuid_sum);        // and the guest got the VMM's answers
  if (mode == Mode::long64) VT_EQ(mb64(MB_R2), 0);  // with bits 63:32 cleared
  // What the VMM answered hides the virtualization extensions.
  VT_EQ(vmtest::pc_cpuid(host_cpuid, 1, 0).ecx & vmtest::cpuid_bits::kLeaf1EcxVmx, 0);
  VT_EQ(vmtest::pc_cpuid(host_cpuid, 0x80000001, 0).ecx & vmtest::cpuid_bits::kExt1EcxSvm, 0);
}

}  // namespace

VT_CASE(cpuid_sweep_real) { cpuid_sweep(k_cpuid_real, Mode::real, hg_cpuid_real_done_at); }
VT_CASE(cpuid_sweep_long) { cpuid_sweep(k_cpuid_long, Mode::long64, hg_cpuid_long_done_at); }

// ---------------------------------------------------------------- virtualization instructions

// VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA, VMXON, VMXOFF,
// VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH, VMRESUME, INVEPT,
// INVVPID, VMFUNC, GETSEC, VMCALL, VMMCALL, RDPRU, MONITOR, MWAIT, XGETBV:
// #UD each, whichever vendor's they are (the kernel keeps its own
// instructions from the guest; the VMM offers no hypercalls, MONITOR or
// XSAVE); RDPMC: #GP(0) (no counters); VMRUN with an rAX beyond the
// physical-address width: #GP(0) on SVM, as on AMD hardware (checked before
// the intercept), #UD on VMX. Only the backend's own hypercall and
// MONITOR/MWAIT reach the VMM.
VT_CASE(virtualization_instructions_ud_long) {
  VT_OK(start(k_virt_insns_long, {.mode = Mode::long64}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_virt_insns_long.at(hg_virt_insns_long_done_at));
  // VMRUN with a garbage rAX (probe 27): SVM checks rAX before the
  // intercept, so the guest gets the #GP(0) an AMD CPU gives (KVM's guests
  // too); on Intel VMRUN is undefined: #UD.
  const uint32_t garbage_vmrun = cpu().backend() == vm::kBackendSvm ? kGp : kUd;
  for (unsigned i = 0; i < 28; ++i) {
    const uint32_t want = i == 23 ? kGp : i == 27 ? garbage_vmrun : kUd;
    if (probe(i) != want) {
      static char what[48];
      cos::fmt::snformat(what, sizeof(what), "vector of probe %u", i);
      vmtest::fail_eq(what, __FILE__, __LINE__, probe(i), want);
      return;
    }
  }
  VT_EQ(pc().stats.hypercall_ud, 1);
  VT_ASSERT(pc().stats.vendor_ud <= 2);
  VT_EQ(r.exits, 1 + pc().stats.hypercall_ud + pc().stats.vendor_ud);
  VT_EQ(pc().stats.unexpected, 0);
}

VT_CASE(virtualization_instructions_ud_protected) {
  VT_OK(start(k_virt_insns_pm32, {.mode = Mode::protected32}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_virt_insns_pm32.at(hg_virt_insns_pm32_done_at));
  for (unsigned i = 0; i < 12; ++i) VT_EQ(probe(i), i == 11 ? kGp : kUd);
  VT_EQ(pc().stats.hypercall_ud, 1);
  VT_EQ(r.exits, 2);
}

// ---------------------------------------------------------------- control registers

// CR0.NW without CD, CR0.PG off in 64-bit code, CR4.PAE off in long mode,
// CR4.VMXE (the guest's CPUID offers no VMX), reserved CR0/CR4 bits, CR3
// beyond the physical-address width, CR8 bits 63:4: #GP(0) each, nothing
// changes (VMX: the kernel's CR0/CR4 emulation, the CPU, and the VMM for CR8;
// SVM: the CPU). Not under QEMU: its TCG checks none of these in a guest
// (it takes NW, leaves long mode, ignores bit 32 and the TPR's upper bits)
// or ends the guest with VMEXIT_INVALID for reserved CR3/CR4 bits.
VT_CASE(control_register_garbage_gp_long) {
  if (cpu_is_qemu()) return vmtest::skip("QEMU's TCG does not check control-register writes in a guest");
  VT_OK(start(k_control_regs_long, {.mode = Mode::long64}));
  const uint64_t cr0 = cpu().cr0(), cr4 = cpu().cr4();
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_control_regs_long.at(hg_control_regs_long_done_at));
  for (unsigned i = 0; i < 8; ++i) {
    if (probe(i) != kGp) {
      static char what[48];
      cos::fmt::snformat(what, sizeof(what), "vector of probe %u", i);
      vmtest::fail_eq(what, __FILE__, __LINE__, probe(i), kGp);
      return;
    }
  }
  VT_EQ(mb64(MB_R1), cr4);
  VT_EQ(mb64(MB_R2), cr0);
  VT_EQ(pc().stats.unexpected, 0);
}

// CR8 keeps a valid TPR (SVM: the CPU's V_TPR; VMX: CR8 accesses exit to
// the VMM, whose empty PC keeps it).
VT_CASE(cr8_tpr_round_trip_long) {
  VT_OK(start(k_cr8_long, {.mode = Mode::long64}));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_cr8_long.at(hg_cr8_long_done_at));
  VT_EQ(mb64(MB_R0), 5);
  VT_EQ(mb64(MB_R1), 15);
  VT_EQ(pc().stats.unexpected, 0);
}

// CR4.PKE is the kernel's (x86_64/guest_policy.hpp): a guest that sets it
// gets #GP(0) whatever the CPU offers (and the other refused values #GP(0)
// too), so it can never RDPKRU/WRPKRU and
// PKRU, which no VM entry or exit switches, carries nothing between
// guests. Under QEMU (its CPU model has PKU: tools/cos/coslib/qemu.py) the
// SVM kernel intercepts every CR4 write for it and emulates the valid ones:
// the case checks those too (value, RIP, single step, DR6.BS). On a CPU
// without PKU the CPU itself refuses PKE and the case shows only that.
VT_CASE(cr4_pke_refused_long) {
  const bool pku = host_cpuid(7, 0).ecx & (1u << 3);
  VT_OK(start(k_cr4_pke_long, {.mode = Mode::long64}));
  VT_ASSERT(set_handler(Mode::long64, 1, k_cr4_pke_long.at(hg_cr4_pke_long_db_handler_at)));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_cr4_pke_long.at(hg_cr4_pke_long_done_at));
  VT_EQ(probe(0), kGp);
  VT_EQ(probe(1), kGp);
  VT_EQ(probe(2), kNone);
  VT_EQ(probe(3), kNone);
  const uint64_t start_cr4 = mb64(MB_R0);
  constexpr uint64_t kPge = 1u << 7, kPke = 1u << 22;
  VT_EQ(start_cr4 & kPke, 0);
  VT_EQ(mb64(MB_R1), start_cr4 ^ kPge);
  VT_EQ(mb64(MB_R2), start_cr4);
  VT_EQ(mb64(MB_R5), start_cr4 ^ kPge);
  VT_EQ(mb32(MB_R6), 1);  // one single-step trap
  VT_EQ(mb64(MB_R3), k_cr4_pke_long.at(hg_cr4_pke_long_stepped_at));
  VT_EQ(mb64(MB_R4) & (1u << 14), 1u << 14);  // DR6.BS
  VT_EQ(cpu().cr4(), start_cr4);
  VT_EQ(mb64(MB_R7), start_cr4);
  VT_EQ(probe(8), kUd);  // RDPKRU
  VT_EQ(probe(9), kUd);  // WRPKRU
  // Reserved bit 32, VMXE, PAE off in long mode: #GP(0) from the CPU, or
  // from the kernel's emulation on SVM with PKU. QEMU's TCG checks none of
  // them itself (control_register_garbage_gp_long), so without PKU there
  // they are not asserted.
  if (pku || !cpu_is_qemu()) {
    VT_EQ(probe(5), kGp);
    VT_EQ(probe(6), kGp);
    VT_EQ(probe(7), kGp);
  }
  VT_EQ(pc().stats.unexpected, 0);
  vmtest::note(pku ? "the CPU has PKU: CR4.PKE held by the kernel" : "the CPU has no PKU: only the CPU's own refusal shown");
}

// EFER.LME set with paging and PAE off, in protected mode: a valid state,
// in which every exit left the guest's CR0 in the host under QEMU's TCG and
// hung the whole machine (guest_fuzz, seed 11 program 23628). The SVM
// kernel holds LME back while such a guest runs and emulates its CR0 writes
// (MOV, CLTS, LMSW) meanwhile: the case checks that the guest still sees
// its EFER, that those writes do what the CPU does (paging on with LME and
// without PAE is #GP(0), so is NW without CD), that a single step over an
// emulated write traps once with DR6.BS, and that PAE going on and off
// under LME is followed. Under Bochs (VMX) the CPU does all of it.
VT_CASE(lme_without_pae_pm32) {
  VT_OK(start(k_lme_no_pae_pm32, {.mode = Mode::protected32}));
  VT_ASSERT(set_handler(Mode::protected32, 1, k_lme_no_pae_pm32.at(hg_lme_no_pae_pm32_db_handler_at)));
  auto r = run();
  HG_END(r, stopped, hlt);
  VT_EQ(cpu().rip(), k_lme_no_pae_pm32.at(hg_lme_no_pae_pm32_done_at));
  constexpr uint64_t kLme = 1u << 8, kTs = 1u << 3, kMp = 1u << 1;
  const uint64_t cr0 = mb32(MB_R0);
  VT_EQ(mb32(MB_R1) & kLme, kLme);
  VT_EQ(mb32(MB_R2), cr0 | kTs);
  VT_EQ(mb32(MB_R3), cr0 & ~kTs);
  VT_EQ(mb32(MB_R4), (cr0 & ~kTs) | kMp);
  VT_EQ(probe(0), kGp);
  VT_EQ(probe(1), kGp);
  VT_EQ(mb32(MB_R5), cr0);
  VT_EQ(mb32(MB_R6) & (1u << 5), 0);  // PAE off again
  VT_EQ(mb64(MB_VALUES + 16), 1);     // one single-step trap
  VT_EQ(mb64(MB_VALUES), k_lme_no_pae_pm32.at(hg_lme_no_pae_pm32_stepped_at));
  VT_EQ(mb64(MB_VALUES + 8) & (1u << 14), 1u << 14);  // DR6.BS
  VT_EQ(cpu().efer() & kLme, kLme);
  VT_EQ(cpu().cr0(), cr0);
  VT_EQ(pc().stats.unexpected, 0);
}

}  // namespace hg
