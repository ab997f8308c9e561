#include "server/http/http_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/string.hpp>

#include "common/opaque_id.hpp"
#include "common/text.hpp"
#include "server/obs/logging.hpp"

namespace jobd::server {

namespace beast = boost::beast;
namespace net = boost::asio;

namespace {

// The most one read asks for. With the parser's header limit (the body is moved out of the
// buffer as it arrives) it bounds what a connection buffers.
constexpr std::size_t max_read_bytes = 64 * 1024;
// What a connection's read buffer may keep between requests (Beast reads at least 512 bytes).
constexpr std::size_t idle_read_bytes = 4 * 1024;

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > max_request_id_size) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
  });
}

template <typename Executor>
std::optional<Executor> executor_as(const net::any_io_executor& ex) {
  const Executor* target = ex.target<Executor>();
  return target != nullptr ? std::optional(*target) : std::nullopt;
}

}  // namespace

std::string peer_text(const net::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  const net::ip::tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return "-";
  net::ip::address addr = peer.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    addr = net::ip::make_address_v4(net::ip::v4_mapped, addr.to_v6());
  }
  return addr.is_v6() ? fmt::format("[{}]:{}", addr.to_string(), peer.port())
                      : fmt::format("{}:{}", addr.to_string(), peer.port());
}

http_session::http_session(net::ip::tcp::socket&& socket, session_context& ctx)
    : socket_(std::move(socket)),
      executor_(socket_.get_executor()),
      timer_(socket_.get_executor()),
      strand_(executor_as<strand_type>(socket_.get_executor())),
      io_executor_(executor_as<net::io_context::executor_type>(socket_.get_executor())),
      idle_since_(clock::now()),
      ctx_(ctx) {
  ctx_.stats.connection_opened();
  // Asked once per connection, and only when it is logged: it is a system call.
  if (ctx_.settings.access_log) peer_ = peer_text(socket_);
  // Answers are written at once where the socket takes them: never block the I/O thread on it.
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
}

http_session::~http_session() {
  ctx_.unanswered.fetch_sub(slots_.size());
  if (!closed_) ctx_.stats.connection_closed();
}

bool http_session::on_own_executor() const {
  if (strand_) return strand_->running_in_this_thread();
  return io_executor_ && io_executor_->running_in_this_thread();
}

void http_session::run() {
  net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->pump(); });
}

void http_session::pump() {
  if (pumping_) {
    pump_again_ = true;
    return;
  }
  pumping_ = true;
  do {
    pump_again_ = false;
    write_ready();
    parse_buffered();
  } while (pump_again_ && !closed_);
  pumping_ = false;
  if (closed_) return;
  if (streaming_) {
    while (pull()) {
    }
    if (closed_) return;
    // What the client sends now is read only to learn at once that it has gone.
    if (!reading_) {
      reading_ = true;
      socket_.async_read_some(
          buffer_.prepare(idle_read_bytes),
          beast::bind_front_handler(&http_session::on_read, shared_from_this()));
    }
    arm_timer();
    return;
  }
  if (read_closed_ && slots_.empty() && !writing_) return close();
  send_continue();  // for a request that waited for the answers owed before it
  if (closed_) return;
  start_read();
  arm_timer();
}

void http_session::parse_buffered() {
  while (!read_closed_ && !closed_ && slots_.size() < ctx_.settings.pipeline_limit &&
         buffer_.size() > 0) {
    // A request begun and finished from the same bytes was read when its parser began: one
    // clock reading serves both, as parsing bytes in memory takes microseconds.
    const bool begun_here = !parser_;
    if (begun_here) {
      // Empty lines before a request line are skipped (RFC 9112 2.2): some clients end a body
      // with a CRLF it did not count.
      const auto data = buffer_.cdata();
      const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
      if (bytes.front() == '\r' || bytes.front() == '\n') {
        buffer_.consume(std::min(bytes.find_first_not_of("\r\n"), bytes.size()));
        continue;
      }
      parser_.emplace(request_);
      apply_limits(*parser_, ctx_.settings);
      // The read timeout runs from a request's first byte, not from the end of the last one.
      request_began_ = clock::now();
      continue_sent_ = false;
      continue_deferred_ = false;
    }
    const auto data = buffer_.cdata();
    beast::error_code ec;
    buffer_.consume(feed(*parser_, {static_cast<const char*>(data.data()), data.size()}, ec));
    if (ec) return fail_request(ec);
    // The rest is still on its way; pump() sends a "100 Continue" next if one is wanted.
    if (!parser_->is_done()) return;
    parser_.reset();
    // A large request's read buffer is not kept for the idle time that may follow.
    if (buffer_.size() == 0 && buffer_.capacity() > idle_read_bytes) buffer_.shrink_to_fit();
    dispatch(request_, begun_here ? request_began_ : clock::now());
  }
}

