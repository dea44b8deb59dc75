#include "devices/aml.hpp"

namespace cos::dev {

namespace {
bool lead_char(char c) { return (c >= 'A' && c <= 'Z') || c == '_'; }
bool name_char(char c) { return lead_char(c) || (c >= '0' && c <= '9'); }
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

void AmlWriter::byte(uint8_t b) {
  if (pos_ >= cap_) {
    ok_ = false;
    return;
  }
  buf_[pos_++] = b;
}

void AmlWriter::bytes(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) byte(p[i]);
}

void AmlWriter::le(uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; ++i) byte(static_cast<uint8_t>(v >> (8 * i)));
}

void AmlWriter::element() {
  if (!depth_) return;
  Open& top = stack_[depth_ - 1];
  if (top.kind == Kind::package) ++top.count;
  else if (top.kind == Kind::buffer) ok_ = false;  // only descriptors go into a template
}

void AmlWriter::integer(uint64_t v) {
  element();
  if (v == 0) byte(kZeroOp);
  else if (v == 1) byte(kOneOp);
  else if (v <= 0xff) byte(kBytePrefix), le(v, 1);
  else if (v <= 0xffff) byte(kWordPrefix), le(v, 2);
  else if (v <= 0xffffffff) byte(kDWordPrefix), le(v, 4);
  else byte(kQWordPrefix), le(v, 8);
}

void AmlWriter::string(const char* s) {
  element();
  byte(kStringPrefix);
  for (; *s; ++s) {
    if (static_cast<unsigned char>(*s) > 0x7f) ok_ = false;
    byte(static_cast<uint8_t>(*s));
  }
  byte(0);
}

bool AmlWriter::eisa_id_value(const char* id, uint32_t& out) {
  for (int i = 0; i < 3; ++i)
    if (id[i] < 'A' || id[i] > 'Z') return false;
  int d[4];
  for (int i = 0; i < 4; ++i)
    if ((d[i] = hex_digit(id[3 + i])) < 0) return false;
  if (id[7] != '\0') return false;
  // Three 5-bit letters ('A' = 1) big-endian in the first two bytes, then
  // the four hex digits as two bytes.
  unsigned letters = unsigned(id[0] - 0x40) << 10 | unsigned(id[1] - 0x40) << 5 | unsigned(id[2] - 0x40);
  uint8_t b[4] = {static_cast<uint8_t>(letters >> 8), static_cast<uint8_t>(letters),
                  static_cast<uint8_t>(d[0] << 4 | d[1]), static_cast<uint8_t>(d[2] << 4 | d[3])};
  out = uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
  return true;
}

void AmlWriter::eisa_id(const char* id) {
  uint32_t v = 0;
  if (!eisa_id_value(id, v)) ok_ = false;
  element();
  byte(kDWordPrefix);
  le(v, 4);
}

void AmlWriter::name_string(const char* s) {
  if (*s == '\\') byte(kRootChar), ++s;
  else
    while (*s == '^') byte(kParentPrefixChar), ++s;
  if (!*s) {
    byte(0);  // NullName
    return;
  }
  // Segments of 1-4 characters separated by '.', padded with '_' (ASL
  // rules); counted first for the Dual/MultiNamePrefix.
  unsigned n = 1;
  for (const char* p = s; *p; ++p) n += *p == '.';
  if (n > 255) {
    ok_ = false;
    return;
  }
  if (n == 2) byte(kDualNamePrefix);
  else if (n > 2) byte(kMultiNamePrefix), byte(static_cast<uint8_t>(n));
  for (unsigned seg = 0; seg < n; ++seg) {
    unsigned len = 0;
    while (s[len] && s[len] != '.') ++len;
    if (len == 0 || len > 4 || !lead_char(s[0])) ok_ = false;
    for (unsigned i = 0; i < 4; ++i) {
      char c = i < len ? s[i] : '_';
      if (!name_char(c)) ok_ = false;
      byte(static_cast<uint8_t>(c));
    }
    s += len;
    if (*s == '.') ++s;
  }
}

void AmlWriter::open(Kind k) {
  if (depth_ == kMaxDepth) {
    ok_ = false;
    return;
  }
  stack_[depth_++] = Open{k, pos_, 0};
}

void AmlWriter::name(const char* n) {
  if (depth_ && (stack_[depth_ - 1].kind == Kind::package || stack_[depth_ - 1].kind == Kind::buffer)) ok_ = false;
  byte(kNameOp);
  name_string(n);
}

void AmlWriter::scope(const char* n) {
  if (depth_ && (stack_[depth_ - 1].kind == Kind::package || stack_[depth_ - 1].kind == Kind::buffer)) ok_ = false;
  byte(kScopeOp);
  open(Kind::scope);
  name_string(n);
}

