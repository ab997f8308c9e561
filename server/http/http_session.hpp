#pragma once

// One HTTP/1.1 connection: reads requests (pipelined up to a cap), hands them to the routes, and
// writes the responses back in request order as they become ready, from whichever thread
// produced them. Everything the session owns is touched only where its handlers run: on its
// strand, or, with a single I/O thread, on that thread.
//
// A response is written at once when the socket takes it whole (the usual case); only the rest
// of a write the socket cannot take waits for it. One timer, re-armed lazily, bounds every wait:
// the keep-alive idle time, a request from its first byte to its last, and a blocked write.
//
// The session is two machines that share the socket and one step function, pump(), which
// every event ends in: it writes what is ready, parses what is buffered, and starts the read,
// write and timer that wait. Beast's examples read, answer and write in a line of do_/on_
// steps, one request at a time; here up to pipeline_limit requests are read ahead, their
// answers come back in any order from any thread, and a write waits only when the socket is
// full, so the steps cannot be one line, and each flag below says where one side stands.
//
//   reading side                              writing side
//   ------------                              ------------
//   between requests ──first byte──► in a     nothing owed ──request read──► owed (slots_)
//      ▲      (no parser_)            request     ▲                             │ its answer
//      │                             (parser_)    │                             ▼ comes: res
//      └─────────── last byte: dispatch ◄─┘       └── written whole ◄── ready at the front
//   pipeline full (slots_ at the limit): no read until an answer is written   │ socket full
//   read_closed_: the last request was read (Connection: close, end of stream,   ▼
//     an unparseable request, a request timeout); owed answers still go out   writing_ (an
//   closed_: the socket is closed; answers owed since are dropped             async write)
//
// Events, each handled on the session's executor, each ending in pump():
//   on_read       bytes, end of stream, or an error       reading_: a read is in flight
//   on_response   an answer for request `seq`, from deliver()
//   on_write      the rest of a blocked write went out    writing_: a write is in flight
//   on_timer      the earliest of the write, request and idle deadlines (pending_deadlines())
// An answer with a stream (Server-Sent Events) is the connection's last: once its header is
// out, the session is a third machine, streaming_: it writes what the stream gives each time
// the stream wakes it (pull()), one write at a time, until the stream ends or a write fails or
// stalls past the write deadline. It reads no more requests, but keeps a read under way, to see
// at once a client that goes away (and to hold the session meanwhile).
// continue_sent_ / continue_deferred_: the request being read asked for "100 Continue", which
// went out, or waits for the answers owed before it. pumping_ / pump_again_: an event that
// arrives while pump() runs (an answer given at once, inline) only asks it to go round again.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/static_string/static_string.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "server/http/http_codec.hpp"
#include "server/http/http_date.hpp"
#include "server/obs/metrics.hpp"

namespace jobd::server {

// A request id sent by a client is at most this long; kept in place, as ids are on every answer.
inline constexpr std::size_t max_request_id_size = 128;
using request_id_text = boost::static_strings::static_string<max_request_id_size>;

// What every session shares; owned by the server, outlives every session.
struct session_context {
  request_handler& routes;
  metrics& stats;
  const config::settings& settings;
  std::atomic<std::uint64_t> next_request_id{0};
  std::uint64_t request_id_salt = 0;
  // A new id, for an answer to a request that sent none in form (or was never read).
  request_id_text fresh_request_id();
  // Requests read whose response is not yet written; shutdown waits for it to reach 0.
  std::atomic<std::size_t> unanswered{0};
};

// A socket's peer as the access log shows it: 127.0.0.1:51234 or [::1]:51234 (an IPv4 client
// of a dual-stack socket in its IPv4 form); "-" when the socket has none.
std::string peer_text(const boost::asio::ip::tcp::socket& socket);

class http_session final : public std::enable_shared_from_this<http_session>, private answer_sink {
 public:
  http_session(boost::asio::ip::tcp::socket&& socket, session_context& ctx);
  ~http_session();
  http_session(const http_session&) = delete;
  http_session& operator=(const http_session&) = delete;

  void run();

 private:
  using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;
  // Whether this thread is where the session's handlers run now: inside its strand, or, with
  // one I/O thread and no strand, the thread running the io_context.
  bool on_own_executor() const;

