/* Component entry: the booter starts the main thread here with
   rdi = address of the component info page and rsp = top of its stack. */
  .text
  .global _start
_start:
  xor %ebp, %ebp
  and $-16, %rsp
  call cos_runtime_start
  ud2
  .section .note.GNU-stack, "", @progbits
