// The capabilities a component gets: a sinv gate per dependency, then exactly
// what its composition script grants. Nothing else goes into its table.
#include <stdarg.h>

#include "booter/booter.hpp"
#include "cos/kernel_hardware.h"
#include "fmt/format.hpp"

namespace booter {
namespace {

using cos::boot::CompInfo;

// Copies the booter's capability in `src` to the next slot of the component's
// table, with all rights; the slot is stored in `slot`.
bool give(Build& b, uint64_t src, uint64_t& slot, const char* what) {
  return give_rights(b, src, Rights::all, slot, what);
}

// Makes a capability in a temporary booter slot with `make(tmp)`, gives a
// copy to the component and deletes the booter's (the copy is re-attached to
// the booter capability it was derived from).
template <typename F>
bool give_new(Build& b, uint64_t& slot, const char* what, F make) {
  uint64_t tmp = new_slot();
  if (tmp == 0) return b.fail(0, "the booter's capability table is full");
  int64_t r = make(tmp);
  bool ok = r == 0 ? give(b, tmp, slot, what) : b.fail(r, "creating %s", what);
  free_slot(tmp);
  return ok;
}

bool grant_untyped(Build& b, CompInfo& info) {
  if (b.cv.untyped_bytes == 0) return true;
  char what[48];
  cos::fmt::snformat(what, sizeof(what), "%lu KiB of untyped memory", b.cv.untyped_bytes / 1024);
  // retype(untyped) takes one header page beyond the pages it hands over.
  if (!give_new(b, info.untyped_slot, what,
                [&](uint64_t tmp) { return retype_any(tmp, ObjType::untyped, b.cv.untyped_bytes / kPage); }))
    return false;
  info.untyped_bytes = b.cv.untyped_bytes;
  return true;
}

bool grant_own_objects(Build& b, CompInfo& info) {
  uint32_t caps = b.cv.caps_mask;
  if ((caps & cos::manifest::kCapCaptbl) && !give(b, b.ct, info.captbl_slot, "its capability table")) return false;
  if ((caps & cos::manifest::kCapPgtbl) && !give(b, b.pt, info.pgtbl_slot, "its page table")) return false;
  if ((caps & cos::manifest::kCapComp) && !give(b, b.comp, info.comp_slot, "its component capability"))
    return false;
  return true;
}

bool grant_ioports(Build& b, CompInfo& info) {
  if (b.cv.ioport_count > cos::boot::kMaxIoports)
    return b.fail(0, "%u I/O-port ranges, its info page holds %u", b.cv.ioport_count, cos::boot::kMaxIoports);
  for (uint32_t j = 0; j < b.cv.ioport_count; ++j) {
    cos::manifest::IoPortRange io = b.m.ioport(b.index, j);
    char what[48];
    cos::fmt::snformat(what, sizeof(what), "I/O ports 0x%x-0x%x", io.first, io.first + io.count - 1);
    if (const CosKernelPorts* k = cos_kernel_ports_overlap(io.first, io.count))
      return b.fail(0, "%s overlap %s: the kernel drives them", what, k->what);
    CompInfo::IoPorts& e = info.ioports[j];
    if (!give_new(b, e.slot, what,
                  [&](uint64_t tmp) { return sys::hw_derive(cos::boot::kSlotIoports, tmp, io.first, io.count); }))
      return false;
    e.first = io.first;
    e.count = io.count;
    info.ioport_count = j + 1;
  }
  return true;
}

bool grant_irqs(Build& b, CompInfo& info) {
  constexpr uint32_t kMaxIrqs = sizeof(info.irqs) / sizeof(info.irqs[0]);
  if (b.cv.irq_count > kMaxIrqs) return b.fail(0, "%u IRQ lines, its info page holds %u", b.cv.irq_count, kMaxIrqs);
  for (uint32_t j = 0; j < b.cv.irq_count; ++j) {
    uint32_t line = b.m.irq(b.index, j);
    char what[24];
    cos::fmt::snformat(what, sizeof(what), "IRQ line %u", line);
    if (cos_kernel_irq(line)) return b.fail(0, "%s is the kernel's", what);
    CompInfo::Irq& e = info.irqs[j];
    if (!give_new(b, e.slot, what, [&](uint64_t tmp) { return sys::hw_derive(cos::boot::kSlotIrqs, tmp, line, 1); }))
      return false;
    e.line = line;
    info.irq_count = j + 1;
  }
  return true;
}

// Appends formatted text to a fixed buffer (truncating at its end).
struct Line {
  char buf[256];
  size_t n = 0;
  void add(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    va_list ap;
    va_start(ap, fmt);
    size_t len = cos::fmt::vsnformat(buf + n, sizeof(buf) - n, fmt, ap);
    va_end(ap);
    n = n + len < sizeof(buf) - 1 ? n + len : sizeof(buf) - 1;
  }
};

}  // namespace

bool give_rights(Build& b, uint64_t src, uint64_t rights, uint64_t& slot, const char* what) {
  uint64_t dst = 0;
  if (!b.take_child_slot(dst)) return false;
  int64_t r = sys::cap_copy(b.ct, dst, src, rights);
  if (r != 0) return b.fail(r, "granting %s", what);
  slot = dst;
  return true;
}

bool grant_deps(Build& b, CompInfo& info) {
  if (b.cv.dep_count > cos::boot::kMaxDeps)
    return b.fail(0, "%u dependencies, its info page holds %u", b.cv.dep_count, cos::boot::kMaxDeps);
  for (uint32_t j = 0; j < b.cv.dep_count; ++j) {
    cos::manifest::DepView d = b.m.dep(b.index, j);
    cos::manifest::ComponentView server = b.m.component(d.server);
    uint64_t server_comp = built_comp(d.server);
    if (server_comp == 0)
      return b.fail(0, "'%s', the server of its dependency '%s', was not built", server.name.data,
                    d.interface.data);
    char what[48];
    cos::fmt::snformat(what, sizeof(what), "a sinv gate for '%s'", d.interface.data);
    uint64_t slot = 0;
    if (!give_new(b, slot, what, [&](uint64_t tmp) {
          return with_untyped(
              [&](uint64_t ut) { return sys::sinv_create(ut, tmp, server_comp, server.sinv_entry, d.token); });
        }))
      return false;
    cos::fmt::snformat(info.deps[j].interface, sizeof(info.deps[j].interface), "%s", d.interface.data);
    info.deps[j].slot = slot;
    info.dep_count = j + 1;
  }
  return true;
}

bool grant_script(Build& b, CompInfo& info) {
  if (!grant_untyped(b, info) || !grant_own_objects(b, info) || !grant_ioports(b, info) || !grant_irqs(b, info))
    return false;
  if (b.cv.timer && !give(b, cos::boot::kSlotTimer, info.timer_slot, "the timer")) return false;
  if (b.cv.console && !give(b, cos::boot::kSlotConsole, info.console_slot, "console input")) return false;
  if (!grant_channels(b, info)) return false;
  info.first_free_slot = b.next_slot;
  return true;
}

void print_grants(const CompInfo& info) {
  Line l;
  const char* sep = "";
  if (info.untyped_slot) {
    l.add("untyped %lu KiB", info.untyped_bytes / 1024);
    sep = ", ";
  }
  if (info.captbl_slot || info.pgtbl_slot || info.comp_slot) {
    l.add("%scaps", sep);
    const char* plus = " ";
    if (info.captbl_slot) l.add("%scaptbl", plus), plus = "+";
    if (info.pgtbl_slot) l.add("%spgtbl", plus), plus = "+";
    if (info.comp_slot) l.add("%scomp", plus);
    sep = ", ";
  }
  if (info.ioport_count) {
    l.add("%sioports", sep);
    for (uint32_t j = 0; j < info.ioport_count; ++j) {
      const CompInfo::IoPorts& io = info.ioports[j];
      if (io.count == 1)
        l.add(" 0x%x", io.first);
      else
        l.add(" 0x%x-0x%x", io.first, io.first + io.count - 1);
    }
    sep = ", ";
  }
  if (info.irq_count) {
    l.add("%sirqs", sep);
    for (uint32_t j = 0; j < info.irq_count; ++j) l.add(" %u", info.irqs[j].line);
    sep = ", ";
  }
  if (info.timer_slot) l.add("%stimer", sep), sep = ", ";
  if (info.console_slot) l.add("%sconsole", sep);
  if (l.n == 0) l.add("none");
  cos::printf("booter:   grants: %s (first free slot %lu)\n", l.buf, info.first_free_slot);
}

}  // namespace booter
