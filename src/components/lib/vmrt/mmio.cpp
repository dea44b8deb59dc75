// vmrt MMIO instruction emulation over GuestAccess (host-compilable).
#include "vmrt/mmio.hpp"

#include "vmrt/string_io.hpp"

namespace vmrt {
namespace {

namespace x86 = cos::x86dec;

constexpr uint16_t kAttrL = 1u << 9, kAttrDb = 1u << 10;
constexpr uint64_t kPage = 4096;

Seg operand_segment(const x86::Instruction& insn) {
  switch (insn.mem.seg) {
    case x86::Seg::es: return Seg::es;
    case x86::Seg::cs: return Seg::cs;
    case x86::Seg::ss: return Seg::ss;
    case x86::Seg::ds: return Seg::ds;
    case x86::Seg::fs: return Seg::fs;
    case x86::Seg::gs: return Seg::gs;
    case x86::Seg::none: break;
  }
  // rSP and rBP bases address the stack segment (BP in 16-bit forms too).
  const int base = insn.mem.base;
  return (base == 4 || base == 5) && !insn.mem.rip_relative ? Seg::ss : Seg::ds;
}

MmioResult& raise(VcpuState& v, MmioResult& r, const GuestFault& f, const char* why) {
  r.outcome = MmioOutcome::fault;
  r.fault = f;
  r.why = why;
  inject_fault(v, f);
  return r;
}

uint64_t size_mask(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

/// The next RIP after an instruction of `length` bytes (IP/EIP wrap outside 64-bit mode).
uint64_t next_rip(const VcpuState& v, x86::Mode mode, unsigned length) {
  uint64_t next = v.rip() + length;
  if (!v.long_mode_64()) next &= (mode == x86::Mode::prot32) ? 0xffffffffull : 0xffffull;
  return next;
}

/// MOVS, STOS, LODS with or without REP (SDM Vol. 2B): the source is
/// DS:rSI (or the override), the destination ES:rDI; elements of op_size
/// bytes, rSI/rDI stepped by DF, REP counts rCX down, at most max_elements
/// per call.
Result<MmioResult> string_move(VcpuState& v, GuestAccess& mem, const x86::Instruction& insn, x86::Mode mode,
                               uint64_t fault_page, uint64_t max_elements, MmioResult& r) {
  const bool stos = insn.op == x86::Op::stos, lods = insn.op == x86::Op::lods;  // else MOVS
  const unsigned size = insn.op_size, asz = insn.addr_size;
  const uint64_t amask = size_mask(asz);
  const bool rep = insn.rep || insn.repne;  // F2 acts as REP on the moves
  const uint64_t count = rep ? (v.get(Reg::rcx) & amask) : 1;
  const uint64_t step =
      (v.get(Reg::rflags) & (1ull << 10)) ? static_cast<uint64_t>(-static_cast<int64_t>(size)) : size;
  const Seg src_seg = operand_segment(insn);  // DS or the override (string operands have no base)
  uint64_t rsi = v.get(Reg::rsi), rdi = v.get(Reg::rdi), rax = v.get(Reg::rax);
  const uint64_t todo = count < max_elements ? count : max_elements;
  uint64_t done = 0;
  const char* why = nullptr;
  for (; done < todo; ++done) {
    uint64_t src = 0, dst = 0;
    GuestAccess::Piece pieces[2];
    unsigned n = 0;
    Status s;
    bool hits = done > 0;
    // Check both ends before anything is read: a device read may pop data.
    if (!stos) {
      auto la = mem.linear(src_seg, rsi & amask, size, AccessKind::read);
      s = la ? mem.resolve(la.value(), size, AccessKind::read, pieces, n) : Status(la.error());
      if (s) {
        src = la.value();
        if (done == 0) r.gpa = pieces[0].gpa;
        for (unsigned i = 0; i < n; ++i) hits |= (pieces[i].gpa & ~(kPage - 1)) == fault_page;
      }
    }
    if (s && !lods) {
      auto la = mem.linear(Seg::es, rdi & amask, size, AccessKind::write);
      s = la ? mem.resolve(la.value(), size, AccessKind::write, pieces, n) : Status(la.error());
      if (s) {
        dst = la.value();
        if (done == 0 && stos) r.gpa = pieces[0].gpa;
        for (unsigned i = 0; i < n; ++i) hits |= (pieces[i].gpa & ~(kPage - 1)) == fault_page;
      }
    }
    if (!s) {
      if (s.error().code != Errc::guest_fault) return s.error();
      why = "a string element's segment check or page walk faults";
      break;
    }
    if (!hits) {
      // Neither operand is the faulting page: not this instruction's access.
      r.outcome = MmioOutcome::fault;
      r.fault = GuestFault::gp();
      r.why = "implicit access (not the instruction's operand)";
      inject_fault(v, r.fault);
      return r;
    }
    uint64_t value = rax & size_mask(size);
    if (!stos) (void)mem.read(src, size, value);
    if (lods) rax = size >= 4 ? value : (rax & ~size_mask(size)) | value;  // EAX zero-extends
    else (void)mem.write(dst, size, value);
    if (!stos) rsi = assign_address_sized(rsi, rsi + step, asz);
    if (!lods) rdi = assign_address_sized(rdi, rdi + step, asz);
  }
  r.elements = done;
  if (done) {
    if (!stos) v.set(Reg::rsi, rsi);
    if (!lods) v.set(Reg::rdi, rdi);
    if (lods) v.set(Reg::rax, rax);
    if (rep) v.set(Reg::rcx, assign_address_sized(v.get(Reg::rcx), count - done, asz));
  }
  if (why) return raise(v, r, mem.fault(), why);
  if (rep && done < count) {
    r.outcome = MmioOutcome::partial;
    return r;
  }
  v.set_rip(next_rip(v, mode, insn.length));
  return r;
}

}  // namespace

Result<MmioResult> emulate_mmio(VcpuState& v, const PhysBus* bus, uint64_t max_elements) {
  if (v.exit_reason() != vm::ExitReason::gpa_fault)
    return make_error(Errc::bad_argument, "emulate_mmio: not a gpa_fault exit");
  MmioResult r;
  const uint64_t fault_page = v.exit().gpa.gpa & ~(kPage - 1);
  if (v.exit().gpa.access & vm::kAccessExec)
    return raise(v, r, GuestFault::ud(), "instruction fetch from a page without RAM (the empty bus reads FF FF)");
  if (v.exit().during_delivery)
    return raise(v, r, GuestFault::gp(), "implicit access: the exit interrupted an event delivery");

  GuestAccess mem(v, bus);
  auto fetched = mem.fetch(r.bytes, sizeof(r.bytes));
  if (!fetched) return fetched.error();
  r.length = static_cast<uint8_t>(fetched.value());
  const vm::Segment& cs = v.segment(Seg::cs);
  const x86::Mode mode = x86::mode_for(v.cr0() & kCr0Pe, v.efer() & kEferLma, cs.attr & kAttrL, cs.attr & kAttrDb);
  x86::Instruction insn;
  const x86::Status st = x86::decode(r.bytes, r.length, mode, insn);
  r.op = insn.op;
  switch (st) {
    case x86::Status::ok: break;
    case x86::Status::truncated:
      if (r.length < sizeof(r.bytes)) return raise(v, r, mem.fetch_fault(), "fetching the instruction faults");
      return raise(v, r, GuestFault::gp(), "instruction longer than 15 bytes");
    case x86::Status::too_long: return raise(v, r, GuestFault::gp(), "instruction longer than 15 bytes");
    case x86::Status::invalid: return raise(v, r, GuestFault::ud(), "undefined instruction");
    default: return raise(v, r, GuestFault::ud(), "instruction not emulated on MMIO");
  }
  r.length = insn.length;
  if (insn.op == x86::Op::movs || insn.op == x86::Op::stos || insn.op == x86::Op::lods)
    return string_move(v, mem, insn, mode, fault_page, max_elements ? max_elements : kStringIoMaxElements, r);
  if (insn.is_string() || insn.is_port_string())
    return raise(v, r, GuestFault::ud(), "CMPS/SCAS not emulated on MMIO");
  if (!insn.has_mem) return raise(v, r, GuestFault::gp(), "implicit access (not the instruction's operand)");

  // The operand, as the CPU addressed it.
  uint64_t regs[16];
  for (unsigned i = 0; i < 16; ++i) regs[i] = v.get(static_cast<Reg>(i));
  const uint64_t offset = x86::effective_address(insn, regs, v.rip());
  const AccessKind kind = insn.writes_mem ? AccessKind::write : AccessKind::read;
  auto la = mem.linear(operand_segment(insn), offset, insn.mem_size, kind);
  if (!la) {
    if (la.error().code != Errc::guest_fault) return la.error();
    return raise(v, r, mem.fault(), "the operand's segment check faults");
  }
  GuestAccess::Piece pieces[2];
  unsigned count = 0;
  if (Status s = mem.resolve(la.value(), insn.mem_size, kind, pieces, count); !s) {
    if (s.error().code != Errc::guest_fault) return s.error();
    return raise(v, r, mem.fault(), "the operand's page walk faults");
  }
  r.gpa = pieces[0].gpa;
  bool hits = false;
  for (unsigned i = 0; i < count; ++i) hits |= (pieces[i].gpa & ~(kPage - 1)) == fault_page;
  if (!hits) return raise(v, r, GuestFault::gp(), "implicit access (not the instruction's operand)");

  // Perform it: reads and writes of the operand go to RAM, the bus or the
  // empty bus piece by piece (translations are cached, nothing faults now).
  uint64_t rflags = v.get(Reg::rflags);
  const uint64_t linear = la.value();
  auto res = x86::emulate(
      insn, regs, rflags,
      [&](unsigned size) {
        uint64_t value = ~0ull;
        (void)mem.read(linear, size, value);
        return value;
      },
      [&](unsigned size, uint64_t value) { (void)mem.write(linear, size, value); });
  if (!res.ok()) return raise(v, r, GuestFault::ud(), "instruction not emulated on MMIO");
  for (unsigned i = 0; i < 16; ++i)
    if (regs[i] != v.get(static_cast<Reg>(i))) v.set(static_cast<Reg>(i), regs[i]);
  if (rflags != v.get(Reg::rflags)) v.set(Reg::rflags, rflags);
  v.set_rip(next_rip(v, mode, res.rip_delta));
  return r;
}

PageLogFilter::Verdict PageLogFilter::check(uint64_t gpa) {
  const uint64_t page = gpa & ~(kPage - 1);
  for (unsigned i = 0; i < count_; ++i)
    if (pages_[i] == page) return Verdict::quiet;
  if (count_ < kPages) {
    pages_[count_++] = page;
    return Verdict::log;
  }
  if (overflowed_) return Verdict::quiet;
  overflowed_ = true;
  return Verdict::overflow;
}

}  // namespace vmrt
