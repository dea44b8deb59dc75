/* hostile_guests: the mailbox page through which the guest programs
   (guests.S) and the VMM (hostile_guests.cpp) talk, at guest-physical
   MB_BASE (vmtest::layout::kMailbox). Included by C++ and assembly. */
#ifndef HOSTILE_GUESTS_MAILBOX_H
#define HOSTILE_GUESTS_MAILBOX_H

#define MB_BASE 0x4000
/* Where the exception handlers resume the program (0: they halt). u64. */
#define MB_RESUME (MB_BASE + 0x00)
/* The last exception: vector (u32) and error code (u32). */
#define MB_LAST_VECTOR (MB_BASE + 0x08)
#define MB_LAST_ERROR (MB_BASE + 0x0c)
/* Exceptions taken by the handlers, in all (u32). */
#define MB_FAULTS (MB_BASE + 0x10)
/* The interrupted instruction pointer of the last exception (u64). */
#define MB_LAST_IP (MB_BASE + 0x18)
/* CR2 at the last exception (u64; 32/64-bit handlers only). */
#define MB_CR2 (MB_BASE + 0x20)
/* Exceptions per vector 0..31 (u32 each). */
#define MB_COUNTS (MB_BASE + 0x40)
/* Arguments from the VMM (u64 each). */
#define MB_ARG0 (MB_BASE + 0xc0)
#define MB_ARG1 (MB_BASE + 0xc8)
#define MB_ARG2 (MB_BASE + 0xd0)
#define MB_ARG3 (MB_BASE + 0xd8)
/* Results of the program (u64 each): MB_R(n). */
#define MB_RESULTS (MB_BASE + 0x100)
#define MB_R0 (MB_RESULTS + 0x00)
#define MB_R1 (MB_RESULTS + 0x08)
#define MB_R2 (MB_RESULTS + 0x10)
#define MB_R3 (MB_RESULTS + 0x18)
#define MB_R4 (MB_RESULTS + 0x20)
#define MB_R5 (MB_RESULTS + 0x28)
#define MB_R6 (MB_RESULTS + 0x30)
#define MB_R7 (MB_RESULTS + 0x38)
/* Per-probe results (u32 each, up to 64): the vector each probe raised
   (0xff: none). */
#define MB_PROBES (MB_BASE + 0x200)
/* A list for sweeps and probe lists: MB_ARG0 entries of three u64 each
   ({first, end, stride} ranges; {leaf, subleaf, 0} CPUID queries;
   {op, index, value} MSR accesses) at MB_ENTRIES, at most MB_MAX_ENTRIES. */
#define MB_ENTRIES 0x9000  /* the second page of vmtest::layout::kBuffer */
#define MB_MAX_ENTRIES 170
/* Per-probe values (u64 each, up to 64), e.g. what an RDMSR read. */
#define MB_VALUES (MB_BASE + 0x600)

/* Selectors of the extra GDT descriptors (vmtest/guest_setup.hpp). */
#define SEL_CODE32 0x10
#define SEL_DATA 0x18
#define SEL_CODE64 0x20
#define SEL_USER_CODE64 0x3b
#define SEL_USER_DATA 0x43
#define SEL_USER_CODE32 0x4b
#define SEL_CONFORMING32 0x50
#define SEL_TSS32 0x60

/* What the port sweeps write (byte, word, dword): the keyboard controller's
   and port 0xcf9's reset commands, among others. */
#define PORT_OUT8 0xfe
#define PORT_OUT16 0x06fe
#define PORT_OUT32 0xfe0e06fe

/* Vectors that push an error code (8, 10-14, 17, 21, 29, 30). */
#define ERROR_CODE_VECTORS 0x60227d00

#endif
