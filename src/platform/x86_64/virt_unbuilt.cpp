// Weak fallbacks that make a backend whose sources are not in the tree report
// itself unavailable at boot (virt::init then prints the reason). A real
// backend's definitions override these.
#include "x86_64/svm/svm.hpp"
#include "x86_64/vmx/vmx.hpp"

#define COS_UNBUILT_BACKEND(ns, name)                                                              \
  namespace cos::ns {                                                                              \
  __attribute__((weak)) bool init(const char*& why, char*, size_t) {                               \
    why = name " backend not built";                                                               \
    return false;                                                                                  \
  }                                                                                                \
  __attribute__((weak)) abi::Error vm_init(Vm*) { return abi::Error::no_virtualization; }         \
  __attribute__((weak)) void vm_destroy(Vm*) {}                                                    \
  __attribute__((weak)) uint64_t gpt_table_entry(uint64_t) { return 0; }                           \
  __attribute__((weak)) uint64_t gpt_leaf_entry(uint64_t, uint64_t) { return 0; }                  \
  __attribute__((weak)) bool gpt_present(uint64_t) { return false; }                               \
  __attribute__((weak)) abi::Error vcpu_init(Vcpu*) { return abi::Error::no_virtualization; }     \
  __attribute__((weak)) void vcpu_destroy(Vcpu*) {}                                                \
  __attribute__((weak)) abi::Error vcpu_load(Vcpu*, const vm::StatePage&, uint64_t) {             \
    return abi::Error::no_virtualization;                                                          \
  }                                                                                                \
  __attribute__((weak)) void vcpu_save(Vcpu*, vm::StatePage&, uint64_t) {}                         \
  __attribute__((weak)) virt::ExitAction vcpu_enter(Vcpu*, vm::Exit&) { return virt::ExitAction::resume; } \
  }

COS_UNBUILT_BACKEND(vmx, "Intel VMX")
COS_UNBUILT_BACKEND(svm, "AMD SVM")
