// vmrt port I/O emulation: IN/OUT and bounded, resumable INS/OUTS
// (host-compilable).
#include "vmrt/string_io.hpp"

#include "x86decode/x86decode.hpp"

namespace vmrt {
namespace {

constexpr uint64_t kRflagsDf = 1ull << 10;
constexpr uint16_t kAttrL = 1u << 9, kAttrDb = 1u << 10;

uint64_t size_mask(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

Seg from_override(cos::x86dec::Seg s) {
  switch (s) {
    case cos::x86dec::Seg::es: return Seg::es;
    case cos::x86dec::Seg::cs: return Seg::cs;
    case cos::x86dec::Seg::ss: return Seg::ss;
    case cos::x86dec::Seg::fs: return Seg::fs;
    case cos::x86dec::Seg::gs: return Seg::gs;
    case cos::x86dec::Seg::ds:
    case cos::x86dec::Seg::none: break;
  }
  return Seg::ds;
}

uint32_t port_in(const PortIo& p, uint16_t port, unsigned size) {
  uint32_t v = p.in ? p.in(p.ctx, port, size) : 0xffffffffu;
  return static_cast<uint32_t>(v & size_mask(size));
}

}  // namespace

uint64_t assign_address_sized(uint64_t old_value, uint64_t new_value, unsigned bytes) {
  switch (bytes) {
    case 2: return (old_value & ~0xffffull) | (new_value & 0xffff);
    case 4: return new_value & 0xffffffffull;
    default: return new_value;
  }
}

Result<IoResult> emulate_io(VcpuState& v, const PortIo& ports, const PhysBus* bus, uint64_t max_elements) {
  if (v.exit_reason() != vm::ExitReason::io) return make_error(Errc::bad_argument, "emulate_io: not an io exit");
  const auto& io = v.exit().io;
  const unsigned size = io.size == 1 || io.size == 2 || io.size == 4 ? io.size : 1;
  IoResult res;
  if (!io.string) {
    if (io.in) {
      uint64_t value = port_in(ports, io.port, size);
      uint64_t rax = v.get(Reg::rax);
      // A 32-bit destination zero-extends into RAX; 8/16-bit ones merge.
      v.set(Reg::rax, size == 4 ? value : (rax & ~size_mask(size)) | value);
    } else if (ports.out) {
      ports.out(ports.ctx, io.port, size, static_cast<uint32_t>(io.data & size_mask(size)));
    }
    res.elements = 1;
    return res;
  }

  // The exit gives port, size, direction and REP; the address size and the
  // segment come from the instruction (the VMX exit qualification has no
  // address size, SDM Vol. 3C 28.2.1 table 28-5).
  GuestAccess mem(v, bus);
  uint8_t bytes[15];
  auto fetched = mem.fetch(bytes, sizeof(bytes));
  if (!fetched) return fetched.error();
  const vm::Segment& cs = v.segment(Seg::cs);
  const auto mode = cos::x86dec::mode_for(v.cr0() & kCr0Pe, v.efer() & kEferLma, cs.attr & kAttrL, cs.attr & kAttrDb);
  cos::x86dec::Instruction insn;
  const cos::x86dec::Status st = cos::x86dec::decode(bytes, fetched.value(), mode, insn);
  if (st == cos::x86dec::Status::truncated && fetched.value() < sizeof(bytes)) {
    // Fetching the instruction again faults: the guest gets what its CPU
    // raises when it re-executes it.
    res.outcome = IoOutcome::fault;
    res.fault = mem.fetch_fault();
    inject_fault(v, res.fault);
    return res;
  }
  const bool want_ins = io.in != 0;
  if (st != cos::x86dec::Status::ok || !insn.is_port_string() || (insn.op == cos::x86dec::Op::ins) != want_ins ||
      insn.op_size != size) {
    res.outcome = IoOutcome::retry;
    return res;
  }

  const unsigned asz = insn.addr_size;
  const uint64_t amask = size_mask(asz);
  const Seg seg = want_ins ? Seg::es : from_override(insn.mem.seg);  // INS cannot be overridden
  const Reg ptr_reg = want_ins ? Reg::rdi : Reg::rsi;
  const bool rep = io.rep != 0;
  const uint64_t count = rep ? (v.get(Reg::rcx) & amask) : 1;
  if (count == 0) return res;  // REP with a zero count: no iteration, no register change
  if (max_elements == 0) max_elements = kStringIoMaxElements;
  const uint64_t todo = count < max_elements ? count : max_elements;
  const uint64_t step = (v.get(Reg::rflags) & kRflagsDf) ? static_cast<uint64_t>(-static_cast<int64_t>(size)) : size;
  uint64_t ptr = v.get(ptr_reg);
  uint64_t done = 0;
  bool faulted = false;
  for (; done < todo; ++done) {
    const uint64_t offset = ptr & amask;
    const AccessKind kind = want_ins ? AccessKind::write : AccessKind::read;
    auto la = mem.linear(seg, offset, size, kind);
    Status s = la ? Status{} : Status(la.error());
    if (s && want_ins) {
      // Check the destination before the port is read: a port read can
      // have side effects (FIFOs) that a faulting element must not consume.
      s = mem.probe(la.value(), size, AccessKind::write);
      if (s) s = mem.write(la.value(), size, port_in(ports, io.port, size));
    } else if (s) {
      uint64_t value = 0;
      s = mem.read(la.value(), size, value);
      if (s && ports.out) ports.out(ports.ctx, io.port, size, static_cast<uint32_t>(value));
    }
    if (!s) {
      if (s.error().code != Errc::guest_fault) return s.error();
      faulted = true;
      break;
    }
    ptr = assign_address_sized(ptr, ptr + step, asz);
  }
  if (done) {
    v.set(ptr_reg, ptr);
    if (rep) v.set(Reg::rcx, assign_address_sized(v.get(Reg::rcx), count - done, asz));
  }
  res.elements = done;
  if (faulted) {
    res.outcome = IoOutcome::fault;
    res.fault = mem.fault();
    inject_fault(v, res.fault);
  } else if (rep && done < count) {
    res.outcome = IoOutcome::partial;
  }
  return res;
}

}  // namespace vmrt
