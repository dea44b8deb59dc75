// vmtest: a fresh VM for every test case or program, paid for from an
// untyped memory object of its own and taken back completely afterwards.
//
//   vmtest::Sandbox box;
//   VMRT_TRY(box.open(parent, cfg));     // child untyped, VM, RAM, vCPU
//   ... run box.cpu() ...
//   VMRT_TRY(box.close());               // destroy, revoke, check every page came back
//
// open() retypes a child untyped of cfg.untyped_pages pages from the
// parent's untyped memory and builds everything of the VM from it: the VM
// object and its nested page tables, guest RAM, the vCPU, its state frame
// and wake-up endpoint. The page-table pages of the VMM window come from the
// parent (Env::window_tables_untyped), and every sandbox maps its RAM and
// state page at the same window addresses, so those tables are made once and
// reused. close() destroys the vCPU and the VM with vmrt, unmaps whatever is
// left in the window range, revokes the child untyped (deleting whatever
// else the case derived from it) and then checks that the child's memory is
// whole again by retyping one frame of all of it: a kernel object, frame or
// table page that did not come back fails that retype (out_of_memory) — before
// the child untyped itself is deleted and its memory returns to the parent.
//
// Component code (system calls).
#pragma once
#include <stdint.h>

#include "vmrt/vcpu.hpp"
#include "vmrt/vm.hpp"

namespace vmtest {

struct SandboxConfig {
  /// Pages of the child untyped (guest RAM, the VM's nested tables, the
  /// vCPU: RAM / 4 KiB + about 16).
  uint64_t untyped_pages = 512;
  /// Guest RAM at gpa 0 (0: none).
  uint64_t ram_bytes = 1 << 20;
  vmrt::VcpuConfig vcpu{};
};

/// Where every sandbox's RAM and state page appear in the VMM: the upper
/// half of vmrt's window (the parent Env keeps the lower half).
inline constexpr uint64_t kSandboxWindowBase = vmrt::kWindowBase + vmrt::kWindowBytes / 2;
inline constexpr uint64_t kSandboxWindowBytes = 1ull << 36;  // 64 GiB per sandbox at most

class Sandbox {
 public:
  Sandbox() = default;
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  /// Slots [first_slot, limit_slot) of the component's capability table
  /// are the sandbox's (none of them may be used by anybody else).
  void init_slots(uint64_t first_slot, uint64_t limit_slot) {
    first_slot_ = first_slot;
    limit_slot_ = limit_slot;
  }

  /// Builds a fresh VM as described above. `parent` lends its untyped, page
  /// table and one slot (for the child untyped). On error everything made
  /// is taken back. Errors: bad_argument (open twice, no slots given),
  /// out_of_slots, syscall (retype out_of_memory; vm/vcpu creation), those
  /// of Vm::add_ram and Vcpu::create.
  vmrt::Status open(vmrt::Env& parent, const SandboxConfig& cfg);
  bool is_open() const { return untyped_ != 0; }

  vmrt::Vm& vm() { return vm_; }
  vmrt::Vcpu& cpu() { return cpu_; }
  /// The sandbox's own capability environment (its untyped, slots, window):
  /// for objects a case makes itself (deleted by close() too).
  vmrt::Env& env() { return env_; }

  /// Takes everything back (see above). Errors: the first of vmrt's destroy
  /// errors, syscall (cap_revoke, cap_delete; what = "sandbox memory check"
  /// with out_of_memory when the child untyped is not whole again, addr =
  /// its size in pages). The sandbox is closed whatever the result.
  vmrt::Status close();

 private:
  vmrt::Env* parent_ = nullptr;
  vmrt::Env env_;
  vmrt::Vm vm_;
  vmrt::Vcpu cpu_;
  uint64_t untyped_ = 0, pages_ = 0;
  uint64_t first_slot_ = 0, limit_slot_ = 0;
};

}  // namespace vmtest