void AmlWriter::device(const char* n) {
  if (depth_ && (stack_[depth_ - 1].kind == Kind::package || stack_[depth_ - 1].kind == Kind::buffer)) ok_ = false;
  byte(kExtOpPrefix);
  byte(kDeviceOp);
  open(Kind::device);
  name_string(n);
}

void AmlWriter::package() {
  element();
  byte(kPackageOp);
  open(Kind::package);
}

void AmlWriter::resource_template() {
  element();
  byte(kBufferOp);
  open(Kind::buffer);
}

unsigned AmlWriter::encode_pkg_length(size_t body, uint8_t out[4]) {
  if (body + 1 <= 0x3f) {
    out[0] = static_cast<uint8_t>(body + 1);
    return 1;
  }
  for (unsigned n = 2; n <= 4; ++n) {
    size_t total = body + n;
    if (total >= (size_t(1) << (4 + 8 * (n - 1)))) continue;
    // Lead byte: bits 7:6 = following byte count, bits 3:0 = low nibble.
    out[0] = static_cast<uint8_t>((n - 1) << 6 | (total & 0xf));
    for (unsigned i = 1; i < n; ++i) out[i] = static_cast<uint8_t>(total >> (4 + 8 * (i - 1)));
    return n;
  }
  return 0;
}

void AmlWriter::end() {
  if (!depth_) {
    ok_ = false;
    return;
  }
  Open top = stack_[--depth_];
  if (top.kind == Kind::buffer) byte(kEndTag), byte(0);  // checksum 0: "treated as valid" (§6.4.2.9)
  if (!ok_) return;
  size_t body = pos_ - top.body;
  uint8_t prefix[4 + 9];
  unsigned plen = 0;
  uint8_t tail[9];
  unsigned tlen = 0;
  if (top.kind == Kind::package) {
    if (top.count > 255) {
      ok_ = false;
      return;
    }
    tail[tlen++] = static_cast<uint8_t>(top.count);  // NumElements
  } else if (top.kind == Kind::buffer) {
    // BufferSize: the byte count as the shortest integer encoding.
    uint64_t v = body;
    if (v == 0) tail[tlen++] = kZeroOp;
    else if (v == 1) tail[tlen++] = kOneOp;
    else {
      unsigned w = v <= 0xff ? 1 : v <= 0xffff ? 2 : 4;
      tail[tlen++] = w == 1 ? kBytePrefix : w == 2 ? kWordPrefix : kDWordPrefix;
      for (unsigned i = 0; i < w; ++i) tail[tlen++] = static_cast<uint8_t>(v >> (8 * i));
    }
  }
  plen = encode_pkg_length(body + tlen, prefix);
  if (!plen) {
    ok_ = false;
    return;
  }
  for (unsigned i = 0; i < tlen; ++i) prefix[plen + i] = tail[i];
  plen += tlen;
  if (pos_ + plen > cap_) {
    ok_ = false;
    return;
  }
  for (size_t i = pos_; i-- > top.body;) buf_[i + plen] = buf_[i];
  for (unsigned i = 0; i < plen; ++i) buf_[top.body + i] = prefix[i];
  pos_ += plen;
}

void AmlWriter::io_port(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length) {
  if (!in_template() || min > max) ok_ = false;
  byte(kIoPortDescriptor);
  byte(0x01);  // information: 16-bit address decode
  le(min, 2);
  le(max, 2);
  byte(alignment);
  byte(length);
}

void AmlWriter::address_space(uint8_t tag, AddressSpace type, uint8_t gflags, uint8_t tflags, unsigned width,
                              uint64_t min, uint64_t max) {
  if (!in_template() || min > max) ok_ = false;
  byte(tag);
  le(3 + 5 * width, 2);  // length of the descriptor after the length field
  byte(static_cast<uint8_t>(type));
  byte(gflags);
  byte(tflags);
  le(0, width);              // _GRA granularity
  le(min, width);            // _MIN
  le(max, width);            // _MAX
  le(0, width);              // _TRA translation offset
  le(max - min + 1, width);  // _LEN
}

void AmlWriter::word_bus_number(uint8_t g, uint16_t min, uint16_t max) {
  address_space(kWordAddressSpace, AddressSpace::bus_number, g, 0, 2, min, max);
}
void AmlWriter::word_io(uint8_t g, uint16_t min, uint16_t max) {
  address_space(kWordAddressSpace, AddressSpace::io, g, 0x03, 2, min, max);  // _RNG: entire range
}
void AmlWriter::dword_memory(uint8_t g, uint8_t t, uint32_t min, uint32_t max) {
  address_space(kDWordAddressSpace, AddressSpace::memory, g, t, 4, min, max);
}
void AmlWriter::qword_memory(uint8_t g, uint8_t t, uint64_t min, uint64_t max) {
  address_space(kQWordAddressSpace, AddressSpace::memory, g, t, 8, min, max);
}

}  // namespace cos::dev
