#pragma once

// The HTTP side of completion callbacks: POSTs on an io_context and a thread of its own
// (`jobd-callbacks`), never on an I/O thread or a worker. Each post has a connect timeout and a
// total one, reads the answer's header only (so what it reads is bounded), and follows no
// redirect: a 3xx is a failed delivery. An https receiver's certificate must chain to a trusted
// authority and name the URL's host.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "jobs/callbacks.hpp"

namespace jobd::server {

class callback_client final : public jobs::callback_transport {
 public:
  // `timeout` bounds a whole post; `user_agent` names jobd to the receiver; https receivers are
  // checked against the authorities in `ca_pem` (PEM), or the system's when it is empty.
  // Throws std::runtime_error when those cannot be loaded.
  callback_client(std::chrono::milliseconds timeout, std::string user_agent,
                  const std::string& ca_pem);
  ~callback_client();  // stop()
  callback_client(const callback_client&) = delete;
  callback_client& operator=(const callback_client&) = delete;

  void post(request req, done_fn done) override;
  // Ends the thread; posts under way are dropped untold (their callbacks stay pending, for the
  // next start). Later calls do nothing.
  void stop();

 private:
  const std::chrono::milliseconds timeout_;
  const std::string user_agent_;
  boost::asio::ssl::context tls_;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
};

}  // namespace jobd::server
