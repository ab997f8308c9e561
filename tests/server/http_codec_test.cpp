#include "server/http_codec.hpp"

#include <gtest/gtest.h>

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
  append_wire_response(out, r, 11, true, "req-1");
  EXPECT_EQ(out,
            "before|HTTP/1.1 503 Service Unavailable\r\nServer: jobd\r\n"
            "Content-Type: application/json\r\nX-Request-Id: req-1\r\nRetry-After: 7\r\n"
            "Content-Length: 3\r\n\r\n{}\n");
}

TEST(WireResponse, SaysWhenTheConnectionDoesNotDoWhatItsVersionImplies) {
  const http_response r = answer(200, "ok");
  auto wire = [&r](unsigned version, bool keep_alive) {
    std::string out;
    append_wire_response(out, r, version, keep_alive, "x");
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
  append_wire_response(out, answer(200, "twelve bytes"), 11, true, "x", true);
  EXPECT_NE(out.find("Content-Length: 12\r\n\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

}  // namespace
}  // namespace jobd::server
