// The VMX backend of cos::virt (see ../virt.hpp for the contract of each
// function; this header only repeats the names in the vmx namespace).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "x86_64/virt.hpp"

namespace cos::vmx {

/// Detects and enables VMX. Returns false with a short reason in `why` if
/// the CPU cannot be used; on success writes a one-line feature summary.
bool init(const char*& why, char* summary, size_t summary_size);
abi::Error vm_init(Vm* vm);
void vm_destroy(Vm* vm);
uint64_t gpt_table_entry(uint64_t table_pa);
uint64_t gpt_leaf_entry(uint64_t hpa, uint64_t rights);
bool gpt_present(uint64_t entry);
abi::Error vcpu_init(Vcpu* v);
void vcpu_destroy(Vcpu* v);
abi::Error vcpu_load(Vcpu* v, const vm::StatePage& s, uint64_t mask);
void vcpu_save(Vcpu* v, vm::StatePage& s, uint64_t mask);
virt::ExitAction vcpu_enter(Vcpu* v, vm::Exit& exit);

}  // namespace cos::vmx
