// Beast's parser is instantiated here. g++ 12 at -O2 with ASan then reports a boost::optional in
// it as maybe used uninitialised: GCC bug 80635, a known false positive for boost::optional.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "server/http_codec.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>

#include "server/app.hpp"

namespace jobd::server {

namespace beast = boost::beast;
namespace http = beast::http;

void apply_limits(request_parser& parser, const config::settings& s) {
  parser.header_limit(static_cast<std::uint32_t>(s.max_header_bytes));
  parser.body_limit(s.max_body_bytes);
  // Pipelined requests: the parser stops at the end of each message, never reads into the next.
  parser.eager(true);
}

std::size_t feed(request_parser& parser, std::string_view input, beast::error_code& ec) {
  std::size_t used = 0;
  while (!parser.is_done() && used < input.size()) {
    const std::size_t n =
        parser.put(boost::asio::buffer(input.data() + used, input.size() - used), ec);
    used += n;
    if (ec == http::error::need_more) {
      ec = {};
      break;
    }
    if (ec || n == 0) break;
  }
  return used;
}

beast::error_code end_of_input(request_parser* parser) {
  if (parser == nullptr || !parser->got_some()) return http::error::end_of_stream;
  beast::error_code ec;
  parser->put_eof(ec);
  return ec ? ec : beast::error_code(http::error::partial_message);
}

std::optional<http_response> answer_to_read_error(beast::error_code ec, const config::settings& s) {
  if (ec == http::error::header_limit) {
    return error_response(
        431, "header_too_large",
        "the request header block exceeds " + std::to_string(s.max_header_bytes) + " bytes");
  }
  if (ec == http::error::body_limit) {
    return error_response(
        413, "body_too_large",
        "the request body exceeds max_body_bytes (" + std::to_string(s.max_body_bytes) + ")");
  }
  // The end of the stream between requests is a goodbye, not a malformed request.
  if (ec == http::error::end_of_stream) return std::nullopt;
  // Every other error of Beast's HTTP category is a request that cannot be parsed.
  if (ec.category() == beast::error_code(http::error::bad_target).category()) {
    return error_response(400, "bad_request", "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

http_request to_route_request(const wire_request& req) {
  return {req.method_string(), req.target(), req.body(), req[http::field::authorization]};
}

void append_wire_response(std::string& out, const http_response& r, unsigned version,
                          bool keep_alive, std::string_view request_id, bool head) {
  auto header = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  };
  char number[24];
  auto decimal = [&number](std::size_t n) {
    const auto end = std::to_chars(number, number + sizeof number, n).ptr;
    return std::string_view(number, static_cast<std::size_t>(end - number));
  };
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ").append(decimal(r.status)).append(" ");
  out.append(http::obsolete_reason(static_cast<http::status>(r.status))).append("\r\n");
  header("Server", "jobd");
  header("Content-Type", r.content_type);
  header("X-Request-Id", request_id);
  for (const auto& [name, value] : r.headers) header(name, value);
  // HTTP/1.1 keeps a connection open unless told; HTTP/1.0 closes it unless told.
  if (version == 10 && keep_alive) header("Connection", "keep-alive");
  if (version != 10 && !keep_alive) header("Connection", "close");
  header("Content-Length", decimal(r.body.size()));
  out.append("\r\n");
  if (!head) out.append(r.body);
}

}  // namespace jobd::server
