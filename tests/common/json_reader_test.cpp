#include "common/json_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace jobd {
namespace {

using json = nlohmann::json;

// Reads `text` only checking it: the error, or "" when it is JSON.
std::string check_only(std::string_view text, std::size_t max_depth = 64) {
  json_reader r(text, "the body", max_depth);
  if (!r.value(nullptr) || !r.at_end()) return r.error();
  return "";
}

TEST(JsonReader, CheckedJsonCountsNestingOutsideStringsAndComments) {
  EXPECT_EQ(parse_checked_json(R"({"a":"[[[[[[[[\"[["})", 1, "x").error, "");
  EXPECT_EQ(parse_checked_json("// [[[[\n{\"a\":1} /* [[[ */", 1, "x", true).error, "");
  EXPECT_EQ(parse_checked_json("// c\n{}", 1, "the text").error.find("the text is not valid JSON"),
            0u);
}

TEST(JsonReader, JsonBodiesWithDuplicateKeysAreRefusedAtAnyDepth) {
  EXPECT_EQ(parse_checked_json(R"({"a":{"x":1},"b":{"x":2}})", 8, "the body").error, "");
  EXPECT_EQ(parse_checked_json(R"([{"a":1},{"a":2}])", 8, "the body").error, "");
  EXPECT_NE(parse_checked_json(R"({"a":1,"a":1})", 8, "the body").error.find("\"a\" appears twice"),
            std::string::npos);
  EXPECT_NE(parse_checked_json(R"({"p":[{"k":{"z":1,"z":2}}]})", 8, "the body")
                .error.find("\"z\" appears twice"),
            std::string::npos);
}

TEST(JsonReader, JsonBodiesBuildTheDocumentJsonParseWould) {
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

TEST(JsonReader, JsonBodiesNestUpToTheBoundAndNoDeeper) {
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

TEST(JsonReader, JsonBodyErrorsAreValuesNotExceptions) {
  const checked_json ok = parse_checked_json(R"({"type":"noop","n":1.5})", 8, "the body");
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(ok.value["n"], 1.5);
  for (const std::string& bad : std::vector<std::string>{"", "{", "1e400", "[1e400]", "{} {}",
                                                         "NaN", "\"\xff\"", std::string(65, '[')}) {
    EXPECT_NE(parse_checked_json(bad, 64, "the body").error, "") << bad;
  }
}

// Every input both ways: checked only and built, the verdict and the error are the same; what
// it accepts, nlohmann's parser reads as the same value; what it refuses (one key twice and
// depth aside, which nlohmann lets through), nlohmann refuses too.
TEST(JsonReader, AgreesWithNlohmannAndWithItselfWhetherBuildingOrChecking) {
  const std::vector<std::string> texts = {
      "0", "-0", "1", "-1", "12345678901234567890", "18446744073709551616", "-9223372036854775809",
      "1.5", "-1.5e10", "1E2", "1e-400", "0.0", "3.141592653589793", "1e308", R"("")",
      R"("a\"b\\c\/d\b\f\n\r\t")", R"("\u00e9\u20ac\ud83d\ude00")", "\"caf\xc3\xa9\"", "true",
      "false", "null", "[]", "{}", " [ 1 , [ 2 , { } ] ] ", R"({"a":{"b":[{"c":null}]}})",
      R"({"\u0061":1,"b":2})", "\t\n\r {\"k\" : \"v\"} \n",
      // Refused by both.
      "", " ", "01", "-", "1.", ".5", "1e", "+1", "0x10", "NaN", "Infinity", "tru", "nul", "[1,]",
      "{,}", R"({"a"})", R"({"a":})", R"({"a":1,})", "{'a':1}", R"({a:1})", "[1 2]", "\"abc",
      "\"a\x01b\"", R"("\x")", R"("\u12")", R"("\ud800")", R"("\udc00")", R"("\ud800\u0041")",
      "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "[1e400]", "{} {}", "[] x", "[", R"({"a":1)",
      "// comment\n1"};
  for (const std::string& text : texts) {
    const checked_json built = parse_checked_json(text, 64, "the body");
    EXPECT_EQ(check_only(text), built.error) << text;
    json reference;
    bool reference_ok = true;
    try {
      reference = json::parse(text);
    } catch (const json::exception&) {  // parse_error, or out_of_range for 1e400
      reference_ok = false;
    }
    EXPECT_EQ(built.error.empty(), reference_ok) << text << ": " << built.error;
    if (built.error.empty() && reference_ok) {
      EXPECT_EQ(built.value, reference) << text;
      EXPECT_EQ(built.value.type(), reference.type()) << text;
    }
  }
}

// nlohmann's parser stops at a NUL byte and reads what came before it: `{"type":"noop"}\0x`
// would pass. A NUL is not white space, nor allowed unescaped in a string.
TEST(JsonReader, ANulByteAnywhereIsNotJson) {
  for (const std::string& text : {std::string("{}\0", 3), std::string("0.01\r\0\0", 7),
                                  std::string("\"a\0b\"", 5), std::string("[\0]", 3)}) {
    EXPECT_NE(parse_checked_json(text, 64, "the body").error, "") << text.size();
    EXPECT_NE(check_only(text), "") << text.size();
  }
}

TEST(JsonReader, ErrorsSayWhatAndWhere) {
  EXPECT_EQ(parse_checked_json("{\"a\":\n  tru}", 64, "the body").error,
            "the body is not valid JSON: a value that is not JSON (true, false and null are its "
            "only words) at line 2, column 3");
  EXPECT_EQ(parse_checked_json("[1 2]", 64, "stdout").error,
            "stdout is not valid JSON: '2' where ',' or ']' after an element was expected at line "
            "1, column 4");
  EXPECT_EQ(parse_checked_json("", 64, "the body").error,
            "the body is not valid JSON: the text ends where a value was expected at line 1, "
            "column 1");
  EXPECT_EQ(parse_checked_json(R"({"a":1,"\u0061":2})", 64, "the body").error,
            "the body is not valid JSON: the key \"a\" appears twice in one object");
}

// The check that does not build a document must still find a key given twice in linear time:
// past the first few keys of an object they are looked up, not compared one by one.
TEST(JsonReader, CheckingFindsDuplicatesAmongManyKeysAndEscapedOnes) {
  std::string many = "{";
  for (int i = 0; i < 20000; ++i)
    many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  EXPECT_EQ(check_only(many + "\"k19999\":0}"),
            "the body is not valid JSON: the key \"k19999\" appears twice in one object");
  EXPECT_EQ(check_only(many + "\"k20000\":0}"), "");
  EXPECT_EQ(check_only(R"({"a\u0062":1,"ab":2})"),
            "the body is not valid JSON: the key \"ab\" appears twice in one object");
}

TEST(JsonReader, MembersOfTheTopObjectAreTakenOneByOne) {
  json_reader r(R"( {"type" : "s\u0041", "n": -5, "p": {"x":[1]}} )", "the body");
  ASSERT_TRUE(r.begin_object());
  std::string_view key;
  std::string scratch;
  ASSERT_TRUE(r.next_member(key));
  EXPECT_EQ(key, "type");
  std::string_view s;
  ASSERT_TRUE(r.string(s, scratch));
  EXPECT_EQ(s, "sA");
  ASSERT_TRUE(r.next_member(key));
  EXPECT_EQ(key, "n");
  json_number n;
  ASSERT_TRUE(r.number(n));
  EXPECT_EQ(n.type, json_number::kind::signed_integer);
  EXPECT_EQ(n.signed_value, -5);
  ASSERT_TRUE(r.next_member(key));
  EXPECT_EQ(key, "p");
  std::string_view text;
  ASSERT_TRUE(r.value_text(text));
  EXPECT_EQ(text, R"({"x":[1]})");
  EXPECT_FALSE(r.next_member(key));
  EXPECT_FALSE(r.failed());
  EXPECT_TRUE(r.at_end());

  json_reader twice(R"({"a":1,"a":2})", "the body");
  ASSERT_TRUE(twice.begin_object());
  ASSERT_TRUE(twice.next_member(key));
  ASSERT_TRUE(twice.value(nullptr));
  EXPECT_FALSE(twice.next_member(key));
  EXPECT_TRUE(twice.failed());
}

TEST(JsonReader, CommentsAreWhiteSpaceOnlyWhenAllowed) {
  EXPECT_EQ(parse_checked_json("/* a */ {\"a\": // b\n 1}", 64, "x", true).value,
            json::parse(R"({"a":1})"));
  EXPECT_NE(parse_checked_json("/* a */ 1", 64, "x").error, "");
  EXPECT_NE(parse_checked_json("/* never closed", 64, "x", true).error, "");
  EXPECT_NE(parse_checked_json("/ 1", 64, "x", true).error, "");
}

}  // namespace
}  // namespace jobd
