// Guest hypercalls routed to native components (docs/hypercalls.md).
//
// The VMM parameter `hypercalls` ("4=poke, 5=log", parsed by
// src/lib/hypercall/routes.hpp) names, per hypercall number, an interface
// this VMM depends on (its `deps` in the composition script). A guest
// hypercall with such a number becomes a synchronous invocation of that
// interface: op = the number, a0..a2 = the guest's RBX, RCX, RDX (bits 31:0
// outside 64-bit mode), and the service's first result goes back in RAX.
// Numbers without a route return hypercall::kErrNoSuchHypercall (-1000); a
// service that is dead or faults during the call gives kErrServiceDead
// (-1001), one that cannot take the call kErrServiceBusy (-1002). The VM
// keeps running in every case.
#pragma once
#include <stdint.h>

#include "vmrt/vmrt.hpp"

namespace cos::simple_vmm {

/// Reads the `hypercalls` parameter and resolves each route's interface to
/// the sinv gate of that dependency. A malformed value or an interface the
/// VMM does not depend on ends the VMM (cos::exit with exit_status::kFailed
/// and a line naming the problem), before the guest runs.
void setup_hypercall_routes();

/// Handles guest hypercall `number` (EAX) that the VMM does not keep for
/// itself: invokes the routed service or answers kErrNoSuchHypercall; sets
/// the guest's RAX. The caller skips the instruction.
void route_hypercall(vmrt::VcpuState& c, uint32_t number);

}  // namespace cos::simple_vmm
