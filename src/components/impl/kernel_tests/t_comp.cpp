// Components and threads: comp_create, thd_create, thd_start, child
// components running hand-assembled code (kt_blobs.S), and faults killing
// only the faulting component.
#include "kernel_tests/kt.hpp"

using namespace kt;

namespace {
constexpr uint64_t kTimeout = 1000000;  // 1 s: no case ever waits forever
constexpr uint64_t kNB = cos::abi::kRcvNonBlocking;

int64_t make_comp(uint64_t ut, uint64_t ct, uint64_t pt, uint64_t* out) {
  uint64_t d = slot();
  if (!d) return E(Error::bad_slot);
  *out = d;
  return sys::comp_create(ut, d, ct, pt, "kt_comp", 7);
}

bool either(int64_t r, Error a, Error b) { return r == E(a) || r == E(b); }
}  // namespace

KT_CASE(comp_create_makes_a_component) {
  uint64_t ct = make(ObjType::captbl), pt = make(ObjType::pgtbl), c = 0;
  KT_ASSERT(ct && pt);
  KT_OK(make_comp(env().ut, ct, pt, &c));
  KT_EQ(sys::cap_info(c), info_of(ObjType::comp, Rights::all));
}

KT_CASE(comp_create_wrong_types_is_wrong_type) {
  const Env& e = env();
  uint64_t ct = make(ObjType::captbl), pt = make(ObjType::pgtbl), f = make(ObjType::frame), d = slot();
  KT_ASSERT(ct && pt && f && d);
  KT_ERR(sys::comp_create(e.ut, d, pt, pt, "x", 1), wrong_type);
  KT_ERR(sys::comp_create(e.ut, d, ct, ct, "x", 1), wrong_type);
  KT_ERR(sys::comp_create(e.ut, d, f, pt, "x", 1), wrong_type);
  KT_ERR(sys::comp_create(f, d, ct, pt, "x", 1), wrong_type);
  KT_ERR(sys::cap_info(d), empty_slot);
}

KT_CASE(comp_create_name_checks) {
  const Env& e = env();
  uint64_t ct = make(ObjType::captbl), pt = make(ObjType::pgtbl), d = slot();
  KT_ASSERT(ct && pt && d);
  static const char name[40] = "0123456789abcdef0123456789abcdefXYZ";
  KT_ERR(sys::comp_create(e.ut, d, ct, pt, name, 32), bad_argument);
  KT_ERR(sys::comp_create(e.ut, d, ct, pt, reinterpret_cast<const char*>(0x0000700000000000ull), 4),
         bad_address);
  KT_ERR(sys::comp_create(e.ut, d, ct, pt, reinterpret_cast<const char*>(0xffffffff80000000ull), 4),
         bad_address);
  KT_ERR(sys::cap_info(d), empty_slot);
  KT_OK(sys::comp_create(e.ut, d, ct, pt, name, 31));
}

KT_CASE(comp_create_needs_write_on_captbl_and_pgtbl) {
  const Env& e = env();
  uint64_t ct = make(ObjType::captbl), pt = make(ObjType::pgtbl), d = slot();
  KT_ASSERT(ct && pt && d);
  uint64_t ct_ro = copy(ct, Rights::read | Rights::exec | Rights::grant);
  uint64_t pt_ro = copy(pt, Rights::read | Rights::exec | Rights::grant);
  KT_ASSERT(ct_ro && pt_ro);
  KT_ERR(sys::comp_create(e.ut, d, ct_ro, pt, "x", 1), no_rights);
  KT_ERR(sys::comp_create(e.ut, d, ct, pt_ro, "x", 1), no_rights);
  KT_ERR(sys::cap_info(d), empty_slot);
}

