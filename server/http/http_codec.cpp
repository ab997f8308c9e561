// Beast's parser is instantiated here. g++ 12 at -O2 with ASan then reports a boost::optional in
// it as maybe used uninitialised: GCC bug 80635, a known false positive for boost::optional.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "server/http/http_codec.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <cstring>
#include <iterator>
#include <optional>

namespace jobd::server {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// A target in absolute form (RFC 9112, 3.2.2: "http://host:port/path?query", as a client sends
// it to a proxy) is served as its path and query, which servers must accept. Returns the
// position of the path (or of a query after an empty path) in `target`, or nothing.
std::optional<std::size_t> absolute_form_path(std::string_view target) {
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (target.size() > scheme.size() && beast::iequals(target.substr(0, scheme.size()), scheme)) {
      return std::min(target.find_first_of("/?", scheme.size()), target.size());
    }
  }
  return std::nullopt;
}

// The bytes a part of Host may hold, as a table: the check runs on every request, and a chain
// of character tests per byte cost a 503 about a tenth more instructions.
struct char_set {
  constexpr explicit char_set(std::string_view extra) {
    for (unsigned c = 0; c < 128; ++c) {
      in[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
    for (const char c : extra) in[static_cast<unsigned char>(c)] = true;
  }
  constexpr bool all(std::string_view s) const {
    return std::all_of(s.begin(), s.end(),
                       [this](char c) { return in[static_cast<unsigned char>(c)]; });
  }
  bool in[256] = {};
};
constexpr char_set reg_name_chars("-._~!$&'()*+,;=%");
constexpr char_set ip_literal_chars(":.%-_~");

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// RFC 9112 3.2: uri-host [":" port], where uri-host is an IP literal in brackets, an IPv4
// address or a reg-name (unreserved, percent-encoded and sub-delims characters). Empty is
// allowed: it says the target has no authority. A literal may carry a zone id (RFC 6874,
// "[fe80::1%25eth0]"), and jobd's own --probe sends it unencoded ("[fe80::1%eth0]").
bool valid_host(std::string_view v) {
  if (v.starts_with('[')) {
    const std::size_t close = v.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view literal = v.substr(1, close - 1);
    if (literal.empty() || !ip_literal_chars.all(literal)) return false;
    v.remove_prefix(close + 1);
    if (v.empty()) return true;
    return v.front() == ':' && all_digits(v.substr(1));
  }
  // One pass: the name's characters up to a colon, digits after it.
  std::size_t i = 0;
  for (; i < v.size() && v[i] != ':'; ++i) {
    if (!reg_name_chars.in[static_cast<unsigned char>(v[i])]) return false;
  }
  return i == v.size() || all_digits(v.substr(i + 1));
}

// Whether a Transfer-Encoding value names a coding other than chunked.
bool names_other_coding(std::string_view value) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view coding = value.substr(0, comma);
    coding = coding.substr(0, coding.find(';'));  // a coding's parameters
    while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t'))
      coding.remove_prefix(1);
    while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
      coding.remove_suffix(1);
    if (!coding.empty() && !beast::iequals(coding, "chunked")) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

class request_error_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "jobd.request"; }
  std::string message(int e) const override {
    switch (static_cast<request_error>(e)) {
      case request_error::host_missing:
        return "an HTTP/1.1 request needs a Host field";
      case request_error::host_repeated:
        return "more than one Host field";
      case request_error::host_invalid:
        return "the Host field is not host[:port]";
      case request_error::coding_not_implemented:
        return "a transfer coding other than chunked";
    }
    return "bad request";
  }
};

}  // namespace

const boost::system::error_category& request_error_category() noexcept {
  static const request_error_category_impl category;
  return category;
}

request_parser::request_parser(wire_request& into) : into_(into) {
  into_.method = http::verb::unknown;
  into_.method_text.clear();
  into_.target.clear();
  into_.version = 11;
  into_.keep_alive = true;
  into_.expect_continue = false;
  into_.request_id.clear();
  into_.authorization.clear();
  into_.idempotency_key.reset();
  into_.accepts_html = false;
  into_.body.clear();
}

void request_parser::on_request_impl(http::verb method, string_view method_text, string_view target,
                                     int version, beast::error_code&) {
  into_.method = method;
  into_.method_text.assign(method_text.data(), method_text.size());
  const std::string_view sent(target.data(), target.size());
  if (const auto path = absolute_form_path(sent)) {
    const std::string_view rest = sent.substr(*path);
    into_.target.clear();
    if (!rest.starts_with('/')) into_.target.push_back('/');  // the path is empty: "/"
    into_.target.append(rest);
  } else {
    into_.target.assign(sent);
  }
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
    case http::field::transfer_encoding:
      seen_transfer_encoding_ = true;
      other_coding_ = other_coding_ || names_other_coding(value);
      break;
    case http::field::accept:
      into_.accepts_html =
          into_.accepts_html ||
          std::string_view(value.data(), value.size()).find("text/html") != std::string_view::npos;
      break;
    case http::field::host:
      ++hosts_;
      host_valid_ = host_valid_ && valid_host(value);
      break;
    case http::field::unknown:
      if (beast::iequals(name_text, "X-Request-Id")) {
        first(into_.request_id, seen_request_id_);
      } else if (beast::iequals(name_text, "Idempotency-Key") && !into_.idempotency_key) {
        into_.idempotency_key.emplace(value.data(), value.size());
      }
      break;
    default:
      break;
  }
}

