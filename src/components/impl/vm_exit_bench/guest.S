/* vm_exit_bench's guest: 64-bit code, copied by the VMM to guest-physical
   0x100000 and started in long mode (vmrt::setup_long_mode, identity-mapped
   page tables). r12 holds the number of exits per kind (set by the VMM).

   Three loops, one per exit kind, each r12 times: OUT to port 0x510, CPUID
   (leaf 0), and hypercall 1; then hypercall 0 (done). The hypercalls are
   assembled as VMCALL and patched by the VMM for the backend. */
  .section .rodata.vm_exit_bench_guest, "a"
  .code64
  .global vm_exit_bench_guest_start, vm_exit_bench_guest_end
  .global vm_exit_bench_guest_hc_loop, vm_exit_bench_guest_hc_done
vm_exit_bench_guest_start:
  mov %r12, %r8
  mov $0x510, %edx
1:
  out %al, (%dx)
  dec %r8
  jnz 1b

  mov %r12, %r8
2:
  xor %eax, %eax
  xor %ecx, %ecx
  cpuid
  dec %r8
  jnz 2b

  mov %r12, %r8
3:
  mov $1, %eax
vm_exit_bench_guest_hc_loop:
  vmcall
  dec %r8
  jnz 3b

  xor %eax, %eax
vm_exit_bench_guest_hc_done:
  vmcall
4:
  hlt
  jmp 4b
vm_exit_bench_guest_end:
  .section .note.GNU-stack, "", @progbits
