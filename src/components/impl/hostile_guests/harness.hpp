// hostile_guests: what every case uses — its guest program, a fresh VM
// (vmtest::Sandbox) with the empty PC (vmtest::EmptyPc) answering exits,
// the mailbox, and the checks after each case (the VM's memory came back,
// the canary is intact, the kernel answers).
#pragma once
#include <stdint.h>

#include "hostile_guests/mailbox.h"
#include "vmtest/framework.hpp"
#include "vmtest/guest_setup.hpp"
#include "vmtest/pc.hpp"
#include "vmtest/run.hpp"
#include "vmtest/sandbox.hpp"

namespace hg {

namespace vm = cos::vm;

using vmtest::Mode;
namespace layout = vmtest::layout;

/// A guest program or handler set assembled in guests.S.
struct Snippet {
  const uint8_t* start;
  const uint8_t* end;
  uint64_t size() const { return static_cast<uint64_t>(end - start); }
  /// The guest address of `label` when the snippet is loaded at `base`.
  uint64_t at(const uint8_t* label, uint64_t base = layout::kCode) const {
    return base + static_cast<uint64_t>(label - start);
  }
};

#define HG_SNIPPET(name)                                              \
  extern "C" const uint8_t hg_##name##_start[], hg_##name##_end[];    \
  inline const ::hg::Snippet k_##name{hg_##name##_start, hg_##name##_end};
#define HG_AT(label) extern "C" const uint8_t hg_##label##_at[];

/// Tunables from the composition script's params (see hostile_guests.toml).
struct Params {
  uint64_t port_stride = 1;        ///< port sweeps visit every n-th port
  uint64_t gpa_stride_long = 1;    ///< 64 GiB sweep: MiB between sampled pages outside the dense windows
  uint64_t gpa_stride_pm32 = 1;    ///< 4 GiB sweep: the same
  uint64_t msr_stride = 1;         ///< MSR sweeps visit every n-th index
  uint64_t loop_us = 300'000;      ///< how long the endless guests run before the VMM stops them
  uint64_t run_us = 120'000'000;   ///< the budget of every other run
};
extern Params g_params;

/// How start() builds the VM.
struct Start {
  Mode mode = Mode::long64;
  uint64_t ram_bytes = layout::kRamBytes;
  uint64_t map_bytes = 4ull << 30;  ///< long mode: identity-mapped bytes
  bool handlers = true;             ///< the mode's exception handlers and table
  uint8_t ist = 0;                  ///< IST index for every 64-bit gate
};

/// Opens a fresh sandbox, loads `prog` at layout::kCode (and the mode's
/// handlers at layout::kHandlers), clears the mailbox and enters the mode.
/// Errors: those of the sandbox and the vmrt calls.
vmrt::Status start(const Snippet& prog, const Start& s);
/// Tears the sandbox down now (the after-case hook does it otherwise):
/// the case fails if its memory did not come back.
bool finish();

vmrt::Vcpu& cpu();
vmrt::Vm& guest();
vmtest::EmptyPc& pc();

/// Runs the guest with the empty PC until it stops, time_us (0: the
/// default budget) passes or max_exits exits were handled.
vmtest::RunResult run(uint64_t time_us = 0, uint64_t max_exits = 0);

/// Mailbox access (guest-physical addresses of mailbox.h).
uint64_t mb64(uint64_t gpa);
uint32_t mb32(uint64_t gpa);
void set_mb64(uint64_t gpa, uint64_t value);
/// MB_PROBES[i].
uint32_t probe(unsigned i);
/// Exceptions of `vector` the handlers counted.
uint32_t faults(unsigned vector);
/// Writes `n` entries of three u64 to MB_ENTRIES and n to MB_ARG0.
bool set_entries(const uint64_t (*entries)[3], unsigned n);

/// Overwrites gate `vector` (IVT entry in real mode) with `handler` in the
/// code segment of the mode (or `selector`), interrupt gate, IST `ist`.
bool set_handler(Mode mode, unsigned vector, uint64_t handler, uint16_t selector = 0, uint8_t ist = 0);

/// True when the CPU is QEMU's TCG model (its CPUID brand string says
/// "QEMU"): for emulator defects a case cannot work around.
bool cpu_is_qemu();

/// The host's CPUID (executed by the VMM).
vmtest::CpuidRegs host_cpuid(uint32_t leaf, uint32_t subleaf);

/// Describes a run against what was expected, for FAIL messages
/// ("expected stopped hlt; got timeout after 3 exits at rip 0x1004, ...").
const char* describe(const vmtest::RunResult& r, const char* expected);

}  // namespace hg

/// The run must have ended with `end` (vmtest::RunEnd) and, for stopped
/// runs, exit reason `why` (vm::ExitReason).
#define HG_END(r, end_, why)                                                                         \
  do {                                                                                               \
    if ((r).end != ::vmtest::RunEnd::end_ ||                                                         \
        (::vmtest::RunEnd::end_ == ::vmtest::RunEnd::stopped && (r).reason != ::cos::vm::ExitReason::why)) { \
      ::vmtest::fail(::hg::describe(r, #end_ " " #why), __FILE__, __LINE__);                                        \
      return;                                                                                        \
    }                                                                                                \
  } while (0)
