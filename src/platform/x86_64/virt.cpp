// Chooses the virtualization backend at boot and dispatches to it.
#include "x86_64/virt.hpp"

#include "kernel/console.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/svm/svm.hpp"
#include "x86_64/vmx/vmx.hpp"

namespace cos::virt {
namespace {

Backend g_backend = Backend::none;

bool cpu_vendor_is(const char* v) {
  uint32_t a, b, c, d;
  x86::cpuid(0, 0, a, b, c, d);
  const uint32_t want[3] = {*reinterpret_cast<const uint32_t*>(v), *reinterpret_cast<const uint32_t*>(v + 4),
                            *reinterpret_cast<const uint32_t*>(v + 8)};
  return b == want[0] && d == want[1] && c == want[2];
}

}  // namespace

void init() {
  char summary[160] = {};
  const char* why = "unknown CPU vendor";
  if (cpu_vendor_is("GenuineIntel")) {
    if (vmx::init(why, summary, sizeof(summary))) g_backend = Backend::vmx;
  } else if (cpu_vendor_is("AuthenticAMD")) {
    if (svm::init(why, summary, sizeof(summary))) g_backend = Backend::svm;
  }
  if (g_backend == Backend::none)
    kprintf("cos: virtualization: none (%s); VM and vCPU objects are unavailable\n", why);
  else
    kprintf("cos: virtualization: %s\n", summary);
}

Backend backend() { return g_backend; }

#define COS_VIRT_DISPATCH(call, fallback)          \
  switch (g_backend) {                             \
    case Backend::vmx: return vmx::call;           \
    case Backend::svm: return svm::call;           \
    default: return fallback;                      \
  }

abi::Error vm_init(Vm* vm) { COS_VIRT_DISPATCH(vm_init(vm), abi::Error::no_virtualization) }
void vm_destroy(Vm* vm) { COS_VIRT_DISPATCH(vm_destroy(vm), (void)0) }
uint64_t gpt_table_entry(uint64_t pa) { COS_VIRT_DISPATCH(gpt_table_entry(pa), 0) }
uint64_t gpt_leaf_entry(uint64_t hpa, uint64_t rights) { COS_VIRT_DISPATCH(gpt_leaf_entry(hpa, rights), 0) }
bool gpt_present(uint64_t e) { COS_VIRT_DISPATCH(gpt_present(e), false) }
abi::Error vcpu_init(Vcpu* v) { COS_VIRT_DISPATCH(vcpu_init(v), abi::Error::no_virtualization) }
void vcpu_destroy(Vcpu* v) { COS_VIRT_DISPATCH(vcpu_destroy(v), (void)0) }
abi::Error vcpu_load(Vcpu* v, const vm::StatePage& s, uint64_t mask) {
  COS_VIRT_DISPATCH(vcpu_load(v, s, mask), abi::Error::no_virtualization)
}
void vcpu_save(Vcpu* v, vm::StatePage& s, uint64_t mask) { COS_VIRT_DISPATCH(vcpu_save(v, s, mask), (void)0) }
ExitAction vcpu_enter(Vcpu* v, vm::Exit& exit) { COS_VIRT_DISPATCH(vcpu_enter(v, exit), ExitAction::resume) }

#undef COS_VIRT_DISPATCH

}  // namespace cos::virt
