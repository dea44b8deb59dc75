// The big kernel lock's state and its misuse check (kernel/kernel_lock.hpp).
#include "kernel/kernel_lock.hpp"

#include "kernel/console.hpp"

namespace cos {

KernelLock g_kernel_lock;

void kernel_lock_misuse(bool entering) {
  panic(entering ? "kernel lock taken twice on CPU %u" : "kernel lock left on CPU %u, which does not hold it",
        platform::this_cpu());
}

}  // namespace cos
