// Synchronous invocation: into the script's server (kernel_tests_server,
// interface "ktest"), into ourselves, into child components; rights,
// deleted/revoked gates, wrong types, dead servers, nesting depth, and no
// register leaks from client to server.
#include "kernel_tests/kt.hpp"

using namespace kt;

namespace {
// kernel_tests_server operations (see its source).
constexpr uint64_t kOpSum = 0;    // (a0 + a1 + a2, token)
constexpr uint64_t kOpCount = 1;  // (calls so far, server component id)

uint64_t self_gate(uint64_t rights = Rights::all) {
  uint64_t g = slot();
  if (!g) return 0;
  int64_t r = sys::sinv_create(env().ut, g, env().comp, reinterpret_cast<uint64_t>(&__cos_sinv_entry), 77);
  if (r != 0) {
    fail_eq("sys::sinv_create(env().ut, g, env().comp, __cos_sinv_entry, 77) == 0", __FILE__, __LINE__, r, 0);
    return 0;
  }
  if (rights == Rights::all) return g;
  return copy(g, rights);
}
}  // namespace

KT_CASE(sinv_into_server_returns_its_results) {
  KT_ASSERT(env().gate);
  cos::sys::SinvResult r = cos::invoke(env().gate, kOpSum, 20, 21, 1);
  KT_EQ(r.r0, 42);
  KT_EQ(r.r1, 0);  // token: ktest is the server's first interface
  r = cos::invoke(env().gate, kOpSum, static_cast<uint64_t>(-5), 2, 0);
  KT_EQ(r.r0, -3);
}

KT_CASE(sinv_server_keeps_its_state) {
  cos::sys::SinvResult a = cos::invoke(env().gate, kOpCount);
  KT_CMP(a.r0, >=, 1);
  for (int i = 0; i < 50; ++i) KT_EQ(cos::invoke(env().gate, kOpSum, i, i, i).r0, 3 * i);
  cos::sys::SinvResult b = cos::invoke(env().gate, kOpCount);
  KT_EQ(b.r0, a.r0 + 51);
  KT_EQ(b.r1, a.r1);
  KT_ASSERT(b.r1 != cos::self().id);  // a different component answered
}

KT_CASE(sinv_unknown_server_op_is_the_servers_answer) {
  KT_ERR(cos::invoke(env().gate, 99).r0, bad_op);
}

KT_CASE(sinv_through_a_copy_needs_exec) {
  uint64_t x = copy(env().gate, Rights::exec);
  uint64_t y = copy(env().gate, Rights::read | Rights::write | Rights::grant);
  KT_ASSERT(x && y);
  KT_EQ(cos::invoke(x, kOpSum, 1, 2, 3).r0, 6);
  KT_ERR(cos::invoke(y, kOpSum, 1, 2, 3).r0, no_rights);
}

KT_CASE(sinv_through_a_deleted_gate_is_empty_slot) {
  uint64_t x = copy(env().gate, Rights::all);
  KT_ASSERT(x);
  KT_EQ(cos::invoke(x, kOpSum, 1, 1, 1).r0, 3);
  KT_OK(sys::cap_delete(x));
  KT_ERR(cos::invoke(x, kOpSum, 1, 1, 1).r0, empty_slot);
  KT_EQ(cos::invoke(env().gate, kOpSum, 1, 1, 1).r0, 3);  // the original still works
}

KT_CASE(sinv_through_a_revoked_gate_is_empty_slot) {
  uint64_t x = copy(env().gate, Rights::all);
  KT_ASSERT(x);
  uint64_t y = copy(x, Rights::exec | Rights::grant);
  KT_ASSERT(y);
  uint64_t z = copy(y, Rights::exec);
  KT_ASSERT(z);
  KT_EQ(cos::invoke(z, kOpSum, 2, 2, 2).r0, 6);
  KT_OK(sys::cap_revoke(x));
  KT_ERR(cos::invoke(y, kOpSum, 2, 2, 2).r0, empty_slot);
  KT_ERR(cos::invoke(z, kOpSum, 2, 2, 2).r0, empty_slot);
  KT_EQ(cos::invoke(x, kOpSum, 2, 2, 2).r0, 6);
}

