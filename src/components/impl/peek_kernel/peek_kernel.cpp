// peek_kernel: tries to read kernel memory (the kernel image in the higher
// half). The page is supervisor-only, so the kernel must stop peek_kernel.
#include "runtime/cos.hpp"

int main() {
  auto* kernel = reinterpret_cast<volatile uint64_t*>(0xffffffff80100000ull);
  cos::printf("peek_kernel: reading kernel memory at %p\n", const_cast<uint64_t*>(kernel));
  uint64_t v = *kernel;
  cos::printf("peek_kernel: ISOLATION BROKEN: read %#lx\n", static_cast<unsigned long>(v));
  return 0;
}
