// Connections: clients that leave, idle keep-alive, the connection bound, logging formats, and the
// Retry-After estimate.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <vector>

#include "jobd_process.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;

TEST(Connections, AClientThatDisconnectsWhileWaitingLeavesItsJobRunningToItsEnd) {
  jobd_process server({"--workers", "2"});
  http_client watcher(server.port());
  {
    http_client leaving(server.port());
    leaving.send_raw(http_client::format("POST", "/v1/jobs?wait=true", sleep_job(200)));
    while (watcher.get("/v1/jobs?status=running").json()["jobs"].empty()) {
    }
  }  // the waiting client closes its socket here
  const std::string id = watcher.get("/v1/jobs?status=running").json()["jobs"][0]["id"];
  EXPECT_EQ(wait_terminal(watcher, id)["status"], "succeeded");
  EXPECT_EQ(watcher.get("/healthz").status, 200);
}

TEST(Connections, AnIdleKeepAliveConnectionIsClosedAfterItsTimeout) {
  jobd_process server({"--keepalive-timeout-ms", "100"});
  http_client c(server.port());
  EXPECT_EQ(c.get("/healthz").status, 200);
  EXPECT_TRUE(c.closed_by_peer());  // within the client's 30 s read bound, not at it
}

// The keep-alive timeout is for idle connections: one waiting for its answer is not idle,
// however long its job runs, and the clock starts once the last answer is written.
TEST(Connections, AWaitLongerThanTheKeepAliveTimeoutIsAnswered) {
  jobd_process server({"--keepalive-timeout-ms", "200"});
  http_client c(server.port());
  const http_reply r = c.post("/v1/jobs?wait=true", R"({"type":"sleep","payload":{"ms":800}})");
  EXPECT_EQ(r.status, 200);
  // Two pipelined waits: the first answer must not start the idle clock under the second.
  c.send_raw(http_client::format("POST", "/v1/jobs?wait=true", R"({"type":"noop"})") +
             http_client::format("POST", "/v1/jobs?wait=true",
                                 R"({"type":"sleep","payload":{"ms":600}})"));
  EXPECT_EQ(c.read_reply()->status, 200);
  EXPECT_EQ(c.read_reply()->status, 200);
  EXPECT_TRUE(c.closed_by_peer());  // then idle: closed after the timeout
}

TEST(Connections, HttpOneZeroClosesAfterTheAnswerUnlessAskedToKeepAlive) {
  jobd_process server({});
  http_client c(server.port());
  c.send_raw("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const auto kept = c.read_reply();
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->status, 200);
  EXPECT_EQ(kept->header("connection"), "keep-alive");
  c.send_raw("GET /healthz HTTP/1.0\r\n\r\n");
  const auto last = c.read_reply();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->status, 200);
  EXPECT_EQ(last->header("connection"), "");
  EXPECT_TRUE(c.closed_by_peer());
}

// HEAD is GET without the body (load balancers probe with it). A body after an answer to HEAD
// would be read as the start of the next answer.
TEST(Connections, AnAnswerToHeadHasNoBodyAndTheNextAnswerFollowsIt) {
  jobd_process server({});
  http_client c(server.port());
  const std::string get_length = c.get("/healthz").header("content-length");
  c.send_raw(http_client::format("HEAD", "/healthz", "") +
             http_client::format("HEAD", "/v1/jobs", "") +
             http_client::format("GET", "/healthz", ""));
  const auto head = c.read_reply(false);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), get_length);
  EXPECT_EQ(head->body, "");
  const auto list = c.read_reply(false);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_NE(list->header("content-length"), "0");
  const auto next = c.read_reply();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->json()["status"], "ok");
}

// A synchronous submission's head that asks for "100 Continue" before its body.
std::string head_awaiting_continue(const std::string& body) {
  return "POST /v1/jobs?wait=true HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n";
}

