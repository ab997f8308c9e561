#include "server/json_text.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

namespace jobd::server {
namespace {

std::string string_of(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string millis_of(std::chrono::nanoseconds d) {
  std::string out;
  append_json_millis(out, d);
  return out;
}

TEST(JsonText, StringsAreEscapedAndInvalidUtf8Replaced) {
  EXPECT_EQ(string_of("plain text"), "\"plain text\"");
  EXPECT_EQ(string_of("a\"b\\c\n"), R"("a\"b\\c\n")");
  EXPECT_EQ(string_of(std::string("nul\0", 4)), R"("nul\u0000")");
  EXPECT_EQ(nlohmann::json::parse(string_of("caf\xc3\xa9")), "caf\xc3\xa9");
  EXPECT_EQ(nlohmann::json::parse(string_of("bad \xff byte")), "bad \xef\xbf\xbd byte");
}

TEST(JsonText, MillisecondsAreExactToTheNanosecondAndWholeOnesKeepAFraction) {
  using namespace std::chrono_literals;
  EXPECT_EQ(millis_of(5ms), "5.0");
  EXPECT_EQ(millis_of(0ns), "0.0");
  EXPECT_EQ(millis_of(-3ns), "0.0");
  EXPECT_EQ(millis_of(250us), "0.25");
  EXPECT_EQ(millis_of(1ns), "0.000001");
  EXPECT_EQ(millis_of(1463ns), "0.001463");
  EXPECT_EQ(millis_of(10'192'000ns), "10.192");
  EXPECT_EQ(millis_of(3'600'000'000'010ns), "3600000.00001");
  EXPECT_EQ(millis_of(std::chrono::nanoseconds::max()), "9223372036854.775807");
  const auto j = nlohmann::json::parse(millis_of(1234567ns));
  EXPECT_TRUE(j.is_number_float());
  EXPECT_DOUBLE_EQ(j.get<double>(), 1.234567);
}

TEST(JsonText, ValuesAreWrittenAsNlohmannDumpsThem) {
  using json = nlohmann::json;
  std::vector<json> values = {
      nullptr,
      true,
      false,
      0,
      -1,
      42U,
      std::numeric_limits<std::int64_t>::min(),
      std::numeric_limits<std::uint64_t>::max(),
      1.5,
      -0.0,
      1e300,
      0.1,
      "",
      "plain",
      "a\"b\\c\n\t\x01\x7f",
      "caf\xc3\xa9",
      "bad \xff byte",
      json::array(),
      json::object(),
      json::parse(R"({"b":[1,{"c":null,"a":"x"}],"a":{"":[[],{}]},"slept_ms":10})"),
      json::binary({1, 2, 3})};
  json nested = json::array();
  for (const auto& v : values) nested.push_back(v);
  values.push_back(nested);
  values.push_back(json{{"key \xfe", nested}, {"k", 2.25}});
  for (const auto& v : values) {
    std::string out = "x";
    append_json_value(out, v);
    EXPECT_EQ(out, "x" + v.dump(-1, ' ', false, json::error_handler_t::replace)) << out;
  }
}

// A fresh writer, which has no second's text to reuse.
void append_json_time(std::string& out, std::chrono::system_clock::time_point t) {
  json_time_writer().append(out, t);
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

TEST(JsonText, ATimeWriterThatRemembersItsLastSecondWritesWhatAFreshOneWrites) {
  using std::chrono::milliseconds;
  json_time_writer writer;
  // Within one second, across seconds, across a day, back in time, and the same time again.
  for (const std::int64_t ms :
       {1'709'251'198'001LL, 1'709'251'198'999LL, 1'709'251'199'000LL, 1'709'251'199'999LL,
        1'709'251'200'000LL, 1'709'251'200'000LL, 1'709'251'198'500LL, 0LL, 999LL}) {
    const std::chrono::system_clock::time_point t{milliseconds(ms)};
    std::string expected;
    append_json_time(expected, t);
    std::string got = "x";
    writer.append(got, t);
    EXPECT_EQ(got, "x" + expected) << ms;
  }
}

}  // namespace
}  // namespace jobd::server
