#include "x86_64/machine.hpp"

#include "kernel/component.hpp"
#include "kernel/console.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/gdt.hpp"
#include "x86_64/layout.hpp"
#include "x86_64/page_table.hpp"
#include "x86_64/percpu.hpp"
#include "kernel/kernel.hpp"
#include "x86_64/lapic.hpp"
#include "kernel/thread.hpp"
#include "x86_64/virt.hpp"

extern "C" [[noreturn]] void user_return_iret(cos::x86::Regs*);
extern "C" [[noreturn]] void user_return_sysret(cos::x86::Regs*);
extern "C" char kernel_stack_top[];
extern "C" uint64_t boot_pml4_sym[];

namespace cos::machine {
namespace {

using x86::kPageSize;

// Page-table memory for PageTable<>: the direct map, with new tables carved
// from an untyped object.
struct KernelMem {
  Untyped* ut;
  uint64_t* table(uint64_t pa) { return x86::phys_to_virt<uint64_t>(pa); }
  bool alloc_table(uint64_t& pa) {
    return ut && untyped_alloc(ut, 1, 1, PageKind::pgtable, pa) == abi::Error::ok;
  }
};

// The active backend's EPT/NPT entry format for PageTable<>.
struct GuestEncoding {
  static uint64_t table_entry(uint64_t pa) { return virt::gpt_table_entry(pa); }
  static bool is_present(uint64_t e) { return virt::gpt_present(e); }
  static bool is_large(uint64_t) { return false; }  // never created
  static uint64_t target(uint64_t e) { return x86::pte::address(e); }
};

// Frees every mapping and table below a guest table at `level`.
void guest_teardown(uint64_t table_pa, unsigned level) {
  auto* e = x86::phys_to_virt<uint64_t>(table_pa);
  for (unsigned i = 0; i < 512; ++i) {
    if (!virt::gpt_present(e[i])) continue;
    uint64_t pa = x86::pte::address(e[i]);
    e[i] = 0;
    if (level == 0) {
      frame_page_unmapped(pa);
    } else {
      guest_teardown(pa, level - 1);
      pgtable_page_freed(pa);
    }
  }
}

// Frees the user half below a table at `level` (3 = PML4).
void teardown(uint64_t table_pa, unsigned level) {
  auto* e = x86::phys_to_virt<uint64_t>(table_pa);
  unsigned n = level == 3 ? 256 : 512;
  for (unsigned i = 0; i < n; ++i) {
    if (!x86::pte::present(e[i])) continue;
    uint64_t pa = x86::pte::address(e[i]);
    e[i] = 0;
    if (level == 0) {
      frame_page_unmapped(pa);
    } else {
      teardown(pa, level - 1);
      pgtable_page_freed(pa);
    }
  }
}

uint64_t g_loaded_root;
Thread* g_fpu_owner;

void fxsave(uint8_t* area) { asm volatile("fxsave64 (%0)" ::"r"(area) : "memory"); }
void fxrstor(const uint8_t* area) { asm volatile("fxrstor64 (%0)" ::"r"(area) : "memory"); }

}  // namespace

void* phys_to_kernel(uint64_t pa) { return x86::phys_to_virt(pa); }
uint64_t kernel_to_phys(const void* va) { return x86::virt_to_phys(va); }

void zero_pages(uint64_t pa, uint64_t pages) {
  auto* p = x86::phys_to_virt<uint64_t>(pa);
  for (uint64_t i = 0; i < pages * kPageSize / 8; ++i) p[i] = 0;
}

void thread_context_init(Thread* t, uint64_t entry, uint64_t arg) {
  t->regs = {};
  t->regs.rip = entry;
  t->regs.rdi = arg;
  t->regs.cs = x86::kUserCs;
  t->regs.ss = x86::kUserDs;
  t->regs.rflags = x86::kUserRflags;
  // FXSAVE defaults: FCW 0x37f (all x87 exceptions masked), MXCSR 0x1f80.
  t->fpu[0] = 0x7f;
  t->fpu[1] = 0x03;
  t->fpu[24] = 0x80;
  t->fpu[25] = 0x1f;
}

void set_invocation_return(x86::Regs& r, uint64_t rip, uint64_t rsp, uint64_t rflags,
                           uint64_t r0, uint64_t r1) {
  uint64_t vector = r.vector;
  r = {};
  r.vector = vector;
  r.rip = rip;
  r.rsp = rsp;
  r.rflags = (rflags & 0xcd5) | x86::kUserRflags;  // status flags, DF; IF forced on
  r.cs = x86::kUserCs;
  r.ss = x86::kUserDs;
  r.rax = r0;
  r.rdx = r1;
}

void set_upcall(x86::Regs& r, uint64_t entry, uint64_t token) {
  x86::Regs in = r;
  r = {};
  r.vector = in.vector;
  r.rip = entry;
  r.rflags = x86::kUserRflags;
  r.cs = x86::kUserCs;
  r.ss = x86::kUserDs;
  r.rdi = token;
  r.rsi = in.rsi;
  r.rdx = in.rdx;
  r.r10 = in.r10;
  r.r8 = in.r8;
}

void address_space_init(uint64_t pml4_pa) {
  auto* dst = x86::phys_to_virt<uint64_t>(pml4_pa);
  auto* src = x86::phys_to_virt<uint64_t>(x86::read_cr3() & x86::pte::kAddrMask);
  for (unsigned i = 256; i < 512; ++i) dst[i] = src[i];
}

abi::Error map_user_page(uint64_t root, uint64_t va, uint64_t pa, uint64_t rights, Untyped* ut) {
  if (va >= x86::kUserTop || (va & (kPageSize - 1))) return abi::Error::bad_address;
  KernelMem mem{ut};
  x86::PageTable<KernelMem> pt(mem, root);
  uint64_t e = x86::pte::user_page(pa, rights & abi::Rights::write, rights & abi::Rights::exec);
  switch (pt.map(va, e)) {
    case x86::MapResult::ok: return abi::Error::ok;
    case x86::MapResult::already_mapped: return abi::Error::already_mapped;
    case x86::MapResult::no_memory: return abi::Error::out_of_memory;
    default: return abi::Error::bad_address;
  }
}

abi::Error unmap_user_page(uint64_t root, uint64_t va, uint64_t& pa) {
  if (va >= x86::kUserTop || (va & (kPageSize - 1))) return abi::Error::bad_address;
  KernelMem mem{nullptr};
  x86::PageTable<KernelMem> pt(mem, root);
  uint64_t old;
  if (pt.unmap(va, old) != x86::MapResult::ok) return abi::Error::not_mapped;
  if (root == g_loaded_root) x86::invlpg(va);
  pa = x86::pte::address(old);
  return abi::Error::ok;
}

void address_space_teardown(uint64_t root) {
  if (root == g_loaded_root) {
    x86::write_cr3(reinterpret_cast<uint64_t>(boot_pml4_sym));  // a low physical address
    g_loaded_root = 0;
  }
  teardown(root, 3);
}

abi::Error map_guest_page(uint64_t root, uint64_t gpa, uint64_t pa, uint64_t rights, Untyped* ut) {
  KernelMem mem{ut};
  x86::PageTable<KernelMem, GuestEncoding> pt(mem, root);
  switch (pt.map(gpa, virt::gpt_leaf_entry(pa, rights))) {
    case x86::MapResult::ok: return abi::Error::ok;
    case x86::MapResult::already_mapped: return abi::Error::already_mapped;
    case x86::MapResult::no_memory: return abi::Error::out_of_memory;
    default: return abi::Error::bad_address;
  }
}

abi::Error unmap_guest_page(uint64_t root, uint64_t gpa, uint64_t& pa) {
  KernelMem mem{nullptr};
  x86::PageTable<KernelMem, GuestEncoding> pt(mem, root);
  uint64_t old;
  if (pt.unmap(gpa, old) != x86::MapResult::ok) return abi::Error::not_mapped;
  pa = x86::pte::address(old);
  return abi::Error::ok;
}

void guest_space_teardown(uint64_t root) { guest_teardown(root, 3); }

void thread_destroyed(Thread* t) {
  if (g_fpu_owner == t) g_fpu_owner = nullptr;
}

uint32_t port_in(uint16_t port, unsigned width) {
  uint32_t v = 0;
  if (width == 1) v = x86::inb(port);
  else if (width == 2) asm volatile("inw %1, %w0" : "=a"(v) : "Nd"(port));
  else asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return width == 2 ? (v & 0xffff) : v;
}

void port_out(uint16_t port, unsigned width, uint32_t value) {
  if (width == 1) x86::outb(port, static_cast<uint8_t>(value));
  else if (width == 2) x86::outw(port, static_cast<uint16_t>(value));
  else x86::outl(port, value);
}

uint64_t time_us() { return x86::lapic::tsc_to_us(x86::rdtsc()); }

void irq_mask(unsigned line, bool masked) { x86::lapic::pic_mask(line, masked); }
bool irqs_bound() { return x86::lapic::pic_any_unmasked(); }

bool copy_from_user(uint64_t root, uint64_t uva, void* dst, size_t len) {
  if (uva >= x86::kUserTop || len > x86::kUserTop - uva) return false;
  KernelMem mem{nullptr};
  x86::PageTable<KernelMem> pt(mem, root);
  auto* out = static_cast<uint8_t*>(dst);
  while (len > 0) {
    uint64_t e = pt.lookup(uva & ~(kPageSize - 1));
    if (!x86::pte::present(e) || !x86::pte::user(e)) return false;
    uint64_t off = uva & (kPageSize - 1);
    size_t n = kPageSize - off < len ? kPageSize - off : len;
    const auto* src = x86::phys_to_virt<uint8_t>(x86::pte::address(e) + off);
    for (size_t i = 0; i < n; ++i) out[i] = src[i];
    out += n;
    uva += n;
    len -= n;
  }
  return true;
}

void resume(Thread* t) {
  if (g_fpu_owner != t) {
    if (g_fpu_owner) fxsave(g_fpu_owner->fpu);
    fxrstor(t->fpu);
    g_fpu_owner = t;
  }
  uint64_t root = t->current->pgtbl_root;
  if (root != g_loaded_root) {
    x86::write_cr3(root);
    g_loaded_root = root;
  }
  if (t->vcpu) {
    // Guests run from the top of the kernel stack: every re-entry starts afresh.
    asm volatile("mov %0, %%rsp\n"
                 "mov %1, %%rdi\n"
                 "call vcpu_thread_run_c\n"
                 "ud2" ::"r"(kernel_stack_top), "r"(t) : "memory");
    __builtin_unreachable();
  }
  uint64_t top = reinterpret_cast<uint64_t>(&t->regs + 1);
  x86::tss_set_rsp0(top);
  x86::percpu().regs_top = top;
  if (t->regs.vector == x86::kSyscallVector && x86::pte::canonical(t->regs.rip) &&
      t->regs.rip < x86::kUserTop)
    user_return_sysret(&t->regs);
  user_return_iret(&t->regs);
}

void idle() {
  // Run on a fresh kernel stack; interrupts arrive here (CPL 0) and their
  // handler calls schedule(), abandoning this frame.
  asm volatile(
      "mov %0, %%rsp\n"
      "1: sti\n"
      "hlt\n"
      "cli\n"
      "jmp 1b\n" ::"r"(kernel_stack_top));
  __builtin_unreachable();
}

}  // namespace cos::machine

extern "C" [[noreturn]] void vcpu_thread_run_c(cos::Thread* t) { cos::vcpu_thread_run(t); }
