// vmtest case registry and reporting (framework.hpp).
#include "vmtest/framework.hpp"

#include "runtime/cos.hpp"

namespace vmtest {
namespace {

Case g_cases[kMaxCases];
int g_count;
const char* g_current = "";
const char* g_prefix = "";
const char* g_note = nullptr;
bool g_failed, g_skipped;
void (*g_after)();

}  // namespace

Register::Register(const char* name, CaseFn fn) {
  if (g_count < kMaxCases) g_cases[g_count++] = Case{name, fn};
  else cos::printf("vmtest: more than %d cases; '%s' is not registered\n", kMaxCases, name);
}

int case_count() { return g_count; }
const Case& case_at(int i) { return g_cases[i]; }
const char* current() { return g_current; }
const char* prefix() { return g_prefix; }
void set_current(const char* name) { g_current = name; }
bool failed() { return g_failed || g_skipped; }
void note(const char* text) { g_note = text; }
void set_after_case(void (*fn)()) { g_after = fn; }

Verdict run_case(const Case& c, const char* prefix) {
  g_current = c.name;
  g_prefix = prefix;
  g_note = nullptr;
  g_failed = g_skipped = false;
  c.fn();
  g_current = c.name;
  if (g_after) g_after();
  if (g_failed) return Verdict::fail;
  if (g_skipped) return Verdict::skip;
  if (g_note) cos::printf("PASS %s%s (%s)\n", prefix, c.name, g_note);
  else cos::printf("PASS %s%s\n", prefix, c.name);
  return Verdict::pass;
}

void fail(const char* what, const char* file, int line) {
  if (g_failed) return;
  g_failed = true;
  cos::printf("FAIL %s%s: %s at %s:%d\n", g_prefix, g_current, what, file, line);
}

void fail_eq(const char* what, const char* file, int line, uint64_t got, uint64_t want) {
  if (g_failed) return;
  g_failed = true;
  cos::printf("FAIL %s%s: %s at %s:%d (got %#lx, expected %#lx)\n", g_prefix, g_current, what, file, line,
              static_cast<unsigned long>(got), static_cast<unsigned long>(want));
}

void fail_err(const char* what, const char* file, int line, const vmrt::Error& e) {
  if (g_failed) return;
  g_failed = true;
  char buf[160];
  e.format(buf, sizeof(buf));
  cos::printf("FAIL %s%s: %s at %s:%d (%s)\n", g_prefix, g_current, what, file, line, buf);
}

void skip(const char* why) {
  if (g_skipped || g_failed) return;
  g_skipped = true;
  cos::printf("SKIP %s%s: %s\n", g_prefix, g_current, why);
}

}  // namespace vmtest
