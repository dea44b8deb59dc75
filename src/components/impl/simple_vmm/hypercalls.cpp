#include "simple_vmm/hypercalls.hpp"

#include "cos/exit_status.hpp"
#include "hypercall/routes.hpp"
#include "runtime/cos.hpp"
#include "simple_vmm/vmm.hpp"

namespace cos::simple_vmm {
namespace {

using vmrt::Reg;

hypercall::Routes g_routes;
uint64_t g_gates[hypercall::kMaxRoutes];  ///< sinv gate slot per route
bool g_dead_noted[hypercall::kMaxRoutes];  ///< "is dead" printed for this route

}  // namespace

void setup_hypercall_routes() {
  const char* text = cos::param("hypercalls");
  if (!text) return;
  size_t len = 0;
  while (text[len]) ++len;
  hypercall::ParseError e = hypercall::parse_routes(text, len, g_routes);
  if (e.message) {
    cos::printf("simple_vmm: parameter hypercalls = \"%s\": at offset %lu: %s\n", text,
                static_cast<unsigned long>(e.offset), e.message);
    cos::exit(cos::exit_status::kFailed, "parameter hypercalls: %s", e.message);
  }
  for (unsigned i = 0; i < g_routes.count; ++i) {
    const hypercall::Route& r = g_routes.route[i];
    g_gates[i] = cos::dep(r.interface);
    if (!g_gates[i]) {
      cos::printf("simple_vmm: parameter hypercalls routes hypercall %u to interface '%s', which this "
                  "component does not depend on (add it to its deps)\n", r.number, r.interface);
      cos::exit(cos::exit_status::kFailed, "parameter hypercalls: no dependency '%s'", r.interface);
    }
    cos::printf("simple_vmm: hypercall %u -> interface '%s'\n", r.number, r.interface);
  }
}

void route_hypercall(vmrt::VcpuState& c, uint32_t number) {
  const hypercall::Route* r = g_routes.find(number);
  if (!r) {
    c.set(Reg::rax, static_cast<uint64_t>(hypercall::kErrNoSuchHypercall));
    return;
  }
  unsigned i = static_cast<unsigned>(r - g_routes.route);
  uint64_t mask = c.long_mode_64() ? ~0ull : 0xffffffffull;
  cos::sys::SinvResult res = cos::invoke(g_gates[i], number, c.get(Reg::rbx) & mask,
                                         c.get(Reg::rcx) & mask, c.get(Reg::rdx) & mask);
  int64_t rax = res.r0;
  // The kernel's and the runtime's invocation errors, told apart from a
  // service's own results by the sinv status (see runtime/cos.hpp).
  if (res.r0 == static_cast<int64_t>(cos::abi::Error::comp_dead)) {
    rax = hypercall::kErrServiceDead;
    if (!g_dead_noted[i]) {
      g_dead_noted[i] = true;
      flush_console();
      cos::printf("simple_vmm: hypercall %u: interface '%s' is dead; the guest gets %ld\n", number,
                  r->interface, static_cast<long>(rax));
    }
  } else if (res.r0 == cos::kErrNoSinvStack) {
    rax = hypercall::kErrServiceBusy;
  }
  c.set(Reg::rax, static_cast<uint64_t>(rax));
}

}  // namespace cos::simple_vmm
