// Ending components: comp_exit (a component ends itself with a status and a
// reason), comp_essential (a component the system cannot do without), and
// the machine stop when an essential component ends badly. The run tool
// reads the stop line (docs/running.md, tools/cos/coslib/outcome.py).
#include "cos/exit_status.hpp"
#include "kernel/console.hpp"
#include "kernel/platform.hpp"
#include "kernel/syscalls.hpp"

namespace cos {

[[noreturn]] void essential_component_stopped(Component* c, unsigned status, const char* reason) {
  kprintf("cos: shutdown: essential component '%s' stopped (status %u): %s\n", c->name, status, reason);
  platform::stop(platform::StopReason::component);
}

namespace sys {

int64_t comp_exit(Thread* t, uint64_t status, uint64_t reason_ptr, uint64_t reason_len) {
  if (status > 255 || reason_len > abi::kExitReasonMax) return err(Error::bad_argument);
  char reason[abi::kExitReasonMax + 1] = {};
  Component* c = t->current;
  if (!platform::copy_from_user(c->pgtbl_root, reason_ptr, reason, reason_len)) return err(Error::bad_address);
  // One line: the reason ends at its first control character.
  for (size_t i = 0; i < reason_len; ++i)
    if (static_cast<unsigned char>(reason[i]) < 0x20 || reason[i] == 0x7f) reason[i] = '\0';
  if (reason[0] == '\0') __builtin_memcpy(reason, "no reason given", 16);
  kprintf("cos: component '%s' exited with status %lu: %s\n", c->name, status, reason);
  component_kill(c);
  if (c->essential && status != 0) essential_component_stopped(c, static_cast<unsigned>(status), reason);
  schedule(false);  // t executes in a dead component: it unwinds to its caller or ends
}

int64_t comp_essential(Thread* t, uint64_t comp_slot) {
  Component* comp;
  Error e = caps(t).get(comp_slot, Rights::write, comp);
  if (e != Error::ok) return err(e);
  if (!t->current->essential) return err(Error::no_rights);
  comp->essential = true;
  comp->ends_run = true;
  return 0;
}

}  // namespace sys
}  // namespace cos