// Reads the interim "100 Continue", then sends the body and returns the final answer.
std::optional<http_reply> body_after_continue(http_client& c, const std::string& body) {
  const auto interim = c.read_reply();
  if (!interim || interim->status != 100) {
    ADD_FAILURE() << "no 100 Continue: " << (interim ? interim->status : 0);
    return std::nullopt;
  }
  c.send_raw(body);
  return c.read_reply();
}

TEST(Connections, ABodyThatWaitsFor100ContinueGetsItAtOnce) {
  jobd_process server({});
  http_client c(server.port());
  const std::string body = R"({"type":"echo","payload":")" + std::string(4096, 'x') + "\"}";
  c.send_raw(head_awaiting_continue(body));
  const auto r = body_after_continue(c, body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->json()["result"].get<std::string>().size(), 4096u);
  // Without the header no interim answer precedes the final one.
  EXPECT_EQ(c.post("/v1/jobs?wait=true", body).status, 200);
}

// Pipelined behind a job that outlasts the read timeout: the interim answer follows the owed
// one, and the client's wait for it is not taken for a silent request.
TEST(Connections, A100ContinueOwedBehindAnEarlierAnswerIsSentOnceThatIsOut) {
  jobd_process server({"--read-timeout-ms", "1000"});
  http_client c(server.port(), 5);
  const std::string body = R"({"type":"echo","payload":"after the interim answer"})";
  c.send_raw(http_client::format("POST", "/v1/jobs?wait=true", sleep_job(1500)) +
             head_awaiting_continue(body));
  const auto slept = c.read_reply();
  ASSERT_TRUE(slept);
  EXPECT_EQ(slept->json()["status"], "succeeded") << slept->body;
  const auto r = body_after_continue(c, body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->json()["result"], "after the interim answer");
}

// RFC 9112 2.2: a server ignores empty lines before a request line, such as the CRLF some
// clients send after a body they counted without it.
TEST(Connections, EmptyLinesBeforeARequestAreSkipped) {
  jobd_process server({});
  http_client c(server.port());
  c.send_raw("\r\n" + http_client::format("POST", "/v1/jobs?wait=true", R"({"type":"noop"})") +
             "\r\n\r\n\n" + http_client::format("GET", "/healthz", ""));
  for (const unsigned expected : {200u, 200u}) {
    const auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, expected) << r->body;
  }
  EXPECT_EQ(c.get("/healthz").status, 200);  // still open
}

// Refused before the routes see it, a HEAD request's error answer has no body either.
TEST(Connections, AnErrorAnswerToHeadHasNoBody) {
  jobd_process server({});
  http_client c(server.port());
  c.send_raw("HEAD /healthz HTTP/1.1\r\n\r\n");  // no Host: refused by the parser
  const auto r = c.read_reply(false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->header("content-length"), "0");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(c.unread(), "");
}

TEST(Connections, ARequestThatClosesTheConnectionIsTheLastOneRead) {
  jobd_process server({});
  http_client c(server.port());
  c.send_raw(http_client::format("GET", "/healthz", "", {{"Connection", "close"}}) +
             http_client::format("POST", "/v1/jobs?wait=true", R"({"type":"noop"})"));
  const auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
  http_client other(server.port());
  EXPECT_EQ(other.get("/v1/pool").json()["lanes"]["normal"]["submitted"], 0);
}

// Answers are written at once when the socket takes them; a peer that takes none for the read
// timeout is cut off, and the rest of the server is not held up meanwhile.
TEST(Connections, APeerThatDoesNotReadItsAnswersIsClosedAfterTheReadTimeout) {
  jobd_process server({"--read-timeout-ms", "300", "--log-level", "debug"});
  http_client silent(server.port(), 30, 4096);  // it never reads
  // Sixteen pipelined echoes of 512 KiB: 8 MiB of answers, more than the sockets buffer.
  const std::string echo =
      http_client::format("POST", "/v1/jobs?wait=true",
                          R"({"type":"echo","payload":")" + std::string(512 * 1024, 'x') + "\"}");
  std::string all;
  for (int i = 0; i < 16; ++i) all += echo;
  // Sending may end early: the server can cut the connection off before it has read them all.
  (void)silent.send_raw(all);
  http_client other(server.port());
  EXPECT_EQ(other.get("/healthz").status, 200);
  server.wait_for_log("took none of its answers for 300 ms");
  EXPECT_EQ(other.get("/healthz").status, 200);
  EXPECT_NE(other.get("/metrics").body.find("\njobd_http_connections 1\n"), std::string::npos);
}

