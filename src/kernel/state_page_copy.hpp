// The kernel's private copy of what a VMM asks vcpu_run / vcpu_resume to
// load from its vCPU state page. The page stays mapped in the VMM, whose
// other threads may write it while the kernel reads: everything the kernel
// checks and then loads must come from one read of the page, so the backends
// only ever see this copy. Only the groups in the load mask are copied (a
// registers-only load, the common exit answer, copies 144 bytes, not the
// whole page). Pure code: host-compiled for the unit tests.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cos/vm.hpp"

namespace cos {

namespace state_page_detail {

/// Copies the bytes [first, last + sizeof(last)) of `src` into `dst`.
template <typename Last>
inline void copy_span(vm::StatePage& dst, const vm::StatePage& src, size_t first, size_t last) {
  __builtin_memcpy(reinterpret_cast<uint8_t*>(&dst) + first, reinterpret_cast<const uint8_t*>(&src) + first,
                   last + sizeof(Last) - first);
}

}  // namespace state_page_detail

/// Copies the StatePage fields of the vm::Load groups in `mask` (and the
/// always-read `request`) from `src`, the VMM-shared page, into `dst`; the
/// other fields of `dst` are left as they are.
inline void copy_load_groups(vm::StatePage& dst, const vm::StatePage& src, uint64_t mask) {
  using vm::StatePage;
  using namespace state_page_detail;
  namespace L = vm::Load;
  if (mask & L::regs) dst.regs = src.regs;
  if (mask & L::cr) copy_span<uint64_t>(dst, src, offsetof(StatePage, cr0), offsetof(StatePage, dr7));
  if (mask & L::segments) copy_span<vm::Segment>(dst, src, offsetof(StatePage, es), offsetof(StatePage, ldtr));
  if (mask & L::dtables) copy_span<vm::DescriptorTable>(dst, src, offsetof(StatePage, gdtr), offsetof(StatePage, idtr));
  if (mask & L::syscall_msrs)
    copy_span<uint64_t>(dst, src, offsetof(StatePage, star), offsetof(StatePage, sysenter_eip));
  if (mask & L::inject) dst.inject = src.inject;
  if (mask & L::intercepts)
    copy_span<uint32_t>(dst, src, offsetof(StatePage, exception_bitmap), offsetof(StatePage, intercept_flags));
  if (mask & L::interruptibility) dst.interrupt_shadow = src.interrupt_shadow;
  dst.request = src.request;
}

}  // namespace cos
