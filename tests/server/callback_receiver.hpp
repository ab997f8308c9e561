#pragma once

// A completion callback's receiver for the tests: an HTTP server on 127.0.0.1 that records each
// POST it gets and answers as the test says (a status, after a delay), each connection on a
// thread of its own, counting how many it held at once. Given a certificate, it speaks TLS.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_certificates.hpp"

namespace jobd::testing {

class callback_receiver {
 public:
  struct delivery {
    std::string head;  // request line and headers
    std::string body;
    std::string server_name;  // the TLS client's SNI, if any
    std::string header(const std::string& name) const {
      const std::string key = "\r\n" + name + ": ";
      const auto at = head.find(key);
      if (at == std::string::npos) return "";
      const auto start = at + key.size();
      return head.substr(start, head.find("\r\n", start) - start);
    }
  };
  struct answer {
    int status = 200;
    std::chrono::milliseconds delay{0};
  };
  // `answer_for(n)` answers the n-th delivery (from 0). `port` 0: any free one. With `tls`, the
  // receiver presents that certificate.
  explicit callback_receiver(std::function<answer(int)> answer_for, std::uint16_t port = 0,
                             const tls_identity* tls = nullptr)
      : answer_for_(std::move(answer_for)) {
    if (tls) {
      tls_.reset(SSL_CTX_new(TLS_server_method()));
      if (!tls_ || SSL_CTX_use_certificate(tls_.get(), tls->cert.get()) != 1 ||
          SSL_CTX_use_PrivateKey(tls_.get(), tls->key.get()) != 1) {
        throw std::runtime_error("callback_receiver: cannot use the certificate");
      }
    }
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd_, 16) != 0) {
      close(fd_);
      throw std::runtime_error("callback_receiver: cannot listen on 127.0.0.1");
    }
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::jthread([this](const std::stop_token& stop) { serve(stop); });
  }
  ~callback_receiver() {
    thread_.request_stop();
    thread_.join();  // which joins the connections' threads
    close(fd_);
  }
  callback_receiver(const callback_receiver&) = delete;
  callback_receiver& operator=(const callback_receiver&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/done") const {
    return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_) + path;
  }

  // The most connections it held unanswered at once.
  std::size_t most_at_once() {
    std::lock_guard lk(mu_);
    return most_at_once_;
  }

  // The first `n` deliveries, once they have come (a test failure after `within`).
  std::vector<delivery> wait_for(std::size_t n,
                                 std::chrono::milliseconds within = std::chrono::seconds(20)) {
    std::unique_lock lk(mu_);
    if (!arrived_.wait_for(lk, within, [&] { return got_.size() >= n; })) {
      ADD_FAILURE() << "callback_receiver: " << got_.size() << " of " << n << " deliveries";
    }
    return got_;
  }

 private:
  void serve(const std::stop_token& stop) {
    std::vector<std::jthread> connections;  // joined as this returns
    while (!stop.stop_requested()) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;  // a stop is seen within 50 ms
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      {
        std::lock_guard lk(mu_);
        most_at_once_ = std::max(most_at_once_, ++open_);
      }
      connections.emplace_back([this, c, &stop] {
        // TLS writes cannot ask for MSG_NOSIGNAL: a write to a connection jobd closed must not
        // kill the test.
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
        const bool answered = handle(c, stop);
        close(c);
        if (answered) return;
        std::lock_guard lk(mu_);
        --open_;
      });
    }
  }

  struct ssl_free {
    void operator()(SSL* p) const { SSL_free(p); }
    void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  };

  // Whether it answered; it stops counting the connection as held when it does, before jobd
  // can read the answer and go on to another delivery.
  bool handle(int c, const std::stop_token& stop) {
    std::unique_ptr<SSL, ssl_free> ssl;
    if (tls_) {
      ssl.reset(SSL_new(tls_.get()));
      SSL_set_fd(ssl.get(), c);
      if (SSL_accept(ssl.get()) != 1) {
        ERR_clear_error();
        return false;
      }
    }
    std::string in;
    char buf[4096];
    std::size_t body_at = std::string::npos;
    std::size_t length = 0;
    while (body_at == std::string::npos || in.size() < body_at + length) {
      const ssize_t n = ssl ? SSL_read(ssl.get(), buf, sizeof buf) : read(c, buf, sizeof buf);
      if (n <= 0) return false;
      in.append(buf, static_cast<std::size_t>(n));
      if (body_at == std::string::npos && in.find("\r\n\r\n") != std::string::npos) {
        body_at = in.find("\r\n\r\n") + 4;
        const auto cl = in.find("Content-Length: ");
        if (cl != std::string::npos && cl < body_at) length = std::stoul(in.substr(cl + 16));
      }
    }
    int index = 0;
    {
      std::lock_guard lk(mu_);
      index = taken_++;
    }
    const answer a = answer_for_(index);
    // Slow to answer: until the delay is over, or the sender gives up and closes.
    const auto until = std::chrono::steady_clock::now() + a.delay;
    while (std::chrono::steady_clock::now() < until && !stop.stop_requested()) {
      pollfd p{c, POLLRDHUP, 0};
      if (poll(&p, 1, 10) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) break;
    }
    {
      std::lock_guard lk(mu_);
      const char* sni = ssl ? SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name) : nullptr;
      got_.push_back({in.substr(0, body_at), in.substr(body_at, length), sni ? sni : ""});
      --open_;
    }
    arrived_.notify_all();
    const std::string out =
        "HTTP/1.1 " + std::to_string(a.status) + " X\r\n" +
        (a.status / 100 == 3 ? "Location: http://127.0.0.1:1/elsewhere\r\n" : "") +
        "Content-Length: 0\r\nConnection: close\r\n\r\n";
    // jobd may have given up on a slow answer: no SIGPIPE for writing to a closed connection.
    if (ssl) {
      // SIGPIPE is blocked on this thread (see serve), and dies with it.
      (void)!SSL_write(ssl.get(), out.data(), static_cast<int>(out.size()));
    } else {
      (void)!send(c, out.data(), out.size(), MSG_NOSIGNAL);
    }
    return true;
  }

  std::function<answer(int)> answer_for_;
  std::unique_ptr<SSL_CTX, ssl_free> tls_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::mutex mu_;
  std::condition_variable arrived_;
  std::vector<delivery> got_;  // guarded by mu_, as the three below
  int taken_ = 0;              // requests read so far
  std::size_t open_ = 0;
  std::size_t most_at_once_ = 0;
  std::jthread thread_;
};

}  // namespace jobd::testing
