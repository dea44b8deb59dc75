// Interrupt descriptor table: every vector goes to a stub in entry.S.
#pragma once
#include <stdint.h>

namespace cos::x86 {

inline constexpr uint8_t kVectorDebug = 1;
inline constexpr uint8_t kVectorNmi = 2;
inline constexpr uint8_t kVectorDoubleFault = 8;
inline constexpr uint8_t kVectorPageFault = 14;
inline constexpr uint8_t kVectorMachineCheck = 18;
inline constexpr uint8_t kVectorTimer = 0x20;      ///< LAPIC timer
inline constexpr uint8_t kVectorPicBase = 0x30;    ///< remapped, masked 8259 PIC (spurious only)
/// Inter-processor interrupt of the kernel (cross_cpu.cpp): reschedule, or
/// synchronise (TLB, FPU) while another CPU waits.
inline constexpr uint8_t kVectorCpuKick = 0xf0;
inline constexpr uint8_t kVectorSpurious = 0xff;   ///< LAPIC spurious

/// Installs the IDT (all gates DPL 0: ring 3 cannot raise vectors with INT n)
/// and programs the syscall MSRs (STAR, LSTAR, FMASK).
void idt_init();
/// Loads the IDT idt_init built on this CPU (an application processor).
void idt_load();
/// Programs this CPU's syscall MSRs (STAR, LSTAR, FMASK); idt_init does it
/// on the boot processor, each application processor calls it itself.
void syscall_init_this_cpu();

/// Human-readable name of an exception vector (Intel SDM Vol. 3A, table 6-1).
const char* exception_name(uint64_t vector);

}  // namespace cos::x86
