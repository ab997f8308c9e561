// `jobd --probe`, the image's health check, against a real server and against peers that fail.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "http_client.hpp"
#include "jobd_process.hpp"

namespace {

using jobd::testing::http_client;
using jobd::testing::jobd_process;

struct probe_run {
  int exit_code;
  std::string output;
};

probe_run probe(std::vector<std::string> args, std::vector<std::string> env = {}) {
  jobd_process p(std::move(args), std::move(env), false);
  const int code = p.wait_exit();
  return {code, p.full_output()};
}

// A socket that listens but never accepts: the kernel completes the handshake, nobody answers.
// Not listening, it holds a port on which connections are refused and nobody else can bind.
class silent_listener {
 public:
  explicit silent_listener(bool listening = true)
      : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        (listening && listen(fd_, 4) != 0) ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("silent listener");
    }
    port_ = ntohs(a.sin_port);
  }
  ~silent_listener() { close(fd_); }
  silent_listener(const silent_listener&) = delete;
  silent_listener& operator=(const silent_listener&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

std::string url(std::uint16_t port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

TEST(Probe, HealthyServerExitsZero) {
  jobd_process server({});
  const probe_run r = probe({"--probe", url(server.port(), "/healthz")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("200 OK"), std::string::npos) << r.output;
}

TEST(Probe, PathIsAskedOfTheConfiguredListenAddress) {
  jobd_process server({"--listen", "0.0.0.0:0"});
  const std::string listen = "0.0.0.0:" + std::to_string(server.port());
  // The wildcard is asked on loopback; the environment chooses the port as it would for serving.
  EXPECT_EQ(probe({"--probe", "/healthz"}, {"JOBD_LISTEN=" + listen}).exit_code, 0);
  EXPECT_EQ(probe({"--probe", "/readyz", "--listen", listen}).exit_code, 0);
}

TEST(Probe, SendsATokenWhenTheProbedRouteNeedsOne) {
  const std::string tokens = ::testing::TempDir() + "jobd-probe-tokens-" + std::to_string(getpid());
  std::ofstream(tokens) << "probe-token-0123456789abcdef\n";
  jobd_process server({"--auth-token-file", tokens, "--auth-healthz", "true"});
  const std::string target = url(server.port(), "/healthz");
  EXPECT_EQ(probe({"--probe", target, "--auth-token-file", tokens}).exit_code, 0);
  const probe_run without = probe({"--probe", target});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_NE(without.output.find("401"), std::string::npos) << without.output;
  std::remove(tokens.c_str());
}

TEST(Probe, NonSuccessAnswerExitsOneAndSaysWhy) {
  jobd_process server({});
  const probe_run r = probe({"--probe", url(server.port(), "/no-such-route")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("404"), std::string::npos) << r.output;
}

TEST(Probe, DrainingServerIsNotReady) {
  jobd_process server({"--drain-timeout-ms", "5000"});
  http_client c(server.port());
  ASSERT_EQ(c.post("/v1/jobs", R"({"type":"sleep","payload":{"ms":3000}})").status, 202);
  server.signal(SIGTERM);
  server.wait_for_log("draining");
  EXPECT_EQ(probe({"--probe", url(server.port(), "/readyz")}).exit_code, 1);
  EXPECT_EQ(probe({"--probe", url(server.port(), "/healthz")}).exit_code, 0);
}

TEST(Probe, RefusedConnectionExitsOne) {
  const silent_listener bound_only(false);
  const probe_run r = probe({"--probe", url(bound_only.port(), "/healthz")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("connect"), std::string::npos) << r.output;
}

TEST(Probe, SilentPeerIsBoundedByTheReadTimeout) {
  silent_listener l;
  const auto start = std::chrono::steady_clock::now();
  const probe_run r = probe({"--probe", url(l.port(), "/healthz"), "--read-timeout-ms", "300"});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST(Probe, UnusableTargetIsAConfigurationError) {
  EXPECT_EQ(probe({"--probe", "healthz"}).exit_code, 2);
  EXPECT_EQ(probe({"--probe", "https://127.0.0.1/healthz"}).exit_code, 2);
  EXPECT_EQ(probe({"--probe", "http://127.0.0.1:99999999999999999999/healthz"}).exit_code, 1);
  EXPECT_EQ(probe({"--probe", "http://127.0.0.1:65536/healthz"}).exit_code, 1);
  const probe_run r = probe({"--probe", "http://[::1/healthz"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("not a path or an http"), std::string::npos) << r.output;
}

}  // namespace
