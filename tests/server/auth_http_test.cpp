// Bearer-token authentication over real sockets: which routes need a token, what a client is
// told without one, and the start-up errors a bad token file gives.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <fstream>

#include "jobd_process.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;

const std::string token_a = "tok-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string token_b = "tok-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb==";

// Per process: the debug and sanitizer suites may run at once and must not share files.
std::string token_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name + "-" + std::to_string(getpid());
  std::ofstream(path) << text;
  return path;
}

std::string valid_file() {
  return token_file("jobd-tokens", "# deploy tokens\n\n  " + token_a + "  \r\n" + token_b + "\n");
}

http_reply with_auth(http_client& c, const std::string& method, const std::string& target,
                     const std::string& authorization, const std::string& body = "") {
  return c.request(method, target, body, {{"Authorization", authorization}});
}

TEST(AuthOverHttp, V1RoutesNeedAValidBearerToken) {
  jobd_process server({"--auth-token-file", valid_file()});
  http_client c(server.port());

  const http_reply missing = c.post("/v1/jobs?wait=true", R"({"type":"noop"})");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.header("www-authenticate"), R"(Bearer realm="jobd")");
  EXPECT_EQ(missing.json()["error"]["code"], "unauthorized");
  // A refused submission, counted as one (its body unread, under the normal lane).
  EXPECT_NE(
      c.get("/metrics")
          .body.find("\njobd_jobs_rejected_total{priority=\"normal\",reason=\"invalid\"} 1\n"),
      std::string::npos);

  // Wrong bearer tokens: the challenge says the token is invalid.
  for (const std::string& wrong :
       std::vector<std::string>{"Bearer nope", "Bearer " + token_a.substr(0, token_a.size() - 1),
                                "Bearer " + token_a + "x", "Bearer " + token_a + " " + token_b}) {
    const http_reply r = with_auth(c, "POST", "/v1/jobs", wrong, R"({"type":"noop"})");
    EXPECT_EQ(r.status, 401) << wrong;
    EXPECT_EQ(r.header("www-authenticate"), R"(Bearer realm="jobd", error="invalid_token")")
        << wrong;
  }
  // No bearer token at all (another scheme, an empty one): a plain challenge (RFC 6750 3.1).
  for (const std::string& none :
       std::vector<std::string>{"Basic " + token_a, "Bearer", "Bearer  ", token_a}) {
    const http_reply r = with_auth(c, "POST", "/v1/jobs", none, R"({"type":"noop"})");
    EXPECT_EQ(r.status, 401) << none;
    EXPECT_EQ(r.header("www-authenticate"), R"(Bearer realm="jobd")") << none;
    EXPECT_EQ(r.json()["error"]["message"],
              "the Authorization header is not of the form \"Bearer TOKEN\"")
        << none;
  }

  // Either token, any case of the scheme.
  EXPECT_EQ(
      with_auth(c, "POST", "/v1/jobs?wait=true", "Bearer " + token_a, R"({"type":"noop"})").status,
      200);
  EXPECT_EQ(
      with_auth(c, "POST", "/v1/jobs?wait=true", "bearer " + token_b, R"({"type":"noop"})").status,
      200);

  // Every /v1 path, known or not, answers 401 first: nothing about jobs leaks without a token.
  for (const char* path : {"/v1/jobs", "/v1/jobs/0123456789abcdef", "/v1/pool", "/v1/job-types",
                           "/v1/no-such-thing", "/v1"}) {
    EXPECT_EQ(c.get(path).status, 401) << path;
  }
  EXPECT_EQ(c.request("DELETE", "/v1/jobs/0123456789abcdef").status, 401);

  // Refused requests changed nothing: only the two authorised jobs exist.
  const json pool = with_auth(c, "GET", "/v1/pool", "Bearer " + token_a).json();
  EXPECT_EQ(pool["lanes"]["normal"]["submitted"], 2);
}

TEST(AuthOverHttp, HealthReadinessAndMetricsAreOpenByDefault) {
  jobd_process server({"--auth-token-file", valid_file()});
  http_client c(server.port());
  EXPECT_EQ(c.get("/healthz").status, 200);
  EXPECT_EQ(c.get("/readyz").status, 200);
  const http_reply m = c.get("/metrics");
  EXPECT_EQ(m.status, 200);
  // The 401s above and below are counted under their route like any answer.
  (void)c.get("/v1/pool");
  EXPECT_NE(
      c.get("/metrics").body.find(R"(jobd_http_requests_total{route="/v1/pool",code="401"} 1)"),
      std::string::npos);
}

TEST(AuthOverHttp, EachOpenRouteCanBeClosed) {
  jobd_process server({"--auth-token-file", valid_file(), "--auth-metrics", "true",
                       "--auth-healthz", "true", "--auth-readyz", "true"});
  http_client c(server.port());
  for (const char* path : {"/metrics", "/healthz", "/readyz"}) {
    EXPECT_EQ(c.get(path).status, 401) << path;
    EXPECT_EQ(with_auth(c, "GET", path, "Bearer " + token_b).status, 200) << path;
  }
  jobd_process only_metrics({"--auth-token-file", valid_file(), "--auth-metrics", "true"});
  http_client d(only_metrics.port());
  EXPECT_EQ(d.get("/metrics").status, 401);
  EXPECT_EQ(d.get("/healthz").status, 200);
  EXPECT_EQ(d.get("/readyz").status, 200);
}

