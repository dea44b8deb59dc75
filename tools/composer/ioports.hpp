// I/O-port range values in composition scripts: "first-last" (inclusive) or
// "first:count", each number hexadecimal ("0x3f8") or decimal ("1016").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace composer {

/// Parses `text` into the ports [first, first + count). Accepts exactly
/// `<n>-<n>` and `<n>:<n>` where <n> is `0x` (or `0X`) followed by hex digits,
/// or decimal digits; no spaces or signs. The range must be non-empty and lie
/// within ports 0..0xffff. On failure stores a short reason in `error` (e.g.
/// "the last port is below the first") and returns false.
bool parse_ioport_range(std::string_view text, uint32_t& first, uint32_t& count, std::string& error);

/// Canonical spelling of [first, first + count): "0x70-0x71", or "0x80" for
/// a single port.
std::string format_ioport_range(uint32_t first, uint32_t count);

}  // namespace composer