KT_CASE(thd_create_checks_entry_comp_type_and_rights) {
  const Env& e = env();
  uint64_t d = slot(), f = make(ObjType::frame);
  uint64_t comp_rw = copy(e.comp, Rights::read | Rights::write | Rights::grant);
  KT_ASSERT(d && f && comp_rw);
  const uint64_t bad_entries[] = {cos::abi::kUserTop, 0x0000900000000000ull, 0xffffffff80000000ull,
                                  0xffff800000000000ull};
  for (uint64_t pc : bad_entries) KT_ERR(sys::thd_create(e.ut, d, e.comp, pc, 0), bad_address);
  KT_ERR(sys::thd_create(e.ut, d, comp_rw, 0x400000, 0), no_rights);
  KT_ERR(sys::thd_create(e.ut, d, f, 0x400000, 0), wrong_type);
  KT_ERR(sys::thd_create(e.ut, d, e.captbl, 0x400000, 0), wrong_type);
  KT_ERR(sys::thd_create(f, d, e.comp, 0x400000, 0), wrong_type);
  KT_ERR(sys::cap_info(d), empty_slot);
  KT_OK(sys::thd_create(e.ut, d, e.comp, 0x400000, 0));  // created, never started
  KT_EQ(sys::cap_info(d), info_of(ObjType::thread, Rights::all));
}

KT_CASE(child_thread_runs_a_code_blob) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(asnd_exit), a));
  KT_ASSERT(c.thread(0, 0, env().main_prio - 20));
  KT_EQ(sys::rcv(r, kTimeout, 0), 1);
}

KT_CASE(child_thread_gets_its_argument) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(asnd_n_exit), a));
  KT_ASSERT(c.thread(0, 3, env().main_prio - 20));
  sleep_us(20000);  // the child (higher priority) has long finished
  KT_EQ(sys::rcv(r, 0, kNB), 3);
  KT_ERR(sys::rcv(r, 0, kNB), would_block);
}

KT_CASE(thd_start_twice_is_already_started) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(asnd_exit), a));
  uint64_t t = c.thread(0, 0, env().main_prio - 20);
  KT_ASSERT(t);
  KT_ERR(sys::thd_start(t, kChildStackTop, env().main_prio - 20), already_started);
  KT_EQ(sys::rcv(r, kTimeout, 0), 1);
  KT_ERR(sys::thd_start(t, kChildStackTop, env().main_prio - 20), already_started);  // exited
}

KT_CASE(thd_start_argument_checks) {
  const Env& e = env();
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(asnd_exit), a));
  uint64_t t = slot();
  KT_ASSERT(t);
  KT_OK(sys::thd_create(e.ut, t, c.comp, kChildCode, 0));
  uint64_t t_rw = copy(t, Rights::read | Rights::write | Rights::grant);
  KT_ASSERT(t_rw);
  const uint64_t prio = e.main_prio - 20;
  KT_ERR(sys::thd_start(t, kChildStackTop, 256), bad_argument);
  KT_ERR(sys::thd_start(t, kChildStackTop, ~0ull), bad_argument);
  KT_ERR(sys::thd_start(t_rw, kChildStackTop, prio), no_rights);
  KT_ERR(sys::thd_start(c.code, kChildStackTop, prio), wrong_type);
  KT_ERR(sys::thd_start(c.comp, kChildStackTop, prio), wrong_type);
  // A stack top must be 16-byte aligned and a user address; the ABI lists
  // both bad_argument and bad_address for thd_start, so either is accepted.
  KT_ASSERT(either(sys::thd_start(t, kChildStackTop - 8, prio), Error::bad_argument, Error::bad_address));
  KT_ASSERT(either(sys::thd_start(t, cos::abi::kUserTop + 16, prio), Error::bad_argument, Error::bad_address));
  KT_ASSERT(either(sys::thd_start(t, 0xffffffff80001000ull, prio), Error::bad_argument, Error::bad_address));
  KT_ERR(sys::rcv(r, 0, kNB), would_block);  // nothing ran yet
  KT_OK(sys::thd_start(t, kChildStackTop, prio));  // the failures left it startable
  KT_EQ(sys::rcv(r, kTimeout, 0), 1);
}

