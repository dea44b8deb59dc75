#include "composer/bzimage.hpp"

#include <limits>
#include <sstream>

#include "cos/limits.hpp"

namespace composer {
namespace {

constexpr uint64_t kLoadAddress = cos_limits::kGuestKernel32Gpa;  // where the bootloader puts the code
constexpr uint64_t k4GiB = uint64_t(1) << 32;

uint64_t le(const std::vector<uint8_t>& b, size_t at, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[at + size_t(i)];
  return v;
}

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

uint64_t sat_add(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max() : a + b;
}

bool power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Where a protocol-2.10 kernel decompresses and runs (boot.rst, init_size),
// saturating; UINT64_MAX for an alignment that is no power of two.
uint64_t runtime_start(const BzImageHeader& h) {
  if (!h.relocatable) return h.pref_address;
  const uint64_t load = h.pref_address > kLoadAddress ? h.pref_address : kLoadAddress;
  if (!power_of_two(h.kernel_alignment)) return std::numeric_limits<uint64_t>::max();
  const uint64_t a = h.kernel_alignment;
  if (load > std::numeric_limits<uint64_t>::max() - (a - 1)) return std::numeric_limits<uint64_t>::max();
  return (load + a - 1) & ~(a - 1);
}

// Payload magic numbers (boot.rst, payload_offset): gzip 1F 8B or 1F 9E,
// bzip2 42 5A, LZMA 5D 00, XZ FD 37, LZ4 02 21, ZSTD 28 B5; uncompressed: ELF.
bool known_payload(const std::vector<uint8_t>& b, uint64_t at, uint64_t len) {
  if (len < 2) return false;
  const uint8_t x = b[at], y = b[at + 1];
  if ((x == 0x1f && (y == 0x8b || y == 0x9e)) || (x == 0x42 && y == 0x5a) || (x == 0x5d && y == 0x00) ||
      (x == 0xfd && y == 0x37) || (x == 0x02 && y == 0x21) || (x == 0x28 && y == 0xb5))
    return true;
  return len >= 4 && x == 0x7f && y == 'E' && b[at + 2] == 'L' && b[at + 3] == 'F';
}

}  // namespace

BzImageHeader read_bzimage_header(const std::vector<uint8_t>& b) {
  BzImageHeader h;
  h.version = uint16_t(le(b, 0x206, 2));
  const uint64_t setup_sects = b[0x1f1] == 0 ? 4 : b[0x1f1];
  h.setup_bytes = (setup_sects + 1) * 512;
  h.syssize = uint32_t(le(b, 0x1f4, h.version >= 0x0204 ? 4 : 2));
  if (h.version >= 0x0203) h.initrd_addr_max = uint32_t(le(b, 0x22c, 4));
  if (h.version >= 0x0205) {
    h.kernel_alignment = uint32_t(le(b, 0x230, 4));
    h.relocatable = b[0x234] != 0;
  }
  if (h.version >= 0x0206) h.cmdline_size = uint32_t(le(b, 0x238, 4));
  if (h.version >= 0x0208) {
    h.payload_offset = uint32_t(le(b, 0x248, 4));
    h.payload_length = uint32_t(le(b, 0x24c, 4));
  }
  if (h.version >= 0x020a) {
    h.pref_address = le(b, 0x258, 8);
    h.init_size = uint32_t(le(b, 0x260, 4));
  }
  return h;
}

std::string bzimage_problem(const std::vector<uint8_t>& b) {
  if (b.size() < 0x400) return "it is too small to hold a Linux setup header (" + std::to_string(b.size()) + " bytes)";
  if (le(b, 0x1fe, 2) != 0xaa55) {
    if (b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F')
      return "it is an ELF file (a vmlinux?): no boot flag 0xAA55 at offset 0x1fe";
    return "no boot flag 0xAA55 at offset 0x1fe";
  }
  if (le(b, 0x202, 4) != 0x53726448) return "no \"HdrS\" signature at offset 0x202 (a pre-2.0 boot sector?)";
  const BzImageHeader h = read_bzimage_header(b);
  if (h.version < min_bzimage_protocol)
    return "its boot protocol is " + std::to_string(h.version >> 8) + "." + (((h.version & 0xff) < 10) ? "0" : "") +
           std::to_string(h.version & 0xff) + "; the guest bootloader needs 2.06 or later";
  if ((b[0x211] & 1) == 0) return "loadflags LOADED_HIGH is not set (a zImage, which cannot run from 1 MiB)";
  if (h.setup_bytes >= b.size())
    return "the file ends inside its real-mode setup code (" + std::to_string(h.setup_bytes / 512 - 1) +
           " setup sectors): truncated?";
  // syssize * 16 < 2^36: no overflow.
  const uint64_t code_bytes = uint64_t(h.syssize) * 16;
  if (code_bytes == 0) return "syssize (0x1f4) is 0: it has no protected-mode code";
  if (h.setup_bytes + code_bytes > b.size())
    return "it is " + std::to_string(b.size()) + " bytes, but its setup code and syssize (0x1f4) say " +
           std::to_string(h.setup_bytes + code_bytes) + " (" + std::to_string(h.setup_bytes) + " + " +
           std::to_string(h.syssize) + " * 16): truncated?";
  if (h.version >= 0x0208) {
    const uint64_t end = uint64_t(h.payload_offset) + h.payload_length;
    if (h.payload_length == 0) return "payload_length (0x24c) is 0: it has no kernel payload";
    if (end > code_bytes)
      return "its payload (payload_offset " + hex(h.payload_offset) + ", payload_length " + hex(h.payload_length) +
             ") ends beyond its protected-mode code (" + hex(code_bytes) + " bytes)";
    if (!known_payload(b, h.setup_bytes + h.payload_offset, h.payload_length))
      return "its payload at " + hex(h.setup_bytes + h.payload_offset) +
             " has no gzip, bzip2, LZMA, XZ, LZ4, ZSTD or ELF magic number";
  }
  if (h.version >= 0x020a) {
    if (h.init_size < code_bytes)
      return "init_size (0x260) " + hex(h.init_size) + " is smaller than its protected-mode code (" +
             hex(code_bytes) + " bytes)";
    if (h.relocatable && !power_of_two(h.kernel_alignment))
      return "kernel_alignment (0x230) " + hex(h.kernel_alignment) + " of a relocatable kernel is not a power of two";
    if (h.pref_address >= k4GiB)
      return "pref_address (0x258) " + hex(h.pref_address) +
             " is above 4 GiB: the 32-bit guest bootloader cannot start it";
    // Below 4 GiB the runtime start is < 2^33 and the end < 2^34: no overflow.
    const uint64_t end = guest_kernel_end(b);
    if (end >= k4GiB)
      return "it runs from " + hex(runtime_start(h)) + " (pref_address " + hex(h.pref_address) + ", init_size " +
             hex(h.init_size) + ") up to " + hex(end) + ", beyond the 4 GiB the 32-bit guest bootloader can reach";
  }
  return "";
}

uint64_t guest_kernel_end(const std::vector<uint8_t>& b) {
  if (b.size() < 0x400) return std::numeric_limits<uint64_t>::max();
  const BzImageHeader h = read_bzimage_header(b);
  const uint64_t code = b.size() > h.setup_bytes ? b.size() - h.setup_bytes : 0;
  uint64_t end = sat_add(kLoadAddress, code);  // the bootloader copies the whole rest of the file
  if (h.version >= 0x020a) {
    // What the bootloader assumes and what boot.rst says the kernel does.
    const uint64_t loader_start = h.pref_address > kLoadAddress ? h.pref_address : kLoadAddress;
    const uint64_t rt = runtime_start(h);
    const uint64_t start = rt > loader_start ? rt : loader_start;
    const uint64_t run_end = sat_add(start, h.init_size);
    if (run_end > end) end = run_end;
  }
  return end;
}

}  // namespace composer
