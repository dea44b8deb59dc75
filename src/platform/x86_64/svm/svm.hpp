// The AMD SVM backend (README.md in this directory).
#pragma once
#include <stddef.h>

#include "kernel/platform.hpp"

namespace cos::svm {

/// Detects and enables SVM on this CPU (CPUID 8000_0001h/8000_000Ah,
/// VM_CR.SVMDIS, EFER.SVME, VM_HSAVE_PA; nested paging is required; AMD APM
/// Vol. 2, 15.4). Returns the backend's operations, or nullptr with a short
/// reason in `why`; on success writes a one-line feature summary.
const platform::VirtBackend* probe(const char*& why, char* summary, size_t summary_size);

/// Enables SVM on the calling CPU with its own host save area (EFER.SVME,
/// VM_HSAVE_PA) and saves its host state for VMLOAD after each #VMEXIT
/// (VMSAVE: its GS base, TR and SYSCALL MSRs are its own). probe() does
/// this for the boot processor; smp.cpp for each application processor.
void enable_this_cpu();

}  // namespace cos::svm
