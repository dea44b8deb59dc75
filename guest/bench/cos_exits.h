/* Reading simple_vmm's exit counters from inside a guest (for the
 * benchmarks in this directory): CPUID leaf 0x40000100
 * (kExitCountersLeaf, src/components/impl/simple_vmm/cpuid_policy.hpp):
 * subleaf 0 the vCPU's exits so far, subleaf 1 + r those of exit reason r
 * (src/include/cos/vm.hpp), each as EDX:EAX. Outside simple_vmm the leaf
 * reads as zeros (or whatever that hypervisor puts there).
 *
 * cos_exits_print("netperf", "send", &before, &after) prints one line
 *   <prog>: exits <what>: total=N io=N gpa_fault=N ...
 * with the differences (only non-zero reasons), which tools/cos/coslib/
 * bench/guestrun.py parses. Taking a snapshot costs 33 CPUID exits; the
 * `after` snapshot's first read happens after all 33 reads of `before`, so
 * the total includes those 33 (and the by-reason counts up to 33 cpuid). */
#pragma once
#include <stdint.h>
#include <stdio.h>

#define COS_EXIT_COUNTERS_LEAF 0x40000100u
#define COS_EXIT_REASONS 32

struct cos_exits {
  uint64_t total;
  uint64_t by_reason[COS_EXIT_REASONS];
};

static inline uint64_t cos_exits_read(uint32_t subleaf) {
  uint32_t a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(COS_EXIT_COUNTERS_LEAF), "c"(subleaf));
  return (uint64_t)d << 32 | a;
}

static inline void cos_exits_snapshot(struct cos_exits *e) {
  e->total = cos_exits_read(0);
  for (uint32_t r = 0; r < COS_EXIT_REASONS; ++r) e->by_reason[r] = cos_exits_read(1 + r);
}

/* vm::ExitReason names, as vmrt::exit_reason_name spells them. */
static inline const char *cos_exit_reason_name(unsigned r) {
  static const char *const names[] = {"none", "io", "gpa_fault", "cpuid", "msr_read", "msr_write",
                                      "hlt", "hypercall", "interrupt_window", "exception", "cr_access",
                                      "xsetbv", "invd", "wbinvd", "shutdown", "entry_failure",
                                      "rdtsc", "pause"};
  if (r < sizeof names / sizeof names[0]) return names[r];
  return r == 31 ? "other" : "reason";
}

static inline void cos_exits_print(const char *prog, const char *what, const struct cos_exits *before,
                                   const struct cos_exits *after) {
  char line[1024];
  int n = snprintf(line, sizeof line, "%s: exits %s: total=%llu", prog, what,
                   (unsigned long long)(after->total - before->total));
  for (unsigned r = 0; r < COS_EXIT_REASONS && n > 0 && n < (int)sizeof line; ++r) {
    uint64_t d = after->by_reason[r] - before->by_reason[r];
    if (d) n += snprintf(line + n, sizeof line - (size_t)n, " %s=%llu", cos_exit_reason_name(r), (unsigned long long)d);
  }
  printf("%s\n", line);
}
