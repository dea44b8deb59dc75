// vm_smoke: the smallest VMM, with raw system calls and no vmrt: one page of
// real-mode guest code that writes '6' to port 0x3f8, halts and makes a
// hypercall. Exercises the kernel's VM/vCPU objects and exit delivery.
#include "runtime/cos.hpp"
#include "cos/vm.hpp"

namespace {

namespace sys = cos::sys;
using cos::abi::ObjType;
namespace R = cos::abi::Rights;

constexpr uint64_t kStateVa = 0x0000300000000000ull;
constexpr uint64_t kGuestVa = 0x0000300000001000ull;

// mov $4,%al; add $2,%al; add $'0',%al; mov $0x3f8,%dx; out %al,(%dx); hlt;
// mov $4,%eax (66 b8 04 00 00 00); vmmcall (0f 01 d9) or vmcall (0f 01 c1); hlt
uint8_t g_code[] = {0xb0, 0x04, 0x04, 0x02, 0x04, 0x30, 0xba, 0xf8, 0x03, 0xee, 0xf4,
                    0x66, 0xb8, 0x04, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xd9, 0xf4};

uint64_t g_next;
uint64_t slot() { return g_next++; }

#define CHECK(expr)                                                                          \
  do {                                                                                       \
    int64_t r_ = (expr);                                                                     \
    if (r_ < 0) {                                                                            \
      cos::printf("vm_smoke: %s failed: %s\n", #expr, cos::abi::error_name(r_));             \
      return 1;                                                                              \
    }                                                                                        \
  } while (0)

}  // namespace

int main() {
  const auto& self = cos::self();
  g_next = self.first_free_slot;
  uint64_t ut = self.untyped_slot, pt = self.pgtbl_slot;
  uint64_t vm = slot(), state = slot(), ram = slot(), vcpu = slot();
  int64_t r = sys::retype(ut, vm, ObjType::vm, 1);
  if (r == static_cast<int64_t>(cos::abi::Error::no_virtualization)) {
    cos::printf("vm_smoke: no hardware virtualization\n");
    return 0;
  }
  CHECK(r);
  CHECK(sys::retype(ut, state, ObjType::frame, 1));
  CHECK(sys::retype(ut, ram, ObjType::frame, 1));
  CHECK(sys::pgtbl_map(pt, kStateVa, state, 0, R::read | R::write, ut));
  CHECK(sys::pgtbl_map(pt, kGuestVa, ram, 0, R::read | R::write, ut));
  CHECK(sys::call(cos::abi::Op::vm_map, vm, 0x1000, ram, 0, R::read | R::write | R::exec, ut));
  CHECK(sys::call(cos::abi::Op::vcpu_create, ut, vcpu, vm, state, 0, 0));  // synchronous
  auto* s = reinterpret_cast<cos::vm::StatePage*>(kStateVa);
  cos::printf("vm_smoke: vCPU %u, backend %s\n", s->vcpu_id, s->backend == cos::vm::kBackendSvm ? "SVM" : "VMX");
  if (s->backend == cos::vm::kBackendVmx) g_code[19] = 0xc1;
  __builtin_memcpy(reinterpret_cast<void*>(kGuestVa), g_code, sizeof(g_code));

  s->cs = cos::vm::Segment{0, 0x9b, 0xffff, 0};
  s->regs.rip = 0x1000;
  s->regs.rflags = 2;
  uint64_t load = cos::vm::Load::regs | cos::vm::Load::segments;
  for (int exits = 0; exits < 10; ++exits) {
    // Runs the guest on this thread until its next exit, whose reason it returns.
    int64_t n = sys::call(cos::abi::Op::vcpu_run, vcpu, load, 0, 0);
    if (n < 0) {
      cos::printf("vm_smoke: vcpu_run: %s\n", cos::abi::error_name(n));
      return 1;
    }
    load = cos::vm::Load::regs;
    const cos::vm::Exit& e = s->exit;
    if (n != static_cast<int64_t>(e.reason)) {
      cos::printf("vm_smoke: vcpu_run returned %ld but the state page says exit %u\n", static_cast<long>(n),
                  static_cast<unsigned>(e.reason));
      return 1;
    }
    switch (e.reason) {
      case cos::vm::ExitReason::io:
        cos::printf("vm_smoke: guest wrote '%c' to port %#x (length %u)\n", static_cast<char>(e.io.data), e.io.port,
                    e.instruction_length);
        s->regs.rip += e.instruction_length;
        break;
      case cos::vm::ExitReason::hlt:
        cos::printf("vm_smoke: HLT exit at rip %#lx\n", static_cast<unsigned long>(s->regs.rip));
        s->regs.rip += e.instruction_length;
        if (exits > 2) return 0;
        break;
      case cos::vm::ExitReason::hypercall:
        cos::printf("vm_smoke: hypercall %lu: POKE!!!\n", static_cast<unsigned long>(s->regs.rax & 0xffffffff));
        s->regs.rip += e.instruction_length;
        break;
      default:
        cos::printf("vm_smoke: unexpected exit %u (vendor %#lx)\n", static_cast<unsigned>(e.reason),
                    static_cast<unsigned long>(e.vendor_code));
        return 1;
    }
  }
  return 0;
}
