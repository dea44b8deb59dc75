// The block protocol over a channel (docs/channels.md): a client (a VMM's
// virtio-blk device) sends requests on its tx ring, a block component
// (blk_ram) answers each on the other ring, in order. Sectors are 512 bytes.
//
//   request  tag = BlkOp, payload BlkRequest, then for kBlkWrite the data
//   response tag = the request's BlkOp, payload BlkResponse, then for a
//            successful kBlkRead the data (count * 512 bytes)
//
// A request moves at most blk_max_sectors(ring) sectors, so that it and its
// answer fit one message; the client splits larger transfers. The server
// checks every field (range against its capacity, data length against count)
// and answers kBlkIoError for what it cannot do; it never trusts the client.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::chan {

enum BlkOp : uint32_t {
  kBlkInfo = 1,   ///< capacity and flags (sector, count ignored)
  kBlkRead = 2,   ///< read `count` sectors from `sector`
  kBlkWrite = 3,  ///< write `count` sectors at `sector` (data follows)
  kBlkFlush = 4,  ///< make completed writes durable
};

enum BlkStatus : uint32_t { kBlkOk = 0, kBlkIoError = 1, kBlkUnsupported = 2 };

/// BlkResponse::flags for kBlkInfo.
inline constexpr uint32_t kBlkFlagReadOnly = 1u << 0;

struct BlkRequest {
  uint64_t id;      ///< chosen by the client, echoed in the response
  uint64_t sector;  ///< first 512-byte sector
  uint32_t count;   ///< sectors
  uint32_t reserved;
};

struct BlkResponse {
  uint64_t id;        ///< the request's id
  uint64_t capacity;  ///< kBlkInfo: size in sectors (0 otherwise)
  uint32_t status;    ///< BlkStatus
  uint32_t flags;     ///< kBlkInfo: kBlkFlag* bits
};

inline constexpr uint32_t kBlkSectorBytes = 512;

/// Most sectors one request may move through a ring whose max_message() is
/// `max_message` bytes.
inline constexpr uint32_t blk_max_sectors(size_t max_message) {
  const size_t hdr = sizeof(BlkRequest) > sizeof(BlkResponse) ? sizeof(BlkRequest) : sizeof(BlkResponse);
  return max_message > hdr ? static_cast<uint32_t>((max_message - hdr) / kBlkSectorBytes) : 0;
}

}  // namespace cos::chan
