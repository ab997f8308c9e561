#include "common/json_describe.hpp"

#include <gtest/gtest.h>

namespace jobd {
namespace {

using nlohmann::json;

TEST(DescribeJsonValue, NamesStringsWithTheirTextAndANumberInQuotesAsSuch) {
  EXPECT_EQ(describe_json_value("soon"), R"(the string "soon")");
  EXPECT_EQ(describe_json_value("200"), R"(the string "200": leave out the quotes)");
  EXPECT_EQ(describe_json_value("-5"), R"(the string "-5": leave out the quotes)");
  EXPECT_EQ(describe_json_value("-"), R"(the string "-")");
  EXPECT_EQ(describe_json_value(""), R"(the string "")");
  EXPECT_EQ(describe_json_value(std::string(41, 'x')), "a string of 41 bytes");
  EXPECT_EQ(describe_json_value(std::string(40, 'x')),
            "the string \"" + std::string(40, 'x') + "\"");
}

TEST(DescribeJsonValue, WritesScalarsAsJsonAndNamesContainers) {
  EXPECT_EQ(describe_json_value(1.5), "1.5");
  EXPECT_EQ(describe_json_value(-3), "-3");
  EXPECT_EQ(describe_json_value(true), "true");
  EXPECT_EQ(describe_json_value(nullptr), "null");
  EXPECT_EQ(describe_json_value(json::object()), "an object");
  EXPECT_EQ(describe_json_value(json::array({1, 2})), "an array");
}

}  // namespace
}  // namespace jobd
