// vmrt: emulation of port I/O exits — IN and OUT, and the string forms INS
// and OUTS with and without REP, in every size (1, 2, 4 bytes), direction
// (RFLAGS.DF), address size (16, 32, 64 bits) and, for OUTS, segment
// override. The memory side goes through GuestAccess (segmentation, the
// guest's page tables, RAM or device MMIO), so a bad pointer gives the guest
// the #GP/#SS/#PF its CPU would have raised rather than failing the VMM.
//
// A REP string instruction moves at most `max_elements` elements per exit:
// RCX, RSI/RDI are updated for the elements done and RIP is left on the
// instruction, so the guest executes it again and exits again — the way the
// CPU itself interrupts a REP string instruction between iterations (SDM
// Vol. 2B, REP/REPE/REPZ/REPNE/REPNZ: "interrupted REP ... resumes"). A
// guest with RCX = 2^64 - 1 therefore costs the VMM one bounded step per
// exit, with interrupt delivery in between, never an unbounded loop.
//
// Host-compilable. The address size and segment override are not in the
// exit (vm::Exit::io), so they are decoded from the instruction at RIP
// (x86decode); the port, size, direction and REP come from the exit.
#pragma once
#include <stdint.h>

#include "vmrt/guest_access.hpp"
#include "vmrt/vcpu_state.hpp"

namespace vmrt {

/// The port side of I/O emulation. `in` returns the value read (its low
/// `size` bytes are used); `out` receives the value written. size: 1, 2, 4.
/// A null `in` reads all ones; a null `out` drops the write.
struct PortIo {
  void* ctx = nullptr;
  uint32_t (*in)(void* ctx, uint16_t port, unsigned size) = nullptr;
  void (*out)(void* ctx, uint16_t port, unsigned size, uint32_t value) = nullptr;
};

/// Elements a REP INS/OUTS moves per exit unless the caller says otherwise.
inline constexpr uint64_t kStringIoMaxElements = 1024;

/// What emulate_io() did.
enum class IoOutcome : uint8_t {
  /// The instruction is complete: return Action::skip (advance RIP).
  done,
  /// REP: max_elements were moved and the count is not exhausted; RCX and
  /// RSI/RDI are updated, RIP stays: return Action::resume.
  partial,
  /// An exception was queued (GuestFault in IoResult::fault); the
  /// registers reflect the elements moved before it: Action::resume.
  fault,
  /// The bytes at RIP are not the INS/OUTS the exit reports (the guest
  /// changed them meanwhile): nothing was done, Action::resume re-executes.
  retry,
};

struct IoResult {
  IoOutcome outcome = IoOutcome::done;
  uint64_t elements = 0;  ///< elements moved by this call (1 for IN/OUT)
  GuestFault fault{};     ///< the exception queued when outcome == fault
};

/// The Action a handler returns for an outcome (done -> skip, else resume).
inline Action io_action(IoOutcome o) { return o == IoOutcome::done ? Action::skip : Action::resume; }

/// Emulates the I/O instruction of the current vm::ExitReason::io exit:
/// IN merges the value into AL/AX/EAX (a 32-bit IN zero-extends into RAX),
/// OUT writes vm::Exit::io.data, INS/OUTS move elements between the port and
/// guest memory (at most max_elements, at least 1, per call; 0 means the
/// default). `bus` serves string accesses to guest-physical addresses that
/// are not RAM (null: the empty bus). Does not change RIP: return
/// io_action(outcome) from the handler. Needs vm::Load::cr and segments in
/// the save mask for INS/OUTS. Errors: bad_argument (not an io exit),
/// stale_state.
Result<IoResult> emulate_io(VcpuState& v, const PortIo& ports, const PhysBus* bus = nullptr,
                            uint64_t max_elements = kStringIoMaxElements);

/// x86 register write with an address size of `bytes`: 2 merges into the
/// low 16 bits, 4 zero-extends (as every 32-bit register write does in
/// 64-bit mode), 8 replaces.
uint64_t assign_address_sized(uint64_t old_value, uint64_t new_value, unsigned bytes);

}  // namespace vmrt
