// vmtest guest layout and mode entry (guest_setup.hpp). Host-compilable.
#include "vmtest/guest_setup.hpp"

#include "vmrt/modes.hpp"
#include "vmrt/paging.hpp"

namespace vmtest {
namespace {

constexpr uint64_t kGiB = 1ull << 30;

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::real: return "real";
    case Mode::protected32: return "protected";
    case Mode::long64: return "long";
  }
  return "?";
}

uint64_t segment_descriptor(uint32_t base, uint32_t limit, uint16_t attr) {
  uint64_t d = limit & 0xffffull;
  d |= static_cast<uint64_t>(base & 0xffffff) << 16;
  d |= static_cast<uint64_t>(attr & 0xff) << 40;
  d |= static_cast<uint64_t>((limit >> 16) & 0xf) << 48;
  d |= static_cast<uint64_t>((attr >> 8) & 0xf) << 52;
  d |= static_cast<uint64_t>((base >> 24) & 0xff) << 56;
  return d;
}

vmrt::Status write_extra_gdt(vmrt::GuestMemory& mem, uint64_t gdt_gpa) {
  VMRT_TRY(vmrt::write_gdt(mem, gdt_gpa));
  const uint64_t extra[] = {
      segment_descriptor(0, 0xfffff, 0xafb),  // 0x38 user code64: P, DPL 3, code exec/read, L, G
      segment_descriptor(0, 0xfffff, 0xcf3),  // 0x40 user data: P, DPL 3, read/write, B, G
      segment_descriptor(0, 0xfffff, 0xcfb),  // 0x48 user code32: DPL 3, D, G
      segment_descriptor(0, 0xfffff, 0xc9f),  // 0x50 conforming code32: DPL 0, type 0xf (conforming, read)
      segment_descriptor(0, 0xfffff, 0xa9f),  // 0x58 conforming code64
      segment_descriptor(static_cast<uint32_t>(gdt_gpa + vmrt::gdt::kTssOffset), vmrt::gdt::kTssLimit,
                         0x089),              // 0x60 available 32-bit TSS
  };
  return mem.write(gdt_gpa + 0x38, extra, sizeof(extra));
}

vmrt::Status set_ist(vmrt::GuestMemory& mem, uint64_t gdt_gpa, unsigned ist, uint64_t rsp) {
  if (ist < 1 || ist > 7) return vmrt::make_error(vmrt::Errc::bad_argument, "set_ist: index", ist);
  return mem.write(gdt_gpa + vmrt::gdt::kTssOffset + 0x24 + 8 * (ist - 1), &rsp, sizeof(rsp));
}

vmrt::Status set_tss_stack(vmrt::GuestMemory& mem, uint64_t gdt_gpa, Mode mode, uint64_t rsp) {
  const uint64_t tss = gdt_gpa + vmrt::gdt::kTssOffset;
  if (mode == Mode::long64) return mem.write(tss + 4, &rsp, sizeof(rsp));
  const uint32_t esp0 = static_cast<uint32_t>(rsp);
  const uint16_t ss0 = vmrt::gdt::kData;
  VMRT_TRY(mem.write(tss + 4, &esp0, sizeof(esp0)));
  return mem.write(tss + 8, &ss0, sizeof(ss0));
}

void gate32(uint8_t out[8], uint32_t offset, uint16_t selector, uint8_t type_attr) {
  out[0] = offset & 0xff, out[1] = (offset >> 8) & 0xff;
  out[2] = selector & 0xff, out[3] = selector >> 8;
  out[4] = 0, out[5] = type_attr;
  out[6] = (offset >> 16) & 0xff, out[7] = (offset >> 24) & 0xff;
}

void gate64(uint8_t out[16], uint64_t offset, uint16_t selector, uint8_t type_attr, uint8_t ist) {
  gate32(out, static_cast<uint32_t>(offset), selector, type_attr);
  out[4] = ist & 7;
  for (unsigned i = 0; i < 4; ++i) out[8 + i] = (offset >> (32 + 8 * i)) & 0xff;
  for (unsigned i = 12; i < 16; ++i) out[i] = 0;
}