void request_parser::on_header_impl(beast::error_code& ec) {
  // A request's length is unknowable when its last transfer coding is not chunked (RFC 9112,
  // 6.3). Beast then reads no body, or a Content-Length one, so the body would be parsed as the
  // next request: a way to slip requests past a proxy that frames them otherwise.
  if (seen_transfer_encoding_ && !chunked()) {
    ec = http::error::bad_transfer_encoding;
  } else if (into_.version >= 11 && hosts_ == 0) {
    ec = request_error::host_missing;
  } else if (hosts_ > 1) {
    ec = request_error::host_repeated;
  } else if (!host_valid_) {
    ec = request_error::host_invalid;
  } else if (other_coding_) {
    // Chunked last, so the length is known; the coding before it (gzip, say) is not done here.
    ec = request_error::coding_not_implemented;
  }
}

void request_parser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                       beast::error_code&) {
  // The parser has checked the length against the body limit already.
  if (content_length) {
    declared_length_ = *content_length;
    into_.body.reserve(static_cast<std::size_t>(*content_length));
  }
}

std::size_t request_parser::on_body_impl(string_view body, beast::error_code&) {
  into_.body.append(body.data(), body.size());
  return body.size();
}

std::size_t request_parser::on_chunk_body_impl(std::uint64_t, string_view body,
                                               beast::error_code& ec) {
  return on_body_impl(body, ec);
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
  if (ec.category() == request_error_category()) {
    switch (static_cast<request_error>(ec.value())) {
      case request_error::coding_not_implemented:
        return error_response(501, "not_implemented",
                              "transfer coding not supported: only chunked is (send the body "
                              "without another coding)");
      default:
        return error_response(400, "bad_request", "malformed HTTP request: " + ec.message());
    }
  }
  // The end of the stream between requests is a goodbye, not a malformed request.
  if (ec == http::error::end_of_stream) return std::nullopt;
  // Beast's "bad value" does not say what is wrong with it; RFC 9110 allows only visible
  // characters, spaces and tabs in a field's value.
  if (ec == http::error::bad_value) {
    return error_response(400, "bad_request",
                          "malformed HTTP request: a header's value holds a control character "
                          "(only visible characters, spaces and tabs may appear in one)");
  }
  // Every other error of Beast's HTTP category is a request that cannot be parsed.
  if (ec.category() == beast::error_code(http::error::bad_target).category()) {
    return error_response(400, "bad_request", "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

http_request to_route_request(const wire_request& req) {
  return {
      req.method_text,
      req.target,
      req.body,
      req.authorization,
      req.idempotency_key ? std::optional<std::string_view>(*req.idempotency_key) : std::nullopt,
      req.accepts_html};
}

void append_stream_header(std::string& out, const http_response& r, std::string_view request_id,
                          std::string_view date) {
  char status[16];
  const auto end = std::to_chars(std::begin(status), std::end(status), r.status).ptr;
  out.append("HTTP/1.1 ")
      .append(status, end)
      .append(" ")
      .append(http::obsolete_reason(static_cast<http::status>(r.status)))
      .append("\r\nDate: ")
      .append(date)
      .append("\r\nServer: jobd\r\nContent-Type: ")
      .append(r.content_type)
      .append("\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\nX-Request-Id: ")
      .append(request_id)
      .append("\r\nConnection: close\r\n\r\n");
}

void append_wire_response(std::string& out, const http_response& r, unsigned version,
                          bool keep_alive, std::string_view request_id, std::string_view date,
                          bool head) {
  using namespace std::string_view_literals;
  auto decimal = [](auto& digits, auto n) {
    return std::string_view(digits, std::to_chars(std::begin(digits), std::end(digits), n).ptr);
  };
  char status[16];
  const std::string_view status_text = decimal(status, r.status);
  char length[24];
  const std::string_view length_text = decimal(length, r.body.size());
  const std::string_view reason = http::obsolete_reason(static_cast<http::status>(r.status));
  // HTTP/1.1 keeps a connection open unless told; HTTP/1.0 closes it unless told.
  const std::string_view connection = version == 10
                                          ? (keep_alive ? "Connection: keep-alive\r\n"sv : ""sv)
                                          : (keep_alive ? ""sv : "Connection: close\r\n"sv);
  const std::string_view body = head ? ""sv : std::string_view(r.body);

  // Measured first and written in place: one size check for the whole answer.
  constexpr std::string_view date_field = "\r\nDate: "sv;
  constexpr std::string_view server = "\r\nServer: jobd\r\nContent-Type: "sv;
  constexpr std::string_view id_field = "\r\nX-Request-Id: "sv;
  constexpr std::string_view length_field = "Content-Length: "sv;
  std::size_t size = "HTTP/1.1 "sv.size() + status_text.size() + 1 + reason.size() +
                     date_field.size() + date.size() + server.size() + r.content_type.size() +
                     id_field.size() + request_id.size() + 2 + connection.size() +
                     length_field.size() + length_text.size() + 4 + body.size();
  for (const auto& [name, value] : r.headers) size += name.size() + 2 + value.size() + 2;
  const std::size_t at = out.size();
  out.resize(at + size);
  char* p = out.data() + at;
  auto put = [&p](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  put(version == 10 ? "HTTP/1.0 "sv : "HTTP/1.1 "sv);
  put(status_text);
  put(" "sv);
  put(reason);
  put(date_field);
  put(date);
  put(server);
  put(r.content_type);
  put(id_field);
  put(request_id);
  put("\r\n"sv);
  for (const auto& [name, value] : r.headers) {
    put(name);
    put(": "sv);
    put(value);
    put("\r\n"sv);
  }
  put(connection);
  put(length_field);
  put(length_text);
  put("\r\n\r\n"sv);
  put(body);
}

}  // namespace jobd::server
