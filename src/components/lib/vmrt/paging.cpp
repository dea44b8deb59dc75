// vmrt guest page walk and 4-level page-table builder (host-compilable).
#include "vmrt/paging.hpp"

namespace vmrt {
namespace {

constexpr uint64_t kPage = 4096;

bool canonical(uint64_t va, unsigned bits) {
  uint64_t top = static_cast<uint64_t>(static_cast<int64_t>(va << (64 - bits)) >> (64 - bits));
  return top == va;
}

/// Permissions accumulated over the levels of a walk.
struct Perm {
  bool w = true, u = true, x = true;
  void add(uint64_t entry, bool nxe) {
    w = w && (entry & kPteWrite);
    u = u && (entry & kPteUser);
    if (nxe && (entry & kPteNx)) x = false;
  }
};

struct Walk {
  const GuestMemory& mem;
  const PagingRegs& regs;
  uint64_t gva;
  uint32_t access;
  PagingMode mode;

  Error fault(bool present) const {
    uint64_t code = present ? kPfPresent : 0;
    if (access & vm::kAccessWrite) code |= kPfWrite;
    if (access & kAccessUser) code |= kPfUser;
    if ((access & vm::kAccessExec) && mode != PagingMode::legacy32 && (regs.efer & kEferNxe)) code |= kPfFetch;
    return make_error(Errc::page_fault, "translating a guest-virtual address", gva, code);
  }

  Result<Translation> finish(uint64_t gpa, uint64_t page_size, const Perm& p) const {
    if ((access & kAccessUser) && !p.u) return fault(true);
    if ((access & vm::kAccessWrite) && !p.w && ((access & kAccessUser) || (regs.cr0 & kCr0Wp))) return fault(true);
    if ((access & vm::kAccessExec) && !p.x) return fault(true);
    Translation t;
    t.gpa = gpa;
    t.page_size = page_size;
    t.writable = p.w;
    t.user = p.u;
    t.executable = p.x;
    t.mode = mode;
    return t;
  }

  Result<uint64_t> entry64(uint64_t addr) const {
    auto e = mem.read_obj<uint64_t>(addr);
    if (!e) return make_error(Errc::not_ram, "reading a guest page table", addr);
    return e.value();
  }

  /// Walks 64-bit-entry levels from `level` (5 = PML5 ... 2 = PD, 1 = PT)
  /// down, starting at the table at guest-physical `table`.
  Result<Translation> walk64(uint64_t table, int level, Perm perm) const {
    const bool nxe = regs.efer & kEferNxe;
    for (; level >= 1; --level) {
      unsigned shift = 12 + 9 * (level - 1);
      uint64_t idx = (gva >> shift) & 0x1ff;
      auto e = entry64(table + idx * 8);
      if (!e) return e.error();
      uint64_t entry = e.value();
      if (!(entry & kPtePresent)) return fault(false);
      perm.add(entry, nxe);
      if (level == 1 || ((level == 2 || level == 3) && (entry & kPteLarge))) {
        uint64_t size = 1ull << shift;
        uint64_t base = entry & kPteAddrMask & ~(size - 1);
        return finish(base | (gva & (size - 1)), size, perm);
      }
      table = entry & kPteAddrMask;
    }
    return fault(false);  // not reached
  }