vmrt::Status set_ivt(vmrt::GuestMemory& mem, unsigned vector, uint16_t segment, uint16_t offset) {
  const uint16_t entry[2] = {offset, segment};
  return mem.write(layout::kIvt + 4ull * (vector & 0xff), entry, sizeof(entry));
}

vmrt::Status set_gate(vmrt::GuestMemory& mem, Mode mode, uint64_t idt_gpa, unsigned vector, uint64_t handler,
                      uint16_t selector, uint8_t type_attr, uint8_t ist) {
  uint8_t g[16];
  switch (mode) {
    case Mode::real:
      return set_ivt(mem, vector, 0, static_cast<uint16_t>(handler));
    case Mode::protected32:
      gate32(g, static_cast<uint32_t>(handler), selector, type_attr);
      return mem.write(idt_gpa + 8ull * vector, g, 8);
    case Mode::long64:
      gate64(g, handler, selector, type_attr, ist);
      return mem.write(idt_gpa + 16ull * vector, g, 16);
  }
  return {};
}

vmrt::Status write_exception_table(vmrt::GuestMemory& mem, Mode mode, uint64_t idt_gpa, uint64_t stubs_gpa,
                                   unsigned stride, unsigned count) {
  const uint16_t cs = mode == Mode::long64 ? vmrt::gdt::kCode64 : vmrt::gdt::kCode32;
  for (unsigned v = 0; v < count; ++v)
    VMRT_TRY(set_gate(mem, mode, idt_gpa, v, stubs_gpa + static_cast<uint64_t>(v) * stride, cs, gate::kInterrupt64));
  return {};
}

vmrt::Status enter(vmrt::VcpuState& v, vmrt::GuestMemory& mem, const Entry& e) {
  constexpr unsigned kVectors = 32;
  switch (e.mode) {
    case Mode::real: {
      vmrt::RealModeConfig rm;
      rm.ip = static_cast<uint16_t>(e.rip);
      rm.sp = static_cast<uint16_t>(e.rsp);
      vmrt::setup_real_mode(v, rm);
      if (e.stubs_gpa) VMRT_TRY(write_exception_table(mem, e.mode, 0, e.stubs_gpa, e.stub_stride, kVectors));
      return {};
    }
    case Mode::protected32: {
      vmrt::ProtectedModeConfig pm;
      pm.entry = static_cast<uint32_t>(e.rip);
      pm.stack = static_cast<uint32_t>(e.rsp);
      pm.gdt_gpa = layout::kGdt;
      VMRT_TRY(vmrt::setup_protected_mode(v, mem, pm));
      break;
    }
    case Mode::long64: {
      if (e.map_bytes == 0 || e.map_bytes > 64 * kGiB)
        return vmrt::make_error(vmrt::Errc::bad_argument, "enter: map_bytes", e.map_bytes);
      vmrt::PageTableBuilder pt(mem, layout::kTables, layout::kTablesBytes);
      VMRT_TRY(pt.map(0, 0, (e.map_bytes + (2ull << 20) - 1) & ~((2ull << 20) - 1), vmrt::kPteWrite | vmrt::kPteUser));
      auto cr3 = pt.root();
      if (!cr3) return cr3.error();
      vmrt::LongModeConfig lm;
      lm.entry = e.rip;
      lm.stack = e.rsp;
      lm.gdt_gpa = layout::kGdt;
      lm.cr3 = cr3.value();
      VMRT_TRY(vmrt::setup_long_mode(v, mem, lm));
      break;
    }
  }
  // vmrt wrote its GDT; add the extra descriptors and the IST.
  VMRT_TRY(write_extra_gdt(mem, layout::kGdt));
  VMRT_TRY(set_ist(mem, layout::kGdt, 1, layout::kIstTop));
  VMRT_TRY(set_tss_stack(mem, layout::kGdt, e.mode, layout::kStackTop));
  v.set_gdtr(layout::kGdt, sel::kGdtLimit);
  if (e.stubs_gpa) {
    VMRT_TRY(write_exception_table(mem, e.mode, layout::kIdt, e.stubs_gpa, e.stub_stride, kVectors));
    v.set_idtr(layout::kIdt, (e.mode == Mode::long64 ? 16 : 8) * kVectors - 1);
  }
  return {};
}

}  // namespace vmtest