bool http_session::awaiting_continue() const {
  return parser_ && parser_->is_header_done() && !continue_sent_ && request_.version >= 11 &&
         request_.expect_continue;
}

void http_session::send_continue() {
  // curl, for one, sends a body over 1 KiB only after "100 Continue", or after a second of
  // silence. It goes out only when no earlier answer is owed, which must come first; pump()
  // calls this again once they are out.
  if (!awaiting_continue()) return;
  if (!slots_.empty() || writing_) {
    continue_deferred_ = true;
    return;
  }
  continue_sent_ = true;
  // A client that waited for it as long as the earlier answers took gets the whole read
  // timeout for its body from now; one answered at once has its request's timeout as it was.
  if (continue_deferred_) request_began_ = clock::now();
  static constexpr std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
  // Best effort: a socket that will not take these few bytes now gets none of them, and the
  // client sends its body after its own wait. Part of them would garble the stream.
  boost::system::error_code ignored;
  const std::size_t sent = socket_.send(net::buffer(interim.data(), interim.size()), 0, ignored);
  if (sent != 0 && sent != interim.size()) close();
}

void http_session::start_read() {
  if (reading_ || read_closed_ || closed_ || slots_.size() >= ctx_.settings.pipeline_limit) return;
  reading_ = true;
  socket_.async_read_some(buffer_.prepare(next_read_size()),
                          beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

std::size_t http_session::next_read_size() const {
  // Between requests a connection keeps the few hundred bytes most requests fit in. A request
  // under way is read in pieces that double while the client fills them, up to max_read_bytes
  // (and not past an announced body's end): at the buffer's own 512 bytes a 1 MiB upload took
  // 2,000 reads, each a system call and a parse, and a client that trickles a large request
  // gets no larger buffer for it.
  const std::size_t n = beast::read_size(buffer_, max_read_bytes);
  if (!parser_) return n;
  std::uint64_t piece =
      std::min<std::uint64_t>(max_read_bytes, 2 * std::uint64_t{last_read_bytes_});
  if (parser_->is_header_done()) piece = std::min(piece, parser_->body_remaining());
  return std::max(n, static_cast<std::size_t>(piece));
}

void http_session::on_read(boost::system::error_code ec, std::size_t bytes) {
  reading_ = false;
  last_read_bytes_ = bytes;
  if (closed_) return;
  if (streaming_) {
    if (ec) return close();  // gone
    buffer_.clear();
    return pump();
  }
  if (read_closed_) return pump();  // reading stopped while this read was under way
  buffer_.commit(bytes);
  if (ec == net::error::eof) {
    // The client is done: finish what it asked, then close. Mid-request, that is a 400.
    fail_request(end_of_input(parser_ ? &*parser_ : nullptr));
  } else if (ec) {
    return close();
  }
  pump();
}

request_id_text session_context::fresh_request_id() {
  const auto id =
      opaque_id(next_request_id.fetch_add(1, std::memory_order_relaxed), request_id_salt);
  return request_id_text(id.view().data(), id.view().size());
}

request_id_text http_session::request_id_for(const wire_request* req) {
  if (req != nullptr) {
    if (valid_request_id(req->request_id)) {
      return request_id_text(req->request_id.data(), req->request_id.size());
    }
  }
  return ctx_.fresh_request_id();
}

void http_session::dispatch(const wire_request& req, clock::time_point read_at) {
  slot& s = slots_.emplace_back();
  ctx_.unanswered.fetch_add(1);
  s.seq = next_seq_++;
  s.keep_alive = req.keep_alive;
  s.version = req.version;
  s.head = req.method == boost::beast::http::verb::head;
  s.request_id = request_id_for(&req);
  if (ctx_.settings.access_log) {
    s.method = req.method_text;
    s.target = percent_encode_unprintable(req.target);
  }
  s.start = read_at;
  // A request that closes the connection is the client's last one.
  if (!s.keep_alive) stop_reading();
  // The sink is a private base: the aliasing constructor converts where that is allowed.
  std::shared_ptr<answer_sink> sink(shared_from_this(), static_cast<answer_sink*>(this));
  ctx_.routes.handle(to_route_request(req), responder(std::move(sink), s.seq));
}

void http_session::deliver(std::uint64_t seq, http_response&& res) {
  // Inline when already where the session's handlers run (an answer given at once), posted
  // there from any other thread.
  if (on_own_executor()) return on_response(seq, std::move(res));
  net::post(socket_.get_executor(),
            [self = shared_from_this(), seq, res = std::move(res)]() mutable {
              self->on_response(seq, std::move(res));
            });
}

void http_session::fail_request(beast::error_code why) {
  // What was read of the request (the parser clears it at the request's first byte): its route
  // and id when they came before the error.
  const wire_request* partial = parser_ ? &request_ : nullptr;
  // The stream cannot be parsed past this point: answer if there is anything to say, then close.
  stop_reading();
  auto answer = answer_to_read_error(why, ctx_.settings);
  if (!answer) return;
  if (partial) ctx_.routes.note_unread(partial->method_text, partial->target, *answer);
  slot& s = slots_.emplace_back();
  ctx_.unanswered.fetch_add(1);
  s.seq = next_seq_++;
  s.keep_alive = false;
  s.head = partial != nullptr && partial->method == beast::http::verb::head;
  s.request_id = request_id_for(partial);
  s.method = "-";
  s.target = "-";
  s.start = clock::now();
  s.res = std::move(*answer);
  pump_again_ = true;
}

void http_session::on_response(std::uint64_t seq, http_response&& res) {
  if (closed_ || slots_.empty()) return;
  const std::uint64_t index = seq - slots_.front().seq;
  if (index >= slots_.size() || slots_[index].res) return;
  slots_[index].res = std::move(res);
  pump();
}

void http_session::write_ready() {
  while (!writing_ && !closed_ && !slots_.empty() && slots_.front().res) {
    // Every answer ready at the front goes out in one write.
    out_.clear();
    out_last_ = false;
    std::size_t n = 0;
    const auto now = clock::now();
    const std::string_view date = date_.now();
    for (; n < slots_.size() && slots_[n].res && !out_last_; ++n) {
      slot& s = slots_[n];
      const http_response& r = *s.res;
      // The last answer of a connection whose reading has stopped says so.
      out_last_ = !s.keep_alive || (read_closed_ && n + 1 == slots_.size());
      if (r.stream) {
        // Nothing after it can be answered: requests read behind it are dropped.
        out_last_ = true;
        stop_reading();
        ctx_.unanswered.fetch_sub(slots_.size() - n - 1);
        slots_.resize(n + 1);
        append_stream_header(out_, r, s.request_id_view(), date);
        if (!s.head) stream_ = r.stream;
      } else {
        append_wire_response(out_, r, s.version, !out_last_, s.request_id_view(), date, s.head);
      }
      const double seconds = std::chrono::duration<double>(now - s.start).count();
      ctx_.stats.observe_request(r.route, r.status, seconds);
      if (ctx_.settings.access_log) {
        log_access(s.request_id_view(), peer_, s.method, s.target, r.route, r.status,
                   seconds * 1000.0);
      }
    }
    boost::system::error_code ec;
    const std::size_t sent = socket_.write_some(net::buffer(out_), ec);
    if (ec == net::error::would_block || (!ec && sent < out_.size())) {
      // The peer is not reading fast enough: the rest waits for the socket, within a deadline.
      out_answers_ = n;
      writing_ = true;
      write_began_ = now;
      net::async_write(socket_, net::buffer(out_) + (ec ? 0 : sent),
                       beast::bind_front_handler(&http_session::on_write, shared_from_this()));
      return;
    }
    if (ec) return close();
    written(n, now);
  }
}

void http_session::on_write(boost::system::error_code ec, std::size_t) {
  writing_ = false;
  if (closed_) return;
  if (ec) return close();
  if (streaming_) return pump();
  written(out_answers_, clock::now());
  pump();
}

void http_session::written(std::size_t answers, clock::time_point now) {
  slots_.erase(slots_.begin(), slots_.begin() + static_cast<std::ptrdiff_t>(answers));
  ctx_.unanswered.fetch_sub(answers);
  // The keep-alive clock starts when the last owed answer is out.
  idle_since_ = now;
  if (out_last_ && stream_) return start_stream();
  if (out_last_) close();
}

void http_session::start_stream() {
  streaming_ = true;
  // A wake finds the session only while something else holds it: the read that streaming
  // keeps under way does, until the connection closes.
  stream_->attach([weak = weak_from_this()] {
    if (const auto self = weak.lock()) {
      net::post(self->socket_.get_executor(), [self] { self->pump(); });
    }
  });
  pump_again_ = true;  // the first pull, once the write in progress is done
}

bool http_session::pull() {
  if (writing_ || closed_) return false;
  // What the stream gives is taken a piece at a time: while one is being written, the rest
  // stays with the stream, which decides what a slow client misses.
  constexpr std::size_t piece = 64 * 1024;
  out_.clear();
  if (!stream_over_) stream_over_ = !stream_->take(out_, piece);
  if (out_.empty()) {
    if (stream_over_) close();
    return false;
  }
  boost::system::error_code ec;
  const std::size_t sent = socket_.write_some(net::buffer(out_), ec);
  if (ec == net::error::would_block || (!ec && sent < out_.size())) {
    writing_ = true;
    write_began_ = clock::now();
    net::async_write(socket_, net::buffer(out_) + (ec ? 0 : sent),
                     beast::bind_front_handler(&http_session::on_write, shared_from_this()));
    return false;
  }
  if (ec) {
    close();
    return false;
  }
  return true;  // written whole: there may be more
}

void http_session::stop_reading() {
  read_closed_ = true;
  parser_.reset();
}

http_session::deadlines http_session::pending_deadlines() const {
  deadlines d;
  if (writing_) d.write = write_began_ + ctx_.settings.read_timeout;
  if (parser_) {
    // A client waiting for its "100 Continue" is rightly silent while earlier answers are owed.
    const bool waits_for_us = awaiting_continue() && (!slots_.empty() || writing_);
    if (!waits_for_us) d.request = request_began_ + ctx_.settings.read_timeout;
  } else if (slots_.empty() && !writing_ && !read_closed_) {
    // Idle. While answers are owed, a client may rightly stay silent as long as its jobs run.
    d.idle = idle_since_ + ctx_.settings.keepalive_timeout;
  }
  return d;
}

void http_session::arm_timer() {
  const deadlines pending = pending_deadlines();
  const auto d = std::min({pending.write, pending.request, pending.idle});
  // A timer that fires first re-checks then: moving a deadline later costs nothing.
  if (d >= timer_at_) return;
  timer_at_ = d;
  timer_.expires_at(d);
  timer_.async_wait(
      [self = shared_from_this(), d](boost::system::error_code ec) { self->on_timer(d, ec); });
}

void http_session::on_timer(clock::time_point armed_for, boost::system::error_code ec) {
  // Cancelled, or re-armed for an earlier time meanwhile: that wait is the one that counts.
  if (ec || closed_ || armed_for != timer_at_) return;
  timer_at_ = clock::time_point::max();
  const auto now = clock::now();
  const deadlines pending = pending_deadlines();
  if (now >= pending.write) {
    spdlog::debug("closing a connection whose peer took none of its answers for {} ms",
                  ctx_.settings.read_timeout.count());
    return close();
  }
  if (now >= pending.request) {
    // Silent too long inside a request: answer what was asked before, then close.
    stop_reading();
    return pump();
  }
  if (now >= pending.idle) return close();
  arm_timer();
}

void http_session::close() {
  if (closed_) return;
  closed_ = true;
  // The socket is gone now, though answers owed to it may hold the session a while longer.
  ctx_.stats.connection_closed();
  if (stream_) {
    stream_->detach();
    stream_.reset();
  }
  timer_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  socket_.close(ignored);
}

}  // namespace jobd::server
