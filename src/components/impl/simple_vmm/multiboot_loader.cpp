#include "simple_vmm/multiboot_loader.hpp"

#include "cos/guest_boot.hpp"
#include "cos/guest_modules.hpp"
#include "multiboot/multiboot.hpp"
#include "simple_vmm/guest_loader.hpp"

namespace cos::simple_vmm {
namespace {

namespace mb = cos::multiboot;
vmrt::Status fail(const char* what, uint64_t a) { return vmrt::make_error(vmrt::Errc::bad_argument, what, a); }
uint64_t page_up(uint64_t n) { return (n + 0xfff) & ~0xfffull; }

}  // namespace

vmrt::Status load_multiboot(vmrt::Vm& vm, uint64_t ram_bytes, const MultibootImages& img, MultibootEntry& out) {
  mb::Image k;
  if (mb::Error e = mb::parse(img.kernel, img.kernel_size, k); e != mb::Error::ok) return fail(mb::error_string(e), 0);
  if (k.load_start < kMultibootMinLoad) return fail("the Multiboot kernel loads below 1 MiB", k.load_start);
  const uint64_t low = cos_limits::guest_low_ram(ram_bytes);  // RAM below the 32-bit MMIO hole
  if (k.load_end > low) return fail("the Multiboot kernel does not fit in guest RAM", k.load_end);
  for (unsigned i = 0; i < k.segment_count; ++i) {
    const mb::Segment& s = k.segments[i];
    // Guest RAM is zero when the VM is made: only the file bytes are copied.
    VMRT_TRY(vm.copy_to_guest(s.addr, img.kernel + s.file_offset, s.file_size));
  }

  // Command lines, the kernel's first.
  uint64_t strings = kMultibootStringsGpa;
  auto put_string = [&](const char* s, size_t len, uint32_t& gpa) -> vmrt::Status {
    if (strings + len + 1 > kMultibootStringsEnd) return fail("the command lines do not fit below 0x8000", strings);
    VMRT_TRY(vm.copy_to_guest(strings, s, len));
    const char nul = 0;
    VMRT_TRY(vm.copy_to_guest(strings + len, &nul, 1));
    gpa = static_cast<uint32_t>(strings);
    strings += len + 1;
    return {};
  };
  mb::Info info{};
  size_t cmdlen = 0;
  while (img.cmdline[cmdlen]) ++cmdlen;
  VMRT_TRY(put_string(img.cmdline, cmdlen, info.cmdline));

  // Modules, page aligned above the kernel.
  uint64_t at = page_up(k.load_end);
  uint32_t count = 0;
  if (img.modules) {
    const char* why = nullptr;
    const int n = guest::modules_check(img.modules, img.modules_size, &why);
    if (n < 0) return fail(why, 0);
    count = static_cast<uint32_t>(n);
    for (uint32_t i = 0; i < count; ++i) {
      const guest::ModuleView m = guest::module_at(img.modules, i);
      if (at + m.size > low) return fail("the Multiboot modules do not fit in guest RAM", at + m.size);
      VMRT_TRY(vm.copy_to_guest(at, m.data, m.size));
      mb::Module e{static_cast<uint32_t>(at), static_cast<uint32_t>(at + m.size), 0, 0};
      VMRT_TRY(put_string(m.cmdline, m.cmdline_size, e.string));
      VMRT_TRY(vm.copy_to_guest(kMultibootModsGpa + i * sizeof(e), &e, sizeof(e)));
      at = page_up(at + m.size);
    }
  }

  // The memory map, as e820 entries.
  guest::E820Entry map[guest::kMaxE820];
  const unsigned entries = pc_memory_map(ram_bytes, map);
  for (unsigned i = 0; i < entries; ++i) {
    mb::MmapEntry e{20, map[i].addr, map[i].size, map[i].type};
    VMRT_TRY(vm.copy_to_guest(kMultibootMmapGpa + i * sizeof(e), &e, sizeof(e)));
  }
  static const char kName[] = "cos simple_vmm";
  VMRT_TRY(vm.copy_to_guest(kMultibootNameGpa, kName, sizeof(kName)));

  info.flags = mb::kInfoMemory | mb::kInfoCmdline | mb::kInfoMods | mb::kInfoMmap | mb::kInfoLoaderName;
  info.mem_lower = kConventionalTop / 1024;
  // Upper memory: from 1 MiB up to the first hole (the end of RAM), in KiB.
  info.mem_upper = static_cast<uint32_t>((low - 0x100000) / 1024);
  info.mods_count = count;
  info.mods_addr = kMultibootModsGpa;
  info.mmap_length = static_cast<uint32_t>(entries * sizeof(mb::MmapEntry));
  info.mmap_addr = kMultibootMmapGpa;
  info.boot_loader_name = kMultibootNameGpa;
  VMRT_TRY(vm.copy_to_guest(kMultibootInfoGpa, &info, sizeof(info)));

  out = MultibootEntry{k.entry, kMultibootInfoGpa, count, k.load_start, k.load_end, at};
  return {};
}

}  // namespace cos::simple_vmm
