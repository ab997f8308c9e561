#pragma once

// The request and response as the routes see them, and the one interface the transport calls
// the routes through: no Beast here, so that the routes can be driven in-process (tests,
// fuzzing) and Beast stays in the session.

#include <boost/asio/any_io_executor.hpp>
#include <boost/container/small_vector.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace jobd::server {

// The text is the caller's: valid while handle() runs, which copies what it keeps.
struct http_request {
  std::string_view method;  // "GET", "POST", ...
  std::string_view target;  // path and query, as sent
  std::string_view body;
  std::string_view authorization;                   // the Authorization header, "" when absent
  std::optional<std::string_view> idempotency_key;  // the Idempotency-Key header, when sent
  bool accepts_html = false;  // an Accept header names text/html: a browser asks
};

// The source of an answer that goes on after its header (Server-Sent Events). The session writes
// the header, then what take() gives each time the source wakes it, until take() says the
// stream is over; if the connection goes first, it calls detach().
class event_stream {
 public:
  virtual ~event_stream() = default;
  // Appends what waits to `out`, about `limit` bytes at most; false once the stream is over
  // (then what it appended is the last).
  [[nodiscard]] virtual bool take(std::string& out, std::size_t limit) = 0;
  // `wake` is called, from any thread, when something waits that take() has not given yet.
  // Given once, before the first take().
  virtual void attach(std::function<void()> wake) = 0;
  virtual void detach() = 0;
};

struct http_response {
  unsigned status = 200;
  std::string_view content_type = "application/json";  // always a literal
  std::string body;
  // Location, Retry-After, Allow, WWW-Authenticate: names are literals. One or two at most, so
  // they are held in place.
  boost::container::small_vector<std::pair<std::string_view, std::string>, 2> headers;
  std::string_view route = "other";  // metrics label: one of a fixed set, never the raw path
  // Set: the body is this stream, after a header without a length; the connection's last answer.
  std::shared_ptr<event_stream> stream;
};

// Where answers go: the connection that read the requests, which numbers them.
class answer_sink {
 public:
  // Called exactly once per request, now or later, from any thread. The answer is taken by
  // reference: it is moved once, where the sink keeps it.
  virtual void deliver(std::uint64_t request, http_response&& res) = 0;
  // Where the requests are handled: work done for them elsewhere comes back here.
  [[nodiscard]] virtual const boost::asio::any_io_executor& executor() const = 0;

 protected:
  ~answer_sink() = default;
};

// One request's way back: called exactly once, now or later, from any thread. A sink and a
// number rather than a std::function: a pending job keeps a copy, and copying this allocates
// nothing (a std::function holding a shared_ptr never fits its inline buffer).
class responder {
 public:
  responder(std::shared_ptr<answer_sink> sink, std::uint64_t request) noexcept
      : sink_(std::move(sink)), request_(request) {}
  void operator()(http_response&& res) const { sink_->deliver(request_, std::move(res)); }
  [[nodiscard]] const boost::asio::any_io_executor& executor() const { return sink_->executor(); }

 private:
  std::shared_ptr<answer_sink> sink_;
  std::uint64_t request_;
};

// What the transport hands requests to: the routes.
class request_handler {
 public:
  // Answers through `respond`, exactly once, now or later. Called on the session's executor.
  virtual void handle(http_request req, responder respond) = 0;
  // Labels a refusal the transport gave before the request's body was read (a 413, a 431 or a
  // 400) with the request's route, and counts it as the routes count their refusals. `method`
  // and `target` are "" when the request line was not read.
  virtual void note_unread(std::string_view method, std::string_view target,
                           http_response& answer) = 0;

 protected:
  ~request_handler() = default;
};

// {"error": {"code": ..., "message": ...}}: every error answer, the transport's own and the
// routes'. A message known to be plain ASCII without quotes or backslashes (one jobd words
// from names and numbers) may skip the escaping: the 503 that most requests get under
// overload does.
http_response error_response(unsigned status, std::string_view code, std::string_view message,
                             bool plain_message = false);

}  // namespace jobd::server
