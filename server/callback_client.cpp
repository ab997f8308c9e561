#include "server/callback_client.hpp"

#include <pthread.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <memory>

#include "jobs/callback_url.hpp"

namespace jobd::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// A connect longer than this fails even within a longer total timeout: an address that does
// not answer should not hold a delivery's place for the whole of it.
constexpr std::chrono::milliseconds connect_timeout{3'000};
// The most of an answer's header that is read.
constexpr std::uint32_t header_limit = 8 * 1024;

// One POST: resolve, connect, write, read the answer's header; told once.
class exchange : public std::enable_shared_from_this<exchange> {
 public:
  exchange(net::io_context& ioc, jobs::callback_url url, std::string target_host,
           http::request<http::string_body> req, std::chrono::milliseconds timeout,
           jobs::callback_transport::done_fn done)
      : resolver_(ioc),
        stream_(ioc),
        deadline_(ioc),
        url_(std::move(url)),
        req_(std::move(req)),
        timeout_(timeout),
        done_(std::move(done)) {
    req_.set(http::field::host, std::move(target_host));
  }

  void start() {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->finish("no answer within " + std::to_string(self->timeout_.count()) + " ms");
    });
    resolver_.async_resolve(
        url_.host, url_.port,
        [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type found) {
          if (ec) return self->finish("cannot resolve " + self->url_.host + ": " + ec.message());
          self->connect(found);
        });
  }

 private:
  void connect(const tcp::resolver::results_type& found) {
    stream_.expires_after(std::min(connect_timeout, timeout_));
    stream_.async_connect(
        found, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
          if (ec) return self->finish("cannot connect: " + ec.message());
          self->stream_.expires_never();  // the deadline bounds the rest
          http::async_write(self->stream_, self->req_, [self](beast::error_code wec, std::size_t) {
            if (wec) return self->finish("cannot send: " + wec.message());
            self->read();
          });
        });
  }

  void read() {
    parser_.header_limit(header_limit);
    http::async_read_header(
        stream_, buffer_, parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return self->finish("no answer: " + ec.message());
          const unsigned status = self->parser_.get().result_int();
          if (status >= 200 && status < 300) return self->finish("");
          self->finish(status >= 300 && status < 400
                           ? "answered " + std::to_string(status) + " (a redirect: not followed)"
                           : "answered " + std::to_string(status));
        });
  }

  void finish(std::string error) {
    if (!done_) return;  // told already: the deadline and an operation can both end it
    auto done = std::exchange(done_, {});
    deadline_.cancel();
    resolver_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    done(std::move(error));
  }

  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  net::steady_timer deadline_;
  jobs::callback_url url_;
  http::request<http::string_body> req_;
  beast::flat_buffer buffer_;
  http::response_parser<http::empty_body> parser_;
  std::chrono::milliseconds timeout_;
  jobs::callback_transport::done_fn done_;
};

}  // namespace

callback_client::callback_client(std::chrono::milliseconds timeout, std::string user_agent)
    : timeout_(timeout), user_agent_(std::move(user_agent)), work_(ioc_.get_executor()) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "jobd-callbacks");
    ioc_.run();
  });
}

callback_client::~callback_client() {
  stop();
}

void callback_client::stop() {
  if (!thread_.joinable()) return;
  work_.reset();
  ioc_.stop();
  thread_.join();
}

void callback_client::post(request req, done_fn done) {
  std::string error;
  auto url = jobs::parse_callback_url(req.url, error);
  if (!url) return done(std::move(error));  // checked at submission: not seen in practice
  http::request<http::string_body> message{http::verb::post, url->target, 11};
  message.set(http::field::content_type, "application/json");
  message.set(http::field::user_agent, user_agent_);
  message.set("X-Jobd-Event", "job.finished");
  if (!req.signature.empty()) message.set("X-Jobd-Signature", req.signature);
  message.keep_alive(false);
  message.body() = std::move(req.body);
  message.prepare_payload();
  const bool v6 = url->host.find(':') != std::string::npos;
  std::string host =
      (v6 ? "[" + url->host + "]" : url->host) + (url->port == "80" ? "" : ":" + url->port);
  net::post(ioc_, [this, url = std::move(*url), host = std::move(host),
                   message = std::move(message), done = std::move(done)]() mutable {
    std::make_shared<exchange>(ioc_, std::move(url), std::move(host), std::move(message), timeout_,
                               std::move(done))
        ->start();
  });
}

}  // namespace jobd::server
