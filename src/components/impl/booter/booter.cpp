// The booter: the first user-level component. It reads the boot manifest the
// composer wrote, builds every other component in manifest order (capability
// table, page table, ELF image, stack, heap, sinv gates for its dependencies,
// the capabilities its script grants, info page, main thread) and starts
// them. It grants a component nothing but what its composition script names.
// A component that cannot be built is reported and not started, nor is any
// component depending on it or sharing a channel with it; the rest of the
// system starts.
//
// Files: build.cpp (one component), grants.cpp (its capabilities),
// channels.cpp (shared memory and notifications between two components),
// slots.cpp (the booter's own slots and untyped memory), booter.hpp (shared).
#include "booter/booter.hpp"
#include "cos/exit_status.hpp"
#include "cos/kernel_hardware.h"
#include "fmt/format.hpp"

namespace {

/// The booter holds the capabilities to every I/O port and IRQ line; the
/// kernel must still refuse the ones it drives (cos/kernel_hardware.h).
/// Checked at every boot, so the line "the kernel's own hardware is out of
/// reach" in a boot log is a test result, not a claim.
bool kernel_hardware_out_of_reach() {
  using booter::sys::hw_derive;
  namespace boot = cos::boot;
  const int64_t owned = static_cast<int64_t>(cos::abi::Error::kernel_owned);
  bool ok = true;
  uint64_t tmp = booter::new_slot();
  for (const CosKernelPorts& r : kCosKernelPorts) {
    ok &= hw_derive(boot::kSlotIoports, tmp, r.first, r.count) == owned;
    ok &= booter::sys::ioport_in(boot::kSlotIoports, r.first, 1) == owned;
    ok &= booter::sys::ioport_out(boot::kSlotIoports, r.first + r.count - 1, 1, 0) == owned;
  }
  for (uint32_t line : kCosKernelIrqs) ok &= hw_derive(boot::kSlotIrqs, tmp, line, 1) == owned;
  ok &= hw_derive(boot::kSlotIoports, tmp, 0x3f0, 0x10) == owned;  // a range around one
  booter::free_slot(tmp);
  return ok;
}

// A built component must not start if the other end of one of its channels,
// or the server of one of its dependencies, was not built (or was taken
// back itself): repeated until nothing changes.
void take_back_orphans(const cos::manifest::Reader& m) {
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t i = 0; i < m.component_count(); ++i) {
      if (booter::built_thread(i) == 0) continue;
      char why[96] = "";
      uint32_t channel = 0, peer = 0;
      if (booter::channels_unbuilt_peer(m, i, channel, peer)) {
        const cos::manifest::Str p = m.component(peer).name;
        cos::fmt::snformat(why, sizeof(why), "'%.*s', the other end of its channel '%s', was not built",
                           static_cast<int>(p.size), p.data, m.channel(channel).name.data);
      }
      for (uint32_t j = 0; j < m.component(i).dep_count && why[0] == '\0'; ++j) {
        const cos::manifest::DepView d = m.dep(i, j);
        if (booter::built_comp(d.server) == 0)
          cos::fmt::snformat(why, sizeof(why), "'%s', the server of its dependency '%s', was not started",
                             m.component(d.server).name.data, d.interface.data);
      }
      if (why[0] != '\0') {
        booter::unbuild(m, i, why);
        changed = true;
      }
    }
  }
}

}  // namespace

int main() {
  using namespace booter;
  const cos::boot::BootInfo& bi = boot_info();
  if (bi.magic != cos::boot::kBootInfoMagic) cos::exit(cos::exit_status::kFailed, "no boot info from the kernel");
  init_slots();
  if (!kernel_hardware_out_of_reach()) {
    cos::printf("booter: FAIL: the kernel grants access to hardware it drives itself\n");
    cos::exit(cos::exit_status::kFailed, "the kernel grants access to hardware it drives itself");
  }
  cos::printf("booter: the kernel's own hardware is out of reach (I/O ports, IRQ lines)\n");
  const cos::boot::Module* mm = nullptr;
  for (uint32_t i = 0; i < bi.module_count; ++i)
    if (__builtin_strcmp(bi.modules[i].name, "manifest") == 0) mm = &bi.modules[i];
  if (!mm) cos::exit(cos::exit_status::kFailed, "no 'manifest' boot module");
  cos::manifest::Reader m;
  cos::manifest::Error e = cos::manifest::Reader::open(reinterpret_cast<const void*>(mm->vaddr), mm->size, m);
  if (e != cos::manifest::Error::ok)
    cos::exit(cos::exit_status::kFailed, "bad boot manifest: %s", cos::manifest::error_string(e));
  if (m.component_count() > kMaxComponents)
    cos::exit(cos::exit_status::kFailed, "too many components (%u)", m.component_count());
  cos::manifest::Str sysname = m.system_name();
  cos::printf("booter: system '%.*s', %u components\n", static_cast<int>(sysname.size), sysname.data,
              m.component_count());
  prepare_channels(m);
  for (uint32_t i = 0; i < m.component_count(); ++i)
    if (!m.component(i).constructed_by_kernel) build(m, i);
  take_back_orphans(m);
  release_channels();

  uint32_t started = 0, others = 0;
  for (uint32_t i = 0; i < m.component_count(); ++i) {
    cos::manifest::ComponentView cv = m.component(i);
    if (cv.constructed_by_kernel) continue;
    ++others;
    if (built_thread(i) == 0) continue;
    // `cpu`: placed before it starts (the composer checked the CPU exists).
    int64_t r = cv.cpu ? sys::thd_cpu(built_thread(i), cv.cpu) : 0;
    if (r == 0 && cv.cpu)
      cos::printf("booter: '%.*s' runs on CPU %u\n", static_cast<int>(cv.name.size), cv.name.data, cv.cpu);
    if (r == 0) r = sys::thd_start(built_thread(i), cos::boot::kStackTop, cv.priority);
    if (r != 0 && cv.essential)
      cos::exit(cos::exit_status::kFailed, "starting essential component '%.*s' failed (%s, error %ld)",
                static_cast<int>(cv.name.size), cv.name.data, error_name(r), static_cast<long>(r));
    if (r != 0)
      cos::printf("booter: starting '%.*s' failed (%s, error %ld)\n", static_cast<int>(cv.name.size), cv.name.data,
                  error_name(r), static_cast<long>(r));
    else
      ++started;
  }
  if (started == others)
    cos::printf("booter: all components started\n");
  else
    cos::printf("booter: %u of %u components started\n", started, others);
  return 0;
}
