// The booter's own capability slots and untyped memory.
#include "booter/booter.hpp"

namespace booter {
namespace {

uint64_t g_next_slot;
/// Slots emptied by free_slot(), handed out again before fresh ones.
uint64_t g_free[64];
uint32_t g_free_count;

}  // namespace

const cos::boot::BootInfo& boot_info() {
  return *reinterpret_cast<const cos::boot::BootInfo*>(cos::boot::kInfoVaddr);
}

void init_slots() { g_next_slot = boot_info().first_free_slot; }

uint64_t new_slot() {
  if (g_free_count > 0) return g_free[--g_free_count];
  if (g_next_slot >= boot_info().captbl_size) return 0;
  return g_next_slot++;
}

void free_slot(uint64_t slot) {
  if (slot == 0) return;
  int64_t r = sys::cap_delete(slot);
  // A slot that could not be emptied is never handed out again.
  bool empty = r == 0 || r == static_cast<int64_t>(cos::abi::Error::empty_slot);
  if (empty && g_free_count < sizeof(g_free) / sizeof(g_free[0])) g_free[g_free_count++] = slot;
}

int64_t retype_any(uint64_t dest, ObjType type, uint64_t pages) {
  return with_untyped([&](uint64_t ut) { return sys::retype(ut, dest, type, pages); });
}

const char* error_name(int64_t err) {
  const char* n = cos::abi::error_name(err);
  return err == 0 ? "ok" : *n ? n : "unknown error";
}

}  // namespace booter
