#include "netswitch/mac_table.hpp"

namespace cos::netswitch {
namespace {

bool same(const uint8_t* a, const uint8_t* b) {
  for (int i = 0; i < 6; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

}  // namespace

int MacTable::lookup(const uint8_t* mac) const {
  for (const Entry& e : table_)
    if (e.used && same(e.mac, mac)) return e.port;
  return -1;
}

void MacTable::learn(const uint8_t* mac, unsigned port) {
  ++clock_;
  Entry* victim = &table_[0];
  for (Entry& e : table_) {
    if (e.used && same(e.mac, mac)) {
      e.port = static_cast<uint8_t>(port);  // a host that moved ports
      e.last = clock_;
      return;
    }
    if (!e.used) {
      if (victim->used) victim = &e;
    } else if (victim->used && e.last < victim->last) {
      victim = &e;
    }
  }
  for (int i = 0; i < 6; ++i) victim->mac[i] = mac[i];
  victim->port = static_cast<uint8_t>(port);
  victim->used = true;
  victim->last = clock_;
}

uint32_t MacTable::route(unsigned in, const uint8_t* frame, size_t len) {
  if (in >= ports_ || len < kEthHeaderBytes) return 0;
  const uint8_t* dst = frame;
  const uint8_t* src = frame + 6;
  if (src[0] & 1) return 0;
  learn(src, in);
  const uint32_t all = (ports_ == 32 ? ~0u : (1u << ports_) - 1) & ~(1u << in);
  if (dst[0] & 1) return all;  // broadcast and multicast
  int out = lookup(dst);
  if (out < 0) return all;      // unknown: flood
  if (static_cast<unsigned>(out) == in) return 0;  // for the port it came from: filtered
  return 1u << out;
}

}  // namespace cos::netswitch
