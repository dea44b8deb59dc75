// Hypercall routes of a VMM component: which guest hypercall numbers go to
// which interface the component depends on (docs/hypercalls.md). The VMM
// parameter `hypercalls` holds them as text:
//
//   hypercalls = "4=poke"              one route: hypercall 4 -> interface poke
//   hypercalls = "4=poke, 0x10=log"    several, separated by commas
//
// Each route is `<number>=<interface>`: the number decimal or 0x-hex,
// 0..0xffffffff (the guest's EAX), not a number the VMM keeps for itself
// (kReservedNumbers); the interface a name as the composer accepts it
// ([a-z][a-z0-9_]*, at most 31 characters). Spaces around numbers, names
// and commas are allowed; no number twice; at most kMaxRoutes routes.
//
// Shared by the composer (it checks the parameter of a VMM against its
// deps, with the parameter's position) and simple_vmm (it resolves each
// interface to its sinv gate at start), and unit-tested on the host.
// Freestanding: no allocation, no standard library.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::hypercall {

/// Routes per VMM (the parameter value holds at most 95 bytes anyway).
inline constexpr unsigned kMaxRoutes = 8;
/// Longest interface name (cos_limits::kMaxNameBytes).
inline constexpr unsigned kMaxInterfaceBytes = 31;
/// Numbers the VMM handles itself and that cannot be routed: the guest
/// bootloader's error report (cos/guest_boot.hpp kHypercallBootError).
inline constexpr uint32_t kReservedNumbers[] = {0xc05b0001u};

/// Results the guest finds in RAX besides a service's own (docs/hypercalls.md).
/// No route for this number (KVM's -KVM_ENOSYS, so code written for KVM
/// reads it the same way).
inline constexpr int64_t kErrNoSuchHypercall = -1000;
/// The service behind the route is dead or faulted during the call (the
/// invocation returned comp_dead).
inline constexpr int64_t kErrServiceDead = -1001;
/// The service could not take the call (every invocation stack busy, or
/// another invocation error).
inline constexpr int64_t kErrServiceBusy = -1002;

struct Route {
  uint32_t number;
  char interface[kMaxInterfaceBytes + 1];  ///< NUL-terminated
};

struct Routes {
  Route route[kMaxRoutes];
  unsigned count;
  /// The route for `number`, or nullptr.
  const Route* find(uint32_t number) const;
};

/// Why a value does not parse: a message (static text) and the offset in
/// the value where the problem is.
struct ParseError {
  const char* message;  ///< nullptr when the value parsed
  size_t offset;
};

/// Parses `text` (`len` bytes, no NUL needed) into `out`. An empty value
/// (or only spaces) gives no routes. On failure `out` is unspecified.
ParseError parse_routes(const char* text, size_t len, Routes& out);

}  // namespace cos::hypercall