TEST(AuthOverHttp, StartupLogSaysWhatIsProtected) {
  jobd_process server({"--auth-token-file", valid_file(), "--auth-metrics", "true"});
  const std::string line = server.wait_for_log("authentication:");
  EXPECT_NE(line.find("2 bearer token(s)"), std::string::npos) << line;
  EXPECT_NE(line.find("open without a token: /healthz, /readyz"), std::string::npos) << line;
  EXPECT_EQ(server.log().find(token_a), std::string::npos) << "a token was logged";
}

TEST(AuthOverHttp, NonLoopbackWithoutTokensWarns) {
  jobd_process open_server({"--listen", "0.0.0.0:0"});
  EXPECT_NE(open_server.wait_for_log("no auth_token_file").find("warn"), std::string::npos);
  jobd_process closed_server({"--listen", "0.0.0.0:0", "--auth-token-file", valid_file()});
  closed_server.wait_for_log("authentication:");
  EXPECT_EQ(closed_server.log().find("no auth_token_file"), std::string::npos);
  // All of 127.0.0.0/8 is loopback, not only 127.0.0.1. The whole log, once it has stopped.
  jobd_process loopback({"--listen", "127.0.0.2:0"});
  loopback.signal(SIGTERM);
  EXPECT_EQ(loopback.wait_exit(), 0);
  EXPECT_EQ(loopback.log().find("no auth_token_file"), std::string::npos) << loopback.log();
}

struct bad_file_case {
  std::string content;
  std::string message;
};

TEST(AuthStartup, UnusableTokenFilesStopStartUpWithoutShowingTokens) {
  const std::vector<bad_file_case> cases = {
      {"# only a comment\n\n", "holds no token"},
      {"", "holds no token"},
      {token_a + "\nshort-secret\n", "line 2: not a token"},
      {"has space in the middle of it\n", "line 1: not a token"},
      {token_a + "\n" + std::string(4097, 'x') + "\n", "line 2: not a token"},
      {"tok-with-a-quote\"aaaaaaaaaaaa\n", "line 1: not a token"},
      // Padding is not part of the length: one character and fifteen '=' is not a token.
      {"a" + std::string(15, '=') + "\n", "line 1: not a token"},
      {std::string(15, 'a') + "=\n", "line 1: not a token"},
      {std::string(16, 'a') + "===\n", "line 1: not a token"},
  };
  for (const auto& c : cases) {
    const std::string path = token_file("jobd-bad-tokens", c.content);
    jobd_process p({"--auth-token-file", path}, {}, false);
    EXPECT_EQ(p.wait_exit(), 2) << c.content;
    const std::string out = p.full_output();
    EXPECT_NE(out.find(c.message), std::string::npos) << out;
    EXPECT_NE(out.find(path), std::string::npos) << out;
    EXPECT_EQ(out.find("short-secret"), std::string::npos) << out;
  }
  // The longest token, padded.
  const std::string longest = token_file("jobd-long-token", std::string(4096, 'a') + "==\n");
  jobd_process longest_ok({"--auth-token-file", longest, "--check-config"}, {}, false);
  EXPECT_EQ(longest_ok.wait_exit(), 0) << longest_ok.full_output();
  jobd_process missing({"--auth-token-file", "/nonexistent/tokens"}, {}, false);
  EXPECT_EQ(missing.wait_exit(), 2);
  EXPECT_NE(missing.full_output().find("cannot be read"), std::string::npos);
  jobd_process orphan_switch({"--auth-metrics", "true"}, {}, false);
  EXPECT_EQ(orphan_switch.wait_exit(), 2);
  EXPECT_NE(orphan_switch.full_output().find("need auth_token_file"), std::string::npos);
}

// As ssh does with a private key: a token file others may read is a warning, and with
// auth_token_file_strict a refusal to start.
TEST(AuthStartup, ATokenFileOpenToOthersIsAWarningOrWithStrictARefusal) {
  const std::string path = valid_file();
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  {
    jobd_process server({"--auth-token-file", path});
    const std::string line = server.wait_for_log("is open to group and others (mode 0644)");
    EXPECT_NE(line.find("warn"), std::string::npos) << line;
    EXPECT_NE(line.find("chmod 600"), std::string::npos) << line;
  }
  jobd_process strict({"--auth-token-file", path, "--auth-token-file-strict", "true"}, {}, false);
  EXPECT_EQ(strict.wait_exit(), 2);
  EXPECT_NE(strict.full_output().find("auth_token_file " + path +
                                      " is open to group and others (mode 0644), and "
                                      "auth_token_file_strict is on: chmod 600 it"),
            std::string::npos)
      << strict.full_output();
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  jobd_process quiet({"--auth-token-file", path, "--auth-token-file-strict", "true"});
  quiet.signal(SIGTERM);
  EXPECT_EQ(quiet.wait_exit(), 0);
  const std::string log = quiet.full_output();
  EXPECT_NE(log.find("authentication: 2 bearer token(s)"), std::string::npos) << log;
  EXPECT_EQ(log.find("is open to"), std::string::npos) << log;
}

TEST(AuthStartup, CheckConfigNamesTheFileButNotTheTokens) {
  jobd_process check({"--auth-token-file", valid_file(), "--check-config"}, {}, false);
  EXPECT_EQ(check.wait_exit(), 0);
  const std::string out = check.full_output();
  EXPECT_NE(out.find("jobd-tokens"), std::string::npos) << out;
  EXPECT_EQ(out.find(token_a), std::string::npos) << out;
}

}  // namespace
}  // namespace jobd::testing
