// Operations without objects: nop, print, time_now, thd_yield, sret outside
// an invocation, unknown operation numbers.
#include "kernel_tests/kt.hpp"

using namespace kt;

KT_CASE(nop_returns_zero) {
  for (int i = 0; i < 100; ++i) KT_OK(sys::nop());
}

KT_CASE(unknown_op_is_bad_op) {
  KT_ERR(sys::call(static_cast<Op>(27)), bad_op);
  KT_ERR(sys::call(static_cast<Op>(static_cast<uint64_t>(Op::cpu_count) + 1), 1, 2, 3), bad_op);  // first number after the last operation
  KT_ERR(sys::call(static_cast<Op>(1000)), bad_op);
  KT_ERR(sys::call(static_cast<Op>(0x8000000000000000ull)), bad_op);
  KT_ERR(sys::call(static_cast<Op>(~0ull)), bad_op);
}

KT_CASE(reserved_op_17_is_bad_op) {
  // rcv_create's old number: "this number is reserved" -> not an operation.
  KT_ERR(sys::call(Op::reserved_17, env().ut, 1, 1), bad_op);
}

KT_CASE(print_writes_console) {
  static const char msg[] = "kernel_tests: print works\n";
  int64_t r = sys::print(msg, sizeof(msg) - 1);
  KT_CMP(r, >=, 0);
  KT_CMP(sys::print(msg, 0), >=, 0);  // an empty write is fine
}

KT_CASE(print_bad_pointer_is_bad_address) {
  KT_ERR(sys::print(reinterpret_cast<const char*>(0x0000700000000000ull), 8), bad_address);  // unmapped
  KT_ERR(sys::print(reinterpret_cast<const char*>(0xffffffff80000000ull), 8), bad_address);  // kernel image
  KT_ERR(sys::print(reinterpret_cast<const char*>(0xffff800000100000ull), 8), bad_address);  // direct map
  KT_ERR(sys::print(reinterpret_cast<const char*>(0x0000800000000000ull), 8), bad_address);  // non-canonical
  KT_ERR(sys::print(reinterpret_cast<const char*>(0xfffffffffffffff0ull), 32), bad_address);  // wraps
  KT_ERR(sys::print(nullptr, 1), bad_address);
}

KT_CASE(print_range_crossing_into_unmapped_is_bad_address) {
  uint64_t f = make(ObjType::frame, 1);
  KT_ASSERT(f);
  KT_ASSERT(map_scratch(0, f));
  for (int i = 0; i < 16; ++i) at<char>(scratch(0) + kPage - 16)[i] = '\n';
  // scratch(1) is not mapped: the last 8 bytes of the range are not readable.
  KT_ERR(sys::print(reinterpret_cast<const char*>(scratch(0) + kPage - 8), 16), bad_address);
}

KT_CASE(print_too_long_is_bad_argument) {
  static const char msg[8] = "x";
  KT_ERR(sys::print(msg, 4097), bad_argument);
  KT_ERR(sys::print(msg, ~0ull), bad_argument);
}

KT_CASE(time_now_is_monotonic) {
  int64_t prev = sys::time_now();
  KT_CMP(prev, >=, 0);
  for (int i = 0; i < 2000; ++i) {
    int64_t t = sys::time_now();
    KT_CMP(t, >=, prev);
    prev = t;
  }
}

KT_CASE(time_now_advances_while_blocked) {
  // How exactly a timeout matches time_now() is rcv_times_out_...'s business;
  // here it is enough that time moves on while we are blocked.
  int64_t t0 = sys::time_now();
  sleep_us(5000);
  int64_t t1 = sys::time_now();
  KT_CMP(t1 - t0, >=, static_cast<int64_t>(cos::abi::kTickUs));
}

KT_CASE(thd_yield_returns_zero) {
  for (int i = 0; i < 10; ++i) KT_OK(sys::thd_yield());
}

KT_CASE(sret_outside_invocation_is_not_in_invocation) {
  KT_ERR(sys::call(Op::sret, 1, 2), not_in_invocation);
}
