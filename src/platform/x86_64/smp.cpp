#include "x86_64/smp.hpp"

#include "kernel/console.hpp"
#include "kernel/kernel.hpp"
#include "kernel/kernel_lock.hpp"
#include "x86_64/acpi_madt.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/gdt.hpp"
#include "x86_64/idt.hpp"
#include "x86_64/kernel_paging.hpp"
#include "x86_64/lapic.hpp"
#include "x86_64/layout.hpp"
#include "x86_64/percpu.hpp"

extern "C" {
extern const char ap_trampoline_start[], ap_trampoline_end[], ap_trampoline_params[];
extern char boot_pml4[];
[[noreturn]] void ap_entry64(uint32_t cpu);
}

namespace cos::x86 {
namespace {

/// Where the trampoline runs: below 1 MiB (a start-up IPI's vector is the
/// page number), in memory the kernel never allocates (it keeps the first
/// MiB out of untyped memory) and clear of what QEMU's multiboot loader
/// and the BIOS use (the multiboot information at 0x9000 is parsed by now).
constexpr uint64_t kApTrampolinePhys = 0x8000;
static_assert(kApTrampolinePhys % 4096 == 0 && kApTrampolinePhys < 0x100000);

/// ap_boot.S's parameter block.
struct ApTrampolineParams {
  uint64_t cr3, stack, entry, cpu;
};

constexpr unsigned kApStackBytes = 16384;
alignas(16) uint8_t g_ap_stacks[kMaxCpus][kApStackBytes];
uint32_t g_apic_id[kMaxCpus];
/// Set by each AP once it runs on its own tables (release; the boot
/// processor acquires).
volatile uint32_t g_online[kMaxCpus];
/// The kernel's page tables (the boot processor's CR3), for the APs.
uint64_t g_kernel_cr3;

const uint8_t* read_phys(uint64_t pa, size_t len, void*) {
  if (pa >= kDirectMapSize || len > kDirectMapSize - pa) return nullptr;
  return phys_to_virt<const uint8_t>(pa);
}

/// The RSDP: in the first KiB of the EBDA (its segment at 0x40e), else in
/// the BIOS area 0xe0000-0xfffff (ACPI 6.5, 5.2.5.1).
uint64_t find_rsdp() {
  const uint64_t ebda = uint64_t(*phys_to_virt<const volatile uint16_t>(0x40e)) << 4;
  if (ebda >= 0x80000 && ebda < 0xa0000)
    if (uint64_t r = acpi::find_rsdp(ebda, 1024, read_phys, nullptr)) return r;
  return acpi::find_rsdp(0xe0000, 0x20000, read_phys, nullptr);
}

/// INIT, 10 ms, start-up IPI, 200 us, a second start-up IPI if the AP has
/// not reported in (SDM Vol. 3A 9.4.4.1), then up to 100 ms for it.
bool start_ap(unsigned cpu, uint32_t apic_id) {
  auto* params = phys_to_virt<ApTrampolineParams>(kApTrampolinePhys + (ap_trampoline_params - ap_trampoline_start));
  params->cr3 = reinterpret_cast<uint64_t>(boot_pml4);
  params->stack = reinterpret_cast<uint64_t>(g_ap_stacks[cpu] + kApStackBytes);
  params->entry = reinterpret_cast<uint64_t>(ap_entry64);
  params->cpu = cpu;
  g_apic_id[cpu] = apic_id;
  percpu_of(cpu).apic_id = apic_id;
  constexpr uint8_t kPage = kApTrampolinePhys >> 12;
  if (!lapic::send_init(apic_id)) return false;
  lapic::delay_us(10000);
  for (unsigned attempt = 0; attempt < 2; ++attempt) {
    if (!lapic::send_startup(apic_id, kPage)) return false;
    lapic::delay_us(200);
    if (__atomic_load_n(&g_online[cpu], __ATOMIC_ACQUIRE)) return true;
  }
  for (unsigned ms = 0; ms < 100; ++ms) {
    if (__atomic_load_n(&g_online[cpu], __ATOMIC_ACQUIRE)) return true;
    lapic::delay_us(1000);
  }
  return false;
}

}  // namespace

unsigned smp_init() {
  acpi::Processors found{};
  const uint64_t rsdp = find_rsdp();
  if (!rsdp || !acpi::find_processors(rsdp, read_phys, nullptr, found) || found.count == 0) {
    kprintf("cos: CPUs: 1 (no ACPI MADT: %s)\n", rsdp ? "no valid MADT" : "no RSDP");
    return 1;
  }
  const uint32_t bsp = lapic::id();
  g_apic_id[0] = bsp;
  percpu_of(0).apic_id = bsp;
  g_kernel_cr3 = read_cr3();
  const size_t bytes = static_cast<size_t>(ap_trampoline_end - ap_trampoline_start);
  __builtin_memcpy(phys_to_virt<uint8_t>(kApTrampolinePhys), ap_trampoline_start, bytes);
  unsigned online = 1, failed = 0, skipped = found.beyond_xapic + found.beyond_table;
  for (unsigned i = 0; i < found.count; ++i) {
    const uint32_t apic_id = found.apic_id[i];
    if (apic_id == bsp) continue;
    if (online == kMaxCpus) {
      ++skipped;
      continue;
    }
    if (start_ap(online, apic_id)) {
      kprintf("cos: CPU %u online (LAPIC ID %u)\n", online, apic_id);
      ++online;
    } else {
      kprintf("cos: CPU with LAPIC ID %u did not start\n", apic_id);
      ++failed;
    }
  }
  kprintf("cos: CPUs: %u online (CPU 0: LAPIC ID %u)", online, bsp);
  if (failed) kprintf(", %u failed to start", failed);
  if (skipped) kprintf(", %u beyond the kernel's limit of %u", skipped, kMaxCpus);
  kprintf("\n");
  return online;
}

}  // namespace cos::x86

/// An application processor's first C++ code, on its own stack with the
/// boot page tables (ap_boot.S): the kernel's tables, its own GDT and TSS,
/// the IDT, its LAPIC and timer; then it reports in and waits for the
/// kernel lock, which the boot processor leaves when its first thread
/// starts, and enters the scheduler (its run queue is empty until a
/// thread is placed on it: thd_cpu).
extern "C" [[noreturn]] void ap_entry64(uint32_t cpu) {
  using namespace cos::x86;
  write_cr3(g_kernel_cr3);
  percpu_init(cpu, reinterpret_cast<uint64_t>(g_ap_stacks[cpu] + kApStackBytes));
  gdt_init(cpu);
  idt_load();
  syscall_init_this_cpu();
  protection_this_cpu();
  lapic::enable_this_cpu();
  lapic::start_timer_this_cpu();
  percpu_of(cpu).online = true;
  __atomic_store_n(&g_online[cpu], 1, __ATOMIC_RELEASE);
  cos::kernel_lock_enter();
  cos::platform::virt_init_this_cpu();  // after the boot processor's virt_init, which ran under the lock
  cos::schedule(false);
}
