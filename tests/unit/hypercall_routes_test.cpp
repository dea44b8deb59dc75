// The hypercall route parser (src/lib/hypercall/routes.hpp): the grammar of
// simple_vmm's `hypercalls` parameter, shared by the composer and the VMM.
#include "hypercall/routes.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using cos::hypercall::parse_routes;
using cos::hypercall::ParseError;
using cos::hypercall::Routes;

ParseError parse(const std::string& s, Routes& r) { return parse_routes(s.data(), s.size(), r); }

TEST(HypercallRoutes, EmptyMeansNoRoutes) {
  Routes r;
  for (const char* s : {"", "   ", "\t"}) {
    EXPECT_EQ(parse(s, r).message, nullptr) << s;
    EXPECT_EQ(r.count, 0u);
  }
}

TEST(HypercallRoutes, OneRoute) {
  Routes r;
  ASSERT_EQ(parse("4=poke", r).message, nullptr);
  ASSERT_EQ(r.count, 1u);
  EXPECT_EQ(r.route[0].number, 4u);
  EXPECT_STREQ(r.route[0].interface, "poke");
  ASSERT_NE(r.find(4), nullptr);
  EXPECT_STREQ(r.find(4)->interface, "poke");
  EXPECT_EQ(r.find(5), nullptr);
}

TEST(HypercallRoutes, SeveralWithSpacesAndHex) {
  Routes r;
  ASSERT_EQ(parse(" 4 = poke ,0x10=log_2,\t0XfFfFfFfF=x ", r).message, nullptr);
  ASSERT_EQ(r.count, 3u);
  EXPECT_EQ(r.route[1].number, 16u);
  EXPECT_STREQ(r.route[1].interface, "log_2");
  EXPECT_EQ(r.route[2].number, 0xffffffffu);
  EXPECT_STREQ(r.find(0xffffffffu)->interface, "x");
}

TEST(HypercallRoutes, LongestNameAndMostRoutes) {
  Routes r;
  const std::string name31(31, 'a');
  ASSERT_EQ(parse("1=" + name31, r).message, nullptr);
  EXPECT_EQ(std::string(r.route[0].interface), name31);
  std::string eight;
  for (int i = 0; i < 8; ++i) eight += (i ? "," : "") + std::to_string(i) + "=s";
  ASSERT_EQ(parse(eight, r).message, nullptr);
  EXPECT_EQ(r.count, 8u);
}

struct Bad {
  const char* text;
  size_t offset;
  const char* message_part;
};

TEST(HypercallRoutes, ErrorsSayWhatAndWhere) {
  const Bad cases[] = {
      {"poke", 0, "expected a hypercall number"},
      {"4", 1, "expected '='"},
      {"4 poke", 2, "expected '='"},
      {"4=", 2, "expected an interface name"},
      {"4=Poke", 2, "expected an interface name"},
      {"4=1x", 2, "expected an interface name"},
      {"4=poke;5=x", 6, "expected ',' or the end"},
      {"4=po-ke", 4, "expected ',' or the end"},
      {"4=poke,", 7, "expected a hypercall number"},
      {"4=poke,,5=x", 7, "expected a hypercall number"},
      {"0x=poke", 2, "expected hex digits"},
      {"4294967296=x", 0, "above 0xffffffff"},
      {"0x100000000=x", 0, "above 0xffffffff"},
      {"-1=x", 0, "expected a hypercall number"},
      {"4=a,4=b", 4, "routed twice"},
      {"4=a,0x4=b", 4, "routed twice"},
      {"0xc05b0001=x", 0, "the VMM's own"},
      {"3227189249=x", 0, "the VMM's own"},
  };
  for (const Bad& b : cases) {
    Routes r;
    ParseError e = parse(b.text, r);
    ASSERT_NE(e.message, nullptr) << b.text;
    EXPECT_NE(std::string(e.message).find(b.message_part), std::string::npos) << b.text << ": " << e.message;
    EXPECT_EQ(e.offset, b.offset) << b.text << ": " << e.message;
  }
}

TEST(HypercallRoutes, LimitsOnePast) {
  Routes r;
  ParseError e = parse("1=" + std::string(32, 'a'), r);
  ASSERT_NE(e.message, nullptr);
  EXPECT_NE(std::string(e.message).find("longer than 31"), std::string::npos);
  EXPECT_EQ(e.offset, 2u);
  std::string nine;
  for (int i = 0; i < 9; ++i) nine += (i ? "," : "") + std::to_string(i) + "=s";
  e = parse(nine, r);
  ASSERT_NE(e.message, nullptr);
  EXPECT_NE(std::string(e.message).find("too many"), std::string::npos);
  EXPECT_EQ(e.offset, nine.rfind("8=s"));
}

TEST(HypercallRoutes, NoNulNeededAndLengthRespected) {
  Routes r;
  const char text[] = {'4', '=', 'p', 'o', 'k', 'e', 'X'};
  ASSERT_EQ(parse_routes(text, 6, r).message, nullptr);
  EXPECT_STREQ(r.route[0].interface, "poke");
}

}  // namespace
