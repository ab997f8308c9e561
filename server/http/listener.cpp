#include "server/http/listener.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <memory>
#include <stdexcept>
#include <string>

#include "server/http/http_codec.hpp"
#include "server/obs/logging.hpp"

namespace jobd::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;

listener::listener(net::io_context& ioc, const tcp::endpoint& endpoint, session_context& ctx)
    : ioc_(ioc), acceptor_(net::make_strand(ioc)), backoff_(acceptor_.get_executor()), ctx_(ctx) {
  boost::system::error_code ec;
  // Said with the address and the step, and without Boost's source location.
  auto check = [&](const char* step) {
    if (!ec) return;
    // fmt rather than string concatenation, which g++ 12 at -O3 flags with a false -Wrestrict.
    const std::string address = endpoint.address().to_string();
    const std::string host = endpoint.address().is_v6() ? fmt::format("[{}]", address) : address;
    throw std::runtime_error(
        fmt::format("cannot listen on {}:{}: {}: {}", host, endpoint.port(), step, ec.message()));
  };
  acceptor_.open(endpoint.protocol(), ec);
  check("socket");
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  check("SO_REUSEADDR");
  acceptor_.bind(endpoint, ec);
  check("bind");
  // A short backlog shows up as one-second SYN retransmit stalls under load.
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  check("listen");
}

tcp::endpoint listener::local_endpoint() const {
  return acceptor_.local_endpoint();
}

void listener::run() {
  net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

void listener::stop() {
  net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->backoff_.cancel();
  });
}

void listener::do_accept() {
  // A session's handlers must not run at once: a strand each, unless one thread runs them all.
  const net::any_io_executor session_executor = ctx_.settings.io_threads == 1
                                                    ? net::any_io_executor(ioc_.get_executor())
                                                    : net::any_io_executor(net::make_strand(ioc_));
  acceptor_.async_accept(
      session_executor, boost::beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(boost::beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Out of descriptors (or a similar passing condition): pause instead of spinning on it, and
    // log the episode once rather than every retry.
    if (!accept_failing_) spdlog::warn("accept failed: {}; retrying every 50 ms", ec.message());
    accept_failing_ = true;
    backoff_.expires_after(std::chrono::milliseconds(50));
    backoff_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
      if (!wait_ec) self->do_accept();
    });
    return;
  }
  if (accept_failing_) {
    accept_failing_ = false;
    spdlog::info("accepting connections again");
  }
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (ctx_.stats.connections() >= ctx_.settings.max_connections) {
    refuse(std::move(socket));
  } else {
    std::make_shared<http_session>(std::move(socket), ctx_)->run();
  }
  do_accept();
}

void listener::refuse(tcp::socket socket) {
  // Answered without reading a request, so with a fresh id; otherwise like any other answer.
  http_response answer = error_response(503, "too_many_connections", "connection limit reached");
  answer.headers.emplace_back("Retry-After", "1");
  auto out = std::make_shared<std::string>();
  const request_id_text id = ctx_.fresh_request_id();
  append_wire_response(*out, answer, 11, false, {id.data(), id.size()}, date_.now());
  // Counted like any answer given before a request line was read, so that refusals show.
  ctx_.stats.observe_request(answer.route, answer.status, 0.0);
  if (ctx_.settings.access_log) {
    log_access({id.data(), id.size()}, peer_text(socket), "-", "-", answer.route, answer.status,
               0.0);
  }
  auto sock = std::make_shared<tcp::socket>(std::move(socket));
  net::async_write(*sock, net::buffer(*out), [sock, out](boost::system::error_code, std::size_t) {
    boost::system::error_code ignored;
    sock->shutdown(tcp::socket::shutdown_both, ignored);
    sock->close(ignored);
  });
}

}  // namespace jobd::server
