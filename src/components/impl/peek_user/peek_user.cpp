// peek_user: holds a sinv capability to victim, asks for the address of its
// secret and tries to read it. The address is not mapped in peek_user's
// address space, so the kernel must stop peek_user with a page fault.
#include "runtime/cos.hpp"

int main() {
  uint64_t gate = cos::dep("victim");
  cos::sys::SinvResult r = cos::invoke(gate, 0);
  auto* secret = reinterpret_cast<volatile uint64_t*>(static_cast<uint64_t>(r.r0));
  cos::printf("peek_user: reading victim's secret at %p\n", const_cast<uint64_t*>(secret));
  uint64_t v = *secret;
  cos::printf("peek_user: ISOLATION BROKEN: read %#lx\n", static_cast<unsigned long>(v));
  return 0;
}
