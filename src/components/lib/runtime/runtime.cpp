// Component start-up, console, info-page queries and the sinv dispatcher.
#include <stdarg.h>

#include "runtime/cos.hpp"
#include "cos/bootinfo.hpp"
#include "fmt/format.hpp"
#include "runtime/heap.hpp"

extern "C" void (*__init_array_start[])(), (*__init_array_end[])();

namespace cos {
namespace {

const boot::CompInfo* g_info;

bool str_eq(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

// Console output is buffered per call so a line reaches the console whole.
struct LineBuf {
  char buf[512];
  size_t n = 0;
  void flush() {
    if (n) sys::print(buf, n);
    n = 0;
  }
};
void line_sink(void* ctx, const char* s, size_t len) {
  auto* lb = static_cast<LineBuf*>(ctx);
  for (size_t i = 0; i < len; ++i) {
    if (lb->n == sizeof(lb->buf)) lb->flush();
    lb->buf[lb->n++] = s[i];
  }
}

}  // namespace

const boot::CompInfo& self() { return *g_info; }

uint64_t dep(const char* interface) {
  for (uint32_t i = 0; i < g_info->dep_count; ++i)
    if (str_eq(g_info->deps[i].interface, interface)) return g_info->deps[i].slot;
  return 0;
}

const char* param(const char* key) {
  for (uint32_t i = 0; i < g_info->param_count; ++i)
    if (str_eq(g_info->params[i].key, key)) return g_info->params[i].value;
  return nullptr;
}

uint64_t param_u64(const char* key, uint64_t dflt) {
  const char* s = param(key);
  if (!s || !*s) return dflt;
  const char* text = s;
  uint64_t v = 0, base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2]) base = 16, s += 2;
  for (; *s; ++s) {
    uint64_t d;
    if (*s >= '0' && *s <= '9') d = static_cast<uint64_t>(*s - '0');
    else if (base == 16 && *s >= 'a' && *s <= 'f') d = static_cast<uint64_t>(*s - 'a' + 10);
    else if (base == 16 && *s >= 'A' && *s <= 'F') d = static_cast<uint64_t>(*s - 'A' + 10);
    else break;
    if (v > (~0ull - d) / base) break;  // overflow
    v = v * base + d;
  }
  if (*s) {
    printf("%s: parameter %s = '%s' is not a number; using %lu\n", g_info->name, key, text,
           static_cast<unsigned long>(dflt));
    return dflt;
  }
  return v;
}

void printf(const char* fmt, ...) {
  LineBuf lb;
  va_list ap;
  va_start(ap, fmt);
  fmt::vformat(line_sink, &lb, fmt, ap);
  va_end(ap);
  lb.flush();
}

void exit(unsigned status, const char* fmt, ...) {
  char reason[abi::kExitReasonMax + 1];
  va_list ap;
  va_start(ap, fmt);
  size_t n = fmt::vsnformat(reason, sizeof(reason), fmt, ap);
  va_end(ap);
  if (n > abi::kExitReasonMax) n = abi::kExitReasonMax;
  if (status > 255) status = 255;
  sys::comp_exit(status, reason, n);
  // Only a bad argument comes back: end the thread at least.
  sys::thd_exit();
}

void print(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  sys::print(s, n);
}

uint64_t largest_frame_pages(uint64_t ut, uint64_t scratch_slot, uint64_t max_pages) {
  uint64_t lo = 0, hi = max_pages;  // lo fits, hi + 1 does not
  while (lo < hi) {
    const uint64_t mid = (lo + hi + 1) / 2;
    if (sys::retype(ut, scratch_slot, abi::ObjType::frame, mid) == 0) {
      sys::cap_delete(scratch_slot);
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

}  // namespace cos

extern "C" __attribute__((weak)) cos::sys::SinvResult cos_serve(uint64_t, uint64_t, uint64_t,
                                                                uint64_t, uint64_t) {
  return {static_cast<int64_t>(cos::abi::Error::bad_op), 0};
}

extern "C" cos::sys::SinvResult cos_sinv_dispatch(uint64_t token, uint64_t op, uint64_t a0,
                                                  uint64_t a1, uint64_t a2) {
  return cos_serve(token, op, a0, a1, a2);
}

extern "C" [[noreturn]] void cos_runtime_start(const cos::boot::CompInfo* info) {
  static cos::boot::CompInfo booter_info{};
  if (info->magic == cos::boot::kCompInfoMagic) {
    cos::g_info = info;
    cos::heap::init(info->heap_base, info->heap_size);
  } else {
    // The booter gets the kernel's BootInfo instead and has no heap.
    __builtin_memcpy(booter_info.name, "booter", 7);
    cos::g_info = &booter_info;
  }
  for (auto** f = __init_array_start; f != __init_array_end; ++f) (*f)();
  int status = main();
  if (status != 0) cos::exit(status > 0 && status < 256 ? static_cast<unsigned>(status) : 255, "main returned %d", status);
  cos::sys::thd_exit();
}
