// The hostile-input matrix: malformed HTTP and JSON sent over raw sockets. Each case gets a clear
// 4xx (or a closed connection where HTTP allows no answer), changes nothing, and the server goes
// on serving everyone else.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jobd_process.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

constexpr int closed = 0;  // expected "status" of a connection closed without an answer

struct hostile_case {
  const char* name;
  std::string bytes;
  int status;
  std::string error_code = "";  // the JSON error code, when one is expected
};

std::string post(const std::string& body, const std::string& target = "/v1/jobs") {
  return "POST " + target +
         " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         body;
}

std::string get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

std::string chunked(const std::string& chunks) {
  return "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks;
}

std::vector<hostile_case> cases() {
  const std::string big_header = "X-Filler: " + std::string(40'000, 'a') + "\r\n";
  // Beast's parser counts the header limit per read, so depending on how the bytes arrive it
  // refuses a block somewhere between 1x and 2x max_header_bytes (16 KiB): above 2x is certain.
  std::string many_headers;
  for (int i = 0; i < 4'000; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  return {
      // Request lines and methods.
      {"garbage request line", "GARBAGE\r\n\r\n", 400, "bad_request"},
      {"method only", "GET\r\n\r\n", 400, "bad_request"},
      {"HTTP/0.9 request", "GET /healthz\r\n\r\n", 400, "bad_request"},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "bad_request"},
      {"HTTP/2.0 version", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 400, "bad_request"},
      {"HTTP/1.2 version", "GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n", 400, "bad_request"},
      {"version garbage", "GET /healthz HTTP/x.y\r\nHost: x\r\n\r\n", 400, "bad_request"},
      {"unknown method", "BREW /v1/jobs HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"},
      {"lower-case method", "get /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"},
      {"known method a route does not take", "PUT /v1/jobs HTTP/1.1\r\nHost: x\r\n\r\n", 405,
       "method_not_allowed"},
      {"space in method", "GE T /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"},
      {"double space", "GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"},
      {"relative target", "GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", 404, "not_found"},
      {"NUL in method", std::string("G\0T /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 34), 400},
      {"NUL in target", std::string("GET /heal\0hz HTTP/1.1\r\nHost: x\r\n\r\n", 35), 400},
      {"control byte in target", "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"request line beyond the header limit", get("/" + std::string(40'000, 'a')), 431,
       "header_too_large"},
      // Headers.
      {"header without colon", "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", 400, "bad_request"},
      {"space before colon", "GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", 400, "bad_request"},
      // RFC 9112 5.2 lets a server replace obs-fold with spaces instead of refusing it.
      {"obsolete line folding", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 200},
      {"NUL in a header value",
       std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 45), 400},
      {"one header beyond the limit", "GET /healthz HTTP/1.1\r\nHost: x\r\n" + big_header + "\r\n",
       431, "header_too_large"},
      {"many headers beyond the limit",
       "GET /healthz HTTP/1.1\r\nHost: x\r\n" + many_headers + "\r\n", 431, "header_too_large"},
      // Host (RFC 9112 3.2).
      {"HTTP/1.1 without Host", "GET /healthz HTTP/1.1\r\n\r\n", 400, "bad_request"},
      {"HTTP/1.0 without Host", "GET /healthz HTTP/1.0\r\n\r\n", 200},
      {"two Host fields", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
       "bad_request"},
      {"Host with a space and a slash", "GET /healthz HTTP/1.1\r\nHost: a b/c\r\n\r\n", 400,
       "bad_request"},
      {"Host with user info", "GET /healthz HTTP/1.1\r\nHost: me@a\r\n\r\n", 400, "bad_request"},
      {"Host with a port that is not a number", "GET /healthz HTTP/1.1\r\nHost: a:b\r\n\r\n", 400,
       "bad_request"},
      {"empty Host", "GET /healthz HTTP/1.1\r\nHost:\r\n\r\n", 200},
      {"Host with a port", "GET /healthz HTTP/1.1\r\nHost: jobd.example:8080\r\n\r\n", 200},
      {"Host as an IPv6 literal", "GET /healthz HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 200},
      {"Host as an IPv6 literal with a zone id",
       "GET /healthz HTTP/1.1\r\nHost: [fe80::1%25eth0]:8080\r\n\r\n", 200},
      // As jobd --probe sends it when jobd listens on a scoped address.
      {"Host as an IPv6 literal with a raw zone id",
       "GET /healthz HTTP/1.1\r\nHost: [fe80::1%eth0]:8080\r\n\r\n", 200},
      {"Host as a bad IPv6 literal", "GET /healthz HTTP/1.1\r\nHost: [::1:8080\r\n\r\n", 400,
       "bad_request"},
      // Body framing.
      {"Content-Length with Transfer-Encoding",
       "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n",
       400, "bad_request"},
      {"two different Content-Lengths",
       "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x",
       400, "bad_request"},
      {"negative Content-Length", "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
       400, "bad_request"},
      {"overflowing Content-Length",
       "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400,
       "bad_request"},
      {"non-numeric Content-Length",
       "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 1a\r\n\r\n", 400, "bad_request"},
      {"body beyond the limit, announced",
       "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n{", 413,
       "body_too_large"},
      {"bad chunk size", chunked("zz\r\nabc\r\n0\r\n\r\n"), 400, "bad_request"},
      {"overflowing chunk size", chunked("fffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"), 400},
      {"chunks beyond the body limit", chunked("1FFFFF\r\n" + std::string(0x1FFFFF, 'a')), 413,
       "body_too_large"},
      {"chunk without its CRLF", chunked("3\r\nabcXY0\r\n\r\n"), 400, "bad_request"},
      // A request whose last transfer coding is not chunked has no knowable length.
      {"unknown transfer coding",
       "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "bad_request"},
      {"unknown transfer coding with Content-Length",
       "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: "
       "15\r\n\r\n{\"type\":\"noop\"}",
       400, "bad_request"},
      {"identity transfer coding",
       "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", 400,
       "bad_request"},
      {"chunked, then another coding",
       "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
       "0\r\n\r\n",
       400, "bad_request"},
      {"a coding before chunked",
       "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
       "0\r\n\r\n",
       501, "not_implemented"},
      {"chunked twice",
       "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"
       "0\r\n\r\n",
       400, "bad_request"},
      // JSON bodies.
      {"not JSON", post("hello"), 400, "invalid_json"},
      {"empty body", post(""), 400, "invalid_json"},
      {"JSON nested 65 deep",
       post(R"({"type":"echo","payload":)" + std::string(65, '[') + std::string(65, ']') + "}"),
       400, "invalid_json"},
      {"JSON nested 100000 deep", post(std::string(100'000, '[')), 400, "invalid_json"},
      {"invalid UTF-8 in a string", post("{\"type\":\"echo\",\"payload\":\"\xff\xfe\"}"), 400,
       "invalid_json"},
      {"overlong UTF-8 encoding", post("{\"type\":\"echo\",\"payload\":\"\xc0\xaf\"}"), 400,
       "invalid_json"},
      {"lone surrogate escape", post(R"({"type":"echo","payload":"\ud800"})"), 400, "invalid_json"},
      {"number overflow", post(R"({"type":"noop","timeout_ms":1e400})"), 400, "invalid_json"},
      {"integer beyond 64 bits", post(R"({"type":"noop","timeout_ms":99999999999999999999999})"),
       400, "invalid_field"},
      {"NaN", post(R"({"type":"noop","timeout_ms":NaN})"), 400, "invalid_json"},
      {"Infinity", post(R"({"type":"noop","timeout_ms":Infinity})"), 400, "invalid_json"},
      {"trailing garbage", post(R"({"type":"noop"} x)"), 400, "invalid_json"},
      {"two documents", post(R"({"type":"noop"}{"type":"noop"})"), 400, "invalid_json"},
      {"duplicate keys", post(R"({"type":"noop","type":"sleep"})"), 400, "invalid_json"},
      {"duplicate keys in the payload", post(R"({"type":"echo","payload":{"a":1,"b":2,"a":3}})"),
       400, "invalid_json"},
      // Linear time: a parser that rescans containers per object would hold the I/O thread
      // for minutes on this (~900 KB, 300,000 objects) and the answer would never come.
      {"many small objects, then a duplicate key",
       post(R"({"type":"echo","payload":[)" +
            [] {
              std::string objects;
              for (int i = 0; i < 300'000; ++i) objects += "{},";
              return objects;
            }() +
            R"({"a":1,"a":2}]})"),
       400, "invalid_json"},
      {"body is an array", post(R"([{"type":"noop"}])"), 400, "invalid_field"},
      {"body is a string", post(R"("noop")"), 400, "invalid_field"},
      {"type is a number", post(R"({"type":5})"), 400, "invalid_field"},
      {"type missing", post(R"({"payload":{}})"), 400, "invalid_field"},
      {"unknown type", post(R"({"type":"rm -rf /"})"), 400, "unknown_type"},
      {"priority unknown", post(R"({"type":"noop","priority":"urgent"})"), 400, "invalid_field"},
      {"priority a number", post(R"({"type":"noop","priority":1})"), 400, "invalid_field"},
      {"timeout_ms a string", post(R"({"type":"noop","timeout_ms":"100"})"), 400, "invalid_field"},
      {"timeout_ms negative", post(R"({"type":"noop","timeout_ms":-1})"), 400, "invalid_field"},
      {"timeout_ms fractional", post(R"({"type":"noop","timeout_ms":1.5})"), 400, "invalid_field"},
      {"unknown field", post(R"({"type":"noop","command":"/bin/sh"})"), 400, "invalid_field"},
      {"sleep payload of the wrong type", post(R"({"type":"sleep","payload":{"ms":"10"}})"), 400},
      // Query strings and paths.
      {"wait not a number", post(R"({"type":"noop"})", "/v1/jobs?wait=soon"), 400, "invalid_field"},
      {"wait overflowing", post(R"({"type":"noop"})", "/v1/jobs?wait=1e999"), 400, "invalid_field"},
      {"bad %-escape", post(R"({"type":"noop"})", "/v1/jobs?wait=%zz"), 400, "invalid_field"},
      {"escaped NUL in a job id", get("/v1/jobs/%00"), 404},
      {"very long job id", get("/v1/jobs/" + std::string(8'000, 'a')), 404},
      {"dot segments", get("/v1/jobs/../../etc/passwd"), 404, "not_found"},
      // The absolute form a proxy sends: served as its path (RFC 9112 says servers accept it).
      {"target in absolute form", get("http://127.0.0.1/healthz"), 200},
      {"absolute form of another scheme", get("ftp://127.0.0.1/healthz"), 404},
  };
}

TEST(HostileInput, EveryCaseGetsAClearAnswerAndChangesNothing) {
  jobd_process server({"--workers", "2"});
  const auto all = cases();
  ASSERT_GE(all.size(), 40u);
  for (const hostile_case& c : all) {
    SCOPED_TRACE(c.name);
    http_client attacker(server.port(), 10);
    attacker.send_raw(c.bytes);
    const auto reply = attacker.read_reply();
    if (c.status == closed) {
      EXPECT_FALSE(reply) << "answered " << reply->status;
    } else {
      ASSERT_TRUE(reply) << "no answer";
      EXPECT_EQ(reply->status, c.status) << reply->body;
      if (!c.error_code.empty()) {
        EXPECT_EQ(reply->json()["error"]["code"], c.error_code) << reply->body;
      }
      if (reply->status >= 400) {
        EXPECT_FALSE(reply->json()["error"]["message"].get<std::string>().empty());
      }
    }
    // Everyone else is still served.
    http_client bystander(server.port());
    EXPECT_EQ(bystander.get("/healthz").status, 200);
  }
  // Nothing hostile became a job.
  http_client c(server.port());
  const nlohmann::json pool = c.get("/v1/pool").json();
  EXPECT_EQ(pool["lanes"]["normal"]["submitted"], 0);
  EXPECT_EQ(pool["lanes"]["high"]["submitted"], 0);
  EXPECT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"noop"})").status, 200);
}

// After a framing error the connection cannot be trusted: it is closed after the answer, and
// a request pipelined behind the bad one is never run.
TEST(HostileInput, AFramingErrorClosesTheConnection) {
  jobd_process server({});
  http_client c(server.port(), 10);
  c.send_raw("POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 1a\r\n\r\n" +
             post(R"({"type":"noop"})"));
  const auto reply = c.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(reply->header("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
  http_client other(server.port());
  EXPECT_EQ(other.get("/v1/pool").json()["lanes"]["normal"]["submitted"], 0);
}

// A body that Beast would not read as a body (no chunked coding last) must not be read as the
// next request either: the request is refused, the connection closed, and nothing runs.
TEST(HostileInput, ABodyOfUnknownLengthIsNeverReadAsTheNextRequest) {
  jobd_process server({});
  http_client c(server.port(), 10);
  c.send_raw("POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" +
             post(R"({"type":"echo","payload":"smuggled"})"));
  const auto reply = c.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(reply->json()["error"]["code"], "bad_request");
  EXPECT_EQ(reply->header("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
  http_client other(server.port());
  EXPECT_EQ(other.get("/v1/pool").json()["lanes"]["normal"]["submitted"], 0);
}

}  // namespace
}  // namespace jobd::testing
