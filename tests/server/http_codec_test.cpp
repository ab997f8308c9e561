#include "server/http/http_codec.hpp"

#include <gtest/gtest.h>

#include "server/http/http_date.hpp"

namespace jobd::server {
namespace {

http_response answer(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(WireResponse, IsTheStatusLineHeadersAndBody) {
  http_response r = answer(503, "{}\n");
  r.headers.emplace_back("Retry-After", "7");
  std::string out = "before|";
  append_wire_response(out, r, 11, true, "req-1", "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(out,
            "before|HTTP/1.1 503 Service Unavailable\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Server: jobd\r\n"
            "Content-Type: application/json\r\nX-Request-Id: req-1\r\nRetry-After: 7\r\n"
            "Content-Length: 3\r\n\r\n{}\n");
}

TEST(WireResponse, SaysWhenTheConnectionDoesNotDoWhatItsVersionImplies) {
  const http_response r = answer(200, "ok");
  auto wire = [&r](unsigned version, bool keep_alive) {
    std::string out;
    append_wire_response(out, r, version, keep_alive, "x", "d");
    return out;
  };
  EXPECT_EQ(wire(11, true).find("Connection:"), std::string::npos);
  EXPECT_NE(wire(11, false).find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_EQ(wire(10, false).find("Connection:"), std::string::npos);
  EXPECT_NE(wire(10, true).find("\r\nConnection: keep-alive\r\n"), std::string::npos);
  EXPECT_EQ(wire(10, true).rfind("HTTP/1.0 200 OK\r\n", 0), 0U);
}

TEST(WireResponse, ToHeadHasTheLengthOfTheBodyButNotTheBody) {
  std::string out;
  append_wire_response(out, answer(200, "twelve bytes"), 11, true, "x", "d", true);
  EXPECT_NE(out.find("Content-Length: 12\r\n\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

// RFC 9110's own example, and the dates around a leap day and the turn of a century.
TEST(HttpDate, IsTheImfFixdateOfTheSecond) {
  http_date d;
  EXPECT_EQ(d.at(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(d.at(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
  EXPECT_EQ(d.at(946684799), "Fri, 31 Dec 1999 23:59:59 GMT");
  EXPECT_EQ(d.at(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(d.at(4102444800), "Fri, 01 Jan 2100 00:00:00 GMT");
}

// The target the routes see for a request line's target.
std::string parsed_target(const std::string& target) {
  wire_request req;
  request_parser parser(req);
  boost::beast::error_code ec;
  const std::string text = "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(feed(parser, text, ec), text.size());
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(parser.is_done());
  return req.target;
}

TEST(RequestParser, ServesATargetInAbsoluteFormAsItsPathAndQuery) {
  EXPECT_EQ(parsed_target("/v1/jobs?wait=true"), "/v1/jobs?wait=true");
  EXPECT_EQ(parsed_target("http://127.0.0.1:8080/v1/jobs?wait=true"), "/v1/jobs?wait=true");
  EXPECT_EQ(parsed_target("HTTPS://[::1]/healthz"), "/healthz");
  EXPECT_EQ(parsed_target("http://jobd.example"), "/");
  EXPECT_EQ(parsed_target("http://jobd.example?wait=true"), "/?wait=true");
  // Not an absolute form: left for the routes to refuse.
  EXPECT_EQ(parsed_target("http:/healthz"), "http:/healthz");
  EXPECT_EQ(parsed_target("ftp://x/healthz"), "ftp://x/healthz");
}

}  // namespace
}  // namespace jobd::server
