#include "server/request_parsing.hpp"

#include <gtest/gtest.h>

#include "common/checked_json.hpp"

namespace jobd::server {
namespace {

using namespace std::chrono_literals;

TEST(RequestParsing, FindsDecodedQueryParams) {
  const std::string_view q = "status=running&limit=5&note=a%20b+c&flag&limit=6&a%3Db=1";
  EXPECT_EQ(find_query_param(q, "status").value, "running");
  EXPECT_EQ(find_query_param(q, "limit").value, "5");  // the first one
  EXPECT_EQ(find_query_param(q, "note").value, "a b c");
  EXPECT_EQ(find_query_param(q, "flag").value, "");
  EXPECT_EQ(find_query_param(q, "a=b").value, "1");  // keys are decoded too
  EXPECT_EQ(find_query_param(q, "absent").value, std::nullopt);
  EXPECT_FALSE(find_query_param(q, "absent").malformed);
  // A bad escape anywhere makes the whole query malformed, whichever key is asked for.
  EXPECT_TRUE(find_query_param("wait=true&a=%zz", "wait").malformed);
  EXPECT_TRUE(find_query_param("a=%4&wait=true", "wait").malformed);
  EXPECT_FALSE(find_query_param("a=%4&wait=true", "wait").value);
}

TEST(RequestParsing, FindsTheFirstUnknownQueryParam) {
  EXPECT_EQ(unknown_query_param("", {"wait"}), std::nullopt);
  EXPECT_EQ(unknown_query_param("wait=true&&wait", {"wait"}), std::nullopt);
  EXPECT_EQ(unknown_query_param("wait=1&wiat=true&x=2", {"wait"}), "wiat");
  EXPECT_EQ(unknown_query_param("w%61it=1", {"wait"}), std::nullopt);  // decoded, as values are
  EXPECT_EQ(unknown_query_param("limit=5&Status=done", {"status", "limit"}), "Status");
  EXPECT_EQ(unknown_param_refusal("wiat", {"wait"}),
            R"(unknown query parameter "wiat"; this route takes wait)");
  EXPECT_EQ(unknown_param_refusal(std::string(100, 'x'), {"status", "limit"}),
            R"(unknown query parameter ")" + std::string(64, 'x') +
                R"(..."; this route takes status, limit)");
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

TEST(RequestParsing, CheckedJsonCountsNestingOutsideStringsAndComments) {
  EXPECT_EQ(parse_checked_json(R"({"a":"[[[[[[[[\"[["})", 1, "x").error, "");
  EXPECT_EQ(parse_checked_json("// [[[[\n{\"a\":1} /* [[[ */", 1, "x", true).error, "");
  EXPECT_EQ(parse_checked_json("// c\n{}", 1, "the text").error.find("the text is not valid JSON"),
            0u);
}

TEST(RequestParsing, JsonBodiesWithDuplicateKeysAreRefusedAtAnyDepth) {
  EXPECT_EQ(parse_checked_json(R"({"a":{"x":1},"b":{"x":2}})", 8, "the body").error, "");
  EXPECT_EQ(parse_checked_json(R"([{"a":1},{"a":2}])", 8, "the body").error, "");
  EXPECT_NE(parse_checked_json(R"({"a":1,"a":1})", 8, "the body").error.find("\"a\" appears twice"),
            std::string::npos);
  EXPECT_NE(parse_checked_json(R"({"p":[{"k":{"z":1,"z":2}}]})", 8, "the body")
                .error.find("\"z\" appears twice"),
            std::string::npos);
}

TEST(RequestParsing, JsonBodiesBuildTheDocumentJsonParseWould) {
  for (
      const std::string text :
      {R"({"type":"noop","payload":{"a":[1,-2,3.5,"x",true,false,null,{},[]],"b":{"c":[[{"d":1}]]}}})",
       R"([[],[[]],{"k":[{"x":1},{"y":[2,{"z":"\u00e9"}]}]}])", "\"just a string\"",
       "18446744073709551615", "-9223372036854775808", "1e-300", "null", "{}", "[]"}) {
    const checked_json got = parse_checked_json(text, 64, "the body");
    EXPECT_EQ(got.error, "") << text;
    EXPECT_EQ(got.value, nlohmann::json::parse(text)) << text;
  }
}

TEST(RequestParsing, JsonBodiesNestUpToTheBoundAndNoDeeper) {
  const auto nested = [](std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  EXPECT_EQ(parse_checked_json(nested(64), 64, "the body").error, "");
  EXPECT_EQ(parse_checked_json(nested(65), 64, "the body").error,
            "the body nests deeper than 64 levels");
  EXPECT_EQ(parse_checked_json(R"({"a":{"b":{"c":1}}})", 3, "the body").error, "");
  EXPECT_EQ(parse_checked_json(R"({"a":{"b":{"c":{}}}})", 3, "the body").error,
            "the body nests deeper than 3 levels");
}

TEST(RequestParsing, JsonBodyErrorsAreValuesNotExceptions) {
  const checked_json ok = parse_checked_json(R"({"type":"noop","n":1.5})", 8, "the body");
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(ok.value["n"], 1.5);
  for (const std::string& bad : std::vector<std::string>{"", "{", "1e400", "[1e400]", "{} {}",
                                                         "NaN", "\"\xff\"", std::string(65, '[')}) {
    EXPECT_NE(parse_checked_json(bad, 64, "the body").error, "") << bad;
  }
}

}  // namespace
}  // namespace jobd::server
