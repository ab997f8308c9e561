#include "server/callback_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
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
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <stdexcept>
#include <type_traits>

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

// One POST: resolve, connect, (for https) handshake, write, read the answer's header; told
// once. `Stream` is a TCP stream, or a TLS one over it.
template <class Stream>
class exchange : public std::enable_shared_from_this<exchange<Stream>> {
  static constexpr bool tls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  template <class... StreamArgs>
  exchange(net::io_context& ioc, jobs::callback_url url, std::string target_host,
           http::request<http::string_body> req, std::chrono::milliseconds timeout,
           jobs::callback_transport::done_fn done, StreamArgs&... stream_args)
      : resolver_(ioc),
        stream_(ioc, stream_args...),
        deadline_(ioc),
        url_(std::move(url)),
        req_(std::move(req)),
        timeout_(timeout),
        done_(std::move(done)) {
    req_.set(http::field::host, std::move(target_host));
  }

  void start() {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->finish("no answer within " + std::to_string(self->timeout_.count()) + " ms");
    });
    resolver_.async_resolve(
        url_.host, url_.port,
        [self = this->shared_from_this()](beast::error_code ec, tcp::resolver::results_type found) {
          if (ec) return self->finish("cannot resolve " + self->url_.host + ": " + ec.message());
          self->connect(found);
        });
  }

 private:
  void connect(const tcp::resolver::results_type& found) {
    auto& tcp_layer = beast::get_lowest_layer(stream_);
    tcp_layer.expires_after(std::min(connect_timeout, timeout_));
    tcp_layer.async_connect(
        found, [self = this->shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
          if (ec) return self->finish("cannot connect: " + ec.message());
          beast::get_lowest_layer(self->stream_).expires_never();  // the deadline bounds the rest
          if constexpr (tls) {
            self->handshake();
          } else {
            self->write();
          }
        });
  }

  void handshake() {
    if (std::string error = expect_peer(); !error.empty()) return finish(std::move(error));
    stream_.async_handshake(net::ssl::stream_base::client,
                            [self = this->shared_from_this()](beast::error_code ec) {
                              if (ec) return self->finish("no TLS: " + self->tls_failure(ec));
                              self->write();
                            });
  }

  // The receiver's certificate must name the URL's host (an address as an IP entry); a name
  // is also sent as SNI, for a receiver that serves several.
  std::string expect_peer() {
    SSL* ssl = stream_.native_handle();
    beast::error_code ec;
    net::ip::make_address(url_.host, ec);
    const bool named = static_cast<bool>(ec);
    const int ok = named ? SSL_set1_host(ssl, url_.host.c_str()) &
                               static_cast<int>(SSL_set_tlsext_host_name(ssl, url_.host.c_str()))
                         : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url_.host.c_str());
    return ok == 1 ? "" : "cannot check a certificate for " + url_.host;
  }

  // Why a handshake failed: the certificate check's own words when that was it.
  std::string tls_failure(const beast::error_code& ec) {
    const long verdict = SSL_get_verify_result(stream_.native_handle());
    if (verdict != X509_V_OK) {
      return std::string("the receiver's certificate is refused: ") +
             X509_verify_cert_error_string(verdict);
    }
    return ec.message();
  }

  void write() {
    http::async_write(stream_, req_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->finish("cannot send: " + ec.message());
                        self->read();
                      });
  }

  void read() {
    parser_.header_limit(header_limit);
    http::async_read_header(
        stream_, buffer_, parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
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
    // No TLS close_notify: the request said Connection: close, and the answer is read.
    auto& tcp_layer = beast::get_lowest_layer(stream_);
    beast::error_code ignored;
    tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_layer.close();
    done(std::move(error));
  }

  tcp::resolver resolver_;
  Stream stream_;
  net::steady_timer deadline_;
  jobs::callback_url url_;
  http::request<http::string_body> req_;
  beast::flat_buffer buffer_;
  http::response_parser<http::empty_body> parser_;
  std::chrono::milliseconds timeout_;
  jobs::callback_transport::done_fn done_;
};

// Receivers are checked against `ca_pem`'s authorities, or the system's when it is empty.
net::ssl::context make_tls_context(const std::string& ca_pem) {
  net::ssl::context ctx(net::ssl::context::tls_client);
  ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                  net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                  net::ssl::context::no_tlsv1_1);
  ctx.set_verify_mode(net::ssl::verify_peer);
  beast::error_code ec;
  if (ca_pem.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.add_certificate_authority(net::buffer(ca_pem), ec);
  }
  if (ec) {
    throw std::runtime_error("callbacks: cannot load the certificate authorities of " +
                             std::string(ca_pem.empty() ? "the system" : "callback_ca_file") +
                             ": " + ec.message());
  }
  return ctx;
}

}  // namespace

callback_client::callback_client(std::chrono::milliseconds timeout, std::string user_agent,
                                 const std::string& ca_pem)
    : timeout_(timeout),
      user_agent_(std::move(user_agent)),
      tls_(make_tls_context(ca_pem)),
      work_(ioc_.get_executor()) {
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
  const bool default_port = url->port == (url->tls ? "443" : "80");
  std::string host =
      (v6 ? "[" + url->host + "]" : url->host) + (default_port ? "" : ":" + url->port);
  net::post(ioc_, [this, url = std::move(*url), host = std::move(host),
                   message = std::move(message), done = std::move(done)]() mutable {
    if (url.tls) {
      std::make_shared<exchange<beast::ssl_stream<beast::tcp_stream>>>(
          ioc_, std::move(url), std::move(host), std::move(message), timeout_, std::move(done),
          tls_)
          ->start();
    } else {
      std::make_shared<exchange<beast::tcp_stream>>(ioc_, std::move(url), std::move(host),
                                                    std::move(message), timeout_, std::move(done))
          ->start();
    }
  });
}

}  // namespace jobd::server