KT_CASE(sinv_through_other_types_is_wrong_type) {
  const Env& e = env();
  uint64_t f = make(ObjType::frame), r = make(ObjType::rcv);
  KT_ASSERT(f && r);
  const uint64_t objs[] = {f, r, e.captbl, e.pgtbl, e.comp, e.ut, e.timer, e.io, e.irq};
  for (uint64_t o : objs) KT_ERR(cos::invoke(o, kOpSum, 1, 2, 3).r0, wrong_type);
}

KT_CASE(sinv_gate_into_ourselves) {
  uint64_t g = self_gate();
  KT_ASSERT(g);
  KT_EQ(sys::cap_info(g), info_of(ObjType::sinv, Rights::all));
  cos::sys::SinvResult r = cos::invoke(g, 0, 21);
  KT_EQ(r.r0, 42);
  KT_EQ(r.r1, 77);
}

KT_CASE(sinv_nested_through_three_components) {
  uint64_t g = self_gate();
  KT_ASSERT(g);
  // us -> us (token 77, op 1) -> kernel_tests_server (sum) -> back twice.
  cos::sys::SinvResult r = cos::invoke(g, 1, 100, 20, 3);
  KT_EQ(r.r0, 123);
  KT_EQ(r.r1, 0);
}

KT_CASE(sinv_create_checks_comp_type_and_rights) {
  const Env& e = env();
  uint64_t d = slot(), f = make(ObjType::frame);
  uint64_t comp_rw = copy(e.comp, Rights::read | Rights::write | Rights::grant);
  KT_ASSERT(d && f && comp_rw);
  uint64_t entry = reinterpret_cast<uint64_t>(&__cos_sinv_entry);
  KT_ERR(sys::sinv_create(e.ut, d, comp_rw, entry, 77), no_rights);
  KT_ERR(sys::sinv_create(e.ut, d, f, entry, 77), wrong_type);
  KT_ERR(sys::sinv_create(e.ut, d, e.captbl, entry, 77), wrong_type);
  KT_ERR(sys::sinv_create(f, d, e.comp, entry, 77), wrong_type);
  KT_ERR(sys::cap_info(d), empty_slot);
}

KT_CASE(sinv_into_a_child_component) {
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(sret_echo)));
  uint64_t g = c.gate(0, 5);
  KT_ASSERT(g);
  for (uint64_t i = 0; i < 20; ++i) {
    cos::sys::SinvResult r = cos::invoke(g, 0, i * 1000);
    KT_EQ(r.r0, i * 1000 + 1);
    KT_EQ(r.r1, 5);
  }
}

KT_CASE(sinv_into_a_child_that_faults_is_comp_dead) {
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(ud2)));
  uint64_t g = c.gate(0, 1);
  KT_ASSERT(g);
  KT_ERR(cos::invoke(g, 0, 1).r0, comp_dead);  // faults during the call
  KT_ERR(cos::invoke(g, 0, 1).r0, comp_dead);  // and stays dead
  KT_EQ(cos::invoke(env().gate, kOpSum, 1, 2, 3).r0, 6);  // our thread came back intact
}

KT_CASE(sinv_to_a_dead_component_is_comp_dead) {
  uint64_t r = 0, a = 0;
  KT_ASSERT(make_endpoint(r, a));
  Child c;
  const Blob echo = KT_BLOB_OF(sret_echo);
  KT_ASSERT(c.build(KT_BLOB_OF(asnd_store_asnd_exit), a, Rights::read, &echo));
  uint64_t g = c.gate(kBlob2, 4);
  KT_ASSERT(g);
  KT_EQ(cos::invoke(g, 0, 6).r0, 7);
  KT_ASSERT(c.thread(0, 0, env().main_prio - 20));  // dies writing its read-only page
  KT_EQ(sys::rcv(r, 1000000, 0), 1);
  sleep_us(5000);
  KT_ERR(cos::invoke(g, 0, 6).r0, comp_dead);
  // A gate made after the death (if the kernel allows making one) is dead too.
  uint64_t g2 = slot();
  KT_ASSERT(g2);
  if (sys::sinv_create(env().ut, g2, c.comp, kChildCode + kBlob2, 4) == 0)
    KT_ERR(cos::invoke(g2, 0, 6).r0, comp_dead);
}

