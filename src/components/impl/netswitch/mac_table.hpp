// cos::netswitch::MacTable — the forwarding decision of a learning L2
// switch (IEEE 802.1D "transparent bridge", without spanning tree): learn
// each frame's source MAC on the port it came in on, send a frame for a
// known unicast MAC to that port only, and flood broadcast, multicast and
// unknown destinations to every other port. Pure logic, host-tested.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::netswitch {

class MacTable {
 public:
  static constexpr unsigned kMaxPorts = 32;
  static constexpr unsigned kEntries = 256;
  static constexpr size_t kEthHeaderBytes = 14;

  /// `ports`: how many ports the switch has (<= kMaxPorts).
  explicit MacTable(unsigned ports) : ports_(ports < kMaxPorts ? ports : kMaxPorts) {}

  /// The ports (bit i = port i) a frame of `len` bytes that arrived on port
  /// `in` goes to; learns its source address. 0 for a frame too short to
  /// have an Ethernet header, from a port out of range, or with a multicast
  /// source address (invalid; not learnt, dropped).
  uint32_t route(unsigned in, const uint8_t* frame, size_t len);
  /// The port `mac` was last seen on, or -1.
  int lookup(const uint8_t* mac) const;

 private:
  struct Entry {
    uint8_t mac[6];
    uint8_t port;
    bool used;
    uint64_t last;  ///< learn clock when last seen (the oldest entry is replaced)
  };
  void learn(const uint8_t* mac, unsigned port);
  unsigned ports_;
  uint64_t clock_ = 0;
  Entry table_[kEntries] = {};
};

}  // namespace cos::netswitch
