// vmrt: emulation of the instruction behind a guest-physical fault (an
// access to a page that is not guest RAM: device MMIO, or nothing at all).
// The instruction at CS:RIP is fetched through the guest's page tables,
// decoded with x86decode and performed with its memory operand going
// through GuestAccess: guest RAM, the VMM's devices (PhysBus), or the empty
// bus of a PC — reads all ones, writes ignored.
//
// What the guest gets when the VMM cannot do what its CPU would have done
// (emulate_mmio never stops the VM for the guest's sake):
//
// | situation                                               | guest gets            |
// |---------------------------------------------------------|-----------------------|
// | fetching the instruction faults (page walk, CS limit)   | that #PF / #GP        |
// | instruction longer than 15 bytes                        | #GP(0) (SDM Vol. 2A 2.3.11) |
// | undefined encoding, LOCK on a non-RMW form              | #UD                   |
// | an instruction the emulator does not perform on MMIO    | #UD (as KVM at CPL>0) |
// |   (x87/SSE/AVX moves, CMPXCHG8B/16B, MUL/DIV, CMPS,     |                       |
// |   SCAS, PUSH/POP/CALL/JMP with a memory operand, and    |                       |
// |   PUSH/POP/CALL/RET with the stack on MMIO)             |                       |
// | execution from a page without RAM                        | #UD (the empty bus    |
// |                                                         |  reads FF FF, group 5 /7) |
// | the operand's own checks (segment, page walk) fault     | that #GP / #SS / #PF  |
// | the exit interrupted an event delivery                  | #GP(0): the delivery  |
// |   (vm::Exit::during_delivery: the delivery read the IDT,|  faulted; the kernel  |
// |   a descriptor, the stack or a page table there)        |  combines it with the |
// |                                                         |  event (#DF, shutdown)|
// | the fault was an implicit access (descriptor table,     | #GP(0)                |
// |   IDT, TSS, event-delivery stack), not the operand      |                       |
//
// KVM's rule for instructions its emulator cannot perform (inject #UD for
// CPL > 0, arch/x86/kvm/x86.c handle_emulation_failure) is applied at every
// CPL: a guest kernel that does something unemulatable to MMIO crashes
// itself (an oops), not the VMM.
//
// Performed: MOV, MOVZX/MOVSX/MOVSXD, the ALU operations, TEST, XCHG, BT*,
// INC/DEC/NOT/NEG, CMPXCHG, XADD (LOCK-prefixed too; x86decode), and the
// string moves MOVS, STOS, LODS (with REP: at most `max_elements` elements
// per exit, then the guest re-executes the instruction, as for INS/OUTS in
// string_io.hpp). A string move's other operand may be RAM, a device or
// nothing; the source and destination of each element are checked before
// anything is read, so a fault consumes no device data.
//
// Host-compilable.
#pragma once
#include <stdint.h>

#include "vmrt/guest_access.hpp"
#include "vmrt/vcpu_state.hpp"
#include "x86decode/x86decode.hpp"

namespace vmrt {

/// What emulate_mmio() did; in every case the handler returns Action::resume.
enum class MmioOutcome : uint8_t {
  emulated,  ///< performed: registers, RFLAGS and RIP updated
  partial,   ///< REP string move: max_elements done, RCX/RSI/RDI updated, RIP unchanged
  fault,     ///< an exception was queued instead (MmioResult::fault, ::why)
};

struct MmioResult {
  MmioOutcome outcome = MmioOutcome::emulated;
  GuestFault fault{};
  /// Why the fault was raised (static text, "" when emulated).
  const char* why = "";
  /// The instruction bytes fetched (for messages) and how many there are.
  uint8_t bytes[15] = {};
  uint8_t length = 0;
  cos::x86dec::Op op = cos::x86dec::Op::none;
  /// The memory operand's guest-physical address (its first byte; for a
  /// string move the first element's source, else its destination).
  uint64_t gpa = 0;
  /// String moves: elements moved by this call.
  uint64_t elements = 0;
};

/// Emulates the instruction of the current vm::ExitReason::gpa_fault exit
/// against guest RAM, `bus` and the empty bus (bus may be null: everything
/// outside RAM is the empty bus), or queues the exception listed above.
/// Needs vm::Load::cr and segments in the save mask. A REP MOVS/STOS/LODS
/// moves at most max_elements (0: kStringIoMaxElements) elements per call.
/// Errors: bad_argument (not a gpa_fault exit), stale_state.
Result<MmioResult> emulate_mmio(VcpuState& v, const PhysBus* bus, uint64_t max_elements = 0);

/// Remembers which guest-physical pages have been reported, so a VMM logs
/// accesses to unassigned memory once per page. It holds kPages pages;
/// once full it answers `overflow` once (log "further pages not logged")
/// and `quiet` afterwards: a guest sweeping its address space cannot flood
/// the console.
class PageLogFilter {
 public:
  static constexpr unsigned kPages = 64;
  enum class Verdict : uint8_t { log, overflow, quiet };
  /// The verdict for the page holding `gpa` (and records it).
  Verdict check(uint64_t gpa);
  unsigned logged() const { return count_; }

 private:
  uint64_t pages_[kPages] = {};
  unsigned count_ = 0;
  bool overflowed_ = false;
};

}  // namespace vmrt
