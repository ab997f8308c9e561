#include "server/http_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>

namespace jobd::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

// What the idle wait reads at once: a typical request whole, so that parsing it needs no
// further read.
constexpr std::size_t first_read_bytes = 1024;

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
  });
}

}  // namespace

http_session::http_session(net::ip::tcp::socket&& socket, session_context& ctx)
    : stream_(std::move(socket)), idle_timer_(stream_.get_executor()), ctx_(ctx) {
  ctx_.stats.connection_opened();
}

http_session::~http_session() {
  ctx_.unanswered.fetch_sub(slots_.size());
  ctx_.stats.connection_closed();
}

void http_session::run() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void http_session::do_read() {
  if (reading_ || read_closed_ || closed_ || slots_.size() >= ctx_.settings.pipeline_limit) return;
  reading_ = true;
  // A pipelined request already in the buffer has begun; otherwise the connection is idle
  // until a first byte arrives. Beast's parser cannot tell that moment (it waits for a whole
  // header block), so the idle wait is a plain read of its own: the read timeout must start at
  // the first byte, or a client trickling its header would be bounded by the idle timeout only.
  if (buffer_.size() > 0) return read_request();
  // No deadline on this read itself: while answers are owed, a client may rightly stay silent
  // for as long as its jobs run. The keep-alive timer bounds the idle time once nothing is owed.
  stream_.expires_never();
  awaiting_first_byte_ = true;
  arm_idle_timer();
  stream_.async_read_some(
      buffer_.prepare(first_read_bytes),
      beast::bind_front_handler(&http_session::on_first_bytes, shared_from_this()));
}

void http_session::arm_idle_timer() {
  if (!awaiting_first_byte_ || !slots_.empty() || closed_) return;
  idle_timer_.expires_after(ctx_.settings.keepalive_timeout);
  idle_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    // Re-armed or cancelled meanwhile: operation_aborted. Still idle with nothing owed: close.
    if (!ec && self->awaiting_first_byte_ && self->slots_.empty()) self->close();
  });
}

void http_session::on_first_bytes(beast::error_code ec, std::size_t bytes) {
  awaiting_first_byte_ = false;
  idle_timer_.cancel();
  buffer_.commit(bytes);
  if (ec) return on_read(ec, 0);
  read_request();
}

void http_session::read_request() {
  parser_.emplace();
  apply_limits(*parser_, ctx_.settings);
  stream_.expires_after(ctx_.settings.read_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  reading_ = false;
  if (ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout) {
    // The client is done (or silent too long): finish what was asked, then close.
    read_closed_ = true;
    if (slots_.empty()) close();
    return;
  }
  if (ec) {
    if (auto answer = answer_to_read_error(ec, ctx_.settings)) return fail_request(*answer);
    return close();
  }
  dispatch(parser_->release());
  do_read();
}

std::string http_session::request_id_for(const request& req) {
  if (auto it = req.find("X-Request-Id"); it != req.end() && valid_request_id(it->value())) {
    return std::string(it->value());
  }
  const std::uint64_t n = ctx_.next_request_id.fetch_add(1, std::memory_order_relaxed);
  char buf[24];
  std::snprintf(
      buf, sizeof buf, "%016llx",
      static_cast<unsigned long long>(ctx_.request_id_salt ^ (n * 0x9e3779b97f4a7c15ULL)));
  return buf;
}

void http_session::dispatch(request&& req) {
  slot s;
  s.seq = next_seq_++;
  s.keep_alive = req.keep_alive();
  s.version = req.version();
  s.request_id = request_id_for(req);
  s.method = std::string(req.method_string());
  s.target = std::string(req.target());
  s.start = std::chrono::steady_clock::now();
  http_request r = to_route_request(req, s.request_id);
  const std::uint64_t seq = s.seq;
  slots_.push_back(std::move(s));
  ctx_.unanswered.fetch_add(1);
  ctx_.routes.handle(std::move(r), [self = shared_from_this(), seq](http_response res) {
    // Inline when already on this session's strand, posted to it from any other thread.
    net::dispatch(self->stream_.get_executor(), [self, seq, res = std::move(res)]() mutable {
      self->on_response(seq, std::move(res));
    });
  });
}

void http_session::fail_request(http_response answer) {
  // The stream cannot be parsed past this point: answer, then close.
  read_closed_ = true;
  slot s;
  s.seq = next_seq_++;
  s.keep_alive = false;
  s.request_id = request_id_for(request{});
  s.method = "-";
  s.target = "-";
  s.start = std::chrono::steady_clock::now();
  s.res = std::move(answer);
  slots_.push_back(std::move(s));
  ctx_.unanswered.fetch_add(1);
  do_write();
}

void http_session::on_response(std::uint64_t seq, http_response res) {
  if (closed_ || slots_.empty()) return;
  const std::uint64_t index = seq - slots_.front().seq;
  if (index >= slots_.size() || slots_[index].res) return;
  slots_[index].res = std::move(res);
  do_write();
}

void http_session::do_write() {
  if (writing_ || closed_ || slots_.empty() || !slots_.front().res) return;
  slot& s = slots_.front();
  http_response& r = *s.res;
  // The last answer of a connection whose reading has stopped says so.
  const bool keep_alive = s.keep_alive && !(read_closed_ && slots_.size() == 1);
  writing_ = std::make_shared<response>(to_wire_response(r, s.version, keep_alive, s.request_id));

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - s.start).count();
  ctx_.stats.observe_request(r.route, r.status, seconds);
  if (ctx_.settings.access_log) {
    spdlog::info("access request_id={} method={} target={} route={} status={} duration_ms={:.3f}",
                 s.request_id, s.method, s.target, r.route, r.status, seconds * 1000.0);
  }
  stream_.expires_after(ctx_.settings.read_timeout);
  http::async_write(stream_, *writing_,
                    beast::bind_front_handler(&http_session::on_write, shared_from_this(),
                                              writing_->keep_alive()));
}

void http_session::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  writing_.reset();
  slots_.pop_front();
  ctx_.unanswered.fetch_sub(1);
  if (ec) return close();
  if (!keep_alive) return close();
  if (read_closed_ && slots_.empty()) return close();
  do_write();
  do_read();
  // The last owed answer is out and the client is silent: the keep-alive clock starts now.
  arm_idle_timer();
}

void http_session::close() {
  if (closed_) return;
  closed_ = true;
  idle_timer_.cancel();
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream_.socket().close(ignored);
}

}  // namespace jobd::server
