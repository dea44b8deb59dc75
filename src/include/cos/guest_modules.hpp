// The module pack: how a Multiboot guest's modules ([component.guest]
// modules) reach its VMM. The composer writes every module and its command
// line into one file, `<component>.guest.modules`, which the booter maps
// into the VMM as the blob "guest.modules"; simple_vmm places each module in
// guest RAM as the Multiboot specification says and lists it in the
// multiboot_info structure. Little-endian:
//
//   header  u32 magic kModulesMagic ("CMBM"), u32 version 1, u32 count,
//           u32 total_size (bytes of the whole pack)
//   count entries of 24 bytes:
//           u64 data_offset, u64 data_size   the module's bytes in the pack
//           u32 cmdline_offset, u32 cmdline_size   its command line (without
//           the NUL that follows it in the pack)
//   then the command lines and the data, anywhere in [16 + 24 * count, total_size).
//
// Freestanding, header only; the reader checks every bound.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cos/limits.hpp"

namespace cos::guest {

inline constexpr uint32_t kModulesMagic = 0x4d424d43;  // "CMBM"
inline constexpr uint32_t kModulesVersion = 1;
inline constexpr uint32_t kModulesHeaderBytes = 16, kModuleEntryBytes = 24;
/// Most modules a guest may have, and longest module command line.
inline constexpr uint32_t kMaxModules = cos_limits::kMaxGuestModules;
inline constexpr uint32_t kModuleCmdlineMaxBytes = cos_limits::kMaxGuestModuleCmdlineBytes;

/// One module as the reader finds it (pointers into the pack).
struct ModuleView {
  const uint8_t* data;
  uint64_t size;
  const char* cmdline;  ///< NUL-terminated
  uint32_t cmdline_size;
};

namespace detail {
inline uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}
inline uint64_t le64(const uint8_t* p) { return le32(p) | static_cast<uint64_t>(le32(p + 4)) << 32; }
}  // namespace detail

/// The number of modules in a valid pack, or -1 with `why` set (static text)
/// if the pack is malformed: too small, wrong magic or version, total_size
/// larger than `size`, too many modules, an entry whose data or command line
/// lies outside the pack, a command line too long or not NUL-terminated.
inline int modules_check(const uint8_t* pack, size_t size, const char** why) {
  using detail::le32;
  using detail::le64;
  auto bad = [&](const char* w) {
    if (why) *why = w;
    return -1;
  };
  if (size < kModulesHeaderBytes) return bad("shorter than its header");
  if (le32(pack) != kModulesMagic || le32(pack + 4) != kModulesVersion) return bad("no module pack (magic, version)");
  const uint32_t count = le32(pack + 8), total = le32(pack + 12);
  if (total > size || total < kModulesHeaderBytes) return bad("its total size is wrong");
  if (count > kMaxModules) return bad("more modules than a guest may have");
  if (kModulesHeaderBytes + uint64_t(count) * kModuleEntryBytes > total) return bad("its entries do not fit");
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* e = pack + kModulesHeaderBytes + i * kModuleEntryBytes;
    const uint64_t off = le64(e), len = le64(e + 8);
    const uint32_t coff = le32(e + 16), clen = le32(e + 20);
    if (off > total || len > total - off) return bad("a module's data lies outside the pack");
    if (clen > kModuleCmdlineMaxBytes || coff >= total || clen > total - coff - 1)
      return bad("a module's command line lies outside the pack or is too long");
    if (pack[coff + clen] != 0) return bad("a module's command line is not NUL-terminated");
    for (uint32_t k = 0; k < clen; ++k)
      if (pack[coff + k] == 0) return bad("a module's command line contains a NUL");
  }
  return static_cast<int>(count);
}

/// Module `i` of a pack modules_check accepted (i < its count).
inline ModuleView module_at(const uint8_t* pack, uint32_t i) {
  const uint8_t* e = pack + kModulesHeaderBytes + i * kModuleEntryBytes;
  return ModuleView{pack + detail::le64(e), detail::le64(e + 8), reinterpret_cast<const char*>(pack + detail::le32(e + 16)),
                    detail::le32(e + 20)};
}

}  // namespace cos::guest
