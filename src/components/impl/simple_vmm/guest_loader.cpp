#include "simple_vmm/guest_loader.hpp"

namespace cos::simple_vmm {
namespace {

using namespace cos::guest;

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }


vmrt::Status fail(const char* what, uint64_t a) { return vmrt::make_error(vmrt::Errc::bad_argument, what, a); }

}  // namespace

unsigned pc_memory_map(uint64_t ram_bytes, E820Entry* out) {
  // At most four entries; GuestBootInfo (and the bootloader) hold kMaxE820.
  static_assert(4 <= kMaxE820);
  const uint64_t low = cos_limits::guest_low_ram(ram_bytes), high = cos_limits::guest_high_ram(ram_bytes);
  out[0] = E820Entry{0, kConventionalTop, kE820Ram, 0};
  out[1] = E820Entry{kConventionalTop, 0x100000 - kConventionalTop, kE820Reserved, 0};
  out[2] = E820Entry{0x100000, low - 0x100000, kE820Ram, 0};
  if (high == 0) return 3;
  out[3] = E820Entry{cos_limits::kGuestHighRamBase, high, kE820Ram, 0};
  return 4;
}

const char* check_bzimage(const uint8_t* k, size_t size) {
  if (size < 0x1000) return "too small to be a bzImage";
  if (le16(k + 0x1fe) != 0xaa55) return "no boot sector signature 0xAA55 at 0x1fe";
  if (k[0x202] != 'H' || k[0x203] != 'd' || k[0x204] != 'r' || k[0x205] != 'S') return "no 'HdrS' setup header";
  if (le16(k + 0x206) < 0x0206) return "boot protocol older than 2.06";
  if (!(k[0x211] & 1)) return "not a bzImage (LOADED_HIGH clear)";
  return nullptr;
}

vmrt::Status load_guest(vmrt::Vm& vm, uint64_t ram_bytes, const GuestImages& img, GuestLayout& out) {
  if (img.bootloader_size == 0 || img.bootloader_size > kBootloaderMaxBytes)
    return fail("guest bootloader missing or larger than its slot", img.bootloader_size);
  if (const char* why = check_bzimage(img.kernel, img.kernel_size)) return fail(why, img.kernel_size);
  const uint64_t low = cos_limits::guest_low_ram(ram_bytes);  // where the files go
  if (kKernelFileGpa + img.kernel_size > low) return fail("the kernel file does not fit in guest RAM", ram_bytes);
  size_t cmdlen = 0;
  while (img.cmdline[cmdlen]) ++cmdlen;
  if (cmdlen >= kCmdlineMaxBytes) return fail("the kernel command line is too long", cmdlen);

  // The initrd goes as high as the boot protocol allows, page aligned.
  uint64_t top = low < kInitrdAddrMax + 1 ? low : kInitrdAddrMax + 1;
  uint64_t initrd = 0;
  if (img.initrd_size) {
    initrd = (top - img.initrd_size) & ~0xfffull;
    if (initrd < kKernelFileGpa + img.kernel_size) return fail("the initramfs does not fit in guest RAM", img.initrd_size);
  }

  VMRT_TRY(vm.copy_to_guest(kBootloaderGpa, img.bootloader, img.bootloader_size));
  VMRT_TRY(vm.copy_to_guest(kKernelFileGpa, img.kernel, img.kernel_size));
  if (img.initrd_size) VMRT_TRY(vm.copy_to_guest(initrd, img.initrd, img.initrd_size));
  VMRT_TRY(vm.copy_to_guest(kCmdlineGpa, img.cmdline, cmdlen + 1));

  GuestBootInfo info{};
  info.magic = kBootInfoMagic;
  info.version = kBootInfoVersion;
  info.kernel_gpa = kKernelFileGpa;
  info.kernel_size = static_cast<uint32_t>(img.kernel_size);
  info.initrd_gpa = static_cast<uint32_t>(initrd);
  info.initrd_size = static_cast<uint32_t>(img.initrd_size);
  info.cmdline_gpa = kCmdlineGpa;
  info.cmdline_size = static_cast<uint32_t>(cmdlen);
  info.e820_count = pc_memory_map(ram_bytes, info.e820);
  VMRT_TRY(vm.copy_to_guest(kBootInfoGpa, &info, sizeof(info)));

  out = GuestLayout{ram_bytes, static_cast<uint32_t>(initrd), kTablesGpa, kTablesSize};
  return {};
}

}  // namespace cos::simple_vmm
