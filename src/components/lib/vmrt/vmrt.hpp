// vmrt: the VM runtime library for VMM components — everything in one include.
//
//   error.hpp         vmrt::Error / Errc / Result<T> (the library's one error type)
//   slots.hpp         capability-slot allocator
//   guest_memory.hpp  guest-physical regions -> VMM pointers, copies in and out
//   paging.hpp        guest page walk (gva -> gpa), 4-level page-table builder
//   vcpu_state.hpp    typed state-page access, exit-handler table, dispatch
//   modes.hpp         initial modes: real, 32-bit protected, 64-bit long
//   vm.hpp            vmrt::Env, vmrt::Vm (VM object, guest RAM)      [component only]
//   vcpu.hpp          vmrt::Vcpu (vCPU object, run loop, injection)   [component only]
//
// README.md in this directory describes the design and the guest-memory layout.
#pragma once

#include "vmrt/error.hpp"
#include "vmrt/guest_memory.hpp"
#include "vmrt/modes.hpp"
#include "vmrt/paging.hpp"
#include "vmrt/slots.hpp"
#include "vmrt/vcpu.hpp"
#include "vmrt/vcpu_state.hpp"
#include "vmrt/vm.hpp"
