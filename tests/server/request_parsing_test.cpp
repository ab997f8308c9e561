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
  EXPECT_FALSE(jobd::nests_deeper_than(R"({"a":[[1]]})", 3));
  EXPECT_TRUE(jobd::nests_deeper_than(R"({"a":[[[1]]]})", 3));
  EXPECT_FALSE(jobd::nests_deeper_than(R"({"a":"[[[[[[[[\"[["})", 1));
  EXPECT_TRUE(jobd::nests_deeper_than(std::string(100'000, '['), 64));
}

TEST(RequestParsing, JsonBodiesWithDuplicateKeysAreRefusedAtAnyDepth) {
  EXPECT_EQ(parse_json_body(R"({"a":{"x":1},"b":{"x":2}})", 8).error, "");
  EXPECT_EQ(parse_json_body(R"([{"a":1},{"a":2}])", 8).error, "");
  EXPECT_NE(parse_json_body(R"({"a":1,"a":1})", 8).error.find("\"a\" appears twice"),
            std::string::npos);
  EXPECT_NE(parse_json_body(R"({"p":[{"k":{"z":1,"z":2}}]})", 8).error.find("\"z\" appears twice"),
            std::string::npos);
}

TEST(RequestParsing, JsonBodiesBuildTheDocumentJsonParseWould) {
  for (
      const std::string text :
      {R"({"type":"noop","payload":{"a":[1,-2,3.5,"x",true,false,null,{},[]],"b":{"c":[[{"d":1}]]}}})",
       R"([[],[[]],{"k":[{"x":1},{"y":[2,{"z":"\u00e9"}]}]}])", "\"just a string\"",
       "18446744073709551615", "-9223372036854775808", "1e-300", "null", "{}", "[]"}) {
    const parsed_json got = parse_json_body(text, 64);
    EXPECT_EQ(got.error, "") << text;
    EXPECT_EQ(got.value, nlohmann::json::parse(text)) << text;
  }
}

TEST(RequestParsing, JsonBodiesNestUpToTheBoundAndNoDeeper) {
  const auto nested = [](std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  EXPECT_EQ(parse_json_body(nested(64), 64).error, "");
  EXPECT_EQ(parse_json_body(nested(65), 64).error, "the body nests deeper than 64 levels");
  EXPECT_EQ(parse_json_body(R"({"a":{"b":{"c":1}}})", 3).error, "");
  EXPECT_EQ(parse_json_body(R"({"a":{"b":{"c":{}}}})", 3).error,
            "the body nests deeper than 3 levels");
}

TEST(RequestParsing, JsonBodyErrorsAreValuesNotExceptions) {
  const parsed_json ok = parse_json_body(R"({"type":"noop","n":1.5})", 8);
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(ok.value["n"], 1.5);
  for (const std::string& bad : std::vector<std::string>{"", "{", "1e400", "[1e400]", "{} {}",
                                                         "NaN", "\"\xff\"", std::string(65, '[')}) {
    EXPECT_NE(parse_json_body(bad, 64).error, "") << bad;
  }
}

}  // namespace
}  // namespace jobd::server
