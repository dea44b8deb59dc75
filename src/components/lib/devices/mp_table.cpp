#include "devices/mp_table.hpp"

#include "devices/isa_irq_router.hpp"

namespace cos::dev {

namespace {

class Writer {
 public:
  explicit Writer(uint8_t* p) : p_(p) {}
  void u8(uint8_t v) { p_[n_++] = v; }
  void u16(uint16_t v) {
    u8(static_cast<uint8_t>(v));
    u8(static_cast<uint8_t>(v >> 8));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v));
    u16(static_cast<uint16_t>(v >> 16));
  }
  void chars(const char* s, size_t n) {  // space padded, not NUL terminated
    size_t i = 0;
    for (; s && s[i] && i < n; ++i) u8(static_cast<uint8_t>(s[i]));
    for (; i < n; ++i) u8(' ');
  }
  void zeros(size_t n) {
    for (size_t i = 0; i < n; ++i) u8(0);
  }
  size_t size() const { return n_; }

 private:
  uint8_t* p_;
  size_t n_ = 0;
};

// Entry types and interrupt types (MP spec Tables 4-3, 4-10).
constexpr uint8_t kProcessor = 0, kBus = 1, kIoApic = 2, kIoInterrupt = 3, kLocalInterrupt = 4;
constexpr uint8_t kIntTypeInt = 0, kIntTypeNmi = 1, kIntTypeExtInt = 3;
constexpr uint8_t kIsaBusId = 0;

}  // namespace

uint8_t MpTable::sum(const uint8_t* p, size_t len) {
  uint8_t s = 0;
  for (size_t i = 0; i < len; ++i) s = static_cast<uint8_t>(s + p[i]);
  return s;
}

bool MpTable::in_scanned_area(uint64_t gpa) {
  return gpa + kFloatingPointerSize <= 0x400 || (gpa >= 0x9fc00 && gpa + kFloatingPointerSize <= 0xa0000) ||
         (gpa >= 0xf0000 && gpa + kFloatingPointerSize <= 0x100000);
}

size_t MpTable::build(uint8_t* buf, size_t len, uint64_t gpa, const Config& c) {
  const size_t total = size(c.cpus), table_size = config_table_size(c.cpus);
  if (c.cpus == 0 || c.cpus > kMaxCpus || c.lapic_id + c.cpus - 1 > 0xfe) return 0;
  if (!buf || len < total || (gpa & 0xf) || gpa + total > 0x100000000ull) return 0;
  uint8_t* fp = buf;
  uint8_t* table = buf + kFloatingPointerSize;

  // MP floating pointer structure (spec §4.1, Table 4-1).
  Writer f(fp);
  f.chars("_MP_", 4);
  f.u32(static_cast<uint32_t>(gpa + kFloatingPointerSize));  // PHYSICAL ADDRESS POINTER
  f.u8(1);     // LENGTH in 16-byte paragraphs
  f.u8(4);     // SPEC_REV 1.4
  f.u8(0);     // CHECKSUM, below
  f.u8(0);     // MP FEATURE INFORMATION BYTE 1: configuration table present
  f.u8(0);     // BYTE 2: IMCRP = 0 (virtual wire mode)
  f.zeros(3);

  // MP configuration table header (spec §4.2, Table 4-2).
  Writer t(table);
  t.chars("PCMP", 4);
  t.u16(static_cast<uint16_t>(table_size));  // BASE TABLE LENGTH
  t.u8(4);                                          // SPEC_REV
  t.u8(0);                                          // CHECKSUM, below
  t.chars(c.oem_id, 8);
  t.chars(c.product_id, 12);
  t.u32(0);  // OEM TABLE POINTER
  t.u16(0);  // OEM TABLE SIZE
  t.u16(static_cast<uint16_t>(c.cpus + 1 + 1 + kIoInterruptEntries + 2));  // ENTRY COUNT
  t.u32(c.lapic_base);
  t.u16(0);  // EXTENDED TABLE LENGTH
  t.u8(0);   // EXTENDED TABLE CHECKSUM
  t.u8(0);

  // Processor entries (Table 4-4), the BSP first.
  for (unsigned i = 0; i < c.cpus; ++i) {
    t.u8(kProcessor);
    t.u8(static_cast<uint8_t>(c.lapic_id + i));
    t.u8(c.lapic_version);
    t.u8(i == 0 ? 0x03 : 0x01);  // CPU FLAGS: EN (usable), BP (bootstrap processor) on the first
    t.u32(c.cpu_signature);
    t.u32(c.cpu_features);
    t.zeros(8);
  }

  // Bus entry (Table 4-7): ISA.
  t.u8(kBus);
  t.u8(kIsaBusId);
  t.chars("ISA", 6);

  // I/O APIC entry (Table 4-8).
  t.u8(kIoApic);
  t.u8(c.ioapic_id);
  t.u8(c.ioapic_version);
  t.u8(0x01);  // EN
  t.u32(c.ioapic_base);

  // I/O interrupt assignment entries (Table 4-9), conforming polarity and
  // trigger (= ISA: active high, edge).
  for (unsigned irq = 0; irq < 16; ++irq) {
    int gsi = isa_irq_to_gsi(irq);
    if (gsi < 0) continue;
    t.u8(kIoInterrupt);
    t.u8(kIntTypeInt);
    t.u16(0);  // PO/EL: conforming
    t.u8(kIsaBusId);
    t.u8(static_cast<uint8_t>(irq));
    t.u8(c.ioapic_id);
    t.u8(static_cast<uint8_t>(gsi));
  }

  // Local interrupt assignment entries (Table 4-11): virtual wire.
  t.u8(kLocalInterrupt);
  t.u8(kIntTypeExtInt);
  t.u16(0);
  t.u8(kIsaBusId);
  t.u8(0);
  t.u8(0xff);  // all local APICs
  t.u8(0);     // LINTIN0
  t.u8(kLocalInterrupt);
  t.u8(kIntTypeNmi);
  t.u16(0);
  t.u8(kIsaBusId);
  t.u8(0);
  t.u8(0xff);
  t.u8(1);  // LINTIN1

  table[7] = static_cast<uint8_t>(-sum(table, table_size));
  fp[10] = static_cast<uint8_t>(-sum(fp, kFloatingPointerSize));
  return total;
}

}  // namespace cos::dev
