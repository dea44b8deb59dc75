// fuzz_canary: the bystander of the syscall fuzzer (composition_scripts/
// syscall_fuzz.toml). At start it fills memory with a pattern and creates a
// few kernel objects of its own from its untyped memory; when the fuzzer is
// done it invokes `verify`, and the canary checks that its memory, every
// capability it holds (type and rights, via cap_info), a mapping it made and
// the emptiness of its receive endpoint are exactly as it left them.
//
// Needs `untyped = "..."` and `caps = ["captbl"]` in the script.
#include "fuzz_canary/canary.hpp"
#include "runtime/cos.hpp"

namespace {

using cos::abi::Error;
using cos::abi::ObjType;
namespace Rights = cos::abi::Rights;
namespace sys = cos::sys;

constexpr unsigned kHeapWords = 4096;    // 32 KiB on the heap
constexpr unsigned kStaticWords = 1024;  // 8 KiB in .bss
constexpr uint64_t kMapVaddr = 0x1000;   // where the frame is mapped in the child page table
constexpr int kMaxWatched = 48;

uint64_t g_static[kStaticWords];
uint64_t* g_heap;
bool g_ready;

struct Watched {
  const char* what;
  uint64_t slot;
  int64_t info;  // cap_info result at set-up (type | rights << 8, or an error)
};
Watched g_caps[kMaxWatched];
int g_ncaps;

// Objects created at set-up (0 = creation failed).
uint64_t g_pgtbl, g_frame, g_rcv;

uint64_t pattern(uint64_t i, uint64_t salt) {
  uint64_t z = i * 0x9e3779b97f4a7c15ull + salt;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
constexpr uint64_t kHeapSalt = 0xca5a7e11;
constexpr uint64_t kStaticSalt = 0x5ca1ab1e;

void watch(const char* what, uint64_t slot) {
  if (g_ncaps < kMaxWatched) g_caps[g_ncaps++] = {what, slot, sys::cap_info(slot)};
}

// Runs a creation call into `slot`; on success the slot is watched.
uint64_t create(const char* what, uint64_t slot, int64_t r) {
  if (r != 0) {
    cos::printf("fuzz_canary: creating %s in slot %lu failed (%ld)\n", what, static_cast<unsigned long>(slot),
                static_cast<long>(r));
    return 0;
  }
  watch(what, slot);
  return slot;
}

void set_up() {
  const cos::boot::CompInfo& me = cos::self();
  g_heap = new uint64_t[kHeapWords];
  for (unsigned i = 0; i < kHeapWords; ++i) g_heap[i] = pattern(i, kHeapSalt);
  for (unsigned i = 0; i < kStaticWords; ++i) g_static[i] = pattern(i, kStaticSalt);

  // Whatever the booter put in the table (dependency gates, grants).
  for (uint64_t s = 1; s < me.first_free_slot && g_ncaps < kMaxWatched; ++s) watch("granted", s);
  uint64_t ut = me.untyped_slot, ct = me.captbl_slot;
  if (!ut || !ct) {
    cos::printf("fuzz_canary: not granted untyped memory and its capability table; "
                "watching memory and %d granted capabilities only\n", g_ncaps);
    return;
  }
  uint64_t next = me.first_free_slot;
  uint64_t sub = next++, tbl = next++, pt = next++, fr = next++, rcv = next++, snd = next++;
  uint64_t copy = next++, comp = next++, empty = next++;
  create("an untyped", sub, sys::retype(ut, sub, ObjType::untyped, 4));
  uint64_t have_tbl = create("a capability table", tbl, sys::retype(ut, tbl, ObjType::captbl, 1));
  g_pgtbl = create("a page table", pt, sys::retype(ut, pt, ObjType::pgtbl, 1));
  g_frame = create("a frame", fr, sys::retype(ut, fr, ObjType::frame, 2));
  g_rcv = create("a receive endpoint", rcv, sys::retype(ut, rcv, ObjType::rcv, 1));
  if (g_rcv) create("a send endpoint", snd, sys::asnd_create(ut, snd, rcv));
  if (g_frame) create("a read-only copy of the frame", copy, sys::cap_copy(ct, copy, fr, Rights::read | Rights::grant));
  if (have_tbl && g_pgtbl) {
    static const char kName[] = "canary_child";
    create("a component", comp, sys::comp_create(ut, comp, tbl, pt, kName, sizeof(kName) - 1));
  }
  if (g_pgtbl && g_frame) {
    int64_t r = sys::pgtbl_map(pt, kMapVaddr, fr, 0, Rights::read | Rights::write, ut);
    if (r != 0) {
      cos::printf("fuzz_canary: mapping its frame failed (%ld)\n", static_cast<long>(r));
      g_pgtbl = 0;
    }
  }
  watch("an empty slot", empty);
  watch("its untyped memory", ut);
  watch("its capability table", ct);
}

// Returns (memory words changed, capabilities changed) and prints the
// details, and a summary unless `quiet`.
cos::sys::SinvResult verify(bool quiet) {
  int64_t words = 0, caps = 0;
  for (unsigned i = 0; i < kHeapWords; ++i) words += g_heap[i] != pattern(i, kHeapSalt);
  for (unsigned i = 0; i < kStaticWords; ++i) words += g_static[i] != pattern(i, kStaticSalt);
  for (int i = 0; i < g_ncaps; ++i) {
    int64_t now = sys::cap_info(g_caps[i].slot);
    if (now != g_caps[i].info) {
      ++caps;
      cos::printf("fuzz_canary: CHANGED: %s in slot %lu: cap_info was %#lx, now %#lx\n", g_caps[i].what,
                  static_cast<unsigned long>(g_caps[i].slot), static_cast<unsigned long>(g_caps[i].info),
                  static_cast<unsigned long>(now));
    }
  }
  int checks = g_ncaps;
  if (g_pgtbl) {
    ++checks;
    int64_t r = sys::pgtbl_map(g_pgtbl, kMapVaddr, g_frame, 0, Rights::read, cos::self().untyped_slot);
    if (r != static_cast<int64_t>(Error::already_mapped)) {
      ++caps;
      cos::printf("fuzz_canary: CHANGED: its mapping at %#lx is gone (pgtbl_map returned %ld)\n",
                  static_cast<unsigned long>(kMapVaddr), static_cast<long>(r));
    }
  }
  if (g_rcv) {
    ++checks;
    int64_t r = sys::rcv(g_rcv, 0, cos::abi::kRcvNonBlocking);
    if (r != static_cast<int64_t>(Error::would_block)) {
      ++caps;
      cos::printf("fuzz_canary: CHANGED: its receive endpoint was notified (rcv returned %ld)\n",
                  static_cast<long>(r));
    }
  }
  if (!quiet || words || caps)
    cos::printf("fuzz_canary: verified %u memory words and %d capability checks: %ld words changed, "
                "%ld capabilities changed\n", kHeapWords + kStaticWords, checks, static_cast<long>(words),
                static_cast<long>(caps));
  return {words, caps};
}

}  // namespace

extern "C" cos::sys::SinvResult cos_serve(uint64_t, uint64_t op, uint64_t, uint64_t, uint64_t) {
  if (op == canary::kOpReady) return {g_ready ? 1 : 0, g_ncaps};
  if (op == canary::kOpVerify || op == canary::kOpVerifyQuiet) {
    if (!g_ready) return {static_cast<int64_t>(Error::bad_argument), 0};
    return verify(op == canary::kOpVerifyQuiet);
  }
  return {static_cast<int64_t>(Error::bad_op), 0};
}

int main() {
  set_up();
  g_ready = true;
  cos::printf("fuzz_canary: %u memory words and %d capabilities set up\n", kHeapWords + kStaticWords, g_ncaps);
  return 0;
}
