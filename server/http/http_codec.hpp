#pragma once

// Between Beast's parser and the routes' plain request and response: one place for what the
// session and the HTTP fuzz target both need, so that the fuzzer drives the real path.

#include <algorithm>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "config/settings.hpp"
#include "server/http/http_types.hpp"

namespace jobd::server {

// Requests that Beast's parser takes but HTTP/1.1 does not (RFC 9112), as error codes of their
// own: answer_to_read_error() words each.
enum class request_error {
  host_missing = 1,        // an HTTP/1.1 request without Host (3.2)
  host_repeated,           // more than one Host field (3.2)
  host_invalid,            // a Host value that is not host[:port] (3.2)
  coding_not_implemented,  // a transfer coding before chunked, such as gzip (6.1)
};
const boost::system::error_category& request_error_category() noexcept;
inline boost::system::error_code make_error_code(request_error e) noexcept {
  return {static_cast<int>(e), request_error_category()};
}

// What the server reads of a request; every other header field is parsed and dropped. A
// session keeps one and reuses it, so that its strings keep their capacity from one request to
// the next.
struct wire_request {
  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  std::string method_text;
  std::string target;
  unsigned version = 11;
  bool keep_alive = true;                      // known once the request is complete
  bool expect_continue = false;                // "Expect: 100-continue"
  std::string request_id;                      // the first X-Request-Id, as sent; "" when none
  std::string authorization;                   // the first Authorization field; "" when none
  std::optional<std::string> idempotency_key;  // the first Idempotency-Key field, if any
  bool accepts_html = false;                   // an Accept field names text/html (a browser)
  std::string body;
};

// Beast's HTTP/1 request parser, writing into a wire_request (which it clears first). Like any
// Beast parser it reads one message and is then done with.
class request_parser final : public boost::beast::http::basic_parser<true> {
 public:
  explicit request_parser(wire_request& into);

  // Body bytes still to come, once the header is read: what has not arrived of a Content-Length,
  // or no bound when the length is not given (chunked). Counted here rather than taken from
  // Beast's content_length_remaining(), whose boost::optional g++ 12 reports as maybe
  // uninitialized in the ASan build.
  [[nodiscard]] std::uint64_t body_remaining() const noexcept {
    return declared_length_ - std::min<std::uint64_t>(declared_length_, into_.body.size());
  }

 private:
  using string_view = boost::beast::string_view;
  void on_request_impl(boost::beast::http::verb method, string_view method_text, string_view target,
                       int version, boost::beast::error_code& ec) override;
  void on_response_impl(int, string_view, int, boost::beast::error_code&) override {}
  void on_field_impl(boost::beast::http::field name, string_view name_text, string_view value,
                     boost::beast::error_code& ec) override;
  void on_header_impl(boost::beast::error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         boost::beast::error_code& ec) override;
  std::size_t on_body_impl(string_view body, boost::beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, string_view, boost::beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body,
                                 boost::beast::error_code& ec) override;
  void on_finish_impl(boost::beast::error_code& ec) override;

  wire_request& into_;
  std::uint64_t declared_length_ = UINT64_MAX;
  bool seen_authorization_ = false;
  bool seen_expect_ = false;
  bool seen_request_id_ = false;
  bool seen_transfer_encoding_ = false;
  bool other_coding_ = false;  // a transfer coding other than chunked was named
  unsigned hosts_ = 0;
  bool host_valid_ = true;
};

// A parser with the settings' header and body limits.
void apply_limits(request_parser& parser, const config::settings& s);

// Gives `input` to the parser, as much of it as the parser takes, and returns the bytes used.
// Afterwards the parser is done, or `ec` holds why the request cannot be parsed, or it needs
// more bytes than `input` had (what it did not use must be offered again, with more after it).
std::size_t feed(request_parser& parser, std::string_view input, boost::beast::error_code& ec);

// The peer ended its stream: end_of_stream between requests, partial_message inside one.
boost::beast::error_code end_of_input(request_parser* parser);

// How a read that failed is answered: an error response (the connection closes after it), or
// nullopt when there is nothing to answer (the peer closed, went silent, or the socket failed).
std::optional<http_response> answer_to_read_error(boost::beast::error_code ec,
                                                  const config::settings& s);

// The routes' view of a parsed request, valid as long as `req` is not changed.
http_request to_route_request(const wire_request& req);

// Appends the wire form of a route's answer (status line, headers, body) to `out`; `date` is
// the Date field's value (http_date). An answer to HEAD has the headers of the answer to GET,
// Content-Length included, and no body.
void append_wire_response(std::string& out, const http_response& r, unsigned version,
                          bool keep_alive, std::string_view request_id, std::string_view date,
                          bool head = false);

// The header of a streamed answer (`r.stream`): no length, no caching, no proxy buffering, and
// the connection closes when the stream ends.
void append_stream_header(std::string& out, const http_response& r, std::string_view request_id,
                          std::string_view date);

}  // namespace jobd::server

template <>
struct boost::system::is_error_code_enum<jobd::server::request_error> : std::true_type {};
