// The Intel VMX backend (README.md in this directory).
#pragma once
#include <stddef.h>

#include "kernel/platform.hpp"

namespace cos::vmx {

/// Detects and enables VMX on this CPU (CPUID, IA32_FEATURE_CONTROL, the
/// capability MSRs; EPT, unrestricted guest and VPID are required; Intel SDM
/// Vol. 3C, 24.6-24.7). Returns the backend's operations, or nullptr with a
/// short reason in `why`; on success writes a one-line feature summary.
const platform::VirtBackend* probe(const char*& why, char* summary, size_t summary_size);

/// Enables VMX on the calling application processor after probe() found it
/// on the boot processor: IA32_FEATURE_CONTROL, the CR0/CR4 fixed bits and
/// VMXON with its own region. A CPU where this fails says so at boot (an
/// inconsistent machine); running a vCPU there then stops the kernel.
void enable_this_cpu();

}  // namespace cos::vmx
