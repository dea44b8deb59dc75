/* guest.img: the guest bootloader simple_vmm starts Linux with.
 *
 * The VMM loads this image at 0x8000, the bzImage file, the initramfs and the
 * command line into guest RAM, writes a GuestBootInfo block at 0x7000
 * (src/include/cos/guest_boot.hpp) and starts the vCPU in 16-bit real mode at
 * CS:IP = 0000:8000 with interrupts disabled. This code
 *
 *   1. (16-bit) loads a GDT with flat __BOOT_CS = 0x10 and __BOOT_DS = 0x18,
 *      sets CR0.PE and far-jumps to 32-bit code;
 *   2. (32-bit) checks the boot-info block (magic, version, e820 table);
 *   3. checks the bzImage setup header: boot_flag 0xAA55 at 0x1fe, "HdrS" at
 *      0x202, protocol version at 0x206 >= 2.06, loadflags (0x211) bit 0
 *      LOADED_HIGH;
 *   4. checks that the kernel fits: [0x100000, max(0x100000, pref_address) +
 *      init_size) (and the protected-mode code itself) lies in one e820 RAM
 *      range and below / apart from the initrd, the initrd lies in RAM and
 *      below initrd_addr_max (0x22c), the command line is no longer than
 *      cmdline_size (0x238);
 *   5. builds boot_params ("zero page") at 0x10000: zeroed, the setup header
 *      copied from the file (0x1f1 up to 0x202 + the byte at 0x201), then
 *      type_of_loader = 0xff, vid_mode = 0xffff, cmd_line_ptr,
 *      ramdisk_image/ramdisk_size, the e820 table (0x2d0, 20-byte entries) and
 *      e820_entries (0x1e8);
 *   6. copies the protected-mode kernel (the file from offset
 *      (setup_sects + 1) * 512, setup_sects 0 meaning 4) to 0x100000;
 *   7. enters it as the 32-bit boot protocol says (boot.rst, "32-bit BOOT
 *      PROTOCOL"): protected mode, paging off, interrupts off, CS = __BOOT_CS,
 *      DS = ES = SS = __BOOT_DS, ESI = &boot_params, EBP = EDI = EBX = 0,
 *      jump to 0x100000.
 *
 * Any failure prints "guest bootloader: <why>" on COM1 (polling the LSR) and
 * makes the boot-error hypercall: EAX = 0xc05b0001, EBX = error code, VMCALL;
 * then halts forever. The VMCALL is the only one in the image; its offset is
 * in the image header (bootloader_layout.h) so a VMM on AMD SVM can patch it
 * to VMMCALL. Offsets and constants: bootloader_layout.h. */
#include "bootloader_layout.h"

/* FAIL code, message: print the message and stop with the boot-error hypercall. */
.macro FAIL code, msg
        movl    $\code, %ebx
        movl    $\msg, %esi
        jmp     fail
.endm

        .section .text.entry, "ax"
        .code16
        .globl  _start
_start:
        jmp     real_start               /* 2 bytes (.org below checks) */
        .org    4
header:                                  /* the image header (bootloader_layout.h) */
        .long   GUEST_IMG_MAGIC
        .long   GUEST_IMG_HDR_VERSION
        .long   guest_vmcall - _start    /* GUEST_IMG_HDR_VMCALL_OFFSET */
        .long   GB_HYPERCALL_BOOT_ERROR

real_start:
        cli
        cld
        xorw    %ax, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    $GB_STACK_TOP, %sp
        lgdtl   gdt_ptr
        movl    %cr0, %eax
        orl     $1, %eax                 /* CR0.PE */
        movl    %eax, %cr0
        ljmpl   $BOOT_CS, $pm_entry

        .code32
pm_entry:
        movl    $BOOT_DS, %eax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    %ax, %fs
        movw    %ax, %gs
        movl    $GB_STACK_TOP, %esp
        call    a20_enable

/* ---- 2. the boot-info block ------------------------------------------- */
        cmpl    $GB_BOOTINFO_MAGIC, GB_BOOTINFO_GPA + BI_MAGIC
        jne     1f
        cmpl    $GB_BOOTINFO_VERSION, GB_BOOTINFO_GPA + BI_VERSION
        je      2f
