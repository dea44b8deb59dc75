// VM objects: a guest-physical address space (EPT / NPT root) and the calls
// that map frames into it (vm_create is retype(ObjType::vm)).
#include "kernel/kernel.hpp"
#include "kernel/platform.hpp"
#include "kernel/syscalls.hpp"

namespace cos {
namespace {
constexpr uint64_t kPage = 4096;

bool bad_gpa(uint64_t gpa) { return gpa >= abi::kGuestPhysTop || (gpa & (kPage - 1)); }
}  // namespace

bool vm_object_teardown(Vm* vm, WorkBudget& budget) {
  if (!platform::guest_space_teardown(vm->root, vm->reap_cursor, budget)) return false;
  platform::virt()->vm_destroy(vm);
  return true;
}

namespace sys {

int64_t vm_create(Thread*, Untyped* ut, Capability& made) {
  const platform::VirtBackend* b = platform::virt();
  if (!b) return err(Error::no_virtualization);
  Vm* vm;
  Error e = obj_create(ut, ObjType::vm, 2, vm);
  if (e != Error::ok) return err(e);
  vm->root = vm->pa + kPage;
  if ((e = b->vm_init(vm)) != Error::ok) {
    untyped_free(ut, vm->pa, 2);
    return err(e);
  }
  made.type = static_cast<uint8_t>(ObjType::vm);
  made.w0 = reinterpret_cast<uint64_t>(vm);
  return 0;
}

// The 512 frame pages of a 2 MiB mapping at src (kVmMapLarge), checked
// before anything changes: the frame holds them, they are 2 MiB aligned in
// host memory, and each can take one more mapping.
Error large_source_ok(const MapSource& src) {
  if (src.pages_from_pa < abi::kLargePagePages) return Error::bad_argument;
  if (src.pa & (abi::kLargePageBytes - 1)) return Error::unaligned;
  for (uint64_t i = 0; i < abi::kLargePagePages; ++i)
    if (page_meta(src.pa + i * kPage)->maps == kMaxPageMaps) return Error::bad_argument;
  return Error::ok;
}

int64_t vm_map(Thread* t, uint64_t vm_slot, uint64_t gpa, uint64_t frame_slot, uint64_t index,
               uint64_t rights, uint64_t ut_slot) {
  const bool large = (rights & abi::kVmMapLarge) != 0;
  rights &= ~abi::kVmMapLarge;
  Vm* vm;
  MapSource src;
  Error e = caps(t).get(vm_slot, Rights::write, vm);
  if (e == Error::ok) e = frame_page_for_map(t, frame_slot, index, rights, ut_slot, src);
  if (e == Error::ok && (bad_gpa(gpa) || (large && (gpa & (abi::kLargePageBytes - 1))))) e = Error::bad_address;
  if (e == Error::ok && large) e = large_source_ok(src);
  if (e != Error::ok) return err(e);
  if (!large) {
    e = platform::map_guest_page(vm->root, gpa, src.pa, rights, src.ut);
    if (e == Error::ok) frame_page_mapped(src.pa);
    return err(e);
  }
  e = platform::map_guest_large(vm->root, gpa, src.pa, rights, src.ut);
  if (e == Error::ok)
    for (uint64_t i = 0; i < abi::kLargePagePages; ++i) frame_page_mapped(src.pa + i * kPage);
  return err(e);
}

int64_t vm_unmap(Thread* t, uint64_t vm_slot, uint64_t gpa) {
  Vm* vm;
  Error e = caps(t).get(vm_slot, Rights::write, vm);
  if (e != Error::ok) return err(e);
  if (bad_gpa(gpa)) return err(Error::bad_address);
  uint64_t pa, pages;
  if ((e = platform::unmap_guest_page(vm->root, gpa, pa, pages)) != Error::ok) return err(e);
  request_flush(vm);
  // A vCPU of this VM in its guest on another CPU may hold the translation:
  // out of the guest before the page can be reused (the flush happens at
  // its next entry).
  for (unsigned cpu = 0; cpu < platform::cpus_online(); ++cpu) {
    const Thread* c = g_cpu_local[cpu].current;
    if (cpu != platform::this_cpu() && c && c->guest && c->guest->vm == vm) {
      platform::cpus_sync(0);
      break;
    }
  }
  ++vm->unmaps;
  for (uint64_t i = 0; i < pages; ++i) frame_page_unmapped(pa + i * kPage);
  return static_cast<int64_t>(pages);
}

}  // namespace sys
}  // namespace cos
