#include "server/http_codec.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include "server/app.hpp"

namespace jobd::server {

namespace beast = boost::beast;
namespace http = beast::http;

void apply_limits(request_parser& parser, const config::settings& s) {
  parser.header_limit(static_cast<std::uint32_t>(s.max_header_bytes));
  parser.body_limit(s.max_body_bytes);
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

http_request to_route_request(wire_request& req, std::string request_id) {
  return {std::string(req.method_string()), std::string(req.target()), std::move(req.body()),
          std::move(request_id), std::string(req[http::field::authorization])};
}

wire_response to_wire_response(http_response& r, unsigned version, bool keep_alive,
                               const std::string& request_id) {
  wire_response w(static_cast<http::status>(r.status), version);
  w.set(http::field::server, "jobd");
  w.set(http::field::content_type, r.content_type);
  w.set("X-Request-Id", request_id);
  for (const auto& [name, value] : r.headers) w.set(name, value);
  w.keep_alive(keep_alive);
  w.body() = std::move(r.body);
  w.prepare_payload();
  return w;
}

}  // namespace jobd::server
