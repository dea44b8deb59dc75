// vmrt MMIO instruction emulation over GuestAccess (host-compilable).
#include "vmrt/mmio.hpp"

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

}  // namespace

Result<MmioResult> emulate_mmio(VcpuState& v, const PhysBus* bus) {
  if (v.exit_reason() != vm::ExitReason::gpa_fault)
    return make_error(Errc::bad_argument, "emulate_mmio: not a gpa_fault exit");
  MmioResult r;
  const uint64_t fault_page = v.exit().gpa.gpa & ~(kPage - 1);
  if (v.exit().gpa.access & vm::kAccessExec)
    return raise(v, r, GuestFault::ud(), "instruction fetch from a page without RAM (the empty bus reads FF FF)");

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
  if (insn.is_string() || insn.is_port_string())
    return raise(v, r, GuestFault::ud(), "string instruction not emulated on MMIO");
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
  uint64_t next = v.rip() + res.rip_delta;
  if (!v.long_mode_64()) next &= (mode == x86::Mode::prot32) ? 0xffffffffull : 0xffffull;
  v.set_rip(next);
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
