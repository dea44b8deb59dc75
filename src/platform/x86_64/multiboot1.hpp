// Reading the multiboot v1 boot information (Multiboot Specification
// 0.6.96, section 3.3 "Boot information format"), as QEMU's -kernel loader
// passes it: it fills the same description as multiboot2.
#pragma once
#include <stdint.h>

#include "x86_64/multiboot2.hpp"

namespace cos::x86::mb1 {

/// EAX at entry from a multiboot v1 loader.
inline constexpr uint32_t kBootloaderMagic = 0x2badb002;

/// Parses the information at physical address `pa` into `out`: modules (page
/// aligned, flags bit 3) and available RAM (the memory map, flags bit 6).
/// A module's name is its command line after the first word: QEMU passes
/// "<file> <args>" (GRUB's module2 passes only the arguments). Names are
/// copied, so the information itself may be overwritten afterwards
/// (out.info_start == out.info_end). Panics if no memory map was given.
void parse(uint64_t pa, mb2::Info& out);

}  // namespace cos::x86::mb1
