/* fuzz_raw_syscall(const uint64_t in[13], uint64_t out[13]): one system call
   with every register the ABI promises to preserve set to a known value, and
   every register captured afterwards, so the fuzzer can check the contract of
   src/include/cos/abi.hpp ("rcx and r11 are clobbered; every other register is
   preserved; rax = status, rdx = second result").
     in:  [0] op  [1..6] rdi rsi rdx r10 r8 r9  [7..12] rbx rbp r12 r13 r14 r15
     out: [0] rax [1] rdx [2] rdi [3] rsi [4] r10 [5] r8 [6] r9
          [7..12] rbx rbp r12 r13 r14 r15
   Not for Op::sinv (use cos_sinv_call, which handles the migration). */
  .text
  .global fuzz_raw_syscall
  .type fuzz_raw_syscall, @function
fuzz_raw_syscall:
  push %rbx
  push %rbp
  push %r12
  push %r13
  push %r14
  push %r15
  push %rsi                   /* out: found again through rsp after the call */
  mov 56(%rdi), %rbx
  mov 64(%rdi), %rbp
  mov 72(%rdi), %r12
  mov 80(%rdi), %r13
  mov 88(%rdi), %r14
  mov 96(%rdi), %r15
  mov 0(%rdi), %rax
  mov 16(%rdi), %rsi
  mov 24(%rdi), %rdx
  mov 32(%rdi), %r10
  mov 40(%rdi), %r8
  mov 48(%rdi), %r9
  mov 8(%rdi), %rdi
  syscall
  mov (%rsp), %r11
  mov %rax, 0(%r11)
  mov %rdx, 8(%r11)
  mov %rdi, 16(%r11)
  mov %rsi, 24(%r11)
  mov %r10, 32(%r11)
  mov %r8, 40(%r11)
  mov %r9, 48(%r11)
  mov %rbx, 56(%r11)
  mov %rbp, 64(%r11)
  mov %r12, 72(%r11)
  mov %r13, 80(%r11)
  mov %r14, 88(%r11)
  mov %r15, 96(%r11)
  add $8, %rsp
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbp
  pop %rbx
  ret
  .size fuzz_raw_syscall, . - fuzz_raw_syscall
  .section .note.GNU-stack, "", @progbits
