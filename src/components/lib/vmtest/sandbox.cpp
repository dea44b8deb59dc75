// vmtest sandboxes: a fresh VM per case from a child untyped (sandbox.hpp).
#include "vmtest/sandbox.hpp"

#include "runtime/cos.hpp"

namespace vmtest {
namespace {

namespace sys = cos::sys;
using cos::abi::ObjType;
constexpr uint64_t kPage = 4096;

}  // namespace

vmrt::Status Sandbox::open(vmrt::Env& parent, const SandboxConfig& cfg) {
  if (untyped_ || first_slot_ == 0 || limit_slot_ <= first_slot_)
    return vmrt::make_error(vmrt::Errc::bad_argument, "Sandbox::open: open already, or no slots", first_slot_,
                            limit_slot_);
  auto s = parent.slots.alloc();
  if (!s) return s.error();
  int64_t r = sys::retype(parent.untyped, s.value(), ObjType::untyped, cfg.untyped_pages);
  if (r < 0) {
    parent.slots.free(s.value());
    return vmrt::sys_error("retype(untyped) for a sandbox", r, cfg.untyped_pages);
  }
  parent_ = &parent;
  untyped_ = s.value();
  pages_ = cfg.untyped_pages;
  env_ = vmrt::Env{};
  env_.untyped = untyped_;
  env_.pgtbl = parent.pgtbl;
  env_.window_tables_untyped = parent.untyped;
  env_.slots.init(first_slot_, limit_slot_);
  env_.window_next = kSandboxWindowBase;
  env_.window_end = kSandboxWindowBase + kSandboxWindowBytes;
  vmrt::Status st = vm_.create(&env_);
  if (st && cfg.ram_bytes) st = vm_.add_ram(0, cfg.ram_bytes);
  if (st) st = cpu_.create(vm_, cfg.vcpu);
  if (!st) {
    (void)close();
    return st;
  }
  return {};
}

vmrt::Status Sandbox::close() {
  if (!untyped_) return vmrt::make_error(vmrt::Errc::not_created, "Sandbox::close");
  vmrt::Status result;
  if (cpu_.created()) {
    auto r = cpu_.destroy();
    if (!r && result) result = r;
  }
  if (vm_.created()) {
    auto r = vm_.destroy();
    if (!r && result) result = r;
  }
  // Whatever a case mapped into the window itself.
  for (uint64_t hva = kSandboxWindowBase; hva < env_.window_next; hva += kPage) sys::pgtbl_unmap(env_.pgtbl, hva);
  int64_t r = sys::cap_revoke(untyped_);
  if (r < 0 && result) result = vmrt::sys_error("cap_revoke(sandbox untyped)", r);
  // Every page back: one frame of all of them must fit.
  auto probe = parent_->slots.alloc();
  if (probe) {
    r = sys::retype(untyped_, probe.value(), ObjType::frame, pages_);
    if (r < 0 && result) result = vmrt::sys_error("sandbox memory check", r, pages_);
    if (r == 0) sys::cap_delete(probe.value());
    parent_->slots.free(probe.value());
  } else if (result) {
    result = probe.error();
  }
  r = sys::cap_delete(untyped_);
  if (r < 0 && result) result = vmrt::sys_error("cap_delete(sandbox untyped)", r);
  parent_->slots.free(untyped_);
  untyped_ = 0;
  return result;
}

}  // namespace vmtest
