// An exception raised while the CPU delivers another event: the rule of
// Intel SDM Vol. 3A 6.15, "Interrupt 8—Double Fault Exception (#DF)",
// tables 6-4 and 6-5 (AMD APM Vol. 2 8.2.9 likewise). Both backends apply it
// when the VMM answers an exit that interrupted an event delivery (an NPF /
// EPT violation on the IDT, a stack or a page table the delivery touched)
// with an exception: that exception happened during the delivery, so the
// two combine as they would in the CPU — rather than the kernel delivering
// the interrupted event again, faulting again, for ever. Pure constants:
// host-compilable.
#pragma once
#include <stdint.h>

#include "x86_64/arch.hpp"

namespace cos::x86 {

/// Exception classes of table 6-4.
enum class ExceptionClass : uint8_t { benign, contributory, page_fault };

constexpr ExceptionClass exception_class(unsigned vector) {
  switch (vector) {
    case Vector::de:
    case Vector::ts:
    case Vector::np:
    case Vector::ss:
    case Vector::gp:
    case Vector::cp:
      return ExceptionClass::contributory;
    case Vector::pf:
    case Vector::ve:
      return ExceptionClass::page_fault;
    default:
      return ExceptionClass::benign;
  }
}

/// What the CPU does with `second`, an exception raised while it delivered
/// `first`.
enum class Combined : uint8_t {
  second,        ///< handled serially: `second` is delivered, `first` abandoned
  double_fault,  ///< #DF(0) is delivered instead of both
  shutdown,      ///< a fault while delivering #DF: triple fault, shutdown
};

/// first_is_exception: `first` is a hardware exception (not an external
/// interrupt, NMI or software interrupt, which are benign here);
/// first_vector, second_vector: their vectors.
constexpr Combined combine_exceptions(bool first_is_exception, unsigned first_vector, unsigned second_vector) {
  if (!first_is_exception) return Combined::second;
  const ExceptionClass second = exception_class(second_vector);
  if (second == ExceptionClass::benign) return Combined::second;
  if (first_vector == Vector::df) return Combined::shutdown;
  switch (exception_class(first_vector)) {
    case ExceptionClass::contributory:
      return second == ExceptionClass::contributory ? Combined::double_fault : Combined::second;
    case ExceptionClass::page_fault:
      return Combined::double_fault;
    case ExceptionClass::benign:
      break;
  }
  return Combined::second;
}

}  // namespace cos::x86
