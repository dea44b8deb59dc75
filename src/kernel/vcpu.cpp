// vCPU objects: creation (synchronous or with their own thread), event
// injection and destruction. Running them is kernel/vcpu_run.cpp.
#include "kernel/kernel.hpp"
#include "kernel/platform.hpp"
#include "kernel/syscalls.hpp"

namespace cos {
namespace {

uint32_t g_next_vcpu_id;

}  // namespace

Error vcpu_make_event(uint64_t vector, vm::EventType type, uint32_t error_code, PendingEvent& ev) {
  if (vector > 255) return Error::bad_argument;
  ev = PendingEvent{true, static_cast<uint8_t>(vector), type, false, error_code};
  switch (type) {
    case vm::EventType::external_interrupt:
      return vector >= 16 ? Error::ok : Error::bad_argument;
    case vm::EventType::exception:
      if (vector >= 32 || vector == 2) return Error::bad_argument;
      ev.has_error_code = platform::exception_has_error_code(static_cast<unsigned>(vector));
      return Error::ok;
    case vm::EventType::nmi:
      ev.vector = 2;
      return Error::ok;
    case vm::EventType::software_interrupt:
      return Error::ok;
    default:
      return Error::bad_argument;
  }
}

void vcpu_object_destroy(Vcpu* v) {
  if (Thread* th = v->thread) {
    thread_kill(th);
    th->guest = nullptr;
    obj_cap_dropped(th);  // the vCPU held its thread like a capability
    obj_unref(v->exit_ep);
  }
  platform::virt()->vcpu_destroy(v);
  platform::fpu_forget(v->fpu);
  frame_page_unmapped(v->state_pa);  // the state page was held like a mapping
  --v->vm->vcpus;
  obj_unref(v->vm);
  untyped_free(v->origin, v->control_pa, 1);
}

namespace sys {

int64_t vcpu_create(Thread* t, uint64_t ut_slot, uint64_t dest, uint64_t vm_slot, uint64_t frame_slot,
                    uint64_t rcv_slot, uint64_t prio) {
  const platform::VirtBackend* b = platform::virt();
  if (!b) return err(Error::no_virtualization);
  Vm* vm;
  Capability* fr;
  RcvEndpoint* exit_ep = nullptr;
  CreateTarget target;
  Error e = create_target(t, ut_slot, dest, target);
  if (e != Error::ok) return err(e);
  Untyped* ut = target.ut;
  if ((e = caps(t).get(vm_slot, Rights::write, vm)) != Error::ok) return err(e);
  if ((e = caps(t).get(frame_slot, ObjType::frame, fr, Rights::read | Rights::write)) != Error::ok) return err(e);
  if (rcv_slot != 0 && (e = caps(t).get(rcv_slot, Rights::write, exit_ep)) != Error::ok) return err(e);
  if (prio > 255 || (!exit_ep && prio != 0)) return err(Error::bad_argument);
  if (exit_ep && prio < t->current->priority_ceiling) return err(Error::above_ceiling);
  PageMeta* m = page_meta(fr->w0);
  if (!m || m->kind != PageKind::frame || m->maps == kMaxPageMaps) return err(Error::bad_argument);

  Vcpu* v;
  Thread* th = nullptr;
  uint64_t control;
  if ((e = obj_create(ut, ObjType::vcpu, 1, v)) != Error::ok) return err(e);
  if (exit_ep && (e = obj_create(ut, ObjType::thread, 1, th)) != Error::ok) {
    untyped_free(ut, v->pa, 1);
    return err(e);
  }
  auto undo = [&](Error why) {
    if (th) untyped_free(ut, th->pa, 1);
    untyped_free(ut, v->pa, 1);
    return err(why);
  };
  if ((e = untyped_alloc(ut, 1, 1, PageKind::kernel, control)) != Error::ok) return undo(e);
  v->vm = vm;
  v->thread = th;
  v->exit_ep = exit_ep;
  v->state_pa = fr->w0;
  v->state = static_cast<vm::StatePage*>(platform::phys_to_kernel(fr->w0));
  v->control_pa = control;
  v->run = VcpuRun::stopped;
  v->id = g_next_vcpu_id++;
  platform::fpu_init_area(v->fpu);
  if ((e = b->vcpu_init(v)) != Error::ok) {
    untyped_free(ut, control, 1);
    return undo(e);
  }
  if (th) {
    thread_init(th, t->current, 0, 0);
    th->guest = v;
    th->priority = static_cast<uint8_t>(prio);
    th->caps = 1;  // held by the vCPU, released in vcpu_object_destroy
    obj_ref(exit_ep);
  }
  frame_page_mapped(fr->w0);
  obj_ref(vm);
  ++vm->vcpus;

  vm::StatePage& s = *v->state;
  s = vm::StatePage{};
  s.magic = vm::kStateMagic;
  s.backend = b->id;
  s.vcpu_id = v->id;
  b->vcpu_save(v, s, vm::Load::all);

  install_object(target, ObjType::vcpu, v);
  return 0;
}

int64_t vcpu_inject(Thread* t, uint64_t vcpu_slot, uint64_t vector, uint64_t type, uint64_t error_code) {
  Vcpu* v;
  Error e = caps(t).get(vcpu_slot, Rights::write, v);
  if (e != Error::ok) return err(e);
  PendingEvent ev;
  if ((e = vcpu_make_event(vector, static_cast<vm::EventType>(type), static_cast<uint32_t>(error_code), ev)) != Error::ok)
    return err(e);
  PendingEvent& slot = ev.type == vm::EventType::external_interrupt ? v->pending_irq : v->pending_exc;
  if (slot.valid) return err(Error::event_pending);
  slot = ev;
  return 0;
}

}  // namespace sys
}  // namespace cos