1:      FAIL    GB_ERR_BAD_INFO, msg_bad_info
2:      movl    GB_BOOTINFO_GPA + BI_E820_COUNT, %eax
        testl   %eax, %eax
        jz      3f
        cmpl    $GB_MAX_E820, %eax
        jbe     4f
3:      FAIL    GB_ERR_BAD_INFO, msg_bad_e820

/* ---- 3. the setup header of the bzImage --------------------------------- */
4:      movl    GB_BOOTINFO_GPA + BI_KERNEL_GPA, %esi
        cmpl    $0x400, GB_BOOTINFO_GPA + BI_KERNEL_SIZE    /* the header ends before 0x290 */
        jae     1f
        FAIL    GB_ERR_BAD_MAGIC, msg_too_small
1:      cmpw    $LINUX_BOOT_FLAG, LH_BOOT_FLAG(%esi)
        je      1f
        FAIL    GB_ERR_BAD_MAGIC, msg_no_boot_flag
1:      cmpl    $LINUX_HDRS, LH_HEADER(%esi)
        je      1f
        FAIL    GB_ERR_BAD_MAGIC, msg_no_hdrs
1:      movzwl  LH_VERSION(%esi), %eax
        movl    %eax, protocol
        cmpl    $LINUX_MIN_PROTOCOL, %eax
        jae     1f
        movl    %eax, %edx
        movl    $GB_ERR_OLD_PROTOCOL, %ebx
        movl    $msg_old_protocol, %esi
        movl    $msg_old_protocol_tail, %edi
        jmp     fail_hex
1:      testb   $LINUX_LOADED_HIGH, LH_LOADFLAGS(%esi)
        jnz     1f
        FAIL    GB_ERR_NOT_BZIMAGE, msg_not_loaded_high

/* protected-mode part: file offset (setup_sects + 1) * 512 */
1:      movzbl  LH_SETUP_SECTS(%esi), %eax
        testl   %eax, %eax
        jnz     1f
        movl    $4, %eax                 /* boot.rst: setup_sects 0 means 4 */
1:      incl    %eax
        shll    $9, %eax
        movl    %eax, pm_offset
        movl    GB_BOOTINFO_GPA + BI_KERNEL_SIZE, %ecx
        cmpl    %ecx, %eax
        jb      1f
        FAIL    GB_ERR_NOT_BZIMAGE, msg_truncated
1:      subl    %eax, %ecx
        movl    %ecx, pm_size

/* ---- 4. does it fit? -------------------------------------------------- */
        /* need_end = max(0x100000 + pm_size, run_start + init_size), where
         * run_start = max(0x100000, pref_address) (protocol 2.10+): the
         * decompressor uses [run_start, run_start + init_size). */
        movl    $GB_KERNEL32_GPA, %eax
        addl    %ecx, %eax
        jc      kernel_too_big
        movl    %eax, need_end
        cmpl    $LINUX_PROTOCOL_2_10, protocol
        jb      1f
        cmpl    $0, LH_PREF_ADDRESS + 4(%esi)
        jne     kernel_too_big           /* wants to run above 4 GiB */
        movl    LH_PREF_ADDRESS(%esi), %eax
        cmpl    $GB_KERNEL32_GPA, %eax
        jae     2f
        movl    $GB_KERNEL32_GPA, %eax
2:      addl    LH_INIT_SIZE(%esi), %eax
        jc      kernel_too_big
        cmpl    need_end, %eax
        jbe     1f
        movl    %eax, need_end
1:      movl    $GB_KERNEL32_GPA, %eax
        movl    need_end, %edx
        call    in_ram
        jnc     1f
kernel_too_big:
        movl    need_end, %edx
        movl    $GB_ERR_TOO_BIG, %ebx
        movl    $msg_kernel_ram, %esi
        movl    $msg_kernel_ram_tail, %edi
        jmp     fail_hex

        /* The initrd: in RAM, below initrd_addr_max, apart from the kernel. */
