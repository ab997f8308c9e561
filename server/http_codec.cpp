// Beast's parser is instantiated here. g++ 12 at -O2 with ASan then reports a boost::optional in
// it as maybe used uninitialised: GCC bug 80635, a known false positive for boost::optional.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "server/http_codec.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>

#include "server/app.hpp"

namespace jobd::server {

namespace beast = boost::beast;
namespace http = beast::http;

request_parser::request_parser(wire_request& into) : into_(into) {
  into_.method = http::verb::unknown;
  into_.method_text.clear();
  into_.target.clear();
  into_.version = 11;
  into_.keep_alive = true;
  into_.expect_continue = false;
  into_.request_id.clear();
  into_.authorization.clear();
  into_.body.clear();
}

void request_parser::on_request_impl(http::verb method, string_view method_text, string_view target,
                                     int version, beast::error_code&) {
  into_.method = method;
  into_.method_text.assign(method_text.data(), method_text.size());
  into_.target.assign(target.data(), target.size());
  into_.version = static_cast<unsigned>(version);
}

void request_parser::on_field_impl(http::field name, string_view name_text, string_view value,
                                   beast::error_code&) {
  // The first of each field counts, as with Beast's own message type.
  auto first = [value](std::string& into, bool& seen) {
    if (seen) return;
    seen = true;
    into.assign(value.data(), value.size());
  };
  switch (name) {
    case http::field::authorization:
      first(into_.authorization, seen_authorization_);
      break;
    case http::field::expect:
      if (!seen_expect_) into_.expect_continue = beast::iequals(value, "100-continue");
      seen_expect_ = true;
      break;
    case http::field::unknown:
      if (beast::iequals(name_text, "X-Request-Id")) first(into_.request_id, seen_request_id_);
      break;
    default:
      break;
  }
}

void request_parser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                       beast::error_code&) {
  // The parser has checked the length against the body limit already.
  if (content_length) into_.body.reserve(static_cast<std::size_t>(*content_length));
}

std::size_t request_parser::on_body_impl(string_view body, beast::error_code&) {
  into_.body.append(body.data(), body.size());
  return body.size();
}

std::size_t request_parser::on_chunk_body_impl(std::uint64_t, string_view body,
                                               beast::error_code&) {
  into_.body.append(body.data(), body.size());
  return body.size();
}

void request_parser::on_finish_impl(beast::error_code&) {
  into_.keep_alive = keep_alive();
}

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
  return {req.method_text, req.target, req.body, req.authorization};
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
