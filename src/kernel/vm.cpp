// VM and vCPU objects, their system calls, and the guest run loop: exits the
// kernel must handle stay here; every other exit stops the vCPU and notifies
// the VMM's exit endpoint (exits are IPC).
#include "kernel/console.hpp"
#include "kernel/kernel.hpp"
#include "x86_64/machine.hpp"
#include "kernel/syscalls.hpp"
#include "x86_64/virt.hpp"

namespace cos {
namespace {

constexpr uint64_t kPage = 4096;
uint32_t g_next_vcpu_id;

Vcpu* vcpu_of(Thread* t) { return t->vcpu; }

}  // namespace

// --- objects -------------------------------------------------------------------

void vm_object_destroy(Vm* vm) {
  machine::guest_space_teardown(vm->root);
  virt::vm_destroy(vm);
}

void vcpu_thread_killed(Vcpu* v) { v->run = VcpuRun::stopped; }

void vcpu_object_destroy(Vcpu* v) {
  thread_kill(v->thread);
  v->thread->vcpu = nullptr;
  obj_cap_dropped(v->thread);  // the vCPU held the thread like a capability
  virt::vcpu_destroy(v);
  frame_page_unmapped(v->state_pa);  // the state page was held like a mapping
  obj_unref(v->exit_ep);
  --v->vm->vcpus;
  obj_unref(v->vm);
  untyped_free(v->origin, v->control_pa, 1);
}

// --- the guest run loop --------------------------------------------------------

void vcpu_thread_run(Thread* t) {
  Vcpu* v = vcpu_of(t);
  for (;;) {
    vm::Exit exit{};
    virt::ExitAction a = virt::vcpu_enter(v, exit);
    ++v->state->exits;
    if (a == virt::ExitAction::resume) continue;
    if (a == virt::ExitAction::host_interrupt) schedule(false);  // taken already; maybe switch (quantum via g_rotate_pending)
    // An exit for the VMM: publish it, stop, notify.
    virt::vcpu_save(v, *v->state, v->state->save_mask);
    v->state->exit = exit;
    v->state->exit_pending = 1;
    v->state->irq_pending = v->pending_irq.valid ? 1 : 0;
    v->run = VcpuRun::stopped;
    t->state = ThreadState::stopped;
    --g_live_threads;  // a stopped vCPU waits for its VMM, which is live itself
    g_current = nullptr;
    rcv_notify(v->exit_ep);
    schedule(false);
  }
}

// --- system calls --------------------------------------------------------------

namespace sys {

int64_t vm_create(Thread*, Untyped* ut, Capability& made) {
  if (virt::backend() == virt::Backend::none) return err(Error::no_virtualization);
  Vm* vm;
  Error e = obj_create(ut, ObjType::vm, 2, vm);
  if (e != Error::ok) return err(e);
  vm->root = vm->pa + kPage;
  if ((e = virt::vm_init(vm)) != Error::ok) {
    untyped_free(ut, vm->pa, 2);
    return err(e);
  }
  made.type = static_cast<uint8_t>(ObjType::vm);
  made.w0 = reinterpret_cast<uint64_t>(vm);
  return 0;
}

int64_t vm_map(Thread* t, uint64_t vm_slot, uint64_t gpa, uint64_t frame_slot, uint64_t index,
               uint64_t rights, uint64_t ut_slot) {
  Capability* vc;
  MapSource src;
  Error e = caps(t).get(vm_slot, ObjType::vm, vc, Rights::write);
  if (e == Error::ok) e = frame_page_for_map(t, frame_slot, index, rights, ut_slot, src);
  if (e == Error::ok && (gpa >= abi::kGuestPhysTop || (gpa & (kPage - 1)))) e = Error::bad_address;
  if (e != Error::ok) return err(e);
  e = machine::map_guest_page(reinterpret_cast<Vm*>(vc->w0)->root, gpa, src.pa, rights, src.ut);
  if (e == Error::ok) ++src.meta->maps;
  return err(e);
}

int64_t vm_unmap(Thread* t, uint64_t vm_slot, uint64_t gpa) {
  Capability* vc;
  Error e = caps(t).get(vm_slot, ObjType::vm, vc, Rights::write);
  if (e != Error::ok) return err(e);
  if (gpa >= abi::kGuestPhysTop || (gpa & (kPage - 1))) return err(Error::bad_address);
  auto* vm = reinterpret_cast<Vm*>(vc->w0);
  uint64_t pa;
  e = machine::unmap_guest_page(vm->root, gpa, pa);
  if (e != Error::ok) return err(e);
  vm->flush_pending = true;
  frame_page_unmapped(pa);
  return 0;
}

int64_t vcpu_create(Thread* t, uint64_t ut_slot, uint64_t dest, uint64_t vm_slot, uint64_t frame_slot,
                    uint64_t rcv_slot, uint64_t prio) {
  if (virt::backend() == virt::Backend::none) return err(Error::no_virtualization);
  Capability *vc, *fr, *rc;
  CreateTarget target;
  Error e = create_target(t, ut_slot, dest, target);
  if (e != Error::ok) return err(e);
  Untyped* ut = target.ut;
  if ((e = caps(t).get(vm_slot, ObjType::vm, vc, Rights::write)) != Error::ok) return err(e);
  if ((e = caps(t).get(frame_slot, ObjType::frame, fr, Rights::read | Rights::write)) != Error::ok) return err(e);
  if ((e = caps(t).get(rcv_slot, ObjType::rcv, rc, Rights::write)) != Error::ok) return err(e);
  if (prio > 255) return err(Error::bad_argument);
  PageMeta* m = page_meta(fr->w0);
  if (!m || m->kind != PageKind::frame || m->maps == 0xffff) return err(Error::bad_argument);

  Vcpu* v;
  Thread* th;
  uint64_t control;
  if ((e = obj_create(ut, ObjType::vcpu, 1, v)) != Error::ok) return err(e);
  if ((e = obj_create(ut, ObjType::thread, 1, th)) != Error::ok) {
    untyped_free(ut, v->pa, 1);
    return err(e);
  }
  if ((e = untyped_alloc(ut, 1, 1, PageKind::kernel, control)) != Error::ok) {
    untyped_free(ut, th->pa, 1);
    untyped_free(ut, v->pa, 1);
    return err(e);
  }
  v->vm = reinterpret_cast<Vm*>(vc->w0);
  v->thread = th;
  v->exit_ep = reinterpret_cast<RcvEndpoint*>(rc->w0);
  v->state_pa = fr->w0;
  v->state = static_cast<vm::StatePage*>(machine::phys_to_kernel(fr->w0));
  v->control_pa = control;
  v->run = VcpuRun::stopped;
  v->id = g_next_vcpu_id++;
  if ((e = virt::vcpu_init(v)) != Error::ok) {
    untyped_free(ut, control, 1);
    untyped_free(ut, th->pa, 1);
    untyped_free(ut, v->pa, 1);
    return err(e);
  }
  thread_init(th, t->current, 0, 0);
  th->vcpu = v;
  th->priority = static_cast<uint8_t>(prio);
  th->caps = 1;  // held by the vCPU, released in vcpu_object_destroy
  ++m->maps;
  obj_ref(v->exit_ep);
  obj_ref(v->vm);
  ++v->vm->vcpus;

  vm::StatePage& s = *v->state;
  s = vm::StatePage{};
  s.magic = vm::kStateMagic;
  s.backend = static_cast<uint32_t>(virt::backend());
  s.vcpu_id = v->id;
  virt::vcpu_save(v, s, vm::Load::all);

  install_object(target, ObjType::vcpu, v);
  return 0;
}

int64_t vcpu_run(Thread* t, uint64_t vcpu_slot, uint64_t mask) {
  Capability* vc;
  Error e = caps(t).get(vcpu_slot, ObjType::vcpu, vc, Rights::write);
  if (e != Error::ok) return err(e);
  auto* v = reinterpret_cast<Vcpu*>(vc->w0);
  Thread* th = v->thread;
  if (th->state == ThreadState::dead) return err(Error::comp_dead);
  if (v->run != VcpuRun::stopped) return err(Error::vcpu_running);
  if ((e = virt::vcpu_load(v, *v->state, mask & vm::Load::all)) != Error::ok) return err(e);
  v->window_requested_by_vmm = (v->state->request & vm::Request::interrupt_window) != 0;
  v->state->exit_pending = 0;
  v->run = VcpuRun::runnable;
  if (th->state == ThreadState::created) {
    thread_start(th, 0, th->priority);
  } else {
    ++g_live_threads;
    thread_make_ready(th);
  }
  return 0;
}

int64_t vcpu_inject(Thread* t, uint64_t vcpu_slot, uint64_t vector, uint64_t type, uint64_t error_code) {
  Capability* vc;
  Error e = caps(t).get(vcpu_slot, ObjType::vcpu, vc, Rights::write);
  if (e != Error::ok) return err(e);
  auto* v = reinterpret_cast<Vcpu*>(vc->w0);
  auto et = static_cast<vm::EventType>(type);
  if (vector > 255) return err(Error::bad_argument);
  PendingEvent ev{true, static_cast<uint8_t>(vector), et, false, static_cast<uint32_t>(error_code)};
  switch (et) {
    case vm::EventType::external_interrupt:
      if (vector < 16) return err(Error::bad_argument);
      if (v->pending_irq.valid) return err(Error::event_pending);
      v->pending_irq = ev;
      return 0;
    case vm::EventType::exception:
      if (vector >= 32) return err(Error::bad_argument);
      // Exceptions with an error code (Intel SDM Vol. 3A, table 6-1).
      ev.has_error_code = vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21;
      break;
    case vm::EventType::nmi:
      ev.vector = 2;
      break;
    case vm::EventType::software_interrupt:
      break;
    default:
      return err(Error::bad_argument);
  }
  if (v->pending_exc.valid) return err(Error::event_pending);
  v->pending_exc = ev;
  return 0;
}

}  // namespace sys
}  // namespace cos