  Result<Translation> run() const {
    switch (mode) {
      case PagingMode::off: {
        Translation t;
        t.gpa = gva & 0xffffffffull;
        t.page_size = 1ull << 32;
        t.writable = t.user = t.executable = true;
        t.mode = mode;
        return t;
      }
      case PagingMode::legacy32: {
        uint32_t va = static_cast<uint32_t>(gva);
        uint64_t pde_addr = (regs.cr3 & 0xfffff000ull) + ((va >> 22) & 0x3ff) * 4;
        auto pde = mem.read_obj<uint32_t>(pde_addr);
        if (!pde) return make_error(Errc::not_ram, "reading a guest page table", pde_addr);
        if (!(pde.value() & kPtePresent)) return fault(false);
        Perm perm;
        perm.add(pde.value(), false);
        if ((pde.value() & kPteLarge) && (regs.cr4 & kCr4Pse)) {
          uint64_t base = (pde.value() & 0xffc00000ull) | (static_cast<uint64_t>((pde.value() >> 13) & 0xff) << 32);
          return finish(base | (va & 0x3fffff), 4ull << 20, perm);
        }
        uint64_t pte_addr = (pde.value() & 0xfffff000ull) + ((va >> 12) & 0x3ff) * 4;
        auto pte = mem.read_obj<uint32_t>(pte_addr);
        if (!pte) return make_error(Errc::not_ram, "reading a guest page table", pte_addr);
        if (!(pte.value() & kPtePresent)) return fault(false);
        perm.add(pte.value(), false);
        return finish((pte.value() & 0xfffff000ull) | (va & 0xfff), kPage, perm);
      }
      case PagingMode::pae: {
        uint32_t va = static_cast<uint32_t>(gva);
        auto pdpte = entry64((regs.cr3 & 0xffffffe0ull) + ((va >> 30) & 3) * 8);
        if (!pdpte) return pdpte.error();
        if (!(pdpte.value() & kPtePresent)) return fault(false);
        Walk w = *this;
        w.gva = va;
        return w.walk64(pdpte.value() & kPteAddrMask, 2, Perm{});
      }
      case PagingMode::level4:
        if (!canonical(gva, 48)) return make_error(Errc::non_canonical, "translating a guest-virtual address", gva);
        return walk64(regs.cr3 & kPteAddrMask, 4, Perm{});
      case PagingMode::level5:
        if (!canonical(gva, 57)) return make_error(Errc::non_canonical, "translating a guest-virtual address", gva);
        return walk64(regs.cr3 & kPteAddrMask, 5, Perm{});
    }
    return fault(false);
  }
};

}  // namespace

const char* paging_mode_name(PagingMode m) {
  switch (m) {
    case PagingMode::off: return "off";
    case PagingMode::legacy32: return "legacy32";
    case PagingMode::pae: return "pae";
    case PagingMode::level4: return "level4";
    case PagingMode::level5: return "level5";
  }
  return "unknown";
}

PagingMode paging_mode(const PagingRegs& r) {
  if (!(r.cr0 & kCr0Pg)) return PagingMode::off;
  if (r.efer & (kEferLma | kEferLme)) return (r.cr4 & kCr4La57) ? PagingMode::level5 : PagingMode::level4;
  if (r.cr4 & kCr4Pae) return PagingMode::pae;
  return PagingMode::legacy32;
}

Result<Translation> translate(const GuestMemory& mem, const PagingRegs& regs, uint64_t gva, uint32_t access) {
  Walk w{mem, regs, gva, access, paging_mode(regs)};
  return w.run();
}

// ---------------------------------------------------------------- PageTableBuilder

Result<uint64_t> PageTableBuilder::take_table() {
  if (next_ & (kPage - 1)) return make_error(Errc::bad_argument, "page-table pool not page aligned", next_);
  if (next_ + kPage > pool_end_ || next_ + kPage < next_)
    return make_error(Errc::no_memory, "page-table pool exhausted", pool_end_);
  VMRT_TRY(mem_.fill(next_, 0, kPage));
  uint64_t t = next_;
  next_ += kPage;
  return t;
}

Result<uint64_t> PageTableBuilder::root() {
  if (!root_) {
    auto t = take_table();
    if (!t) return t.error();
    root_ = t.value();
  }
  return root_;
}

Result<uint64_t> PageTableBuilder::next_level(uint64_t table, unsigned index) {
  uint64_t addr = table + index * 8;
  auto e = mem_.read_obj<uint64_t>(addr);
  if (!e) return e.error();
  uint64_t entry = e.value();
  if (entry & kPtePresent) {
    if (entry & kPteLarge)
      return make_error(Errc::bad_argument, "a 4 KiB mapping inside an existing large page", addr, entry);
    return entry & kPteAddrMask;
  }
  auto t = take_table();
  if (!t) return t.error();
  // Intermediate levels allow everything; the leaf decides.
  VMRT_TRY(mem_.write_obj<uint64_t>(addr, t.value() | kPtePresent | kPteWrite | kPteUser));
  return t.value();
}

Status PageTableBuilder::map(uint64_t gva, uint64_t gpa, uint64_t bytes, uint64_t flags) {
  if (bytes == 0 || ((gva | gpa | bytes) & (kPage - 1)) || !canonical(gva, 48) ||
      !canonical(gva + bytes - 1, 48) || ((gva ^ (gva + bytes - 1)) >> 63) || (gpa & ~kPteAddrMask & ~0xfffull) ||
      gpa + bytes < gpa)
    return make_error(Errc::bad_argument, "mapping guest page tables", gva, bytes);
  flags &= kPteWrite | kPteUser | kPteNx;
  auto r = root();
  if (!r) return r.error();
  while (bytes > 0) {
    auto pdpt = next_level(root_, (gva >> 39) & 0x1ff);
    if (!pdpt) return pdpt.error();
    auto pd = next_level(pdpt.value(), (gva >> 30) & 0x1ff);
    if (!pd) return pd.error();
    uint64_t pde_addr = pd.value() + ((gva >> 21) & 0x1ff) * 8;
    constexpr uint64_t k2M = 2ull << 20;
    if (((gva | gpa) & (k2M - 1)) == 0 && bytes >= k2M) {
      VMRT_TRY(mem_.write_obj<uint64_t>(pde_addr, gpa | kPtePresent | kPteLarge | flags));
      gva += k2M, gpa += k2M, bytes -= k2M;
      continue;
    }
    auto pt = next_level(pd.value(), (gva >> 21) & 0x1ff);
    if (!pt) return pt.error();
    VMRT_TRY(mem_.write_obj<uint64_t>(pt.value() + ((gva >> 12) & 0x1ff) * 8, gpa | kPtePresent | flags));
    gva += kPage, gpa += kPage, bytes -= kPage;
  }
  return {};
}

Result<uint64_t> build_identity_map(GuestMemory& mem, uint64_t tables_gpa, uint64_t tables_bytes, uint64_t bytes) {
  PageTableBuilder b(mem, tables_gpa, tables_bytes);
  VMRT_TRY(b.map(0, 0, bytes));
  return b.root();
}

}  // namespace vmrt
