// hello_vm: the classic first VM (composition_scripts/hello_vm.toml), a VMM
// built on vmrt. The guest (guest.S) runs in 16-bit real mode at 0000:1000:
// it computes 4 + 2, writes the result as ASCII to port 0x3f8 and halts; the
// VMM prints what the guest wrote and the HLT exit and resumes it past the
// HLT; the guest makes hypercall 4 (the VMM prints POKE!!!) and hypercall 0
// (done); the VMM tears the VM down and returns, and the system powers off.
//
// Output:
//   hello_vm: backend svm, vCPU 0, 1024 KiB of guest RAM, guest code at 0x1000 (24 bytes)
//   hello_vm: guest wrote '6' to port 0x3f8
//   hello_vm: HLT exit at rip 0x100a
//   hello_vm: hypercall 4: POKE!!!
//   hello_vm: guest done (4 exits)
//
// The vCPU is synchronous: the VMM's own thread runs the guest (vcpu_run).
#include <initializer_list>

#include "runtime/cos.hpp"
#include "vmrt/vmrt.hpp"

extern "C" const uint8_t hello_vm_guest_start[], hello_vm_guest_end[];
extern "C" const uint8_t hello_vm_guest_hc_poke[], hello_vm_guest_hc_done[];

namespace {

namespace vm = cos::vm;
using vmrt::Action;
using vmrt::Reg;
using vmrt::VcpuState;

constexpr uint64_t kRamBytes = 1 << 20;
constexpr uint64_t kCodeGpa = 0x1000;
constexpr uint16_t kSerialPort = 0x3f8;

void report(const char* step, const vmrt::Error& e) {
  char buf[160];
  e.format(buf, sizeof(buf));
  cos::printf("hello_vm: %s: %s\n", step, buf);
}

Action on_io(VcpuState& v, void*) {
  const auto& io = v.exit().io;
  if (io.port == kSerialPort && !io.in && !io.string) {
    char c = static_cast<char>(io.data & 0xff);
    cos::printf("hello_vm: guest wrote '%c' to port %#x\n", c, io.port);
  } else {
    cos::printf("hello_vm: guest %s port %#x (size %u), ignored\n", io.in ? "read" : "wrote", io.port, io.size);
    return vmrt::handlers::io_unassigned(v, nullptr);
  }
  return Action::skip;
}

Action on_hlt(VcpuState& v, void*) {
  cos::printf("hello_vm: HLT exit at rip %#lx\n", static_cast<unsigned long>(v.rip()));
  return Action::skip;  // resume after the HLT
}

Action on_hypercall(VcpuState& v, void*) {
  uint64_t nr = v.get(Reg::rax) & 0xffffffff;
  switch (nr) {
    case 4:
      cos::printf("hello_vm: hypercall 4: POKE!!!\n");
      return Action::skip;
    case 0:
      return Action::stop;  // the guest is done
    default:
      cos::printf("hello_vm: unknown hypercall %lu\n", static_cast<unsigned long>(nr));
      return Action::stop;
  }
}

}  // namespace

int main() {
  vmrt::Vm vm;
  if (auto r = vm.create(); !r) {
    if (r.error().code == vmrt::Errc::syscall &&
        r.error().sys == static_cast<int64_t>(cos::abi::Error::no_virtualization)) {
      cos::printf("hello_vm: no hardware virtualization (VMX/SVM) on this CPU; nothing to run\n");
      return 0;
    }
    report("creating the VM", r.error());
    return 1;
  }
  if (auto r = vm.add_ram(0, kRamBytes); !r) return report("adding guest RAM", r.error()), 1;
  const uint64_t code_len = static_cast<uint64_t>(hello_vm_guest_end - hello_vm_guest_start);
  if (auto r = vm.copy_to_guest(kCodeGpa, hello_vm_guest_start, code_len); !r)
    return report("copying the guest code", r.error()), 1;

  vmrt::Vcpu cpu;
  if (auto r = cpu.create(vm); !r) return report("creating the vCPU", r.error()), 1;
  // The guest was assembled with VMCALL; use the backend's instruction.
  for (const uint8_t* hc : {hello_vm_guest_hc_poke, hello_vm_guest_hc_done}) {
    if (auto r = vmrt::write_hypercall(vm.memory(), kCodeGpa + static_cast<uint64_t>(hc - hello_vm_guest_start),
                                       cpu.backend());
        !r)
      return report("patching the hypercall instruction", r.error()), 1;
  }
  cos::printf("hello_vm: backend %s, vCPU %u, %lu KiB of guest RAM, guest code at %#lx (%lu bytes)\n",
              vmrt::backend_name(cpu.backend()), cpu.id(), static_cast<unsigned long>(kRamBytes / 1024),
              static_cast<unsigned long>(kCodeGpa), static_cast<unsigned long>(code_len));

  vmrt::RealModeConfig rm;
  rm.cs = 0;
  rm.ip = kCodeGpa;
  rm.sp = 0x8000;
  vmrt::setup_real_mode(cpu, rm);
  cpu.on(vm::ExitReason::io, on_io);
  cpu.on(vm::ExitReason::hlt, on_hlt);
  cpu.on(vm::ExitReason::hypercall, on_hypercall);

  auto r = cpu.run();
  if (!r) {
    report("running the guest", r.error());
    return 1;
  }
  cos::printf("hello_vm: guest done (%lu exits)\n", static_cast<unsigned long>(cpu.exit_count()));
  if (auto d = cpu.destroy(); !d) report("destroying the vCPU", d.error());
  if (auto d = vm.destroy(); !d) report("destroying the VM", d.error());
  return 0;
}
