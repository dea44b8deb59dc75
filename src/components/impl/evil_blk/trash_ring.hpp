// What evil_blk (a hostile block component for the isolation tests,
// docs/channels.md "Isolation, tested") does to the ring it answers on.
// Pure logic: host-tested in tests/unit/evil_blk_test.cpp.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::evil_blk {

/// Breaks the ring that channel end `end` (0 or 1) produces on, in the
/// channel memory [base, base + bytes) laid out as channel_layout.hpp says
/// (end 0 produces on ring 0, end 1 on ring 1): every record byte becomes
/// 0xa5 and the ring's tail moves 64 bytes on (mod twice the capacity), so
/// the consumer finds a record of length 0xa5a5a5a5 where 64 bytes were
/// produced, which MsgRing reports as corrupt. Returns the old tail; does
/// nothing and returns 0 if `end` > 1 or the memory holds no ring.
uint32_t trash_ring(volatile uint8_t* base, size_t bytes, uint32_t end);

}  // namespace cos::evil_blk
