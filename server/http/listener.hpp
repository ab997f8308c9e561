#pragma once

// Accepts connections and starts a session for each, within the max-connections bound.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "server/http/http_session.hpp"

namespace jobd::server {

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Opens, binds and listens (backlog SOMAXCONN); throws boost::system::system_error.
  listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
           session_context& ctx);
  [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const;
  void run();
  void stop();

 private:
  void do_accept();
  void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);
  void refuse(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  bool accept_failing_ = false;  // only touched on the acceptor's strand
  http_date date_;               // likewise
  session_context& ctx_;
};

}  // namespace jobd::server