KT_CASE(child_thread_writes_a_shared_frame) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(asnd_store_asnd_exit), a));
  KT_ASSERT(map_scratch(0, c.data, 0, Rights::read));
  KT_EQ(at<uint32_t>(scratch(0))[0], 0);
  KT_ASSERT(c.thread(0, 0, env().main_prio - 20));
  sleep_us(20000);
  KT_EQ(sys::rcv(r, 0, kNB), 2);
  KT_EQ(at<uint32_t>(scratch(0))[0], 0xc0ffee);
}

KT_CASE(write_to_read_only_mapping_kills_the_child) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Child c;
  const Blob echo = KT_BLOB_OF(sret_echo);
  KT_ASSERT(c.build(KT_BLOB_OF(asnd_store_asnd_exit), a, Rights::read, &echo));
  uint64_t g = c.gate(kBlob2, 9);
  KT_ASSERT(g);
  cos::sys::SinvResult res = cos::invoke(g, 0, 41);
  KT_EQ(res.r0, 42);  // alive and serving
  KT_EQ(res.r1, 9);
  KT_ASSERT(map_scratch(0, c.data, 0, Rights::read));
  KT_ASSERT(c.thread(0, 0, env().main_prio - 20));
  sleep_us(20000);
  KT_EQ(sys::rcv(r, 0, kNB), 1);  // the store faulted: no second notification
  KT_EQ(at<uint32_t>(scratch(0))[0], 0);
  KT_ERR(cos::invoke(g, 0, 41).r0, comp_dead);
}

// comp_exit ends the caller's whole component like a fault: its gates
// answer comp_dead; kernel_tests is not essential, so the system goes on.
KT_CASE(comp_exit_ends_the_component) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Child c;
  const Blob echo = KT_BLOB_OF(sret_echo);
  KT_ASSERT(c.build(KT_BLOB_OF(asnd_comp_exit), a, Rights::read | Rights::write, &echo));
  uint64_t g = c.gate(kBlob2, 7);
  KT_ASSERT(g);
  KT_EQ(cos::invoke(g, 0, 1).r0, 2);
  KT_ASSERT(c.thread(0, 0, env().main_prio - 20));
  sleep_us(20000);
  KT_EQ(sys::rcv(r, 0, kNB), 1);
  KT_ERR(cos::invoke(g, 0, 1).r0, comp_dead);
}

// Arguments comp_exit refuses leave the caller running; only an essential
// component may make another one essential.
KT_CASE(comp_exit_argument_checks_and_comp_essential_rights) {
  const Env& e = env();
  KT_ERR(sys::comp_exit(256, "x", 1), bad_argument);
  KT_ERR(sys::comp_exit(~0ull, "x", 1), bad_argument);
  KT_ERR(sys::comp_exit(1, "x", cos::abi::kExitReasonMax + 1), bad_argument);
  KT_ERR(sys::comp_exit(1, reinterpret_cast<const char*>(0x0000700000000000ull), 4), bad_address);
  KT_ERR(sys::comp_exit(1, reinterpret_cast<const char*>(0xffffffff80000000ull), 4), bad_address);
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(sret_echo)));
  KT_ERR(sys::comp_essential(c.comp), no_rights);  // kernel_tests is not essential
  KT_ERR(sys::comp_essential(e.comp), no_rights);  // not even itself
  KT_ERR(sys::comp_essential(e.captbl), wrong_type);
  uint64_t ro = copy(c.comp, Rights::read | Rights::grant);
  KT_ASSERT(ro);
  KT_ERR(sys::comp_essential(ro), no_rights);
}

KT_CASE(thread_entry_fault_kills_its_component) {
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(sret_echo)));
  uint64_t g = c.gate(0, 1);
  KT_ASSERT(g);
  KT_EQ(cos::invoke(g, 0, 1).r0, 2);
  // Entry at an unmapped user address: the first instruction fetch faults.
  KT_ASSERT(c.thread(0, 0, env().main_prio - 20, 0x700000));
  sleep_us(20000);
  KT_ERR(cos::invoke(g, 0, 1).r0, comp_dead);
}

