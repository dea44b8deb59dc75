#include "composer/script_checks.hpp"

#include "composer/size.hpp"
#include "cos/limits.hpp"
#include "hypercall/routes.hpp"

#include <map>
#include <string>
#include <utility>

namespace composer {

void check_components(const Script& script) {
  if (script.components.empty())
    fail(script.system_pos, "the script declares no components (add [[component]] tables)");

  std::map<std::string, const ComponentSpec*> by_name;
  for (const ComponentSpec& c : script.components) {
    const auto [it, fresh] = by_name.emplace(c.name, &c);
    if (!fresh)
      fail(c.name_pos, "duplicate component name '" + c.name + "' (first defined at " +
                           it->second->name_pos.line_col() + ")");
  }

  const ComponentSpec* kernel_built = nullptr;
  for (const ComponentSpec& c : script.components) {
    if (!c.constructed_by_kernel) continue;
    if (kernel_built != nullptr)
      fail(c.constructor_pos, "component '" + c.name + "' has constructor = \"kernel\", but so does '" +
                                  kernel_built->name + "' (at " + kernel_built->constructor_pos.line_col() +
                                  "); exactly one component (the booter) is constructed by the kernel");
    kernel_built = &c;
  }
  if (kernel_built == nullptr)
    fail(script.components.front().pos,
         "no component has constructor = \"kernel\"; exactly one component (the booter) must");
  if (!kernel_built->deps.empty())
    fail(kernel_built->deps.front().pos, "the kernel-constructed component '" + kernel_built->name +
                                             "' cannot have dependencies (it is constructed first)");
  if (kernel_built->first_grant_key)
    fail(*kernel_built->first_grant_key, "the kernel-constructed component '" + kernel_built->name +
                                             "' cannot be granted '" + kernel_built->first_grant_key_name +
                                             "' (the kernel gives it every initial capability)");

  if (kernel_built->essential_key == false)
    fail(kernel_built->essential_pos, "the kernel-constructed component '" + kernel_built->name +
                                          "' is always essential (the system cannot run without it)");

  if (kernel_built->cpu != 0)
    fail(kernel_built->cpu_pos, "the kernel-constructed component '" + kernel_built->name +
                                    "' starts on CPU 0 (the kernel builds it there); 'cpu' is for the others");

  if (kernel_built->guest)
    fail(kernel_built->guest_key_pos, "the kernel-constructed component '" + kernel_built->name +
                                          "' cannot have a guest (only a VMM component can)");

  // `cpu`: the system must have that CPU (the booter's thd_cpu would fail).
  for (const ComponentSpec& c : script.components)
    if (c.cpu >= script.cpus)
      fail(c.cpu_pos, "component '" + c.name + "' has cpu = " + std::to_string(c.cpu) + ", but the system has " +
                          std::to_string(script.cpus) + " CPU" + (script.cpus == 1 ? "" : "s") +
                          " ([system] cpus; CPUs are numbered from 0)");

  for (const ComponentSpec& c : script.components) {
    if (!c.guest) continue;
    // Its guest files are boot modules "<name>.guest.bootloader" etc., whose
    // names the kernel keeps up to 47 bytes.
    if (c.name.size() > cos_limits::kMaxGuestComponentNameBytes)
      fail(c.name_pos, "component name '" + c.name + "' is " + std::to_string(c.name.size()) +
                           " characters; a component with a guest may have at most " +
                           std::to_string(cos_limits::kMaxGuestComponentNameBytes) + " (its boot module '" + c.name +
                           ".guest.bootloader' must fit in " + std::to_string(cos_limits::kMaxModuleNameBytes) +
                           " bytes)");
    if (c.guest->exit_status == GuestExitStatus::debug_exit && !c.essential())
      fail(c.guest->exit_status_pos, "exit_status = \"debug-exit\" needs an essential VMM, but component '" + c.name +
                                         "' has essential = false (at " + c.essential_pos.line_col() +
                                         "): only an essential component's exit status ends the run");
    // `vcpus`: how many vCPUs simple_vmm gives the guest (docs/simple_vmm.md).
    for (const ParamSpec& p : c.params) {
      if (p.key != "vcpus") continue;
      bool digits = !p.value.empty() && p.value.size() <= 3;
      for (char ch : p.value) digits = digits && ch >= '0' && ch <= '9';
      const int n = digits ? std::stoi(p.value) : 0;
      if (n < 1 || n > static_cast<int>(cos_limits::kMaxGuestVcpus)) {
        SourcePos at = p.value_pos;
        fail(at, "parameter 'vcpus' is \"" + p.value + "\"; a guest has 1 to " +
                     std::to_string(cos_limits::kMaxGuestVcpus) + " vCPUs");
      }
    }
    // `hypercalls` routes guest hypercalls to dependencies (docs/hypercalls.md).
    for (const ParamSpec& p : c.params) {
      if (p.key != "hypercalls") continue;
      cos::hypercall::Routes routes;
      const cos::hypercall::ParseError e = cos::hypercall::parse_routes(p.value.data(), p.value.size(), routes);
      SourcePos at = p.value_pos;
      if (e.message) {
        at.column += 1 + static_cast<uint32_t>(e.offset);  // past the opening quote
        fail(at, std::string("parameter 'hypercalls': ") + e.message);
      }
      for (unsigned r = 0; r < routes.count; ++r) {
        const std::string iface = routes.route[r].interface;
        bool found = false;
        for (const DepSpec& d : c.deps) found = found || d.interface == iface;
        if (!found)
          fail(p.value_pos, "parameter 'hypercalls' routes hypercall " + std::to_string(routes.route[r].number) +
                                " to interface '" + iface + "', but component '" + c.name +
                                "' does not depend on it (add \"" + iface + "\" to its deps)");
      }
    }
    // A guest's RAM, and the VMM's tables and objects for it, come out of
    // the VMM's untyped memory.
    const uint64_t needed = cos_limits::guest_untyped_needed(c.guest->ram_bytes);
    if (c.untyped_bytes < needed)
      fail(c.guest->ram_pos, "component '" + c.name + "' runs a guest with " + format_size(c.guest->ram_bytes) +
                                 " of RAM but is granted " +
                                 (c.untyped_bytes == 0 ? std::string("no untyped memory")
                                                       : format_size(c.untyped_bytes) + " of untyped memory") +
                                 " (guest RAM is made from the VMM's 'untyped' grant, which must also hold the "
                                 "VMM's page tables and VM objects for it: at least " +
                                 format_size((needed + 4095) / 4096 * 4096) + ")");
    // That grant comes from one contiguous range of the machine's RAM.
    const uint64_t run = cos_limits::largest_host_ram_run(script.memory_bytes);
    if (c.untyped_bytes > run)
      fail(c.guest->ram_pos, "component '" + c.name + "' runs a guest with " + format_size(c.guest->ram_bytes) +
                                 " of RAM from " + format_size(c.untyped_bytes) +
                                 " of untyped memory, but with [system] memory = " + format_size(script.memory_bytes) +
                                 " the largest contiguous host RAM is below " + format_size(run / 4096 * 4096) +
                                 " (QEMU's pc machine: 3 GiB below 4 GiB, the rest from 4 GiB, less the kernel's page "
                                 "metadata); raise [system] memory (to about 3G more than the grant above 3G)");
  }

  // Files: blobs "file.<name>" after the guest's, boot modules
  // "<component>.file.<name>" whose names the kernel keeps up to 47 bytes.
  for (const ComponentSpec& c : script.components) {
    const size_t guest_blobs =
        !c.guest ? 0 : c.guest->kind == GuestKind::linux ? cos_limits::kGuestBlobs : (c.guest->modules.empty() ? 1 : 2);
    for (size_t k = 0; k < c.files.size(); ++k) {
      const FileSpec& f = c.files[k];
      if (c.constructed_by_kernel)
        fail(c.files_pos, "the kernel-constructed component '" + c.name + "' cannot have 'files' (the booter copies "
                          "files into the components it builds)");
      const std::string module = c.name + ".file." + f.name;
      if (module.size() > cos_limits::kMaxModuleNameBytes)
        fail(f.name_pos, "the boot module of this file, '" + module + "', is " + std::to_string(module.size()) +
                             " bytes; the kernel keeps module names up to " +
                             std::to_string(cos_limits::kMaxModuleNameBytes) + " (shorten the component or file name)");
      if (guest_blobs + k + 1 > cos_limits::kMaxBlobs)
        fail(f.pos, "component '" + c.name + "' would get " + std::to_string(guest_blobs + c.files.size()) +
                        " blobs (" + std::to_string(guest_blobs) + " of its guest, " + std::to_string(c.files.size()) +
                        " files); its info page holds " + std::to_string(cos_limits::kMaxBlobs));
    }
  }

  // Channels: two distinct components other than the booter, unique names,
  // at most kMaxChannels per component.
  std::map<std::string, const ChannelSpec*> channel_names;
  std::map<std::string, size_t> channels_of;
  for (const ChannelSpec& ch : script.channels) {
    const auto [it, fresh] = channel_names.emplace(ch.name, &ch);
    if (!fresh)
      fail(ch.name_pos, "duplicate channel name '" + ch.name + "' (first defined at " +
                            it->second->name_pos.line_col() + ")");
    for (size_t k = 0; k < 2; ++k) {
      const auto c = by_name.find(ch.ends[k]);
      if (c == by_name.end())
        fail(ch.ends_pos[k], "channel '" + ch.name + "' names unknown component '" + ch.ends[k] + "'");
      if (c->second->constructed_by_kernel)
        fail(ch.ends_pos[k], "the kernel-constructed component '" + ch.ends[k] +
                                 "' cannot be an end of a channel (the booter builds channels between the "
                                 "components it builds)");
    }
    if (ch.ends[0] == ch.ends[1])
      fail(ch.ends_pos[1], "channel '" + ch.name + "' has component '" + ch.ends[0] +
                               "' at both ends; a channel joins two distinct components");
    for (size_t k = 0; k < 2; ++k)
      if (++channels_of[ch.ends[k]] > cos_limits::kMaxChannels)
        fail(ch.ends_pos[k], "component '" + ch.ends[k] + "' is an end of more than " +
                                 std::to_string(cos_limits::kMaxChannels) +
                                 " channels (its info page holds no more)");
  }

  // An IRQ line belongs to one component of the system.
  std::map<uint32_t, std::pair<const ComponentSpec*, const IrqSpec*>> irq_holder;
  for (const ComponentSpec& c : script.components) {
    for (const IrqSpec& irq : c.irqs) {
      const auto [it, fresh] = irq_holder.emplace(irq.line, std::make_pair(&c, &irq));
      if (!fresh)
        fail(irq.pos, "IRQ line " + std::to_string(irq.line) + " is already granted to component '" +
                          it->second.first->name + "' (at " + it->second.second->pos.line_col() +
                          "); a line may be granted to one component only");
    }
  }
}

}  // namespace composer
