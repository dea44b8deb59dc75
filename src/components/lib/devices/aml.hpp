// cos::dev::AmlWriter — a small encoder for ACPI Machine Language (ACPI 6.4,
// chapter 20 "ACPI Machine Language (AML) Specification") and the resource
// descriptors of _CRS buffers (ACPI 6.4, §6.4 "Resource Data Types for
// ACPI"): enough to write the DSDT's static objects — names, integers,
// strings, EISA IDs, packages, scopes, devices and resource templates.
//
// Objects that carry a PkgLength (Scope, Device, Package, Buffer) are
// opened and closed: the writer emits the body first and then inserts the
// minimal PkgLength encoding (20.2.4) in front of it, so nesting needs no
// size estimates. Package element counts are counted, not declared.
//
// Errors (buffer full, nesting deeper than kMaxDepth, an invalid name
// segment or EISA ID, a descriptor outside a resource template, more than
// 255 package elements, unbalanced end()) make ok() false for good; the
// bytes written are then not a valid table.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::dev {

class AmlWriter {
 public:
  static constexpr unsigned kMaxDepth = 16;
  /// AML opcodes and prefixes used (ACPI 6.4, §20.2).
  enum : uint8_t {
    kZeroOp = 0x00, kOneOp = 0x01, kNameOp = 0x08, kBytePrefix = 0x0a, kWordPrefix = 0x0b,
    kDWordPrefix = 0x0c, kStringPrefix = 0x0d, kQWordPrefix = 0x0e, kScopeOp = 0x10, kBufferOp = 0x11,
    kPackageOp = 0x12, kDualNamePrefix = 0x2e, kMultiNamePrefix = 0x2f, kExtOpPrefix = 0x5b,
    kRootChar = 0x5c, kParentPrefixChar = 0x5e, kDeviceOp = 0x82,  // DeviceOp follows ExtOpPrefix
  };
  /// Resource descriptor tags (ACPI 6.4, §6.4.2 small, §6.4.3 large).
  enum : uint8_t {
    kIoPortDescriptor = 0x47, kEndTag = 0x79, kDWordAddressSpace = 0x87, kWordAddressSpace = 0x88,
    kQWordAddressSpace = 0x8a,
  };
  /// Address space resource types (§6.4.3.5, byte 3).
  enum class AddressSpace : uint8_t { memory = 0, io = 1, bus_number = 2 };
  /// General flags (§6.4.3.5, byte 4): _MAF, _MIF, _DEC (subtractive), consumer.
  static constexpr uint8_t kMaxFixed = 1u << 3, kMinFixed = 1u << 2, kSubtractiveDecode = 1u << 1,
                           kConsumer = 1u << 0;

  AmlWriter(uint8_t* buf, size_t capacity) : buf_(buf), cap_(capacity) {}

  bool ok() const { return ok_ && depth_ == 0; }
  size_t size() const { return pos_; }
  const uint8_t* data() const { return buf_; }

  // --- Data objects (§20.2.3) ---
  /// The shortest encoding: ZeroOp, OneOp, BytePrefix, WordPrefix,
  /// DWordPrefix or QWordPrefix.
  void integer(uint64_t v);
  /// StringPrefix AsciiCharList NullChar; characters must be 0x01-0x7f.
  void string(const char* s);
  /// EisaId("PNP0A03"): three upper-case letters and four hex digits,
  /// compressed into a DWordConst (§19.3.4 EISAID macro).
  void eisa_id(const char* id);
  /// The 32-bit compressed EISA ID; false if `id` is malformed.
  static bool eisa_id_value(const char* id, uint32_t& out);

  // --- Named objects and scopes (§20.2.5) ---
  /// DefName := NameOp NameString DataRefObject; follow with one data object.
  void name(const char* name_string);
  /// DefScope := ScopeOp PkgLength NameString TermList ... end().
  void scope(const char* name_string);
  /// DefDevice := ExtOpPrefix DeviceOp PkgLength NameString TermList ... end().
  void device(const char* name_string);
  /// DefPackage := PackageOp PkgLength NumElements PackageElementList ... end().
  void package();
  /// A resource template: DefBuffer (BufferOp PkgLength BufferSize ...) whose
  /// bytes are resource descriptors; end() appends the end tag.
  void resource_template();
  /// Closes the innermost scope/device/package/resource template.
  void end();

  // --- Resource descriptors, inside resource_template() ---
  /// I/O Port Descriptor (§6.4.2.5), 16-bit decode.
  void io_port(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length);
  /// Word Address Space Descriptor (§6.4.3.5.3) for a bus-number range.
  void word_bus_number(uint8_t general_flags, uint16_t min, uint16_t max);
  /// Word Address Space Descriptor for an I/O range (type flags: entire range).
  void word_io(uint8_t general_flags, uint16_t min, uint16_t max);
  /// DWord Address Space Descriptor (§6.4.3.5.2) for memory; `type_flags`
  /// is byte 5 (bit 0 read-write, bits 2:1 cacheability).
  void dword_memory(uint8_t general_flags, uint8_t type_flags, uint32_t min, uint32_t max);
  /// QWord Address Space Descriptor (§6.4.3.5.1) for memory.
  void qword_memory(uint8_t general_flags, uint8_t type_flags, uint64_t min, uint64_t max);

  /// Encodes a PkgLength for a package whose body (after the PkgLength) has
  /// `body` bytes into out[0..3]; returns the encoding's size (1-4), 0 if
  /// the total exceeds 2^28 - 1.
  static unsigned encode_pkg_length(size_t body, uint8_t out[4]);

 private:
  enum class Kind : uint8_t { scope, device, package, buffer };
  struct Open {
    Kind kind;
    size_t body;     // where the inserted prefix goes
    unsigned count;  // package elements
  };
  void byte(uint8_t b);
  void bytes(const uint8_t* p, size_t n);
  void le(uint64_t v, unsigned n);
  void name_string(const char* s);
  void element();  // a data object starts: count it if inside a package
  void open(Kind k);
  bool in_template() const { return depth_ && stack_[depth_ - 1].kind == Kind::buffer; }
  void address_space(uint8_t tag, AddressSpace type, uint8_t gflags, uint8_t tflags, unsigned width, uint64_t min,
                     uint64_t max);

  uint8_t* buf_;
  size_t cap_;
  size_t pos_ = 0;
  bool ok_ = true;
  Open stack_[kMaxDepth] = {};
  unsigned depth_ = 0;
};

}  // namespace cos::dev
