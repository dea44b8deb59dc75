// poke: a native service for guests, the CAmkES VM tutorial's "poke" demo
// (docs/hypercalls.md). simple_vmm routes a guest hypercall to interface
// `poke` (parameter `hypercalls = "4=poke"`); each call prints `POKE!!!`
// with the hypercall number and the guest's first argument (RBX) and returns
// argument + 1, which the guest finds in RAX.
//
// Parameter `fault_on` (a number): a call whose argument equals it makes
// poke fault (a write to address 0), for the tests that check that a dead
// service gives the guest an error and the VM keeps running.
#include "runtime/cos.hpp"

namespace {
uint64_t g_pokes;         // calls served
uint64_t g_fault_on;      // argument that makes poke fault (0: never)
}  // namespace

extern "C" cos::sys::SinvResult cos_serve(uint64_t, uint64_t op, uint64_t a0, uint64_t, uint64_t) {
  ++g_pokes;
  cos::printf("poke: POKE!!! (hypercall %lu, argument %#lx, poke #%lu)\n", static_cast<unsigned long>(op),
              static_cast<unsigned long>(a0), static_cast<unsigned long>(g_pokes));
  if (g_fault_on && a0 == g_fault_on) {
    cos::printf("poke: argument %#lx: faulting on purpose (parameter fault_on)\n", static_cast<unsigned long>(a0));
    *reinterpret_cast<volatile uint64_t*>(static_cast<uintptr_t>(0)) = a0;
  }
  return {static_cast<int64_t>(a0 + 1), static_cast<int64_t>(g_pokes)};
}

int main() {
  g_fault_on = cos::param_u64("fault_on", 0);
  cos::printf("poke: ready to be poked (component %u)\n", cos::self().id);
  return 0;
}