1:      movl    GB_BOOTINFO_GPA + BI_INITRD_SIZE, %ecx
        testl   %ecx, %ecx
        jz      initrd_ok
        movl    GB_BOOTINFO_GPA + BI_INITRD_GPA, %eax
        movl    %eax, %edx
        addl    %ecx, %edx
        jc      initrd_not_in_ram
        call    in_ram
        jnc     1f
initrd_not_in_ram:
        FAIL    GB_ERR_TOO_BIG, msg_initrd_ram
1:      movl    GB_BOOTINFO_GPA + BI_KERNEL_GPA, %esi
        leal    -1(%edx), %ecx           /* the initrd's last byte */
        cmpl    LH_INITRD_ADDR_MAX(%esi), %ecx
        jbe     1f
        movl    LH_INITRD_ADDR_MAX(%esi), %edx
        movl    $GB_ERR_TOO_BIG, %ebx
        movl    $msg_initrd_max, %esi
        movl    $msg_initrd_max_tail, %edi
        jmp     fail_hex
        /* overlap with [0x100000, need_end)? */
1:      cmpl    need_end, %eax           /* initrd starts at or after need_end: fine */
        jae     initrd_ok
        cmpl    $GB_KERNEL32_GPA, %edx   /* initrd ends at or before 1 MiB: fine */
        jbe     initrd_ok
        movl    %eax, %edx
        movl    $GB_ERR_TOO_BIG, %ebx
        movl    $msg_initrd_overlap, %esi
        movl    $msg_initrd_overlap_tail, %edi
        jmp     fail_hex
initrd_ok:

        /* The command line: no longer than the kernel accepts. */
        movl    GB_BOOTINFO_GPA + BI_KERNEL_GPA, %esi
        movl    LH_CMDLINE_SIZE(%esi), %edx
        cmpl    %edx, GB_BOOTINFO_GPA + BI_CMDLINE_SIZE
        jbe     1f
        movl    $GB_ERR_TOO_BIG, %ebx
        movl    $msg_cmdline, %esi
        movl    $msg_cmdline_tail, %edi
        jmp     fail_hex

/* ---- 5. boot_params --------------------------------------------------- */
1:      movl    $GB_BOOT_PARAMS_GPA, %edi
        movl    $BP_SIZE / 4, %ecx
        xorl    %eax, %eax
        rep stosl
        /* the setup header: [0x1f1, 0x202 + byte at 0x201), at most up to 0x290 */
        movl    GB_BOOTINFO_GPA + BI_KERNEL_GPA, %esi
        movzbl  LH_JUMP + 1(%esi), %ecx
        addl    $LH_HEADER, %ecx
        cmpl    $LINUX_SETUP_HEADER_LIMIT, %ecx
        jbe     1f
        movl    $LINUX_SETUP_HEADER_LIMIT, %ecx
1:      subl    $LH_SETUP_SECTS, %ecx
        addl    $LH_SETUP_SECTS, %esi
        movl    $GB_BOOT_PARAMS_GPA + LH_SETUP_SECTS, %edi
        rep movsb
        movl    $GB_BOOT_PARAMS_GPA, %edi
        movb    $0xff, LH_TYPE_OF_LOADER(%edi)   /* undefined boot loader */
        movw    $0xffff, LH_VID_MODE(%edi)       /* "normal" video mode */
        movl    GB_BOOTINFO_GPA + BI_CMDLINE_GPA, %eax
        movl    %eax, LH_CMD_LINE_PTR(%edi)
        movl    GB_BOOTINFO_GPA + BI_INITRD_SIZE, %eax
        movl    %eax, LH_RAMDISK_SIZE(%edi)
        testl   %eax, %eax
        jz      1f
        movl    GB_BOOTINFO_GPA + BI_INITRD_GPA, %eax
        movl    %eax, LH_RAMDISK_IMAGE(%edi)
1:      /* e820: 24-byte GuestBootInfo entries -> 20-byte boot_e820_entry */
        movl    GB_BOOTINFO_GPA + BI_E820_COUNT, %ecx
        movb    %cl, BP_E820_ENTRIES(%edi)
        movl    $GB_BOOTINFO_GPA + BI_E820, %esi
        leal    BP_E820_TABLE(%edi), %edi
