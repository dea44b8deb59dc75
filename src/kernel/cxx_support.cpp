// The kernel's C++ ABI hooks (memory primitives are in src/lib/libc).
#include "kernel/console.hpp"

extern "C" void __cxa_pure_virtual() { cos::panic("pure virtual function called"); }
