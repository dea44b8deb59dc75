/* Constants of the guest bootloader (guest_realmode.S), as plain #defines so
 * the assembler can use them. The guest-side half of the contract in
 * src/include/cos/guest_boot.hpp (tests/unit/guest_boot_test.cpp checks that
 * the two agree) plus the Linux x86 boot protocol offsets the bootloader
 * reads and writes (Documentation/arch/x86/boot.rst, "The real-mode kernel
 * header", and Documentation/arch/x86/zero-page.rst). */
#ifndef COS_GUEST_BOOTLOADER_LAYOUT_H
#define COS_GUEST_BOOTLOADER_LAYOUT_H

/* ---- cos::guest (guest_boot.hpp) -------------------------------------- */
#define GB_BOOTLOADER_GPA 0x8000     /* kBootloaderGpa: CS:IP = 0000:8000 */
#define GB_BOOTLOADER_MAX 0x7000     /* kBootloaderMaxBytes */
#define GB_BOOTINFO_GPA 0x7000       /* kBootInfoGpa: GuestBootInfo */
#define GB_BOOT_PARAMS_GPA 0x10000   /* kBootParamsGpa: the zero page we build */
#define GB_KERNEL32_GPA 0x100000     /* kKernel32Gpa: protected-mode kernel */
#define GB_BOOTINFO_MAGIC 0x42534f43 /* kBootInfoMagic, "COSB" */
#define GB_BOOTINFO_VERSION 1        /* kBootInfoVersion */
#define GB_MAX_E820 16               /* kMaxE820 */
#define GB_E820_RAM 1                /* kE820Ram */

/* GuestBootInfo field offsets. */
#define BI_MAGIC 0
#define BI_VERSION 4
#define BI_KERNEL_GPA 8
#define BI_KERNEL_SIZE 12
#define BI_INITRD_GPA 16
#define BI_INITRD_SIZE 20
#define BI_CMDLINE_GPA 24
#define BI_CMDLINE_SIZE 28
#define BI_E820_COUNT 32
#define BI_E820 40
#define BI_E820_ENTRY_SIZE 24 /* E820Entry: u64 addr, u64 size, u32 type, u32 reserved */
#define BI_SIZE (BI_E820 + GB_MAX_E820 * BI_E820_ENTRY_SIZE)

/* Hypercall and error codes. */
#define GB_HYPERCALL_BOOT_ERROR 0xc05b0001 /* kHypercallBootError, ebx = code */
#define GB_ERR_BAD_MAGIC 1                 /* kBootErrorBadMagic */
#define GB_ERR_OLD_PROTOCOL 2              /* kBootErrorOldProtocol */
#define GB_ERR_NOT_BZIMAGE 3               /* kBootErrorNotBzImage */
#define GB_ERR_TOO_BIG 4                   /* kBootErrorTooBig */
#define GB_ERR_BAD_INFO 5                  /* kBootErrorBadInfo */

/* ---- The image header at the start of guest.img ----------------------- *
 * offset 0: a 2-byte short jump over the header (the real-mode entry)
 * offset 4: u32 GUEST_IMG_MAGIC ("COSG")
 * offset 8: u32 header version (1)
 * offset 12: u32 offset in the image of the VMCALL instruction (0f 01 c1)
 *            of the boot-error hypercall: a VMM on AMD SVM may patch these
 *            3 bytes to VMMCALL (0f 01 d9) after loading the image
 * offset 16: u32 GB_HYPERCALL_BOOT_ERROR */
#define GUEST_IMG_MAGIC 0x47534f43 /* "COSG" */
#define GUEST_IMG_HDR_VERSION 1
#define GUEST_IMG_HDR_VMCALL_OFFSET 12

/* Stack of the bootloader: grows down from here (0x6000..0x7000 is free
 * RAM below the boot-info block). */
#define GB_STACK_TOP 0x7000
/* Scratch word for the A20 test (between the boot-info block and the
 * bootloader image). */
#define GB_A20_PROBE 0x7ff0

/* Segment selectors of the 32-bit boot protocol (boot.rst, "32-bit BOOT
 * PROTOCOL"): flat 4 GiB code and data at GDT entries 2 and 3. */
#define BOOT_CS 0x10
#define BOOT_DS 0x18

/* ---- Linux setup header: offsets in the bzImage file and in boot_params  *
 * (the header sits at the same offset in both). boot.rst. */
#define LH_SETUP_SECTS 0x1f1    /* u8, 0 means 4 */
#define LH_SYSSIZE 0x1f4        /* u32, 16-byte paragraphs */
#define LH_VID_MODE 0x1fa       /* u16 */
#define LH_BOOT_FLAG 0x1fe      /* u16, 0xAA55 */
#define LH_JUMP 0x200           /* u16; the byte at 0x201 + 0x202 = end of the header */
#define LH_HEADER 0x202         /* u32, "HdrS" */
#define LH_VERSION 0x206        /* u16, boot protocol version */
#define LH_TYPE_OF_LOADER 0x210 /* u8, 0xff = undefined loader */
#define LH_LOADFLAGS 0x211      /* u8, bit 0 LOADED_HIGH */
#define LH_CODE32_START 0x214   /* u32 */
#define LH_RAMDISK_IMAGE 0x218  /* u32 */
#define LH_RAMDISK_SIZE 0x21c   /* u32 */
#define LH_CMD_LINE_PTR 0x228   /* u32 (2.02+) */
#define LH_INITRD_ADDR_MAX 0x22c /* u32 (2.03+), highest address of the initrd's last byte */
#define LH_RELOCATABLE 0x234    /* u8 (2.05+) */
#define LH_CMDLINE_SIZE 0x238   /* u32 (2.06+), maximum command-line length without the NUL */
#define LH_PREF_ADDRESS 0x258   /* u64 (2.10+) */
#define LH_INIT_SIZE 0x260      /* u32 (2.10+), linear memory the kernel needs from its run address */

#define LINUX_BOOT_FLAG 0xaa55
#define LINUX_HDRS 0x53726448 /* "HdrS" */
#define LINUX_MIN_PROTOCOL 0x0206
#define LINUX_PROTOCOL_2_10 0x020a
#define LINUX_LOADED_HIGH 0x01
#define LINUX_SETUP_HEADER_LIMIT 0x290 /* boot_params: the header area ends here */

/* ---- boot_params (zero-page.rst) -------------------------------------- */
#define BP_SIZE 4096
#define BP_E820_ENTRIES 0x1e8 /* u8 */
#define BP_E820_TABLE 0x2d0   /* struct boot_e820_entry[128]: u64 addr, u64 size, u32 type */
#define BP_E820_ENTRY_SIZE 20

/* COM1 (8250 UART). */
#define COM1_DATA 0x3f8
#define COM1_LSR 0x3fd
#define LSR_THRE 0x20

#endif
