// hostile_guests: a VMM that runs small hostile guest programs (guests.S)
// one after another, each in a fresh VM (vmtest::Sandbox: new VM and vCPU
// objects from a child untyped, revoked afterwards and checked to have come
// back whole), in real, protected and long mode, against an empty PC
// (vmtest::EmptyPc: vmrt's emulators with no devices). The cases are in
// cases_*.cpp. A case passes when the guest got what a PC gives it (all
// ones from unassigned ports and memory, #GP for missing MSRs, #UD for
// virtualization instructions, a triple fault where a PC resets, ...), the
// VMM got control back within its deadline, the VM's memory came back, the
// canary component (fuzz_canary, dependency "canary") is intact and the
// kernel still answers. Prints `PASS <name>` or `FAIL <name>: why` per case
// and ends with `hostile_guests: N passed, M failed, K skipped` and
// `N passed, M failed`.
//
// Params (composition_scripts/hostile_guests.toml): port_stride,
// gpa_stride_long_mib, gpa_stride_pm32_mib, loop_ms, run_s, only (run the
// cases whose names contain one of its comma-separated parts).
#include "hostile_guests/harness.hpp"
#include "runtime/cos.hpp"

namespace hg {

bool init_harness();

namespace {

namespace sys = cos::sys;

uint64_t g_canary;
int64_t g_last_time;

/// The checks after every case (vmtest::set_after_case): the VM's memory
/// is back, the canary is intact, the kernel's clock runs.
void after_case() {
  finish();
  if (g_canary) {
    int64_t diffs = vmtest::canary_verify(g_canary);
    if (diffs < 0) vmtest::fail("the canary component does not answer", __FILE__, __LINE__);
    else if (diffs > 0) vmtest::fail_eq("the canary's memory and capabilities changed", __FILE__, __LINE__, diffs, 0);
  }
  int64_t now = sys::time_now();
  if (now <= g_last_time) vmtest::fail_eq("the kernel's clock stands still", __FILE__, __LINE__, now, g_last_time);
  g_last_time = now;
}

/// True if `name` contains one of the comma-separated parts of `list`
/// (an empty list selects everything).
bool selected(const char* name, const char* list) {
  if (!*list) return true;
  while (*list) {
    const char* end = list;
    while (*end && *end != ',') ++end;
    for (const char* s = name; *s; ++s) {
      const char *a = s, *b = list;
      while (b < end && *a == *b) ++a, ++b;
      if (b == end && end > list) return true;
    }
    list = *end ? end + 1 : end;
  }
  return false;
}

}  // namespace
}  // namespace hg

int main() {
  using namespace hg;
  g_params.port_stride = cos::param_u64("port_stride", 1);
  g_params.gpa_stride_long = cos::param_u64("gpa_stride_long_mib", 1);
  g_params.gpa_stride_pm32 = cos::param_u64("gpa_stride_pm32_mib", 1);
  g_params.loop_us = cos::param_u64("loop_ms", 300) * 1000;
  g_params.run_us = cos::param_u64("run_s", 120) * 1'000'000;
  if (!g_params.port_stride) g_params.port_stride = 1;
  if (!g_params.gpa_stride_long) g_params.gpa_stride_long = 1;
  if (!g_params.gpa_stride_pm32) g_params.gpa_stride_pm32 = 1;
  const char* only = cos::param("only");
  if (!only) only = "";

  g_canary = cos::dep("canary");
  if (!g_canary) cos::printf("hostile_guests: no canary (dependency 'canary' missing)\n");
  else if (!vmtest::canary_ready(g_canary)) cos::printf("hostile_guests: the canary never got ready\n");
  if (!init_harness()) {
    cos::printf("hostile_guests: needs untyped memory and caps = [\"pgtbl\"]\n");
    return 1;
  }
  // One VM to see whether there is a backend at all.
  Start probe{.mode = Mode::real};
  if (auto r = start(hg::Snippet{nullptr, nullptr}, probe); !r) {
    char buf[160];
    r.error().format(buf, sizeof(buf));
    cos::printf("hostile_guests: cannot create a VM: %s\n", buf);
    cos::printf("0 passed, 1 failed\n");
    return 1;
  }
  const uint32_t backend = cpu().backend();
  finish();
  cos::printf("hostile_guests: %d cases, backend %s, port stride %lu, gpa strides %lu MiB (64 GiB) / %lu MiB "
              "(4 GiB), loops stopped after %lu ms\n",
              vmtest::case_count(), vmrt::backend_name(backend), static_cast<unsigned long>(g_params.port_stride),
              static_cast<unsigned long>(g_params.gpa_stride_long), static_cast<unsigned long>(g_params.gpa_stride_pm32),
              static_cast<unsigned long>(g_params.loop_us / 1000));
  g_last_time = cos::sys::time_now();
  vmtest::set_after_case(after_case);
  int passed = 0, failed = 0, skipped = 0;
  for (int i = 0; i < vmtest::case_count(); ++i) {
    const vmtest::Case& c = vmtest::case_at(i);
    if (!selected(c.name, only)) continue;
    switch (vmtest::run_case(c)) {
      case vmtest::Verdict::pass: ++passed; break;
      case vmtest::Verdict::fail: ++failed; break;
      case vmtest::Verdict::skip: ++skipped; break;
    }
  }
  cos::printf("hostile_guests: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
  cos::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
