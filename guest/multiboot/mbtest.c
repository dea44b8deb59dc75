/* mbtest: a Multiboot (v1) test kernel for simple_vmm's QEMU conventions
   (README.md here). It reports on COM1 (an 8250 at 0x3f8) what its loader
   gave it — the multiboot_info structure (loader name, memory, memory map,
   command line, modules and their contents) and QEMU's fw_cfg device
   (signature, ID, RAM size, CPU count, command line, file directory) — and
   then does what its command line asks:

     exit=N     write N to QEMU's isa-debug-exit (port 0xf4): QEMU, and
                simple_vmm with exit_status = "debug-exit", end the run with
                status (N << 1) | 1
     triple     triple fault (an empty IDT, then INT3)
     reset      pulse the reset line through the i8042 (port 0x64, 0xfe)
     (nothing)  halt with interrupts off (simple_vmm: a power-off)

   Every check that fails prints a line starting "mbtest: FAIL". Freestanding
   32-bit C: no libc, no 64-bit division. */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define MB_LOADER_MAGIC 0x2BADB002u

struct mb_info {
  u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
  u32 syms[4];
  u32 mmap_length, mmap_addr, drives_length, drives_addr, config_table, boot_loader_name;
};
struct mb_module {
  u32 mod_start, mod_end, string, reserved;
};
struct __attribute__((packed)) mb_mmap {
  u32 size;
  u64 base, length;
  u32 type;
};

