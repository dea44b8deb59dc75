#include "composer/manifest_builder.hpp"

#include "cos/abi.hpp"
#include "cos/compinfo.hpp"
#include "cos/guest_boot.hpp"
#include "cos/guest_modules.hpp"
#include "composer/grant_limits.hpp"
#include "manifest/format.hpp"

#include <map>

namespace composer {

// The hardware facts of grant_limits.hpp must match the kernel's ABI and the
// manifest; the limits themselves come from cos/limits.hpp, which the info
// pages are defined from.
static_assert(max_deps == cos::boot::kMaxDeps);
static_assert(max_ioport_ranges == cos::boot::kMaxIoports);
static_assert(irq_lines == cos::abi::kIrqLines && irq_lines == cos::manifest::format::irq_lines);
static_assert(irq_cascade == cos::manifest::format::irq_cascade);
static_assert(io_ports == cos::manifest::format::ioport_limit);
static_assert(max_guest_cmdline_bytes + 1 == cos::boot::kGuestCmdlineBytes);
static_assert(max_bootloader_bytes == cos::guest::kBootloaderMaxBytes);
static_assert(max_guest_modules == cos::guest::kMaxModules);
static_assert(max_guest_cmdline_bytes == cos::guest::kModuleCmdlineMaxBytes);
static_assert(cos::boot::kGuestLinux == cos::manifest::format::guest_kind_linux &&
              cos::boot::kGuestMultiboot == cos::manifest::format::guest_kind_multiboot);
static_assert(guest_kernel_file_gpa == cos::guest::kKernelFileGpa);
static_assert(guest_kernel32_gpa == cos::guest::kKernel32Gpa);
static_assert(cap_captbl == cos::manifest::kCapCaptbl && cap_pgtbl == cos::manifest::kCapPgtbl &&
              cap_comp == cos::manifest::kCapComp);

cos::manifest::System build_manifest(const Script& script, const std::vector<std::vector<ResolvedDep>>& deps,
                                     const ImageSet& images, const GuestSet& guests,
                                     const std::vector<size_t>& order) {
  std::vector<uint32_t> position(script.components.size());
  for (size_t k = 0; k < order.size(); ++k) position[order[k]] = uint32_t(k);

  cos::manifest::System sys;
  sys.name = script.name;
  for (size_t i : order) {
    const ComponentSpec& c = script.components[i];
    cos::manifest::Component m;
    m.name = c.name;
    m.image = images.files[images.file_of[i]].file_name;
    m.priority = c.priority;
    m.priority_ceiling = c.priority_ceiling;
    m.cpu = c.cpu;
    m.heap_bytes = c.heap_bytes;
    m.stack_bytes = c.stack_bytes;
    m.sinv_entry = images.sinv_entry[i];
    m.constructed_by_kernel = c.constructed_by_kernel;
    m.essential = c.essential();
    m.implements = c.implements;
    for (const ResolvedDep& d : deps[i]) m.deps.push_back(cos::manifest::Dep{d.interface, position[d.server], d.token});
    for (const ParamSpec& p : c.params) m.params.push_back(cos::manifest::Param{p.key, p.value});
    m.untyped_bytes = c.untyped_bytes;
    m.caps_mask = c.caps_mask;
    m.timer = c.timer;
    m.console = c.console;
    for (const IoPortSpec& io : c.ioports) m.ioports.push_back(cos::manifest::IoPortRange{io.first, io.count});
    for (const IrqSpec& irq : c.irqs) m.irqs.push_back(irq.line);
    if (c.guest) {
      m.guest_ram_bytes = c.guest->ram_bytes;
      m.guest_cmdline = c.guest->cmdline;
      m.guest_kind = c.guest->kind == GuestKind::multiboot ? cos::manifest::format::guest_kind_multiboot
                                                            : cos::manifest::format::guest_kind_linux;
      m.guest_debug_exit = c.guest->exit_status == GuestExitStatus::debug_exit;
    }
    for (const GuestFile& f : guests.files[i])
      m.blobs.push_back(cos::manifest::Blob{f.blob, f.module, f.writable});
    sys.components.push_back(std::move(m));
  }
  std::map<std::string, uint32_t> index;
  for (size_t i = 0; i < script.components.size(); ++i) index[script.components[i].name] = position[i];
  for (const ChannelSpec& ch : script.channels)
    sys.channels.push_back(cos::manifest::Channel{ch.name, {index.at(ch.ends[0]), index.at(ch.ends[1])}, ch.bytes});
  return sys;
}

}  // namespace composer