KT_CASE(faulting_child_leaves_the_rest_running) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Child bad, good;
  const Blob echo = KT_BLOB_OF(sret_echo);
  KT_ASSERT(bad.build(KT_BLOB_OF(ud2), 0, Rights::read | Rights::write, &echo));
  KT_ASSERT(good.build(KT_BLOB_OF(asnd_exit), a, Rights::read | Rights::write, &echo));
  uint64_t gb = bad.gate(kBlob2, 1), gg = good.gate(kBlob2, 2);
  KT_ASSERT(gb && gg);
  KT_ASSERT(bad.thread(0, 0, env().main_prio - 20));
  sleep_us(20000);
  KT_ERR(cos::invoke(gb, 0, 1).r0, comp_dead);
  KT_EQ(cos::invoke(gg, 0, 1).r0, 2);  // the other child is fine
  KT_ASSERT(good.thread(0, 0, env().main_prio - 20));
  KT_EQ(sys::rcv(r, kTimeout, 0), 1);
  KT_EQ(cos::invoke(env().gate, 0, 1, 2, 3).r0, 6);  // and so is the server
}

KT_CASE(unmapping_the_code_of_a_spinning_child_stops_it) {
  Child c;
  const Blob echo = KT_BLOB_OF(sret_echo);
  KT_ASSERT(c.build(KT_BLOB_OF(spin), 0, Rights::read | Rights::write, &echo));
  uint64_t g = c.gate(kBlob2, 3);
  KT_ASSERT(g);
  // Lower priority than ours: it spins whenever we block.
  KT_ASSERT(c.thread(0, 0, env().main_prio + 50));
  sleep_us(5000);
  KT_EQ(cos::invoke(g, 0, 10).r0, 11);  // spinning does not hurt the component
  KT_OK(sys::pgtbl_unmap(c.pt, kChildCode));
  sleep_us(5000);  // the spinner runs again, fetches from the unmapped page and dies
  KT_ERR(cos::invoke(g, 0, 10).r0, comp_dead);
}

KT_CASE(code_in_a_page_mapped_without_exec_faults) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(sret_echo), a));  // the data page: read + write, no exec
  uint64_t g = c.gate(0, 2);
  KT_ASSERT(g);
  const Blob b = KT_BLOB_OF(asnd_exit);
  KT_ASSERT(map_scratch(0, c.data));
  for (uint64_t i = 0; i < b.size(); ++i) at<uint8_t>(scratch(0))[i] = b.start[i];
  KT_ASSERT(c.thread(0, 0, env().main_prio - 20, kChildData));
  sleep_us(20000);
  KT_ERR(sys::rcv(r, 0, kNB), would_block);  // the asnd never ran
  KT_ERR(cos::invoke(g, 0, 1).r0, comp_dead);
}

KT_CASE(single_stepped_syscall_does_not_hurt_the_kernel) {
  // TF set right before SYSCALL: the trap arrives at the kernel's entry,
  // before it has switched stacks (RSP is still the child's). It must run on
  // its own stack and be ignored; the call completes, and only the child's
  // own single-step trap in user mode stops it. (Bochs delivers the trap of
  // the SYSCALL instruction, and the kernel logs "#DB in the kernel ...
  // ignored"; QEMU's TCG does not model that trap, so there only the
  // user-mode part is exercised.)
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Child c;
  const Blob echo = KT_BLOB_OF(sret_echo);
  KT_ASSERT(c.build(KT_BLOB_OF(tf_syscall), a, Rights::read | Rights::write, &echo));
  uint64_t g = c.gate(kBlob2, 5);
  KT_ASSERT(g);
  KT_ASSERT(c.thread(0, 0, env().main_prio - 20));
  sleep_us(20000);
  KT_EQ(sys::rcv(r, 0, kNB), 1);              // the single-stepped asnd ran, the second never did
  KT_ERR(cos::invoke(g, 0, 1).r0, comp_dead);  // the user-mode #DB stopped the child
  KT_EQ(cos::invoke(env().gate, 0, 1, 2, 3).r0, 6);  // everything else is fine
}