static unsigned failures;
extern char __bss_end[];  /* mbtest.ld: the end of the kernel */

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) {
  u8 v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

/* ---- COM1 ---- */
#define COM1 0x3f8
static void serial_init(void) {
  outb(COM1 + 1, 0x00);  /* no interrupts */
  outb(COM1 + 3, 0x80);  /* DLAB */
  outb(COM1 + 0, 0x01);  /* 115200 baud */
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x03);  /* 8N1 */
  outb(COM1 + 2, 0xc7);  /* FIFOs on, cleared */
  outb(COM1 + 4, 0x03);  /* DTR, RTS */
}
static void putc(char c) {
  while (!(inb(COM1 + 5) & 0x20)) {
  }
  outb(COM1, (u8)c);
}
static void puts(const char* s) {
  while (*s) {
    if (*s == '\n') putc('\r');
    putc(*s++);
  }
}
static void put_hex(u64 v) {
  char buf[19];
  int n = 0;
  buf[n++] = '0', buf[n++] = 'x';
  int shift = 60;
  while (shift > 0 && ((v >> shift) & 0xf) == 0) shift -= 4;
  for (; shift >= 0; shift -= 4) buf[n++] = "0123456789abcdef"[(v >> shift) & 0xf];
  buf[n] = 0;
  puts(buf);
}
static void put_dec(u32 v) {
  char buf[11];
  int n = 10;
  buf[n] = 0;
  do {
    buf[--n] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  puts(buf + n);
}
static void fail(const char* what) {
  ++failures;
  puts("mbtest: FAIL: ");
  puts(what);
  puts("\n");
}

static int str_eq_n(const char* a, const char* b, u32 n) {
  for (u32 i = 0; i < n; ++i)
    if (a[i] != b[i]) return 0;
  return 1;
}
static u32 str_len(const char* s) {
  u32 n = 0;
  while (s[n]) ++n;
  return n;
}

/* ---- fw_cfg (selector 0x510, data 0x511) ---- */
static void fw_select(u16 key) { outw(0x510, key); }
static u8 fw_byte(void) { return inb(0x511); }
static u64 fw_le(u16 key, unsigned n) {
  u64 v = 0;
  fw_select(key);
  for (unsigned i = 0; i < n; ++i) v |= (u64)fw_byte() << (8 * i);
  return v;
}
static u32 fw_be32(void) {
  u32 v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | fw_byte();
  return v;
}

static void report_fw_cfg(const char* mb_cmdline) {
  char sig[5];
  fw_select(0x00);
  for (int i = 0; i < 4; ++i) sig[i] = (char)fw_byte();
  sig[4] = 0;
  puts("mbtest: fw_cfg signature ");
  puts(sig);
  puts(", id ");
  put_hex(fw_le(0x01, 4));
  puts("\n");
  if (!str_eq_n(sig, "QEMU", 4)) {
    fail("no fw_cfg (signature is not QEMU)");
    return;
  }
  u64 ram = fw_le(0x03, 8);
  puts("mbtest: fw_cfg RAM ");
  put_dec((u32)(ram >> 20));
  puts(" MiB, ");
  put_dec((u32)fw_le(0x05, 2));
  puts(" CPUs\n");

  u32 size = (u32)fw_le(0x14, 4);
  static char cmdline[512];
  fw_select(0x15);
  u32 i;
  for (i = 0; i < size && i + 1 < sizeof(cmdline); ++i) cmdline[i] = (char)fw_byte();
  cmdline[i] = 0;
  puts("mbtest: fw_cfg command line (");
  put_dec(size);
  puts(" bytes): ");
  puts(cmdline);
  puts("\n");
  if (mb_cmdline && (size != str_len(mb_cmdline) + 1 || !str_eq_n(cmdline, mb_cmdline, size)))
    fail("the fw_cfg command line differs from the Multiboot one");

  fw_select(0x19);
  u32 count = fw_be32();
  puts("mbtest: fw_cfg files: ");
  put_dec(count);
  puts("\n");
  for (u32 f = 0; f < count && f < 32; ++f) {
    u32 fsize = fw_be32();
    u16 select = (u16)(fw_byte() << 8);
    select |= fw_byte();
    fw_byte(), fw_byte();
    char name[57];
    for (int k = 0; k < 56; ++k) name[k] = (char)fw_byte();
    name[56] = 0;
    puts("mbtest: fw_cfg file ");
    puts(name);
    puts(" (select ");
    put_hex(select);
    puts(", ");
    put_dec(fsize);
    puts(" bytes)\n");
  }
}

/* ---- the multiboot_info ---- */
static const char* report_multiboot(u32 magic, const struct mb_info* mbi) {
  if (magic != MB_LOADER_MAGIC) {
    puts("mbtest: FAIL: EAX is ");
    put_hex(magic);
    puts(", not the Multiboot loader magic 0x2badb002\n");
    ++failures;
    return 0;
  }
  puts("mbtest: booted by a Multiboot loader (magic 0x2badb002, info at ");
  put_hex((u32)mbi);
  puts(", flags ");
  put_hex(mbi->flags);
  puts(")\n");
  if (mbi->flags & (1u << 9)) {
    puts("mbtest: loader: ");
    puts((const char*)mbi->boot_loader_name);
    puts("\n");
  }
  if (mbi->flags & 1u) {
    puts("mbtest: memory: lower ");
    put_dec(mbi->mem_lower);
    puts(" KiB, upper ");
    put_dec(mbi->mem_upper);
    puts(" KiB\n");
  } else {
    fail("no memory information (flags bit 0), though the header asked for it");
  }
  if (mbi->flags & (1u << 6)) {
    u32 at = mbi->mmap_addr, end = mbi->mmap_addr + mbi->mmap_length;
    while (at < end) {
      const struct mb_mmap* e = (const struct mb_mmap*)at;
      puts("mbtest: mmap ");
      put_hex(e->base);
      puts(" length ");
      put_hex(e->length);
      puts(" type ");
      put_dec(e->type);
      puts("\n");
      at += e->size + 4;
    }
  } else {
    fail("no memory map (flags bit 6)");
  }
  const char* cmdline = 0;
  if (mbi->flags & (1u << 2)) {
    cmdline = (const char*)mbi->cmdline;
    puts("mbtest: command line: ");
    puts(cmdline);
    puts("\n");
  }
  if (mbi->flags & (1u << 3)) {
    const struct mb_module* m = (const struct mb_module*)mbi->mods_addr;
    puts("mbtest: modules: ");
    put_dec(mbi->mods_count);
    puts("\n");
    for (u32 i = 0; i < mbi->mods_count; ++i) {
      puts("mbtest: module ");
      put_dec(i);
      puts(" '");
      puts((const char*)m[i].string);
      puts("' at ");
      put_hex(m[i].mod_start);
      puts(", ");
      put_dec(m[i].mod_end - m[i].mod_start);
      puts(" bytes: ");
      /* Its first line, printable characters only. */
      const char* p = (const char*)m[i].mod_start;
      for (u32 k = 0; k < m[i].mod_end - m[i].mod_start && k < 72 && p[k] != '\n'; ++k)
        putc(p[k] >= 0x20 && p[k] < 0x7f ? p[k] : '.');
      puts("\n");
      if (m[i].mod_start & 0xfff) fail("a module is not page aligned (header flags bit 0)");
      if (m[i].mod_start < (u32)__bss_end) fail("a module overlaps the kernel");
    }
  }
  return cmdline;
}

/* ---- what the command line asks ---- */
static int parse_number(const char* s, u32* out) {
  u32 v = 0, base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, s += 2;
  if (!*s || *s == ' ') return 0;
  for (; *s && *s != ' '; ++s) {
    u32 d;
    if (*s >= '0' && *s <= '9') d = (u32)(*s - '0');
    else if (base == 16 && *s >= 'a' && *s <= 'f') d = (u32)(*s - 'a' + 10);
    else if (base == 16 && *s >= 'A' && *s <= 'F') d = (u32)(*s - 'A' + 10);
    else return 0;
    v = v * base + d;
  }
  *out = v;
  return 1;
}

static void act(const char* cmdline) {
  for (const char* p = cmdline; p && *p;) {
    while (*p == ' ') ++p;
    if (str_eq_n(p, "exit=", 5)) {
      u32 v;
      if (!parse_number(p + 5, &v)) {
        fail("exit= needs a number");
      } else {
        puts("mbtest: writing ");
        put_hex(v);
        puts(" to isa-debug-exit (port 0xf4)\n");
        outl(0xf4, v);
        fail("still running after the isa-debug-exit write");
      }
    } else if (str_eq_n(p, "triple", 6)) {
      puts("mbtest: triple fault now\n");
      struct __attribute__((packed)) {
        u16 limit;
        u32 base;
      } idt = {0, 0};
      __asm__ volatile("lidt %0; int3" : : "m"(idt));
    } else if (str_eq_n(p, "reset", 5)) {
      puts("mbtest: resetting through the i8042\n");
      outb(0x64, 0xfe);
    }
    while (*p && *p != ' ') ++p;
  }
}

void mbtest_main(u32 magic, const struct mb_info* mbi) {
  serial_init();
  puts("mbtest: hello from a Multiboot kernel\n");
  const char* cmdline = report_multiboot(magic, mbi);
  report_fw_cfg(cmdline);
  puts("mbtest: ");
  put_dec(failures);
  puts(failures == 1 ? " check failed\n" : " checks failed\n");
  act(cmdline);
  puts("mbtest: halting\n");
  for (;;) __asm__ volatile("cli; hlt");
}
