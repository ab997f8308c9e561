#pragma once

// The request and response as the routes see them: no Beast here, so that the routes can be
// driven in-process (tests, fuzzing) and Beast stays in the session.

#include <boost/container/small_vector.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace jobd::server {

// The text is the caller's: valid while handle() runs, which copies what it keeps.
struct http_request {
  std::string_view method;  // "GET", "POST", ...
  std::string_view target;  // path and query, as sent
  std::string_view body;
  std::string_view authorization;  // the Authorization header, "" when absent
};

struct http_response {
  unsigned status = 200;
  std::string_view content_type = "application/json";  // always a literal
  std::string body;
  // Location, Retry-After, Allow, WWW-Authenticate: names are literals. One or two at most, so
  // they are held in place.
  boost::container::small_vector<std::pair<std::string_view, std::string>, 2> headers;
  std::string_view route = "other";  // metrics label: one of a fixed set, never the raw path
};

// Where answers go: the connection that read the requests, which numbers them.
class answer_sink {
 public:
  // Called exactly once per request, now or later, from any thread. The answer is taken by
  // reference: it is moved once, where the sink keeps it.
  virtual void deliver(std::uint64_t request, http_response&& res) = 0;

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

 private:
  std::shared_ptr<answer_sink> sink_;
  std::uint64_t request_;
};

// A wait that timer_service::after began.
class timer_wait {
 public:
  virtual ~timer_wait() = default;
  // Ends the wait early: `fn` will not run, and what it holds is freed soon, not when the time
  // would have come. A no-op once `fn` has run. From any thread, by one caller.
  virtual void cancel() = 0;
};

// Runs `fn` after `delay` on some server thread, unless cancelled first. The routes' only need
// for time.
class timer_service {
 public:
  virtual ~timer_service() = default;
  virtual std::shared_ptr<timer_wait> after(std::chrono::milliseconds delay,
                                            std::function<void()> fn) = 0;
};

}  // namespace jobd::server
