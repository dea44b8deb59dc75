// cos::chan::BlkServer — the server side of the block protocol
// (blk_protocol.hpp) over a RAM disk: pure logic, host-tested; the blk_ram
// component runs it on its channels.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "channel/blk_protocol.hpp"
#include "channel/msg_ring.hpp"

namespace cos::chan {

class BlkServer {
 public:
  /// Serves the disk [disk, disk + bytes) (bytes a multiple of 512);
  /// `scratch` (scratch_bytes, at least the request ring's max_message())
  /// holds one request while it is checked.
  BlkServer(uint8_t* disk, uint64_t bytes, bool read_only, uint8_t* scratch, size_t scratch_bytes)
      : disk_(disk), sectors_(bytes / kBlkSectorBytes), ro_(read_only), scratch_(scratch), scratch_bytes_(scratch_bytes) {}

  struct Stats {
    uint64_t requests = 0, errors = 0, dropped_responses = 0, sectors_read = 0, sectors_written = 0;
  };
  /// Answers every request waiting on `rx` on `tx`. Returns the number
  /// answered; false in `broken` when either ring is corrupt (the client
  /// broke the protocol: stop serving it). A response that does not fit
  /// (a client that does not wait for its answers) is dropped and counted.
  unsigned serve(MsgRing& rx, MsgRing& tx, bool& broken);
  const Stats& stats() const { return stats_; }
  uint64_t capacity_sectors() const { return sectors_; }

 private:
  uint8_t* disk_;
  uint64_t sectors_;
  bool ro_;
  uint8_t* scratch_;
  size_t scratch_bytes_;
  Stats stats_;
};

}  // namespace cos::chan
