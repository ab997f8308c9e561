#include "common/json_writer.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

namespace jobd {
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

std::string seconds_of(std::chrono::nanoseconds d) {
  std::string out;
  append_json_seconds(out, d);
  return out;
}

TEST(JsonWriter, StringsAreEscapedAndInvalidUtf8Replaced) {
  EXPECT_EQ(string_of("plain text"), "\"plain text\"");
  EXPECT_EQ(string_of("a\"b\\c\n"), R"("a\"b\\c\n")");
  EXPECT_EQ(string_of(std::string("nul\0", 4)), R"("nul\u0000")");
  EXPECT_EQ(nlohmann::json::parse(string_of("caf\xc3\xa9")), "caf\xc3\xa9");
  EXPECT_EQ(nlohmann::json::parse(string_of("bad \xff byte")), "bad \xef\xbf\xbd byte");
  EXPECT_EQ(string_of("\b\f\x1f\x7f"), R"("\b\f\u001f)"
                                       "\x7f\"");
}

// Each maximal ill-formed subpart is one U+FFFD, as Unicode recommends and nlohmann::json's
// replacing serialiser writes: a truncated sequence is one, a byte no sequence starts with is one.
TEST(JsonWriter, IllFormedUtf8IsReplacedAsNlohmannReplacesIt) {
  using json = nlohmann::json;
  for (const std::string s :
       {"\xe2\x82"
        "A",
        "\xe2\x82", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf0\x9f\x98",
        "\xf0\x9f\x98\x80", "\xc0\xaf", "\x80\x80", "\xc3", "a\xc3\xa9\xc3", "\xf5", "\xff\xfe",
        "\xe2\x82\xac\xe2\x82", "x\xf0\x9f\xc3\xa9"}) {
    EXPECT_EQ(string_of(s), json(s).dump(-1, ' ', false, json::error_handler_t::replace))
        << json(s).dump(-1, ' ', true, json::error_handler_t::replace);
  }
}

TEST(JsonWriter, DurationsAreRoundedToTheMicrosecondAndWholeOnesKeepAFraction) {
  using namespace std::chrono_literals;
  EXPECT_EQ(millis_of(5ms), "5.0");
  EXPECT_EQ(millis_of(0ns), "0.0");
  EXPECT_EQ(millis_of(-3ns), "0.0");
  EXPECT_EQ(millis_of(250us), "0.25");
  EXPECT_EQ(millis_of(499ns), "0.0");
  EXPECT_EQ(millis_of(500ns), "0.001");
  EXPECT_EQ(millis_of(1463ns), "0.001");
  EXPECT_EQ(millis_of(17'379ns), "0.017");
  EXPECT_EQ(millis_of(999'999'600ns), "1000.0");  // rounding carries into the whole part
  EXPECT_EQ(millis_of(10'192'000ns), "10.192");
  EXPECT_EQ(millis_of(3'600'000'010'000ns), "3600000.01");
  EXPECT_EQ(millis_of(std::chrono::nanoseconds::max()), "9223372036854.776");
  EXPECT_EQ(seconds_of(0ns), "0.0");
  EXPECT_EQ(seconds_of(2s), "2.0");
  EXPECT_EQ(seconds_of(1'234'567'890ns), "1.234568");
  EXPECT_EQ(seconds_of(17'379ns), "0.000017");
  const auto j = nlohmann::json::parse(millis_of(1234567ns));
  EXPECT_TRUE(j.is_number_float());
  EXPECT_DOUBLE_EQ(j.get<double>(), 1.235);
}

TEST(JsonWriter, ValuesAreWrittenAsNlohmannDumpsThem) {
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
    EXPECT_EQ(json_text(v), v.dump(-1, ' ', false, json::error_handler_t::replace));
    // Binary values (never read from text) are laid out compactly even there.
    if (out.find("\"bytes\"") == std::string::npos) {
      EXPECT_EQ(json_text_indented(v, 2), v.dump(2, ' ', false, json::error_handler_t::replace));
    }
  }
}

// A fresh writer, which has no second's text to reuse.
void append_json_time(std::string& out, std::chrono::system_clock::time_point t) {
  json_time_writer().append(out, t);
}

TEST(JsonWriter, TimesAreRfc3339UtcWithMilliseconds) {
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

TEST(JsonWriter, ATimeWriterThatRemembersItsLastSecondWritesWhatAFreshOneWrites) {
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

TEST(JsonWriter, NumbersAreWrittenAsNlohmannWritesThem) {
  for (const double d : {0.0, -0.0, 1.0, 100.0, 0.1, 1e15, 1e16, 1e-5, 123.456, 1e300, -2.5e-300}) {
    std::string out;
    append_json_number(out, d);
    EXPECT_EQ(out, nlohmann::json(d).dump()) << d;
  }
  std::string out;
  append_json_number(out, std::numeric_limits<double>::infinity());
  EXPECT_EQ(out, "null");
}

TEST(JsonWriter, PutsTheCommasBetweenMembersAndElements) {
  std::string out;
  json_writer w(out);
  w.begin_object()
      .key("a")
      .value(1)
      .key("b")
      .begin_array()
      .value("x")
      .null()
      .begin_object()
      .end_object()
      .begin_array()
      .end_array()
      .value(true)
      .end_array()
      .key("c")
      .begin_object()
      .key("d")
      .value(std::uint64_t{7})
      .key("e")
      .value(-3)
      .end_object()
      .key("f")
      .plain("id")
      .key("g")
      .raw("[1,2]")
      .key("h")
      .value(nlohmann::json{{"k", "v\n"}})
      .key("i")
      .value(0.5)
      .end_object();
  EXPECT_EQ(out, R"({"a":1,"b":["x",null,{},[],true],"c":{"d":7,"e":-3},"f":"id","g":[1,2],)"
                 R"("h":{"k":"v\n"},"i":0.5})");
  EXPECT_TRUE(nlohmann::json::accept(out));
}

}  // namespace
}  // namespace jobd
