#include "x86_64/idt.hpp"

#include "x86_64/cpu.hpp"
#include "x86_64/gdt.hpp"
#include "x86_64/regs.hpp"

extern "C" char isr_stubs[];
extern "C" void syscall_entry();

namespace cos::x86 {
namespace {

struct __attribute__((packed)) Gate {
  uint16_t offset_lo;
  uint16_t selector;
  uint8_t ist;
  uint8_t type_attr;
  uint16_t offset_mid;
  uint32_t offset_hi;
  uint32_t reserved;
};
static_assert(sizeof(Gate) == 16);

alignas(16) Gate idt[256];

constexpr uint8_t kInterruptGate = 0x8e;  // present, DPL 0, 64-bit interrupt gate
constexpr uint64_t kStubSize = 16;

/// The IST slot of a vector (0: none, the stack of the interrupted context
/// or TSS.RSP0).
uint8_t ist_of(unsigned v) {
  switch (v) {
    case kVectorDoubleFault: return kIstDoubleFault;
    case kVectorDebug: return kIstDebug;
    case kVectorNmi: return kIstNmi;
    case kVectorMachineCheck: return kIstMachineCheck;
    default: return 0;
  }
}

}  // namespace

void idt_load() {
  struct __attribute__((packed)) {
    uint16_t limit;
    uint64_t base;
  } p{sizeof(idt) - 1, reinterpret_cast<uint64_t>(idt)};
  asm volatile("lidt %0" ::"m"(p));
}

void idt_init() {
  for (unsigned v = 0; v < 256; ++v) {
    uint64_t addr = reinterpret_cast<uint64_t>(isr_stubs) + v * kStubSize;
    idt[v] = Gate{static_cast<uint16_t>(addr), kKernelCs, ist_of(v), kInterruptGate,
                  static_cast<uint16_t>(addr >> 16), static_cast<uint32_t>(addr >> 32), 0};
  }
  idt_load();
  syscall_init_this_cpu();
}

void syscall_init_this_cpu() {
  // SYSCALL loads CS from STAR[47:32] and SS = +8; SYSRET loads CS from
  // STAR[63:48] + 16 and SS = +8 (Intel SDM Vol. 2B, SYSCALL/SYSRET).
  wrmsr(Msr::star, (static_cast<uint64_t>(kKernelDs | 3) << 48) |
                      (static_cast<uint64_t>(kKernelCs) << 32));
  wrmsr(Msr::lstar, reinterpret_cast<uint64_t>(syscall_entry));
  // Clear IF, TF, DF, AC, NT on entry.
  wrmsr(Msr::fmask, (1u << 9) | (1u << 8) | (1u << 10) | (1u << 18) | (1u << 14));
}

const char* exception_name(uint64_t vector) {
  static const char* const names[] = {
      "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
      "#BR bound range", "#UD invalid opcode", "#NM device not available", "#DF double fault",
      "coprocessor segment overrun", "#TS invalid TSS", "#NP segment not present",
      "#SS stack fault", "#GP general protection", "#PF page fault", "reserved",
      "#MF x87 floating point", "#AC alignment check", "#MC machine check",
      "#XM SIMD floating point", "#VE virtualization", "#CP control protection"};
  return vector < sizeof(names) / sizeof(names[0]) ? names[vector] : "interrupt";
}

}  // namespace cos::x86
