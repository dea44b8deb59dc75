// The shared printf-style formatter.
#include <gtest/gtest.h>

#include <string>

#include "fmt/format.hpp"

namespace {

std::string f(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string f(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  cos::fmt::vsnformat(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return buf;
}

TEST(Format, Integers) {
  EXPECT_EQ(f("%d %i %u", -42, 7, 42u), "-42 7 42");
  EXPECT_EQ(f("%ld", -9000000000L), "-9000000000");
  EXPECT_EQ(f("%lu", 18446744073709551615UL), "18446744073709551615");
  EXPECT_EQ(f("%ld", static_cast<long>(INT64_MIN)), "-9223372036854775808");
  EXPECT_EQ(f("%x %X %o", 0xbeefu, 0xbeefu, 8u), "beef BEEF 10");
  EXPECT_EQ(f("%#lx %#x", 0xffffffff80100000UL, 0u), "0xffffffff80100000 0x0");
  EXPECT_EQ(f("%zu", static_cast<size_t>(123)), "123");
  EXPECT_EQ(f("%hhd %hd", 300, 70000), "44 4464");
}

TEST(Format, WidthAndFlags) {
  EXPECT_EQ(f("[%5d]", 42), "[   42]");
  EXPECT_EQ(f("[%-5d]", 42), "[42   ]");
  EXPECT_EQ(f("[%05d]", -42), "[-0042]");
  EXPECT_EQ(f("[%016lx]", 0x1234UL), "[0000000000001234]");
  EXPECT_EQ(f("[%*d]", 4, 7), "[   7]");
}

TEST(Format, StringsCharsPointers) {
  EXPECT_EQ(f("%s|%c|%%", "abc", 'z'), "abc|z|%");
  EXPECT_EQ(f("%.2s", "abcdef"), "ab");
  EXPECT_EQ(f("%.*s", 3, "abcdef"), "abc");
  const char* volatile null_string = nullptr;  // volatile: keep -Wformat-overflow quiet
  EXPECT_EQ(f("%s", null_string), "(null)");
  EXPECT_EQ(f("%p", reinterpret_cast<void*>(0x1000)), "0x1000");
}

TEST(Format, TruncatesButReportsFullLength) {
  char buf[6];
  size_t n = cos::fmt::snformat(buf, sizeof(buf), "hello %s", "world");
  EXPECT_EQ(n, 11u);
  EXPECT_STREQ(buf, "hello");
}

TEST(Format, UnknownConversionIsCopied) {
  const char* volatile fmt = "%q%d";  // not a literal: -Wformat would reject %q
  EXPECT_EQ(f(fmt, 5), "%q5");
}

}  // namespace
