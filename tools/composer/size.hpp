// Size values in composition scripts: "<n>[K|M|G]" with binary units.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace composer {

/// Parses `text` = decimal digits optionally followed by one suffix K, M or G
/// (case-insensitive; 2^10, 2^20, 2^30). No sign, spaces or separators. On
/// success stores the size in bytes and returns true; otherwise stores a
/// short reason in `error` (e.g. "bad suffix 'KB'") and returns false.
bool parse_size_text(std::string_view text, uint64_t& bytes, std::string& error);

/// Shortest exact spelling of `bytes`: "64K", "512M", "4G", or plain bytes.
std::string format_size(uint64_t bytes);

}  // namespace composer
