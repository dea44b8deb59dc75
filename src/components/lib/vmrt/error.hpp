// vmrt: the VM runtime library for VMM components. This header is its one
// error type (rust-vmm style: one error enum per subsystem, here one for the
// whole library) and Result<T>, the value-or-error every fallible public
// function returns. The library never panics, exits or prints on its own
// behalf except where a function's comment says so (Vcpu::run's message for
// an unhandled exit).
//
// Host-compilable (no system calls): the unit tests use it directly.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace vmrt {

/// What went wrong. Error::what names the step; Error::addr and
/// Error::detail carry the per-code data documented here.
enum class Errc : uint16_t {
  ok = 0,
  /// A system call failed. Error::sys is the kernel's cos::abi::Error
  /// (negative), Error::what the operation ("vm_map", "vcpu_run", ...),
  /// Error::addr the address involved, if any.
  syscall,
  /// No free capability slot left in the range the Env manages.
  out_of_slots,
  /// The VMM's virtual window for guest memory and state pages is full.
  window_full,
  /// An argument is outside its documented range (alignment, size, zero
  /// length, too many vCPUs, ...). Error::addr/detail: the offending value.
  bad_argument,
  /// The guest-memory region table is full (GuestMemory::kMaxRegions), or a
  /// Vm has too many RAM chunks.
  too_many_regions,
  /// A new region overlaps an existing one. Error::addr: its gpa.
  region_overlap,
  /// A guest-physical range is not entirely guest RAM known to the library.
  /// Error::addr: the first guest-physical address that is not.
  not_ram,
  /// Guest-virtual translation failed like the hardware would: Error::addr
  /// is the guest-virtual address, Error::detail the x86 #PF error code
  /// (bit 0 P, 1 W/R, 2 U/S, 3 RSVD, 4 I/D) the guest would see.
  page_fault,
  /// A guest-virtual address is not canonical (the guest would get #GP).
  /// Error::addr: the address.
  non_canonical,
  /// A state group the call needs was not saved on the last exit (add it to
  /// the vCPU's save mask). Error::detail: the missing vm::Load bits.
  stale_state,
  /// The state page does not carry vm::kStateMagic after vcpu_create.
  bad_state_page,
  /// Vcpu::run: no handler for the exit and no fallback. Error::detail: the
  /// raw vm::ExitReason, Error::addr: the guest rip.
  unhandled_exit,
  /// A handler asked to skip an instruction but the exit reports no
  /// instruction length. Error::detail: the raw vm::ExitReason.
  no_instruction_length,
  /// The guest did not exit within the run timeout (Vcpu::run with
  /// RunOptions::timeout_us and no on_timeout callback). The vCPU keeps
  /// running until its next exit.
  timeout,
  /// The object is not created yet, or already destroyed.
  not_created,
  /// A memory pool the call allocates from (the page-table pool of
  /// PageTableBuilder) is exhausted. Error::addr: the pool's end.
  no_memory,
  /// An access made for the guest (GuestAccess, the instruction emulators)
  /// raised an exception the guest must get, as its CPU would have: the
  /// GuestFault is kept by the object that reported it. Error::detail: the
  /// vector, Error::addr: the linear address involved.
  guest_fault,
};

/// The one error type of vmrt. Trivially copyable; `what` points at static text.
struct Error {
  Errc code = Errc::ok;
  int64_t sys = 0;        ///< Errc::syscall: the kernel's cos::abi::Error (negative)
  const char* what = "";  ///< static text: the call or step that failed
  uint64_t addr = 0;      ///< an address involved (gpa, gva, hva, rip), see Errc
  uint64_t detail = 0;    ///< code-specific value, see Errc

  /// Writes a one-line description ("vm_map failed: already_mapped (error -9)
  /// at 0x1000") to buf (always NUL-terminated when cap > 0). Returns the
  /// length the full text would have had.
  size_t format(char* buf, size_t cap) const;
};

/// Short name of an error code ("page_fault").
const char* errc_name(Errc code);
/// Name of a kernel error (cos::abi::error_name: -9 -> "already_mapped"),
/// or "unknown" for other numbers.
const char* abi_error_name(int64_t sys);

/// An Errc::syscall error for operation `what` that returned `ret` (< 0).
inline Error sys_error(const char* what, int64_t ret, uint64_t addr = 0) {
  Error e;
  e.code = Errc::syscall;
  e.sys = ret;
  e.what = what;
  e.addr = addr;
  return e;
}
/// An error of code `code` with the given step text and data.
inline Error make_error(Errc code, const char* what, uint64_t addr = 0, uint64_t detail = 0) {
  Error e;
  e.code = code;
  e.what = what;
  e.addr = addr;
  e.detail = detail;
  return e;
}

/// A value of type T or an Error. T must be default-constructible and
/// copyable (the library uses it for integers, pointers and small structs).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(const T& v) : value_(v), ok_(true) {}  // NOLINT(google-explicit-constructor)
  Result(const Error& e) : error_(e), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  /// The value; meaningful only when ok().
  const T& value() const { return value_; }
  T& value() { return value_; }
  /// The error; Errc::ok when ok().
  const Error& error() const { return error_; }
  T value_or(const T& fallback) const { return ok_ ? value_ : fallback; }

 private:
  T value_{};
  Error error_{};
  bool ok_;
};

/// Success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() : ok_(true) {}
  Result(const Error& e) : error_(e), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_{};
  bool ok_;
};

using Status = Result<void>;

}  // namespace vmrt

/// Evaluates a Result-returning expression and returns its error from the
/// enclosing function (which must return a Result) if it failed.
#define VMRT_TRY(expr)                          \
  do {                                          \
    auto vmrt_try_ = (expr);                    \
    if (!vmrt_try_.ok()) return vmrt_try_.error(); \
  } while (0)
