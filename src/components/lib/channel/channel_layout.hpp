// How a channel's shared memory ([[channel]], docs/composition.md
// "Channels") is cut into its two message rings: pure logic, host-tested.
//
//   [0, 128)      control block of ring 0 (end 0 -> end 1)
//   [128, 256)    control block of ring 1 (end 1 -> end 0)
//   [256, 256 + D)        ring 0's records
//   [256 + D, 256 + 2D)   ring 1's records, D = ((bytes - 256) / 2) rounded down to 8
// End 0 produces on ring 0 and consumes ring 1; end 1 the other way round.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "channel/msg_ring.hpp"

namespace cos::chan {

inline constexpr size_t kChannelControlBytes = 2 * MsgRing::kControlBytes;

/// Attaches `tx` and `rx` to the channel memory [base, base + bytes) as end
/// `end` (0 or 1) sees it. False if `end` > 1 or the memory is too small for
/// two rings.
bool attach_channel(void* base, size_t bytes, uint32_t end, MsgRing& tx, MsgRing& rx);

}  // namespace cos::chan
