// What the kernel keeps from every guest, whatever its VMM asks, on both
// backends (docs/virtualization.md, "What the kernel keeps"):
//   - #DB and #AC are always intercepted: their delivery can loop inside the
//     CPU without an exit (CVE-2015-8104, CVE-2015-5307); the kernel reflects
//     them to the guest itself unless the VMM asked to see them.
//   - RDPMC gets #GP(0) (no performance counters are offered), RDPRU #UD, and
//     the virtualization instructions (VMX's, or SVM's VMRUN, VMLOAD, VMSAVE,
//     STGI, CLGI, SKINIT, INVLPGA) #UD: there is no nested virtualization.
//   - DR0-DR3 (and DR6 on VMX, which does not switch it) belong to the vCPU:
//     accesses exit until the guest's first one, which makes its values live
//     in the hardware for its runs only (saved on every exit, loaded on every
//     entry). A guest never sees another's debug registers, and the host's
//     DR7 stays disabled (SVM: rewritten after the exit of a guest that
//     armed breakpoints, for QEMU's TCG, which otherwise keeps them armed).
// Pure constants: host-compilable.
#pragma once
#include <stdint.h>

#include "x86_64/arch.hpp"

namespace cos::x86 {

/// Exceptions every vCPU intercepts.
inline constexpr uint32_t kForcedExceptions = (1u << Vector::db) | (1u << Vector::ac);
/// The power-on value of DR6 and DR7 (Intel SDM Vol. 3B, 18.2.3 and 18.2.4).
inline constexpr uint64_t kDr6Reset = 0xffff0ff0ull, kDr7Reset = 0x400ull;
/// DR7 bits that enable a breakpoint (L0-L3, G0-G3).
inline constexpr uint64_t kDr7Enables = 0xffull;
/// DR7 R/W0 = 01 (break on writes): with no enable bit set, arms nothing.
inline constexpr uint64_t kDr7Rw0Write = 1ull << 16;

}  // namespace cos::x86
