#pragma once

// One HTTP/1.1 connection: reads requests (pipelined up to a cap), hands them to the routes, and
// writes the responses back in request order as they become ready, from whichever thread
// produced them. Everything the session owns is touched only on its strand.

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>

#include "config/settings.hpp"
#include "server/app.hpp"
#include "server/http_codec.hpp"
#include "server/metrics.hpp"

namespace jobd::server {

// What every session shares; owned by the server, outlives every session.
struct session_context {
  app& routes;
  metrics& stats;
  const config::settings& settings;
  std::atomic<std::uint64_t> next_request_id{0};
  std::uint64_t request_id_salt = 0;
  // Requests read whose response is not yet written; shutdown waits for it to reach 0.
  std::atomic<std::size_t> unanswered{0};
};

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(boost::asio::ip::tcp::socket&& socket, session_context& ctx);
  ~http_session();
  http_session(const http_session&) = delete;
  http_session& operator=(const http_session&) = delete;

  void run();

 private:
  using request = wire_request;
  using response = wire_response;

  struct slot {
    std::uint64_t seq = 0;
    std::optional<http_response> res;
    bool keep_alive = true;
    unsigned version = 11;
    std::string request_id;
    std::string method;
    std::string target;
    std::chrono::steady_clock::time_point start;
  };

  void do_read();
  void on_first_bytes(boost::beast::error_code ec, std::size_t bytes);
  void arm_idle_timer();
  void read_request();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void dispatch(request&& req);
  void fail_request(http_response answer);
  void on_response(std::uint64_t seq, http_response res);
  void do_write();
  void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);
  void close();
  std::string request_id_for(const request& req);

  boost::beast::tcp_stream stream_;
  boost::asio::steady_timer idle_timer_;  // the keep-alive timeout, on the stream's strand
  boost::beast::flat_buffer buffer_;
  std::optional<request_parser> parser_;
  std::deque<slot> slots_;  // requests read and not yet answered, in order
  std::uint64_t next_seq_ = 0;
  std::shared_ptr<response> writing_;
  bool reading_ = false;
  bool awaiting_first_byte_ = false;  // the idle read of the next request is pending
  bool read_closed_ = false;          // no more requests will be read
  bool closed_ = false;
  session_context& ctx_;
};

}  // namespace jobd::server