TEST(Connections, ConnectionsBeyondTheBoundGet503AndAClose) {
  jobd_process server({"--max-connections", "2", "--access-log", "true"});
  http_client a(server.port());
  http_client b(server.port());
  EXPECT_EQ(a.get("/healthz").status, 200);
  EXPECT_EQ(b.get("/healthz").status, 200);
  http_client c(server.port());
  const auto refused = c.read_reply();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->json()["error"]["code"], "too_many_connections");
  // Like every answer: an id (a fresh one, as no request was read), the server's name.
  const std::string id = refused->header("x-request-id");
  EXPECT_EQ(id.size(), 16u) << id;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_EQ(refused->header("retry-after"), "1");
  EXPECT_EQ(refused->header("connection"), "close");
  EXPECT_EQ(refused->header("server"), "jobd");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(a.get("/healthz").status, 200);  // the others are unaffected
  // Counted where operators look for refusals: no request line was read, so under `other`.
  EXPECT_NE(a.get("/metrics").body.find(R"(jobd_http_requests_total{route="other",code="503"} 1)"),
            std::string::npos);
  // And in the access log, with the client that was turned away.
  const std::string line = server.wait_for_log("target=- ");
  EXPECT_NE(line.find("request_id=" + id + " client=127.0.0.1:" + std::to_string(c.local_port()) +
                      " method=- target=- route=other status=503 "),
            std::string::npos)
      << line;
}

// The access log is read in terminals and by JSON parsers: a target's bytes outside printable
// ASCII (the parser takes them as obs-text) are percent-encoded there.
TEST(Connections, TheAccessLogShowsATargetsOtherBytesPercentEncoded) {
  jobd_process server({"--log-format", "json", "--access-log", "true"});
  http_client c(server.port());
  c.send_raw("GET /a\xff\xfe?q=\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  const std::string line = server.wait_for_log("target=");
  EXPECT_NE(line.find("target=/a%FF%FE?q=%C3%A9 "), std::string::npos) << line;
  EXPECT_NE(line.find(" client=127.0.0.1:" + std::to_string(c.local_port()) + " "),
            std::string::npos)
      << line;
  EXPECT_TRUE(json::accept(line)) << line;
}

// RFC 9110 §6.6.1: an origin server with a clock sends the date on every answer.
TEST(Connections, EveryAnswerCarriesTheDate) {
  jobd_process server({"--max-connections", "1"});
  http_client c(server.port());
  auto seconds_off = [](const std::string& date) {
    std::tm tm{};
    const char* end = strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    EXPECT_TRUE(end != nullptr && *end == '\0') << date;
    return std::abs(timegm(&tm) - std::time(nullptr));
  };
  const auto ok = c.get("/healthz");
  EXPECT_LE(seconds_off(ok.header("date")), 5) << ok.header("date");
  const auto missing = c.get("/nowhere");
  EXPECT_EQ(missing.status, 404);
  EXPECT_LE(seconds_off(missing.header("date")), 5) << missing.header("date");
  http_client turned_away(server.port());
  const auto refused = turned_away.read_reply();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_LE(seconds_off(refused->header("date")), 5) << refused->header("date");
}

TEST(Connections, AChunkedBodyIsReadWhole) {
  jobd_process server({});
  http_client c(server.port());
  const std::string body = R"({"type":"echo","payload":{"text":"split across chunks"}})";
  std::string chunks;
  for (std::size_t at = 0; at < body.size(); at += 7) {
    const std::string piece = body.substr(at, 7);
    chunks += std::to_string(piece.size()) + "\r\n" + piece + "\r\n";
  }
  c.send_raw("POST /v1/jobs?wait=true HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
             chunks + "0\r\n\r\n");
  const auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->json()["result"], json::parse(R"({"text":"split across chunks"})"));
}

