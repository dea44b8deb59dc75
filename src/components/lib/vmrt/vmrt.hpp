// vmrt: the VM runtime library for VMM components — everything in one include.
//
//   error.hpp         vmrt::Error / Errc / Result<T> (the library's one error type)
//   slots.hpp         capability-slot allocator
//   guest_memory.hpp  guest-physical regions -> VMM pointers, copies in and out
//   paging.hpp        guest page walk (gva -> gpa), 4-level page-table builder
//   vcpu_state.hpp    typed state-page access, exit-handler table, dispatch
//   modes.hpp         initial modes: real, 32-bit protected, 64-bit long
//   guest_access.hpp  memory accesses with the guest CPU's checks; GuestFault, PhysBus
//   string_io.hpp     IN/OUT and bounded, resumable INS/OUTS emulation
//   mmio.hpp          emulation of the instruction behind a gpa fault; PageLogFilter
//   msr.hpp           state-page MSRs and the checks WRMSR makes on them
//   vm.hpp            vmrt::Env, vmrt::Vm (VM object, guest RAM)      [component only]
//   vcpu.hpp          vmrt::Vcpu (vCPU object, run loop, injection)   [component only]
//
// README.md in this directory describes the design and the guest-memory layout.
#pragma once

#include "vmrt/error.hpp"
#include "vmrt/guest_access.hpp"
#include "vmrt/guest_memory.hpp"
#include "vmrt/mmio.hpp"
#include "vmrt/modes.hpp"
#include "vmrt/msr.hpp"
#include "vmrt/paging.hpp"
#include "vmrt/slots.hpp"
#include "vmrt/string_io.hpp"
#include "vmrt/vcpu.hpp"
#include "vmrt/vcpu_state.hpp"
#include "vmrt/vm.hpp"
