// Checks every value of asm_constants.h (and cos/abi_asm.h) against the C++
// definitions it mirrors. Nothing here generates code.
#include "x86_64/asm_constants.h"

#include <stddef.h>

#include "cos/abi.hpp"
#include "cos/vm.hpp"
#include "kernel/thread.hpp"
#include "x86_64/percpu.hpp"
#include "x86_64/regs.hpp"
#include "x86_64/vmx/vmcs.hpp"

namespace cos::x86 {

static_assert(COS_OP_SINV == static_cast<uint64_t>(abi::Op::sinv));
static_assert(COS_OP_SRET == static_cast<uint64_t>(abi::Op::sret));
static_assert(SYSCALL_VECTOR == kSyscallVector);
static_assert(PERCPU_KSTACK == offsetof(PerCpu, kernel_stack_top));
static_assert(PERCPU_USER_RSP == offsetof(PerCpu, user_rsp));
static_assert(PERCPU_REGS_TOP == offsetof(PerCpu, regs_top));
static_assert(PERCPU_SELF == offsetof(PerCpu, self));
static_assert(USER_RFLAGS == kUserRflags);
static_assert(USER_CS == kUserCs && USER_SS == kUserDs);
static_assert(INVFRAME_RIP == offsetof(InvocationFrame, rip));
static_assert(INVFRAME_RSP == offsetof(InvocationFrame, rsp));
static_assert(INVFRAME_RFLAGS == offsetof(InvocationFrame, rflags));
static_assert(VMCS_HOST_RSP == static_cast<uint32_t>(vmx::Vmcs::host_rsp));

static_assert(G_RAX == offsetof(vm::Regs, rax) && G_RCX == offsetof(vm::Regs, rcx) &&
              G_RDX == offsetof(vm::Regs, rdx) && G_RBX == offsetof(vm::Regs, rbx) &&
              G_RSP == offsetof(vm::Regs, rsp) && G_RBP == offsetof(vm::Regs, rbp) &&
              G_RSI == offsetof(vm::Regs, rsi) && G_RDI == offsetof(vm::Regs, rdi) &&
              G_R8 == offsetof(vm::Regs, r8) && G_R9 == offsetof(vm::Regs, r9) &&
              G_R10 == offsetof(vm::Regs, r10) && G_R11 == offsetof(vm::Regs, r11) &&
              G_R12 == offsetof(vm::Regs, r12) && G_R13 == offsetof(vm::Regs, r13) &&
              G_R14 == offsetof(vm::Regs, r14) && G_R15 == offsetof(vm::Regs, r15),
              "the guest GPR offsets follow vm::Regs (which Vcpu::gpr mirrors)");

}  // namespace cos::x86
