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

}  // namespace cos::vmx
