/* hello_vm's guest: 16-bit real-mode code, copied by the VMM to guest-physical
   0x1000 and started at 0000:1000 (the seed lab "first KVM VM").

   It computes 4 + 2, writes the digit to port 0x3f8 and halts; once the VMM
   resumes it past the HLT it makes hypercall 4 (POKE) and then hypercall 0
   (done). Each hypercall is assembled as VMCALL; the VMM rewrites the three
   bytes at hello_vm_guest_hc_* with the backend's instruction (VMMCALL on
   SVM) before the first run. This is data for the VMM, not code it runs. */
  .section .rodata.hello_vm_guest, "a"
  .code16
  .global hello_vm_guest_start, hello_vm_guest_end
  .global hello_vm_guest_hc_poke, hello_vm_guest_hc_done
hello_vm_guest_start:
  mov $4, %al
  add $2, %al
  add $'0', %al
  mov $0x3f8, %dx
  out %al, (%dx)
  hlt
  mov $4, %eax
hello_vm_guest_hc_poke:
  vmcall
  xor %eax, %eax
hello_vm_guest_hc_done:
  vmcall
1:
  hlt
  jmp 1b
hello_vm_guest_end:
  .code64
  .section .note.GNU-stack, "", @progbits
