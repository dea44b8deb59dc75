/* Entry of the second benchmark thread: thd_start sets rsp to the top of its
   stack (16-byte aligned) and thd_create's arg is in rdi; make the stack look
   as after a call and run bench_thread_main(arg), which never returns. */
  .text
  .global bench_thread_entry
  .type bench_thread_entry, @function
bench_thread_entry:
  and $-16, %rsp
  xor %ebp, %ebp
  call bench_thread_main
  ud2
  .size bench_thread_entry, . - bench_thread_entry
  .section .note.GNU-stack, "", @progbits
