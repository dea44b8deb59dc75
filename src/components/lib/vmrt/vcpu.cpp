// vmrt vCPUs and the run loop (component only).
#include "vmrt/vcpu.hpp"

#include "runtime/cos.hpp"

namespace vmrt {
namespace {

namespace sys = cos::sys;
using cos::abi::ObjType;
constexpr uint64_t kPage = 4096;
constexpr int64_t kTimeout = static_cast<int64_t>(cos::abi::Error::timeout);

}  // namespace

Status Vcpu::create(Vm& vm, const VcpuConfig& cfg) {
  if (slot_) return make_error(Errc::bad_argument, "Vcpu::create: already created");
  if (!vm.created()) return make_error(Errc::not_created, "Vcpu::create: the VM is not created");
  if (cfg.own_thread && cfg.priority > 255) return make_error(Errc::bad_argument, "Vcpu::create: priority", 0, cfg.priority);
  Env* env = vm.env();
  uint64_t frame = 0, rcv = 0, vcpu = 0, hva = 0;
  bool mapped = false;
  auto undo = [&](const Error& e) -> Status {
    if (vcpu) sys::cap_delete(vcpu), env->slots.free(vcpu);
    if (rcv && !cfg.wake_rcv_slot) sys::cap_delete(rcv), env->slots.free(rcv);
    if (mapped) env->unmap_window(hva, 1);
    if (frame) sys::cap_delete(frame), env->slots.free(frame);
    return e;
  };
  auto s = env->slots.alloc();
  if (!s) return s.error();
  int64_t r = sys::retype(env->untyped, s.value(), ObjType::frame, 1);
  if (r < 0) {
    env->slots.free(s.value());
    return sys_error("retype(frame) for the vCPU state page", r);
  }
  frame = s.value();
  auto w = env->reserve_window(kPage);
  if (!w) return undo(w.error());
  hva = w.value();
  if (auto m = env->map_into_window(hva, frame, 0, 1); !m) return undo(m.error());
  mapped = true;
  if (cfg.wake_rcv_slot) {
    rcv = cfg.wake_rcv_slot;
  } else {
    s = env->slots.alloc();
    if (!s) return undo(s.error());
    r = sys::retype(env->untyped, s.value(), ObjType::rcv, 1);
    if (r < 0) {
      env->slots.free(s.value());
      return undo(sys_error("retype(rcv) for vCPU wake-ups", r));
    }
    rcv = s.value();
  }
  s = env->slots.alloc();
  if (!s) return undo(s.error());
  r = cfg.own_thread ? sys::vcpu_create(env->untyped, s.value(), vm.slot(), frame, rcv, cfg.priority)
                     : sys::vcpu_create(env->untyped, s.value(), vm.slot(), frame, 0, 0);
  if (r < 0) {
    env->slots.free(s.value());
    return undo(sys_error("vcpu_create", r));
  }
  vcpu = s.value();
  auto* page = reinterpret_cast<vm::StatePage*>(hva);
  if (page->magic != vm::kStateMagic)
    return undo(make_error(Errc::bad_state_page, "vcpu_create: state page without kStateMagic", hva, page->magic));
  vm_ = &vm;
  slot_ = vcpu;
  rcv_ = rcv;
  frame_ = frame;
  hva_ = hva;
  own_thread_ = cfg.own_thread;
  own_rcv_ = cfg.wake_rcv_slot == 0;
  attach(page, &vm.memory());
  set_save_mask(cfg.save_mask);
  return {};
}

int64_t Vcpu::round(uint64_t load, uint64_t timeout_us) {
  if (!own_thread_) {
    int64_t r = sys::vcpu_run(slot_, load, rcv_, timeout_us);
    if (r < 0 && r != kTimeout) mark_dirty(load);  // nothing was loaded
    return r;
  }
  // Own thread: answer the exit, then wait for the next one on the shared
  // endpoint, which IRQs and timers may notify too (exit_pending tells).
  int64_t r = sys::vcpu_resume(slot_, load);
  if (r < 0) {
    mark_dirty(load);  // nothing was loaded; still running (a wake-up came first): load at the next answer
    if (r != static_cast<int64_t>(cos::abi::Error::vcpu_running)) return r;
  }
  r = sys::rcv(rcv_, timeout_us, 0);
  if (r < 0) return r;
  return page().exit_pending ? static_cast<int64_t>(page().exit.reason) : 0;
}

Result<vm::ExitReason> Vcpu::step(uint64_t timeout_us) {
  if (!slot_) return make_error(Errc::not_created, "Vcpu::step");
  uint64_t load = take_dirty();
  int64_t r = round(load, timeout_us);
  if (r == kTimeout) return make_error(Errc::timeout, "waiting for a vCPU exit", rip(), timeout_us);
  if (r < 0) return sys_error(own_thread_ ? "vcpu_resume" : "vcpu_run", r);
  note_exit();
  return static_cast<vm::ExitReason>(r);
}

uint64_t Vcpu::wait_us(const RunOptions& opts) {
  return opts.dynamic_timeout_us ? *opts.dynamic_timeout_us : opts.timeout_us;
}

Result<vm::ExitReason> Vcpu::run(const RunOptions& opts) {
  if (!slot_) return make_error(Errc::not_created, "Vcpu::run");
  for (uint64_t exits = 0;;) {
    int64_t r = round(take_dirty(), wait_us(opts));
    if (r == kTimeout || r == 0) {
      // Woken without an exit: the VMM's wake-up handler runs (the state
      // page is current), then the guest goes on.
      if (r == 0 && !own_thread_) note_exit();
      if (!opts.on_wakeup) {
        if (r == kTimeout) return make_error(Errc::timeout, "waiting for a vCPU exit", rip(), wait_us(opts));
        continue;
      }
      if (opts.on_wakeup(*this, opts.wakeup_ctx) == Action::stop)
        return make_error(Errc::timeout, "run stopped by the wake-up handler", rip(), wait_us(opts));
      continue;
    }
    if (r < 0) return sys_error(own_thread_ ? "vcpu_resume" : "vcpu_run", r);
    note_exit();
    auto a = dispatch();
    if (!a) {
      if (!opts.quiet) {
        const vm::Exit& x = exit();
        if (a.error().code == Errc::unhandled_exit)
          cos::printf("vmrt: vcpu %u: unhandled exit '%s' (reason %u, vendor code 0x%lx, qualification 0x%lx) "
                      "at rip 0x%lx; VM stopped\n",
                      id(), exit_reason_name(x.reason), static_cast<unsigned>(x.reason),
                      static_cast<unsigned long>(x.vendor_code), static_cast<unsigned long>(x.vendor_qualification),
                      static_cast<unsigned long>(rip()));
        else {
          char buf[160];
          a.error().format(buf, sizeof(buf));
          cos::printf("vmrt: vcpu %u: %s; VM stopped\n", id(), buf);
        }
      }
      return a.error();
    }
    if (a.value() == Action::stop) return exit_reason();
    if (opts.max_exits && ++exits >= opts.max_exits) return exit_reason();
  }
}

Status Vcpu::inject_interrupt(uint8_t vector) {
  int64_t r = sys::vcpu_inject(slot_, vector, static_cast<uint64_t>(vm::EventType::external_interrupt), 0);
  if (r < 0) return sys_error("vcpu_inject(interrupt)", r, vector);
  return {};
}

Status Vcpu::inject_exception(uint8_t vector, uint32_t error_code) {
  int64_t r = sys::vcpu_inject(slot_, vector, static_cast<uint64_t>(vm::EventType::exception), error_code);
  if (r < 0) return sys_error("vcpu_inject(exception)", r, vector);
  return {};
}

Status Vcpu::inject_nmi() {
  int64_t r = sys::vcpu_inject(slot_, 2, static_cast<uint64_t>(vm::EventType::nmi), 0);
  if (r < 0) return sys_error("vcpu_inject(nmi)", r, 2);
  return {};
}

Status Vcpu::destroy() {
  if (!slot_) return make_error(Errc::not_created, "Vcpu::destroy");
  Env* env = vm_->env();
  Status result;
  int64_t r = sys::cap_delete(slot_);
  if (r < 0) result = sys_error("cap_delete(vcpu)", r);
  env->slots.free(slot_);
  if (own_rcv_) {
    r = sys::cap_delete(rcv_);
    if (r < 0 && result) result = sys_error("cap_delete(rcv)", r);
    env->slots.free(rcv_);
  }
  env->unmap_window(hva_, 1);
  r = sys::cap_delete(frame_);
  if (r < 0 && result) result = sys_error("cap_delete(state frame)", r);
  env->slots.free(frame_);
  slot_ = rcv_ = frame_ = hva_ = 0;
  attach(nullptr, nullptr);
  vm_ = nullptr;
  return result;
}

}  // namespace vmrt
