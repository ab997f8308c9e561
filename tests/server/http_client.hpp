#pragma once

// A small blocking HTTP/1.1 client over a real loopback socket, for integration tests. It reads
// responses framed by Content-Length (jobd always sends one) and can pipeline raw requests.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace jobd::testing {

struct http_reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  nlohmann::json json() const { return nlohmann::json::parse(body); }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class http_client {
 public:
  // `receive_buffer` > 0 shrinks the socket's receive buffer (SO_RCVBUF): a client that reads
  // little then fills up fast.
  explicit http_client(std::uint16_t port, int receive_timeout_s = 30, int receive_buffer = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (receive_buffer > 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // A bound on every read: a broken server fails the test instead of hanging it.
    timeval tv{receive_timeout_s, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ADD_FAILURE() << "connect to 127.0.0.1:" << port << " failed";
    }
  }
  ~http_client() { close(fd_); }
  // The client's own port, as the server sees it.
  std::uint16_t local_port() const {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    return ntohs(addr.sin_port);
  }
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  http_reply request(const std::string& method, const std::string& target,
                     const std::string& body = "",
                     const std::map<std::string, std::string>& headers = {}) {
    send_raw(format(method, target, body, headers));
    auto r = read_reply();
    if (!r) ADD_FAILURE() << method << " " << target << ": no response";
    return r.value_or(http_reply{});
  }

  http_reply get(const std::string& target) { return request("GET", target); }
  http_reply post(const std::string& target, const std::string& body) {
    return request("POST", target, body);
  }

  static std::string format(const std::string& method, const std::string& target,
                            const std::string& body,
                            const std::map<std::string, std::string>& headers = {}) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    if (!body.empty() || method == "POST")
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    return req;
  }

  // False when the connection would not take the bytes.
  bool send_raw(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Without waiting: has the peer closed (or reset) the connection, with nothing left to read?
  bool peer_gone_now() {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  // nullopt when the connection closed (or timed out) before a whole response arrived.
  // `with_body` false: the answer to a HEAD request, whose Content-Length has no body after it.
  std::optional<http_reply> read_reply(bool with_body = true) {
    std::size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    http_reply r;
    const std::string head = buffer_.substr(0, header_end);
    r.status = std::stoi(head.substr(9, 3));
    std::size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos < head.size()) {
      const std::size_t next = head.find("\r\n", pos + 2);
      const std::string line =
          head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      }
      pos = next;
    }
    const std::size_t length = !with_body || r.header("content-length").empty()
                                   ? 0
                                   : std::stoul(r.header("content-length"));
    while (buffer_.size() < header_end + 4 + length) {
      if (!fill()) return std::nullopt;
    }
    r.body = buffer_.substr(header_end + 4, length);
    buffer_.erase(0, header_end + 4 + length);
    return r;
  }

  // The bytes up to and including the next `delimiter` (a streamed answer's next event, say);
  // nullopt when the connection closed or timed out first.
  std::optional<std::string> read_through(const std::string& delimiter) {
    std::size_t at;
    while ((at = buffer_.find(delimiter)) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    std::string out = buffer_.substr(0, at + delimiter.size());
    buffer_.erase(0, at + delimiter.size());
    return out;
  }

  // What was received and not yet read as a reply.
  const std::string& unread() const { return buffer_; }

  // True when the server closed the connection (reads end) within the receive timeout.
  bool closed_by_peer() {
    while (fill()) {
    }
    return last_read_ == 0;
  }

 private:
  bool fill() {
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    last_read_ = n;
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
  ssize_t last_read_ = 1;
};

}  // namespace jobd::testing
