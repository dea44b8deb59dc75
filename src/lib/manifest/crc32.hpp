// CRC-32 (IEEE 802.3 polynomial, reflected, as zlib's crc32()), used to
// checksum boot manifests. Freestanding-safe.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace cos::manifest {

/// Returns the CRC-32 of `data[0, size)` continuing from `crc`, the result of
/// a previous call (0 to start). crc32(b, n2, crc32(a, n1)) equals the CRC of
/// a followed by b. crc32("123456789", 9) == 0xCBF43926.
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace cos::manifest
