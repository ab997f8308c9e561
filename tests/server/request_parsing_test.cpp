#include "server/request_parsing.hpp"

#include <gtest/gtest.h>

namespace jobd::server {
namespace {

using namespace std::chrono_literals;

TEST(RequestParsing, DecodesQueryPairs) {
  const auto q = parse_query("status=running&limit=5&note=a%20b+c&flag");
  ASSERT_TRUE(q);
  EXPECT_EQ(param(*q, "status"), "running");
  EXPECT_EQ(param(*q, "limit"), "5");
  EXPECT_EQ(param(*q, "note"), "a b c");
  EXPECT_EQ(param(*q, "flag"), "");
  EXPECT_EQ(param(*q, "absent"), std::nullopt);
  EXPECT_FALSE(parse_query("a=%zz"));
  EXPECT_FALSE(parse_query("a=%4"));
}

TEST(RequestParsing, WaitTakesTrueFalseOrSeconds) {
  EXPECT_FALSE(parse_wait(std::nullopt, 10s)->wanted);
  EXPECT_FALSE(parse_wait("false", 10s)->wanted);
  EXPECT_TRUE(parse_wait("true", 10s)->wanted);
  EXPECT_FALSE(parse_wait("true", 10s)->limit);
  EXPECT_EQ(parse_wait("2.5", 10s)->limit, 2500ms);
  EXPECT_EQ(parse_wait("0.0001", 10s)->limit, 1ms);
  EXPECT_FALSE(parse_wait("0", 10s));
  EXPECT_FALSE(parse_wait("-1", 10s));
  EXPECT_FALSE(parse_wait("11", 10s));
  EXPECT_FALSE(parse_wait("nan", 10s));
  EXPECT_FALSE(parse_wait("soon", 10s));
}

TEST(RequestParsing, MeasuresNestingOutsideStrings) {
  EXPECT_FALSE(nests_deeper_than(R"({"a":[[1]]})", 3));
  EXPECT_TRUE(nests_deeper_than(R"({"a":[[[1]]]})", 3));
  EXPECT_FALSE(nests_deeper_than(R"({"a":"[[[[[[[[\"[["})", 1));
  EXPECT_TRUE(nests_deeper_than(std::string(100'000, '['), 64));
}

}  // namespace
}  // namespace jobd::server
