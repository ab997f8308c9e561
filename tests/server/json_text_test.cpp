#include "server/json_text.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace jobd::server {
namespace {

std::string string_of(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string number_of(double d) {
  std::string out;
  append_json_number(out, d);
  return out;
}

TEST(JsonText, StringsAreEscapedAndInvalidUtf8Replaced) {
  EXPECT_EQ(string_of("plain text"), "\"plain text\"");
  EXPECT_EQ(string_of("a\"b\\c\n"), R"("a\"b\\c\n")");
  EXPECT_EQ(string_of(std::string("nul\0", 4)), R"("nul\u0000")");
  EXPECT_EQ(nlohmann::json::parse(string_of("caf\xc3\xa9")), "caf\xc3\xa9");
  EXPECT_EQ(nlohmann::json::parse(string_of("bad \xff byte")), "bad \xef\xbf\xbd byte");
}

TEST(JsonText, NumbersReadBackAsTheSameDoubleAndWholeOnesKeepAFraction) {
  EXPECT_EQ(number_of(5), "5.0");
  EXPECT_EQ(number_of(0), "0.0");
  EXPECT_EQ(number_of(0.25), "0.25");
  for (double d : {0.1, 1.0 / 3.0, 1e-7, 123456.789, 1e21}) {
    const auto j = nlohmann::json::parse(number_of(d));
    EXPECT_TRUE(j.is_number_float()) << number_of(d);
    EXPECT_EQ(j.get<double>(), d);
  }
}

TEST(JsonText, TimesAreRfc3339UtcWithMilliseconds) {
  std::string out;
  append_json_time(
      out, std::chrono::system_clock::time_point(std::chrono::milliseconds(1'764'171'000'123)));
  EXPECT_EQ(out, "\"2025-11-26T15:30:00.123Z\"");
  out.clear();
  append_json_time(out, std::chrono::system_clock::time_point(std::chrono::milliseconds(0)));
  EXPECT_EQ(out, "\"1970-01-01T00:00:00.000Z\"");
  out.clear();
  // A leap day, the last millisecond of it.
  append_json_time(
      out, std::chrono::system_clock::time_point(std::chrono::milliseconds(1'709'251'199'999)));
  EXPECT_EQ(out, "\"2024-02-29T23:59:59.999Z\"");
}

}  // namespace
}  // namespace jobd::server