1:      pushl   %ecx
        movl    $5, %ecx                 /* addr (8), size (8), type (4) */
        rep movsl
        addl    $BI_E820_ENTRY_SIZE - BP_E820_ENTRY_SIZE, %esi
        popl    %ecx
        loop    1b

/* ---- 6. the protected-mode kernel to 0x100000 ------------------------- */
        movl    GB_BOOTINFO_GPA + BI_KERNEL_GPA, %esi
        addl    pm_offset, %esi
        movl    $GB_KERNEL32_GPA, %edi
        movl    pm_size, %ecx
        addl    $3, %ecx
        shrl    $2, %ecx
        rep movsl                        /* forward: fine while the file lies above 1 MiB */

        movl    $msg_prefix, %esi
        call    puts
        movl    $msg_start, %esi
        call    puts
        movl    protocol, %edx
        call    put_hex
        movl    $msg_start_tail, %esi
        call    puts

/* ---- 7. enter the kernel ---------------------------------------------- */
        cli
        movl    $GB_BOOT_PARAMS_GPA, %esi
        xorl    %ebp, %ebp
        xorl    %edi, %edi
        xorl    %ebx, %ebx
        movl    $GB_KERNEL32_GPA, %eax
        jmp     *%eax

/* ---- helpers ---------------------------------------------------------- */

/* in_ram: CF clear if [%eax, %edx) (with %eax < %edx) lies inside one e820
 * RAM entry of the boot-info block; CF set otherwise. Keeps every register. */
in_ram:
        pushal
        movl    GB_BOOTINFO_GPA + BI_E820_COUNT, %ecx
        movl    $GB_BOOTINFO_GPA + BI_E820, %esi
1:      cmpl    $GB_E820_RAM, 16(%esi)
        jne     3f
        cmpl    $0, 4(%esi)              /* starts above 4 GiB: not ours */
        jne     3f
        cmpl    (%esi), %eax             /* start >= entry.addr */
        jb      3f
        /* entry end = addr + size, 64-bit: ebx:edi */
        movl    (%esi), %edi
        movl    4(%esi), %ebx
        addl    8(%esi), %edi
        adcl    12(%esi), %ebx
        testl   %ebx, %ebx
        jnz     2f                       /* ends at or above 4 GiB: covers any 32-bit end */
        cmpl    %edi, %edx               /* end <= entry end */
        ja      3f
2:      popal
        clc
        ret
3:      addl    $BI_E820_ENTRY_SIZE, %esi
        loop    1b
        popal
        stc
        ret

/* a20_enable: if addresses with bit 20 set wrap around (A20 gate closed),
 * open it with the "fast A20" bit of port 0x92. A VMM without an A20 gate
 * never gets the port access. */
a20_enable:
        movl    $GB_A20_PROBE, %edi
        movl    $0x5a5a1234, (%edi)
        movl    $0xa5a5edcb, 0x100000(%edi)
        cmpl    $0x5a5a1234, (%edi)
        je      1f
        inb     $0x92, %al
        orb     $0x02, %al               /* A20 */
        andb    $0xfe, %al               /* bit 0 would reset the machine */
        outb    %al, $0x92
1:      ret

/* fail: print "guest bootloader: " and the message at %esi, then stop with
 * the boot-error hypercall, error code in %ebx. */
fail:
        xorl    %edi, %edi
/* fail_hex: the same, followed by %edx in hex and the string at %edi. */
fail_hex:
        pushl   %esi
        movl    $msg_prefix, %esi
        call    puts
        popl    %esi
        call    puts
        testl   %edi, %edi
        jz      1f
        call    put_hex
        movl    %edi, %esi
        call    puts
1:      movl    $msg_newline, %esi
        call    puts
        movl    $GB_HYPERCALL_BOOT_ERROR, %eax
        .globl  guest_vmcall
guest_vmcall:                            /* the one VMCALL: 0f 01 c1 */
        vmcall
1:      cli
        hlt
        jmp     1b

/* puts: the NUL-terminated string at %esi on COM1 ("\n" as "\r\n"). */
puts:
        pushl   %eax
        pushl   %esi
