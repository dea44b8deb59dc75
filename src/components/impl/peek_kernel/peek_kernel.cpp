// peek_kernel: tries to read kernel memory through the kernel's direct map
// of physical memory (x86_64/layout.hpp: kDirectMapBase 0xffff800000000000),
// 1 MiB in, where the kernel image lies. The mapping is present but
// supervisor-only, so the kernel must stop peek_kernel with a protection
// violation (not "not mapped": the page is there, the rights are not).
#include "runtime/cos.hpp"

int main() {
  auto* kernel = reinterpret_cast<volatile uint64_t*>(0xffff800000100000ull);
  cos::printf("peek_kernel: reading kernel memory at %p\n", const_cast<uint64_t*>(kernel));
  uint64_t v = *kernel;
  cos::printf("peek_kernel: ISOLATION BROKEN: read %#lx\n", static_cast<unsigned long>(v));
  return 0;
}
