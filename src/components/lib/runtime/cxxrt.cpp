// C++ support for freestanding components: operator new/delete and malloc/free
// over the component heap, and the pure-virtual hook (memory primitives are in
// src/lib/libc).
#include <stddef.h>
#include <stdint.h>

#include <new>

#include "runtime/cos.hpp"
#include "runtime/heap.hpp"

void* operator new(size_t n) {
  void* p = cos::heap::alloc(n);
  if (!p) {
    cos::printf("%s: out of heap memory (%zu bytes requested)\n", cos::self().name, n);
    cos::sys::thd_exit();
  }
  return p;
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return cos::heap::alloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return cos::heap::alloc(n); }
void operator delete(void* p) noexcept { cos::heap::free(p); }
void operator delete[](void* p) noexcept { cos::heap::free(p); }
void operator delete(void* p, size_t) noexcept { cos::heap::free(p); }
void operator delete[](void* p, size_t) noexcept { cos::heap::free(p); }

extern "C" {
void* malloc(size_t n) { return cos::heap::alloc(n); }
void free(void* p) { cos::heap::free(p); }
void __cxa_pure_virtual() {
  cos::printf("%s: pure virtual function called\n", cos::self().name);
  cos::sys::thd_exit();
}
}