TEST(Connections, TheFirstRequestIdFieldCountsWhateverItsCase) {
  jobd_process server({});
  http_client c(server.port());
  c.send_raw(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nx-REQUEST-id: first-1\r\n"
      "X-Request-Id: second-2\r\n\r\n");
  const auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("x-request-id"), "first-1");
}

// With several I/O threads each connection has a strand: answers made on the I/O threads and
// answers from workers meet there, and come out in request order.
TEST(Connections, SeveralIoThreadsAnswerEveryConnectionInOrder) {
  jobd_process server({"--io-threads", "3", "--workers", "4"});
  std::vector<std::unique_ptr<http_client>> clients;
  for (int i = 0; i < 6; ++i) clients.push_back(std::make_unique<http_client>(server.port()));
  for (int round = 0; round < 3; ++round) {
    for (auto& c : clients) {
      c->send_raw(http_client::format("POST", "/v1/jobs?wait=true", sleep_job(20)) +
                  http_client::format("POST", "/v1/jobs?wait=true", R"({"type":"noop"})") +
                  http_client::format("GET", "/healthz", ""));
    }
    for (auto& c : clients) {
      const auto slept = c->read_reply();
      const auto noop = c->read_reply();
      const auto health = c->read_reply();
      ASSERT_TRUE(slept && noop && health);
      EXPECT_EQ(slept->status, 200);
      EXPECT_EQ(slept->json()["type"], "sleep");
      EXPECT_EQ(noop->status, 200);
      EXPECT_EQ(noop->json()["type"], "noop");
      EXPECT_EQ(health->status, 200);
      EXPECT_EQ(health->json()["status"], "ok");
    }
  }
}

TEST(Connections, JsonLogLinesAreJsonObjects) {
  jobd_process server({"--log-format", "json"});
  const std::string line = server.wait_for_log("listening on");
  const json j = json::parse(line);
  EXPECT_EQ(j["level"], "info");
  EXPECT_NE(j["msg"].get<std::string>().find("listening on 127.0.0.1:"), std::string::npos);
  EXPECT_TRUE(j["time"].is_string());
}

TEST(Connections, StartupLineIsLoggedAboveInfoLevelToo) {
  // The port the kernel chose can be learnt from the log whatever the level (but off).
  jobd_process server({"--log-level", "error", "--listen", "127.0.0.1:0"});
  EXPECT_NE(server.wait_for_log("listening on").find(" info  listening on 127.0.0.1:"),
            std::string::npos);
  http_client c(server.port());
  EXPECT_EQ(c.get("/healthz").status, 200);
}

TEST(RetryAfter, IsTheLanesDepthTimesItsRecentRunTimeOverItsWorkers) {
  // Two workers, one reserved: one serves the normal lane. Each job sleeps 1.5 s, so with two
  // queued the estimate is 2 x 1.5+ s / 1 = 3.0+ s, rounded up to 4 (sleeps never end early, and
  // a late one would have to be 0.5 s late to change it).
  jobd_process server({"--workers", "2", "--queue-capacity", "2"});
  http_client c(server.port());
  ASSERT_EQ(c.post("/v1/jobs?wait=true", sleep_job(1500)).status, 200);
  const std::string running = submit_async(c, sleep_job(60'000));
  wait_running(c, running);
  submit_async(c, sleep_job(60'000));
  submit_async(c, sleep_job(60'000));
  const auto r = c.post("/v1/jobs", sleep_job(1));
  ASSERT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "4");
}

}  // namespace
}  // namespace jobd::testing
