#include "server/http/probe.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <optional>

namespace jobd::server {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct request_target {
  std::string host;
  std::string port;
  std::string path;
};

std::optional<request_target> parse_url(std::string_view url) {
  url.remove_prefix(std::string_view("http://").size());
  const auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  request_target t{"", "80",
                   slash == std::string_view::npos ? "/" : std::string(url.substr(slash))};
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    t.host = authority.substr(1, close - 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    t.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (!port.empty()) t.port = port;
  if (t.host.empty() || t.port.empty() ||
      t.port.find_first_not_of("0123456789") != std::string::npos || t.port.size() > 5 ||
      std::stoul(t.port) > 65535) {
    return std::nullopt;
  }
  return t;
}

request_target at_listen_address(const std::string& path, const config::settings& s) {
  std::string host = s.listen_host;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  return {host, std::to_string(s.listen_port), path};
}

}  // namespace

probe_outcome probe(const std::string& target, const config::settings& s,
                    std::chrono::milliseconds timeout) {
  std::optional<request_target> t;
  if (target.starts_with("http://")) {
    t = parse_url(target);
  } else if (target.starts_with("/")) {
    t = at_listen_address(target, s);
  }
  if (!t) return {false, "not a path or an http://HOST[:PORT]/PATH URL: " + target};

  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::request<http::empty_body> request{http::verb::get, t->path, 11};
  request.set(http::field::host, t->host.find(':') == std::string::npos
                                     ? t->host + ":" + t->port
                                     : "[" + t->host + "]:" + t->port);
  request.set(http::field::user_agent, "jobd-probe");
  // With auth_healthz (or the others) closed, the probe is a client like any other.
  if (!s.auth_tokens.empty()) request.set(http::field::authorization, "Bearer " + s.auth_tokens[0]);
  request.keep_alive(false);
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  probe_outcome out;
  auto failed = [&](const char* step, beast::error_code ec) {
    out.detail = std::string(step) + ": " + ec.message();
  };

  // One deadline for the whole exchange: the stream's timer also bounds connect and both I/Os.
  stream.expires_after(timeout);
  auto exchange = [&](beast::error_code connected) {
    if (connected) return failed("connect", connected);
    http::async_write(stream, request, [&](beast::error_code sent, std::size_t) {
      if (sent) return failed("send", sent);
      http::async_read(stream, buffer, parser, [&](beast::error_code received, std::size_t) {
        if (received) return failed("read", received);
        const auto& response = parser.get();
        out.detail = std::to_string(response.result_int()) + " " + std::string(response.reason());
        out.healthy = response.result_int() / 100 == 2;
      });
    });
  };
  // A literal address needs no lookup; a name does, and a lookup has no deadline of its own, so
  // names are for URLs a person typed, not for health checks.
  beast::error_code not_literal;
  const auto address = asio::ip::make_address(t->host, not_literal);
  const auto port = static_cast<std::uint16_t>(std::stoul(t->port));
  if (!not_literal) {
    stream.async_connect(tcp::endpoint(address, port), exchange);
  } else {
    resolver.async_resolve(
        t->host, t->port, [&](beast::error_code resolved, tcp::resolver::results_type r) {
          if (resolved) return failed("resolve", resolved);
          stream.async_connect(
              r, [&](beast::error_code connected, const tcp::endpoint&) { exchange(connected); });
        });
  }
  io.run_for(timeout);
  if (out.detail.empty())
    out.detail = "no answer within " + std::to_string(timeout.count()) + " ms";
  return out;
}

}  // namespace jobd::server
