// Component: a capability table plus a page table (address space).
#pragma once
#include <stdint.h>

#include "kernel/capability.hpp"
#include "kernel/object.hpp"
#include "kernel/thread.hpp"

namespace cos {

/// Capability-table object: its pages hold the slots; slot 0's space holds
/// this header.
struct Captbl : KObject {
  static constexpr ObjType kType = ObjType::captbl;
  uint32_t nslots;
  Capability* slots() { return reinterpret_cast<Capability*>(this); }
};
static_assert(sizeof(Captbl) <= sizeof(Capability));

/// Page-table object: a header page plus the PML4 page at `root`.
struct Pgtbl : KObject {
  static constexpr ObjType kType = ObjType::pgtbl;
  uint64_t root;  ///< physical address of the PML4
};

struct Component : KObject {
  static constexpr ObjType kType = ObjType::comp;
  Captbl* captbl_obj;
  Pgtbl* pgtbl_obj;
  CapTable captbl;
  uint64_t pgtbl_root;  ///< physical address of the PML4
  uint32_t id;
  bool alive;
  /// The highest priority (lowest number) the threads and asynchronous
  /// vCPUs created by code running in this component may get (comp_ceiling).
  uint8_t priority_ceiling;
  /// The system cannot do without it: its fault, or its comp_exit with a
  /// non-zero status, stops the machine (Op::comp_essential, comp_exit.cpp).
  bool essential;
  /// Marked essential by comp_essential (not the kernel-constructed booter):
  /// once every such component has ended, the run is over (sched.cpp).
  bool ends_run;
  /// Its threads that were started and have not ended (vCPU threads too).
  uint32_t live_threads;
  char name[32];
  HomeThreadList threads;  ///< threads whose home it is (created in it)
};

}  // namespace cos
