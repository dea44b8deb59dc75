// Chooses the virtualization backend at boot: Intel VMX on GenuineIntel,
// AMD SVM on AuthenticAMD, none when the CPU cannot run guests.
#include "kernel/console.hpp"
#include "kernel/platform.hpp"
#include "x86_64/arch.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/svm/svm.hpp"
#include "x86_64/vmx/vmx.hpp"

namespace cos::platform {
namespace {

const VirtBackend* g_backend;

bool cpu_vendor_is(const char* v) {
  uint32_t a, b, c, d;
  x86::cpuid(0, 0, a, b, c, d);
  const uint32_t want[3] = {*reinterpret_cast<const uint32_t*>(v), *reinterpret_cast<const uint32_t*>(v + 4),
                            *reinterpret_cast<const uint32_t*>(v + 8)};
  return b == want[0] && d == want[1] && c == want[2];
}

}  // namespace

void virt_init() {
  char summary[160] = {};
  const char* why = "unknown CPU vendor";
  if (cpu_vendor_is("GenuineIntel")) g_backend = vmx::probe(why, summary, sizeof(summary));
  else if (cpu_vendor_is("AuthenticAMD")) g_backend = svm::probe(why, summary, sizeof(summary));
  if (!g_backend)
    kprintf("cos: virtualization: none (%s); VM and vCPU objects are unavailable\n", why);
  else
    kprintf("cos: virtualization: %s\n", summary);
}

void virt_init_this_cpu() {
  if (!g_backend) return;
  if (g_backend->id == vm::kBackendSvm) svm::enable_this_cpu();
  else vmx::enable_this_cpu();
}

const VirtBackend* virt() { return g_backend; }

bool exception_has_error_code(unsigned vector) { return x86::exception_has_error_code(vector); }

}  // namespace cos::platform
