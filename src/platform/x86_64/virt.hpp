// The interface between the portable VM/vCPU code (kernel/vm.cpp) and the
// vendor backends (vmx/ for Intel VMX, svm/ for AMD SVM). Exactly one backend
// is active, chosen at boot.
#pragma once
#include <stdint.h>

#include "cos/abi.hpp"
#include "cos/vm.hpp"
#include "kernel/vcpu.hpp"

namespace cos::virt {

enum class Backend : uint32_t { none = 0, vmx = vm::kBackendVmx, svm = vm::kBackendSvm };

/// Detects and enables VMX or SVM on this CPU (CPUID, feature-control MSRs;
/// requires EPT + unrestricted guest on VMX, NPT on SVM) and prints one boot
/// line saying which backend is active or why none is. Called once at boot.
void init();
/// The active backend.
Backend backend();

/// What the portable code should do after vcpu_enter returns.
enum class ExitAction {
  forward,         ///< a guest exit for the VMM: `exit` is filled
  host_interrupt,  ///< a host interrupt/NMI caused the exit: it has been taken; re-enter when scheduled
  resume,          ///< handled inside the kernel (e.g. its own interrupt window): re-enter
};

// --- guest-physical address spaces (EPT / NPT) ------------------------------
/// Prepares a zeroed root table page for a new VM and assigns vm->tag.
/// Errors: no_virtualization, out_of_memory (no ASID/VPID left).
abi::Error vm_init(Vm* vm);
/// Releases vm->tag.
void vm_destroy(Vm* vm);
/// Entry encoding for the active backend: a non-leaf entry pointing at a table.
uint64_t gpt_table_entry(uint64_t table_pa);
/// A 4 KiB leaf mapping hpa with abi::Rights read/write/exec (write-back memory).
uint64_t gpt_leaf_entry(uint64_t hpa, uint64_t rights);
/// True if the entry maps or points to something.
bool gpt_present(uint64_t entry);

// --- vCPUs --------------------------------------------------------------------
/// Initialises the zeroed control page (VMCS/VMCB) of a new vCPU with the
/// kernel-owned controls and a reset-like guest state (16-bit real mode at
/// F000:FFF0 is fine; the VMM loads what it wants before the first run).
abi::Error vcpu_init(Vcpu* v);
/// Releases backend resources of a vCPU (e.g. VMCLEAR).
void vcpu_destroy(Vcpu* v);
/// Validates the groups in `mask` from the state page and loads them into
/// the vCPU. On bad_guest_state nothing is changed.
abi::Error vcpu_load(Vcpu* v, const vm::StatePage& s, uint64_t mask);
/// Writes the groups in `mask` (plus Regs, always) to the state page.
void vcpu_save(Vcpu* v, vm::StatePage& s, uint64_t mask);
/// Injects pending events the guest can take now, requests an interrupt
/// window for those it cannot, enters the guest and returns at the next VM
/// exit with the exit decoded into `exit`. Called with interrupts disabled
/// and the vCPU's FPU state loaded; host interrupts that arrive while the
/// guest runs cause an exit and are taken (through the IDT) before return.
ExitAction vcpu_enter(Vcpu* v, vm::Exit& exit);

}  // namespace cos::virt
