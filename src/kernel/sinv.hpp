// Synchronous invocation gate: where a client's thread enters the server.
#pragma once
#include <stdint.h>

#include "kernel/object.hpp"

namespace cos {

struct Component;

struct SinvGate : KObject {
  static constexpr abi::ObjType kType = abi::ObjType::sinv;
  Component* server;  ///< referenced while the gate exists
  uint64_t entry;     ///< server user address of its sinv entry stub
  uint64_t token;     ///< passed to the server in rdi (interface id)
};

}  // namespace cos
