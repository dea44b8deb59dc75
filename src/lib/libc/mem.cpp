// The C memory and string primitives the compiler may emit calls to; shared
// by the kernel and the component runtime (freestanding, no libc).
#include <stddef.h>
#include <stdint.h>

extern "C" {

void* memcpy(void* d, const void* s, size_t n) {
  auto* dp = static_cast<uint8_t*>(d);
  const auto* sp = static_cast<const uint8_t*>(s);
  for (size_t i = 0; i < n; ++i) dp[i] = sp[i];
  return d;
}

void* memset(void* d, int c, size_t n) {
  auto* dp = static_cast<uint8_t*>(d);
  for (size_t i = 0; i < n; ++i) dp[i] = static_cast<uint8_t>(c);
  return d;
}

void* memmove(void* d, const void* s, size_t n) {
  auto* dp = static_cast<uint8_t*>(d);
  const auto* sp = static_cast<const uint8_t*>(s);
  if (dp < sp) {
    for (size_t i = 0; i < n; ++i) dp[i] = sp[i];
  } else {
    for (size_t i = n; i > 0; --i) dp[i - 1] = sp[i - 1];
  }
  return d;
}

int memcmp(const void* a, const void* b, size_t n) {
  const auto* x = static_cast<const uint8_t*>(a);
  const auto* y = static_cast<const uint8_t*>(b);
  for (size_t i = 0; i < n; ++i)
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

// Static destructors never run (neither the kernel nor a component exits
// through them), so registration is a no-op.
int atexit(void (*)()) { return 0; }
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
void* __dso_handle = nullptr;

}  // extern "C"

extern "C" int strcmp(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}
