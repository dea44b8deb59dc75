// Machine bring-up: from the 64-bit entry in boot.S to the first user thread.
#include "kernel/boot.hpp"
#include "kernel/console.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/gdt.hpp"
#include "x86_64/idt.hpp"
#include "x86_64/kernel_paging.hpp"
#include "kernel/kernel.hpp"
#include "kernel/kernel_lock.hpp"
#include "x86_64/lapic.hpp"
#include "x86_64/layout.hpp"
#include "x86_64/multiboot1.hpp"
#include "x86_64/multiboot2.hpp"
#include "x86_64/percpu.hpp"
#include "x86_64/serial.hpp"
#include "x86_64/smp.hpp"
#include "kernel/platform.hpp"

extern "C" char __kernel_phys_start[], __kernel_phys_end[];
extern "C" char kernel_stack_top[];
extern "C" void (*__init_array_start[])(), (*__init_array_end[])();

namespace {

cos::x86::mb2::Info g_boot;
}  // namespace

extern "C" [[noreturn]] void kernel_main(uint32_t magic, uint64_t mbi_pa) {
  using namespace cos;
  x86::serial::init();
  for (auto** f = __init_array_start; f != __init_array_end; ++f) (*f)();
  kprintf("\ncos: kernel starting (x86_64)\n");
  if (magic != x86::mb2::kBootloaderMagic && magic != x86::mb1::kBootloaderMagic)
    panic("not started by a multiboot loader (magic %#x)", magic);

  x86::gdt_init(0);
  x86::idt_init();
  x86::percpu_init(0, reinterpret_cast<uint64_t>(kernel_stack_top));
  kernel_lock_enter();  // left when the first thread enters user mode

  // The kernel's own page tables (no identity map: the user half starts empty).
  x86::kernel_paging_init();
  kprintf("cos: kernel protection: %s\n", x86::protection_init());
  auto& info = g_boot;
  if (magic == x86::mb2::kBootloaderMagic) x86::mb2::parse(mbi_pa, info);
  else x86::mb1::parse(mbi_pa, info);

  uint64_t ram = 0;
  for (unsigned i = 0; i < info.ram_count; ++i) ram += info.ram[i].size;
  using x86::mb2::subtract;
  auto& r = info.ram;
  auto& n = info.ram_count;
  subtract(r, n, x86::mb2::kMaxRanges, 0, 0x100000);  // real-mode area, BIOS data
  subtract(r, n, x86::mb2::kMaxRanges, reinterpret_cast<uint64_t>(__kernel_phys_start),
           reinterpret_cast<uint64_t>(__kernel_phys_end));
  subtract(r, n, x86::mb2::kMaxRanges, info.info_start, info.info_end);
  for (unsigned i = 0; i < info.module_count; ++i)
    subtract(r, n, x86::mb2::kMaxRanges, info.modules[i].start, info.modules[i].end);
  kprintf("cos: %lu MiB RAM, %u boot modules\n", ram >> 20, info.module_count);

  x86::lapic::init(abi::kTickUs);
  kprintf("cos: LAPIC timer %u ticks/ms, kernel tick %lu us, quantum %u ticks, TSC %lu MHz\n",
          x86::lapic::ticks_per_ms(), abi::kTickUs, abi::kQuantumTicks, x86::lapic::tsc_per_us());

  x86::smp_init();
  platform::virt_init();
  boot_create_booter(info.modules, info.module_count, info.ram, info.ram_count);
  schedule(false);
}
