// The Linux bzImage setup header, as far as the composer checks it: whether
// a file is a kernel the guest bootloader (guest/guest_realmode.S) can start
// and how much guest memory it runs in. Facts: Linux
// Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header" and "Details
// of Header Fields". Every field is read from untrusted input, so all
// arithmetic on it is overflow-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace composer {

/// The setup-header fields the composer uses. Fields of a later protocol
/// than the file's are 0.
struct BzImageHeader {
  uint16_t version = 0;           ///< 0x206: boot protocol, e.g. 0x020f
  uint64_t setup_bytes = 0;       ///< (setup_sects (0x1f1; 0 means 4) + 1) * 512: where protected-mode code starts
  uint32_t syssize = 0;           ///< 0x1f4 (32-bit from 2.04): protected-mode code in 16-byte paragraphs
  uint32_t initrd_addr_max = 0;   ///< 0x22c (2.03+): highest address the initrd may occupy
  uint32_t kernel_alignment = 0;  ///< 0x230 (2.05+): alignment a relocatable kernel runs at
  bool relocatable = false;       ///< 0x234 (2.05+): relocatable_kernel
  uint32_t cmdline_size = 0;      ///< 0x238 (2.06+): longest command line, without its NUL
  uint32_t payload_offset = 0;    ///< 0x248 (2.08+): compressed kernel, from the protected-mode code's start
  uint32_t payload_length = 0;    ///< 0x24c (2.08+)
  uint64_t pref_address = 0;      ///< 0x258 (2.10+): preferred load address
  uint32_t init_size = 0;         ///< 0x260 (2.10+): memory from the runtime start the kernel needs first
};

/// Oldest boot protocol the guest bootloader starts (cmdline_size, 2.06).
inline constexpr uint16_t min_bzimage_protocol = 0x0206;

/// Reads the header fields of `bytes`, which must be at least 0x400 bytes.
BzImageHeader read_bzimage_header(const std::vector<uint8_t>& bytes);

/// Why `bytes` is not a bzImage the guest bootloader can start, or "" if it
/// is one: boot flag 0xAA55 at 0x1fe, "HdrS" at 0x202, protocol >= 2.06,
/// LOADED_HIGH; protected-mode code present and the file at least
/// setup + syssize * 16 bytes long (not truncated); from 2.08 a compressed
/// payload (payload_offset, payload_length) inside that code starting with a
/// known magic (gzip, bzip2, LZMA, XZ, LZ4, ZSTD, or an ELF); from 2.10
/// init_size at least the protected-mode code, a power-of-two
/// kernel_alignment for a relocatable kernel, and a runtime area
/// [runtime start, + init_size) below 4 GiB, where the 32-bit bootloader can
/// reach it.
std::string bzimage_problem(const std::vector<uint8_t>& bytes);

/// End (exclusive, guest-physical) of the memory the kernel of `bytes` needs
/// from 1 MiB on when loaded at 1 MiB: its protected-mode code and, from
/// protocol 2.10, [runtime start, runtime start + init_size), where the
/// runtime start follows boot.rst (relocatable: pref_address or the load
/// address if higher, aligned up to kernel_alignment; otherwise
/// pref_address) and is at least what the guest bootloader assumes
/// (max(1 MiB, pref_address)). Saturates at UINT64_MAX instead of wrapping
/// (for a header bzimage_problem refuses).
uint64_t guest_kernel_end(const std::vector<uint8_t>& bytes);

}  // namespace composer