1:      lodsb
        testb   %al, %al
        jz      2f
        cmpb    $'\n', %al
        jne     3f
        movb    $'\r', %al
        call    putc
        movb    $'\n', %al
3:      call    putc
        jmp     1b
2:      popl    %esi
        popl    %eax
        ret

/* put_hex: %edx as "0x" and 8 hex digits. */
put_hex:
        pushl   %eax
        pushl   %ecx
        pushl   %edx
        movb    $'0', %al
        call    putc
        movb    $'x', %al
        call    putc
        movl    $8, %ecx
1:      roll    $4, %edx
        movl    %edx, %eax
        andl    $0xf, %eax
        movb    hex_digits(%eax), %al
        call    putc
        loop    1b
        popl    %edx
        popl    %ecx
        popl    %eax
        ret

/* putc: %al on COM1, after waiting (boundedly) for THRE in the LSR. */
putc:
        pushl   %ecx
        pushl   %edx
        pushl   %eax
        movl    $0x100000, %ecx
        movw    $COM1_LSR, %dx
1:      inb     %dx, %al
        testb   $LSR_THRE, %al
        jnz     2f
        loop    1b
2:      popl    %eax
        movw    $COM1_DATA, %dx
        outb    %al, %dx
        popl    %edx
        popl    %ecx
        ret

/* ---- data ------------------------------------------------------------- */
        .balign 8
gdt:
        .quad   0                        /* 0x00 null */
        .quad   0                        /* 0x08 unused */
        .quad   0x00cf9a000000ffff       /* 0x10 __BOOT_CS: base 0, 4 GiB, 32-bit, execute/read */
        .quad   0x00cf92000000ffff       /* 0x18 __BOOT_DS: base 0, 4 GiB, 32-bit, read/write */
gdt_end:
        .balign 4
        .word   0                        /* aligns the base below */
gdt_ptr:
        .word   gdt_end - gdt - 1
        .long   gdt

protocol:   .long 0                      /* setup header version */
pm_offset:  .long 0                      /* file offset of the protected-mode kernel */
pm_size:    .long 0                      /* its size */
need_end:   .long 0                      /* end of the memory the kernel needs from 1 MiB */

hex_digits:         .ascii "0123456789abcdef"
msg_prefix:         .asciz "guest bootloader: "
msg_newline:        .asciz "\n"
msg_bad_info:       .asciz "no boot-info block at 0x7000 (bad magic or version): the VMM did not prepare this guest"
msg_bad_e820:       .asciz "bad boot-info block: the e820 table is empty or has more than 16 entries"
msg_too_small:      .asciz "not a bzImage (the kernel image is smaller than a setup header)"
msg_no_boot_flag:   .asciz "not a bzImage (no boot flag 0xAA55 at offset 0x1fe)"
msg_no_hdrs:        .asciz "not a bzImage (no HdrS)"
msg_old_protocol:   .asciz "kernel boot protocol version "
msg_old_protocol_tail: .asciz " is too old (need 0x0206 or later)"
msg_not_loaded_high: .asciz "not a bzImage (loadflags LOADED_HIGH not set: a zImage cannot be loaded at 1 MiB)"
msg_truncated:      .asciz "not a bzImage (the file ends inside its setup code: truncated?)"
msg_kernel_ram:     .asciz "kernel does not fit: it needs guest RAM from 0x00100000 up to "
msg_kernel_ram_tail: .asciz " (more guest RAM?)"
msg_initrd_ram:     .asciz "initrd does not fit: it is not inside guest RAM"
msg_initrd_max:     .asciz "initrd does not fit: it ends above the kernel's initrd_addr_max "
msg_initrd_max_tail: .asciz ""
msg_initrd_overlap: .asciz "kernel does not fit below the initrd at "
msg_initrd_overlap_tail: .asciz " (its decompression area would overwrite it)"
msg_cmdline:        .asciz "command line too long: the kernel takes at most "
msg_cmdline_tail:   .asciz " bytes"
msg_start:          .asciz "Linux boot protocol "
msg_start_tail:     .asciz ", starting the kernel at 0x100000\n"
