#include "x86_64/gdt.hpp"

#include "x86_64/percpu.hpp"
#include "x86_64/regs.hpp"

namespace cos::x86 {
namespace {

// 64-bit TSS (Intel SDM Vol. 3A, 8.7 "Task Management in 64-bit Mode").
struct __attribute__((packed)) Tss {
  uint32_t reserved0;
  uint64_t rsp[3];
  uint64_t reserved1;
  uint64_t ist[7];
  uint64_t reserved2;
  uint16_t reserved3;
  uint16_t iomap_base;
};

struct __attribute__((packed)) Pointer {
  uint16_t limit;
  uint64_t base;
};

constexpr unsigned kIstStackBytes = 8192;
/// One CPU's descriptor tables and interrupt stacks.
struct CpuTables {
  alignas(16) uint64_t gdt[7];
  alignas(16) Tss tss;
  alignas(16) uint8_t ist_stacks[4][kIstStackBytes];  // IST1..IST4
};
CpuTables g_cpu[kMaxCpus];

}  // namespace

void gdt_init(unsigned cpu) {
  uint64_t (&gdt)[7] = g_cpu[cpu].gdt;
  Tss& tss = g_cpu[cpu].tss;
  auto& ist_stacks = g_cpu[cpu].ist_stacks;
  gdt[0] = 0;
  gdt[1] = 0x00af9a000000ffffull;  // 0x08 kernel code, L=1
  gdt[2] = 0x00cf92000000ffffull;  // 0x10 kernel data
  gdt[3] = 0x00cff2000000ffffull;  // 0x18 user data, DPL 3
  gdt[4] = 0x00affa000000ffffull;  // 0x20 user code, DPL 3, L=1
  tss.iomap_base = sizeof(Tss);    // no I/O bitmap: ring 3 has no port access
  for (unsigned slot = kIstDoubleFault; slot <= kIstMachineCheck; ++slot)
    tss.ist[slot - 1] = reinterpret_cast<uint64_t>(ist_stacks[slot - 1] + kIstStackBytes);
  uint64_t base = reinterpret_cast<uint64_t>(&tss);
  uint64_t limit = sizeof(Tss) - 1;
  gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
           (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
  gdt[6] = base >> 32;

  Pointer p{sizeof(gdt) - 1, reinterpret_cast<uint64_t>(gdt)};
  asm volatile(
      "lgdt %0\n"
      "pushq %1\n"
      "leaq 1f(%%rip), %%rax\n"
      "pushq %%rax\n"
      "lretq\n"
      "1:\n"
      "mov %2, %%ax\n"
      "mov %%ax, %%ds\n"
      "mov %%ax, %%es\n"
      "mov %%ax, %%ss\n"
      "ltr %w3\n"
      :
      : "m"(p), "i"(kKernelCs), "i"(kKernelDs), "r"(kTssSel)
      : "rax", "memory");
}

void tss_set_rsp0(uint64_t top) { g_cpu[percpu().cpu].tss.rsp[0] = top; }

}  // namespace cos::x86
