// vmtest's empty PC: CPUID view and exit answers (pc.hpp). Host-compilable.
#include "vmtest/pc.hpp"

#include "vmrt/guest_access.hpp"
#include "vmrt/mmio.hpp"

namespace vmtest {
namespace {

using vmrt::Action;
using vmrt::MsrStatus;
using vmrt::Reg;

void from_host(void* ctx, uint32_t leaf, uint32_t subleaf, uint32_t* regs) {
  CpuidRegs r = pc_cpuid(reinterpret_cast<HostCpuid>(ctx), leaf, subleaf);
  regs[0] = r.eax, regs[1] = r.ebx, regs[2] = r.ecx, regs[3] = r.edx;
}

}  // namespace

CpuidRegs pc_cpuid(HostCpuid host, uint32_t leaf, uint32_t subleaf) {
  using namespace cpuid_bits;
  if (leaf >= 0x40000000u && leaf < 0x50000000u) return {};  // no hypervisor interface
  if (leaf >= 0x80000000u) {
    const uint32_t max_ext = host(0x80000000u, 0).eax;
    if (leaf > max_ext || leaf > 0x8fffffffu) return {};
    CpuidRegs r = host(leaf, subleaf);
    if (leaf == 0x80000001u) r.ecx &= ~(kExt1EcxSvm | kExt1EcxSkinit | kExt1EcxPerfCtr | kExt1EcxPerfNb | kExt1EcxPerfL2);
    if (leaf == 0x8000000au) r = {};  // SVM revision and features
    return r;
  }
  const uint32_t max_basic = host(0, 0).eax;
  if (leaf > max_basic) return {};
  CpuidRegs r = host(leaf, subleaf);
  switch (leaf) {
    case 1:
      r.ecx &= ~(kLeaf1EcxMonitor | kLeaf1EcxVmx | kLeaf1EcxSmx | kLeaf1EcxPdcm | kLeaf1EcxX2apic |
                 kLeaf1EcxTscDeadline | kLeaf1EcxXsave | kLeaf1EcxOsxsave | kLeaf1EcxAvx);
      r.ecx |= kLeaf1EcxHypervisor;
      break;
    case 5:    // MONITOR/MWAIT
    case 0xa:  // architectural performance monitoring
    case 0xd:  // XSAVE
      r = {};
      break;
    case 7:
      r = subleaf == 0 ? CpuidRegs{0, r.ebx, 0, 0} : CpuidRegs{};
      break;
    default:
      break;
  }
  return r;
}

void EmptyPc::init(HostCpuid host) {
  host_ = host;
  cpu_ = vmrt::GuestCpu::from_cpuid(from_host, reinterpret_cast<void*>(host));
}

void EmptyPc::attach(vmrt::VcpuState& v) {
  for (unsigned i = 0; i <= static_cast<unsigned>(vm::ExitReason::pause); ++i)
    v.on(static_cast<vm::ExitReason>(i), on_exit, this);
  v.on(vm::ExitReason::vendor, on_exit, this);
  v.on_unhandled(on_exit, this);
}

MsrStatus EmptyPc::read_msr(vmrt::VcpuState& v, uint32_t index, uint64_t& value) {
  MsrStatus s = vmrt::read_state_msr(v, index, value);
  if (s != MsrStatus::unknown) return s;
  if (index == vmrt::msr::pat) {
    value = pat_;
    return MsrStatus::done;
  }
  if (index == vmrt::msr::tsc_aux && cpu_.tsc_aux) {
    value = tsc_aux_;
    return MsrStatus::done;
  }
  return MsrStatus::gp;
}

MsrStatus EmptyPc::write_msr(vmrt::VcpuState& v, uint32_t index, uint64_t value) {
  MsrStatus s = vmrt::write_state_msr(v, cpu_, index, value);
  if (s != MsrStatus::unknown) return s;
  if (index == vmrt::msr::pat) {
    if (!vmrt::pat_valid(value)) return MsrStatus::gp;
    pat_ = value;
    return MsrStatus::done;
  }
  if (index == vmrt::msr::tsc_aux) return vmrt::tsc_aux_write(cpu_, value, tsc_aux_) ? MsrStatus::done : MsrStatus::gp;
  return MsrStatus::gp;
}

Action EmptyPc::on_exit(vmrt::VcpuState& v, void* ctx) { return static_cast<EmptyPc*>(ctx)->answer(v); }

Action EmptyPc::answer(vmrt::VcpuState& v) {
  const vm::ExitReason reason = v.exit_reason();
  ++stats.exits;
  if (int i = vmrt::exit_reason_index(reason); i >= 0) ++stats.by_reason[i];
  if (observer && !observer(v, observer_ctx)) return Action::stop;
  switch (reason) {
    case vm::ExitReason::io: {
      if (v.exit().io.in) ++stats.io_in;
      else ++stats.io_out;
      auto r = vmrt::emulate_io(v, vmrt::PortIo{}, nullptr, max_elements);
      if (!r) {
        ++stats.unexpected;
        stats.last_unexpected = reason;
        return Action::stop;
      }
      const vmrt::IoResult& io = r.value();
      if (v.exit().io.string) {
        stats.io_string_elements += io.elements;
        if (io.elements > stats.io_max_elements) stats.io_max_elements = io.elements;
      }
      if (io.outcome == vmrt::IoOutcome::partial) ++stats.io_partial;
      if (io.outcome == vmrt::IoOutcome::retry) ++stats.io_retries;
      if (io.outcome == vmrt::IoOutcome::fault) {
        ++stats.io_faults;
        stats.io_last_fault = io.fault.vector;
      }
      return vmrt::io_action(io.outcome);
    }
    case vm::ExitReason::gpa_fault: {
      auto r = vmrt::emulate_mmio(v, nullptr, max_elements);
      if (!r) {
        ++stats.unexpected;
        stats.last_unexpected = reason;
        return Action::stop;
      }
      const vmrt::MmioResult& m = r.value();
      if (m.elements > stats.mmio_max_elements) stats.mmio_max_elements = m.elements;
      switch (m.outcome) {
        case vmrt::MmioOutcome::emulated: ++stats.mmio_emulated; break;
        case vmrt::MmioOutcome::partial: ++stats.mmio_partial; break;
        case vmrt::MmioOutcome::fault:
          ++stats.mmio_faults;
          stats.mmio_last_fault = m.fault.vector;
          stats.mmio_last_why = m.why;
          break;
      }
      return Action::resume;
    }
    case vm::ExitReason::msr_read: {
      uint64_t value = 0;
      if (read_msr(v, v.exit().msr.index, value) == MsrStatus::done) {
        ++stats.msr_done;
        v.set(Reg::rax, value & 0xffffffffu);
        v.set(Reg::rdx, value >> 32);
        return Action::skip;
      }
      ++stats.msr_gp;
      vmrt::inject_fault(v, vmrt::GuestFault::gp());
      return Action::resume;
    }
    case vm::ExitReason::msr_write: {
      const uint64_t value = (v.get(Reg::rdx) << 32) | (v.get(Reg::rax) & 0xffffffffu);
      if (write_msr(v, v.exit().msr.index, value) == MsrStatus::done) {
        ++stats.msr_done;
        return Action::skip;
      }
      ++stats.msr_gp;
      vmrt::inject_fault(v, vmrt::GuestFault::gp());
      return Action::resume;
    }
    case vm::ExitReason::cpuid: {
      CpuidRegs r = pc_cpuid(host_, static_cast<uint32_t>(v.get(Reg::rax)), static_cast<uint32_t>(v.get(Reg::rcx)));
      v.set(Reg::rax, r.eax);
      v.set(Reg::rbx, r.ebx);
      v.set(Reg::rcx, r.ecx);
      v.set(Reg::rdx, r.edx);
      ++stats.cpuid_count;
      stats.cpuid_sum = cpuid_checksum(stats.cpuid_sum, r);
      return Action::skip;
    }
    case vm::ExitReason::hypercall:
      ++stats.hypercall_ud;
      vmrt::inject_fault(v, vmrt::GuestFault::ud());
      return Action::resume;
    case vm::ExitReason::vendor:
      ++stats.vendor_ud;
      vmrt::inject_fault(v, vmrt::GuestFault::ud());
      return Action::resume;
    case vm::ExitReason::xsetbv:
      ++stats.xsetbv_gp;
      vmrt::inject_fault(v, vmrt::GuestFault::gp());
      return Action::resume;
    case vm::ExitReason::invd:
    case vm::ExitReason::wbinvd:
      return Action::skip;
    case vm::ExitReason::cr_access: {
      const auto& c = v.exit().cr;
      if (c.cr != 8 || c.gpr > 15) break;
      const Reg gpr = static_cast<Reg>(c.gpr);
      if (!c.write) {
        v.set(gpr, tpr_);
        return Action::skip;
      }
      const uint64_t value = v.get(gpr);
      if (value >> 4) {
        ++stats.cr8_gp;
        vmrt::inject_fault(v, vmrt::GuestFault::gp());
        return Action::resume;
      }
      tpr_ = value;
      return Action::skip;
    }
    case vm::ExitReason::hlt:
      stats.halted_with_if = (v.get(Reg::rflags) & (1u << 9)) != 0;
      return Action::stop;
    case vm::ExitReason::shutdown:
    case vm::ExitReason::entry_failure:
      return Action::stop;
    default:
      break;
  }
  ++stats.unexpected;
  stats.last_unexpected = reason;
  return Action::stop;
}

}  // namespace vmtest
