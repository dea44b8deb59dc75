// Component: a capability table plus a page table (address space). Lives in
// one page retyped from untyped memory.
#pragma once
#include <stdint.h>

#include "capability.hpp"

namespace cos {

struct Component {
  CapTable captbl;
  uint64_t pgtbl_root;  ///< physical address of the PML4
  uint32_t id;
  bool alive;
  char name[32];
};

}  // namespace cos
