#include "server/http/request_parsing.hpp"

#include <gtest/gtest.h>

#include "common/json_reader.hpp"

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

}  // namespace
}  // namespace jobd::server