KT_CASE(sinv_gate_keeps_its_component_alive) {
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(sret_echo)));
  uint64_t g = c.gate(0, 8);
  KT_ASSERT(g);
  // The gate references the component, its tables and its code: deleting our
  // capabilities to them must not break the gate.
  KT_OK(sys::cap_delete(c.comp));
  KT_OK(sys::cap_delete(c.code));
  KT_OK(sys::cap_delete(c.pt));
  KT_OK(sys::cap_delete(c.ct));
  cos::sys::SinvResult r = cos::invoke(g, 0, 99);
  KT_EQ(r.r0, 100);
  KT_EQ(r.r1, 8);
}

KT_CASE(sinv_nesting_stops_at_the_depth_limit) {
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(recurse)));
  uint64_t g = c.gate(0, 0);
  KT_ASSERT(g);
  KT_OK(sys::cap_copy(c.ct, kChildSelfGate, g, Rights::exec));
  cos::sys::SinvResult r = cos::invoke(g, 0);
  KT_ERR(r.r0, invocation_depth);
  KT_EQ(r.r1, cos::abi::kMaxInvocationDepth);
  KT_EQ(cos::invoke(env().gate, kOpSum, 1, 2, 3).r0, 6);  // the stack unwound completely
}

KT_CASE(sinv_does_not_leak_client_registers) {
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(regleak)));
  uint64_t g = c.gate(0, 0);
  KT_ASSERT(g);
  KT_EQ(kt_sinv_with_secrets(g), 0);
}

namespace {
/// True if an FXSAVE image holds the power-on state: FCW 0x37f, MXCSR
/// 0x1f80, an empty x87 stack and every x87 and XMM register zero
/// (Intel SDM Vol. 1, table 10-2: ST0-7 at 32..159, XMM0-15 at 160..415).
bool fxsave_is_clean(const volatile uint8_t* img, const char* whose) {
  auto u16 = [&](unsigned o) { return static_cast<uint16_t>(img[o] | (img[o + 1] << 8)); };
  auto u32 = [&](unsigned o) { return static_cast<uint32_t>(u16(o) | (u16(o + 2) << 16)); };
  bool ok = u16(0) == 0x37f && u32(24) == 0x1f80 && img[4] == 0;
  for (unsigned o = 32; o < 416; ++o) ok &= img[o] == 0;
  if (!ok)
    cos::printf("kernel_tests: %s FPU state: FCW %#x MXCSR %#x FTW %#x ST0[0] %#x XMM0[0] %#x XMM15[15] %#x\n", whose,
                u16(0), u32(24), img[4], img[32], img[160], img[415]);
  return ok;
}
}  // namespace

KT_CASE(fpu_state_crosses_sinv_in_neither_direction) {
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(fpu_probe)));
  uint64_t g = c.gate(0, 7);
  KT_ASSERT(g);
  alignas(16) static uint8_t after[512];
  int64_t r0 = kt_fpu_sinv_probe(g, after);
  // Whatever happened, the test itself goes on with the default state.
  asm volatile("fninit\n\tpush $0x1f80\n\tldmxcsr (%%rsp)\n\tadd $8, %%rsp" ::: "memory");
  KT_EQ(r0, 1);
  KT_ASSERT(map_scratch(0, c.data));
  KT_ASSERT(fxsave_is_clean(at<uint8_t>(scratch(0)), "the server's initial"));  // nothing of the client's
  KT_ASSERT(fxsave_is_clean(after, "the client's returned"));                   // nothing of the server's
}