  using clock = std::chrono::steady_clock;

  struct slot {
    std::uint64_t seq = 0;
    std::optional<http_response> res;
    bool keep_alive = true;
    unsigned version = 11;
    bool head = false;  // a HEAD request: the answer has no body
    request_id_text request_id;
    std::string_view request_id_view() const { return {request_id.data(), request_id.size()}; }
    std::string method;  // for the access log only
    std::string target;  // for the access log only
    clock::time_point start;
  };

  // Makes every step that is possible now (write ready answers, parse buffered requests), then
  // starts the reads, writes and timer that wait. Re-entrant calls only ask it to go round again.
  void pump();
  void write_ready();
  void parse_buffered();
  // The request being read asked for "100 Continue" and has not had it yet.
  [[nodiscard]] bool awaiting_continue() const;
  void send_continue();
  void start_read();
  [[nodiscard]] std::size_t next_read_size() const;
  void on_read(boost::system::error_code ec, std::size_t bytes);
  void on_write(boost::system::error_code ec, std::size_t bytes);
  void written(std::size_t answers, clock::time_point now);
  void dispatch(const wire_request& req, clock::time_point read_at);
  void fail_request(boost::beast::error_code why);
  // An answer to request `seq`, from any thread.
  void deliver(std::uint64_t seq, http_response&& res) override;
  [[nodiscard]] const boost::asio::any_io_executor& executor() const override { return executor_; }
  void on_response(std::uint64_t seq, http_response&& res);
  void stop_reading();
  // The stream's header is out: from now on the connection carries the stream.
  void start_stream();
  // Writes what the stream has, if no write is under way; true when it was written whole and
  // the stream may have more.
  bool pull();
  void close();
  // The client's X-Request-Id when it is one in form, else a fresh one.
  request_id_text request_id_for(const wire_request* req);

  // When each wait under way gives up; max when that wait is not under way.
  struct deadlines {
    clock::time_point write = clock::time_point::max();    // an answer the peer does not take
    clock::time_point request = clock::time_point::max();  // a request begun and not finished
    clock::time_point idle = clock::time_point::max();     // nothing owed, nothing begun
  };
  deadlines pending_deadlines() const;
  void arm_timer();
  void on_timer(clock::time_point armed_for, boost::system::error_code ec);

  boost::asio::ip::tcp::socket socket_;
  const boost::asio::any_io_executor executor_;  // the socket's, where the handlers run
  boost::asio::steady_timer timer_;
  // The socket's executor as what it is (the listener's choice), so that an answer can tell
  // whether it is given there: one of the two is engaged.
  std::optional<strand_type> strand_;
  std::optional<boost::asio::io_context::executor_type> io_executor_;
  clock::time_point timer_at_ = clock::time_point::max();  // when the armed timer fires
  boost::beast::flat_buffer buffer_;
  wire_request request_;                  // the request being read, reused from one to the next
  std::optional<request_parser> parser_;  // engaged from a request's first byte to its last
  clock::time_point request_began_;
  bool continue_sent_ = false;      // "100 Continue" went out for the request being read
  bool continue_deferred_ = false;  // it had to wait for earlier answers
  clock::time_point idle_since_;
  std::string peer_;  // for the access log only
  http_date date_;
  // Requests read and not yet answered, in order: a few at most (the pipeline limit), and the
  // capacity is kept from one request to the next.
  std::vector<slot> slots_;
  std::uint64_t next_seq_ = 0;
  std::string out_;                       // the bytes being written
  std::size_t out_answers_ = 0;           // how many slots `out_` answers
  bool out_last_ = false;                 // `out_` ends with the connection's last answer
  std::shared_ptr<event_stream> stream_;  // the last answer's stream, once its header is ready
  bool streaming_ = false;                // its header is out: the stream is being written
  bool stream_over_ = false;              // the stream said it has no more
  clock::time_point write_began_;         // of the write waiting for the socket
  bool writing_ = false;                  // a write is waiting for the socket
  bool reading_ = false;
  std::size_t last_read_bytes_ = 0;  // what the last read brought: the next may ask for twice that
  bool read_closed_ = false;         // no more requests will be read
  bool closed_ = false;
  bool pumping_ = false;
  bool pump_again_ = false;
  session_context& ctx_;
};

}  // namespace jobd::server
