#include "server/api/submit_body.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "submit_body_reference.hpp"

namespace jobd::server {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr submit_limits limits{
    .max_timeout = 60'000ms, .max_attempts = 10, .max_backoff = 5'000ms, .max_delay = 86'400'000ms};

// Everything a reader gives, the payload's exact value and type included, as one comparable
// text. The wording of a syntax error is the reader's own; its code is compared.
std::string described(const submit_body& b, const json& payload) {
  return "type=" + b.type + " payload=" + payload.dump() + "/" + payload.type_name() +
         (payload.is_number_unsigned() ? "(unsigned)" : "") +
         " priority=" + std::string(pool::to_string(b.priority)) +
         " timeout=" + (b.timeout ? std::to_string(b.timeout->count()) : "-") +
         " attempts=" + (b.max_attempts ? std::to_string(*b.max_attempts) : "-") +
         " backoff=" + (b.retry_backoff ? std::to_string(b.retry_backoff->count()) : "-") +
         " delay=" + (b.delay ? std::to_string(b.delay->count()) : "-") +
         " run_at=" + (b.run_at ? std::to_string(b.run_at->time_since_epoch().count()) : "-") +
         " callback=" + b.callback_url.value_or("-") + " key=" + b.concurrency_key.value_or("-") +
         " error=" + b.error_code + ":" + (b.error_code == "invalid_json" ? "" : b.error_message);
}

void expect_readers_agree(const std::string& text) {
  const submit_body got = read_submit_body(text, limits);
  const json got_payload = got.error_code.empty() ? payload_of(got) : json();
  const submit_body want = reference_reader(text, limits);
  json want_payload;
  if (want.error_code.empty()) {
    const auto body = json::parse(text);
    if (const auto p = body.find("payload"); p != body.end()) want_payload = *p;
  }
  EXPECT_EQ(described(got, got_payload), described(want, want_payload)) << text;
}

TEST(SubmitBody, ReadsThePlainShapeIntoItsFields) {
  submit_body b = read_submit_body(
      R"( {"type":"sleep", "payload" : {"ms":10,"s":"}][{"} , "priority":"high","timeout_ms":250} )",
      limits);
  EXPECT_EQ(b.error_code, "");
  EXPECT_EQ(b.type, "sleep");
  // The payload is its text until it is taken.
  EXPECT_EQ(b.payload_text, R"({"ms":10,"s":"}][{"})");
  EXPECT_EQ(payload_of(b), json::parse(R"({"ms":10,"s":"}][{"})"));
  EXPECT_EQ(b.priority, pool::lane::high);
  EXPECT_EQ(b.timeout, 250ms);

  submit_body minimal = read_submit_body(R"({"type":"noop"})", limits);
  EXPECT_EQ(minimal.error_code, "");
  EXPECT_EQ(minimal.type, "noop");
  EXPECT_TRUE(payload_of(minimal).is_null());

  submit_body escaped = read_submit_body(R"({"type":"echo","payload":{"s":"\u0041"}})", limits);
  EXPECT_EQ(escaped.payload_text, R"({"s":"\u0041"})");
  EXPECT_EQ(payload_of(escaped), json::parse(R"({"s":"A"})"));
  EXPECT_EQ(minimal.priority, pool::lane::normal);
  EXPECT_FALSE(minimal.timeout);
}

TEST(SubmitBody, RefusesWithTheApiErrors) {
  struct refusal {
    std::string body;
    std::string code;
    std::string message;
  };
  for (
      const auto& r : std::vector<refusal>{
          {"{", "invalid_json", ""},
          {R"({"type":"noop","type":"echo"})", "invalid_json", "appears twice"},
          {"[1]", "invalid_field",
           R"(the body must be a JSON object, such as {"type":"sleep","payload":{"ms":100}})"},
          {R"({"type":"noop","retries":3})", "invalid_field", "unknown field \"retries\""},
          {R"({"type":"noop","priority":"urgent"})", "invalid_field", "priority must be"},
          {R"({"payload":1})", "invalid_field", "type is required"},
          {R"({"type":7})", "invalid_field", "type is required"},
          {R"({"type":"noop","timeout_ms":1.5})", "invalid_field", "integer 1..60000 (got 1.5)"},
          {R"({"type":"noop","timeout_ms":"200"})", "invalid_field",
           R"(timeout_ms must be an integer 1..60000 (got the string "200": leave out the quotes))"},
          {R"({"type":"noop","timeout_ms":"soon"})", "invalid_field", R"((got the string "soon"))"},
          {R"({"type":"noop","timeout_ms":[5]})", "invalid_field", "(got an array)"},
          {R"({"type":"noop","timeout_ms":null})", "invalid_field", "(got null)"},
          {"type=sleep&ms=100", "invalid_json",
           "at line 1, column 1; the body must be a JSON object, such as "
           R"({"type":"sleep","payload":{"ms":100}}, and this one looks form-encoded)"},
          {"\n  ms=100", "invalid_json", "at line 2, column 3; the body must be a JSON object"},
          {R"({"type":"noop","timeout_ms":0})", "invalid_field", "(got 0)"},
          {R"({"type":"noop","timeout_ms":60001})", "invalid_field", "(got 60001)"},
          {R"({"type":"noop","timeout_ms":-5})", "invalid_field", "(got -5)"},
      }) {
    const submit_body b = read_submit_body(r.body, limits);
    EXPECT_EQ(b.error_code, r.code) << r.body;
    EXPECT_NE(b.error_message.find(r.message), std::string::npos)
        << r.body << ": " << b.error_message;
  }
  // A refusal of a body whose priority is readable is counted against that lane, whatever the
  // refusal and wherever the priority stands in the body.
  for (const char* body :
       {R"({"priority":"high"})", R"({"type":"noop","priority":"high","x":1})",
        R"({"x":1,"priority":"high"})", R"({"type":"noop","priority":"high","timeout_ms":0})"}) {
    const submit_body b = read_submit_body(body, limits);
    EXPECT_FALSE(b.error_code.empty()) << body;
    EXPECT_EQ(b.priority, pool::lane::high) << body;
  }
}

TEST(SubmitBody, AgreesWithTheReferenceOnBodiesOfEveryShape) {
  for (const std::string text : {
           R"({"type":"no\u006fp"})",           // an escape
           "{\"type\":\"caf\xc3\xa9\"}",        // UTF-8 beyond ASCII
           "{\"type\":\"caf\xff\"}",            // not UTF-8
           "{\"type\":\"a\tb\"}",               // a raw control character
           R"({"type":"noop","payload":-3})",   // a negative number
           R"({"type":"noop","payload":0})",    // zero
           R"({"type":"noop","payload":007})",  // leading zeros
           R"({"type":"noop","payload":1e3})",  // an exponent
           R"({"type":"noop","payload":18446744073709551615})",
           R"({"type":"noop","payload":123456789012345678901234})",
           R"({"type":"noop","timeout_ms":00010})",
           R"({"type":"noop","timeout_ms":1e2})",
           R"({"type":"noop","timeout_ms":9999999999999999999999})",
           R"({"type":"noop","payload":[1,}]})",  // brackets that match, text that is not JSON
           R"({"type":"noop","payload":{"a":[}]})",
           R"({"type":"noop","payload":{"a":1,"a":2}})",
           R"({"type":"noop","payload":"\"})",         // a string that never ends
           R"({"type":"noop","payload":{"s":"\\"}})",  // an escaped backslash before the quote
           R"({"type":"noop","payload":nul})",
           R"({"type":"noop","payload":truex})",
           R"({"type":"noop",})",
           R"({"type":"noop"} x)",
           R"({"type":"noop"}{})",
           R"({,"type":"noop"})",
           "{}",
           "",
           " \t\r\n{ \t\r\n\"type\" \t\r\n: \t\r\n\"noop\" \t\r\n} \t\r\n",
           "{\"type\":\"noop\"}\x0b",
       }) {
    expect_readers_agree(text);
  }
  const auto nested = [](std::size_t depth) {
    return R"({"type":"noop","payload":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
  };
  const auto nested_objects = [](std::size_t depth) {
    std::string text = R"({"type":"noop","payload":)";
    for (std::size_t i = 0; i < depth; ++i) text += R"({"a":)";
    return text + "1" + std::string(depth + 1, '}');
  };
  for (const std::size_t depth : {62, 63, 64}) {  // with the body's own object, 63 is the bound
    expect_readers_agree(nested(depth));
    expect_readers_agree(nested_objects(depth));
  }
  EXPECT_EQ(read_submit_body(nested_objects(63), limits).error_code, "");
  EXPECT_EQ(read_submit_body(nested_objects(64), limits).error_code, "invalid_json");
}

// The reader checks a payload's objects for a key twice without building them: the first keys
// compared in place, the rest looked up. Either way it must find what the reference finds.
TEST(SubmitBody, AgreesWithTheReferenceOnPayloadObjectsOfEverySizeAndRepeatedKeys) {
  const auto object_of = [](std::size_t keys, std::size_t repeat_at) {
    std::string text = "{";
    for (std::size_t i = 0; i < keys; ++i) {
      if (i > 0) text += ',';
      text += "\"k" + std::to_string(i == repeat_at ? 0 : i) + "\":" + std::to_string(i);
    }
    return text + "}";
  };
  const std::size_t none = 1000;
  for (const std::size_t keys : {1, 2, 15, 16, 17, 40}) {
    for (const std::size_t repeat_at : {none, std::size_t{1}, keys - 1}) {
      if (repeat_at != none && (repeat_at == 0 || repeat_at >= keys)) continue;
      const std::string payload = object_of(keys, repeat_at);
      const std::string body = R"({"type":"echo","payload":{"inner":)" + payload + "}}";
      expect_readers_agree(body);
      EXPECT_EQ(read_submit_body(body, limits).error_code, repeat_at == none ? "" : "invalid_json")
          << body;
    }
  }
}

// Every body one edit away from a set of well-formed ones: each character deleted, and each
// position given each of the characters that matter to the grammar, inserted or replacing.
TEST(SubmitBody, AgreesWithTheReferenceOnEveryBodyOneEditAway) {
  const std::vector<std::string> seeds = {
      R"({"type":"noop","payload":null,"priority":"normal"})",
      R"({"type":"sleep","payload":{"ms":10},"priority":"high","timeout_ms":250})",
      R"({"payload":[1,"a",{"b":true}],"timeout_ms":5,"type":"echo"})",
      R"({"type":"echo","payload":"text"})",
      R"({"type":"echo","payload":12,"payload":false})",
  };
  const std::string alphabet = "{}[]\":,\\ 0159-.eEntfaluhigpr\x01\x7f\xc3";
  std::size_t checked = 0;
  for (const std::string& seed : seeds) {
    expect_readers_agree(seed);
    for (std::size_t i = 0; i <= seed.size(); ++i) {
      if (i < seed.size()) {
        expect_readers_agree(seed.substr(0, i) + seed.substr(i + 1));
        ++checked;
      }
      for (const char c : alphabet) {
        expect_readers_agree(seed.substr(0, i) + c + seed.substr(i));
        if (i < seed.size()) expect_readers_agree(seed.substr(0, i) + c + seed.substr(i + 1));
        checked += 2;
      }
    }
  }
  EXPECT_GT(checked, 10'000U);
}

}  // namespace
}  // namespace jobd::server
