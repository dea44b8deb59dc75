// An exception raised while another event is delivered (Intel SDM Vol. 3A
// 6.15, tables 6-4 and 6-5): x86_64/exception_merge.hpp, which both VM
// backends apply when a VMM answers an exit during event delivery with an
// exception.
#include <gtest/gtest.h>

#include "x86_64/exception_merge.hpp"

namespace {

using cos::x86::Combined;
using cos::x86::combine_exceptions;
using cos::x86::ExceptionClass;
using cos::x86::exception_class;
namespace V = cos::x86::Vector;

TEST(ExceptionMerge, ClassesOfTable6_4) {
  for (unsigned v : {V::de, V::ts, V::np, V::ss, V::gp, V::cp}) EXPECT_EQ(exception_class(v), ExceptionClass::contributory) << v;
  for (unsigned v : {V::pf, V::ve}) EXPECT_EQ(exception_class(v), ExceptionClass::page_fault) << v;
  for (unsigned v : {V::db, V::nmi, V::bp, V::of, V::br, V::ud, V::nm, 9u, V::mf, V::ac, V::mc, V::xm})
    EXPECT_EQ(exception_class(v), ExceptionClass::benign) << v;
}

TEST(ExceptionMerge, Table6_5) {
  // First benign: the second is handled serially.
  EXPECT_EQ(combine_exceptions(true, V::ud, V::gp), Combined::second);
  EXPECT_EQ(combine_exceptions(true, V::db, V::pf), Combined::second);
  // First contributory: a contributory second is #DF, a page fault serial.
  EXPECT_EQ(combine_exceptions(true, V::gp, V::np), Combined::double_fault);
  EXPECT_EQ(combine_exceptions(true, V::de, V::gp), Combined::double_fault);
  EXPECT_EQ(combine_exceptions(true, V::gp, V::pf), Combined::second);
  // First page fault: a page fault or contributory second is #DF.
  EXPECT_EQ(combine_exceptions(true, V::pf, V::pf), Combined::double_fault);
  EXPECT_EQ(combine_exceptions(true, V::pf, V::gp), Combined::double_fault);
  EXPECT_EQ(combine_exceptions(true, V::pf, V::ud), Combined::second);
  // First #DF: any contributory or page fault is a triple fault.
  EXPECT_EQ(combine_exceptions(true, V::df, V::gp), Combined::shutdown);
  EXPECT_EQ(combine_exceptions(true, V::df, V::pf), Combined::shutdown);
  EXPECT_EQ(combine_exceptions(true, V::df, V::ud), Combined::second);
}

TEST(ExceptionMerge, InterruptsAndSoftwareEventsAreBenign) {
  // An external interrupt, NMI or INT n whose delivery faults: the fault is
  // delivered (the interrupt stays pending; that is the caller's business).
  EXPECT_EQ(combine_exceptions(false, 0x20, V::gp), Combined::second);
  EXPECT_EQ(combine_exceptions(false, V::nmi, V::pf), Combined::second);
  EXPECT_EQ(combine_exceptions(false, V::df, V::gp), Combined::second);  // INT 8 is not a #DF
}

}  // namespace
