// GET /v1/events over a real socket: the stream's header, the pool's state first and then every
// interval, each change of a job in order, the clients gauge, a client that stops reading told
// it lagged while the others and the jobs go on, and the stream ended cleanly at shutdown.
#include <gtest/gtest.h>

#include <fstream>

#include "../support/temp_folder.hpp"
#include "http_client.hpp"
#include "jobd_process.hpp"
#include "metrics_page.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;

struct sse_event {
  std::string name;
  json data;
};

// A client of /v1/events: the answer's header read, then one event at a time.
class event_client {
 public:
  explicit event_client(std::uint16_t port, int receive_buffer = 0) : c_(port, 30, receive_buffer) {
    EXPECT_TRUE(c_.send_raw("GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  }
  http_reply header() { return c_.read_reply(false).value_or(http_reply{}); }
  // The next event; an empty name when the stream ended.
  sse_event next() {
    const auto text = c_.read_through("\n\n");
    if (!text) return {};
    sse_event e;
    const auto name_at = text->find("event: ");
    const auto data_at = text->find("\ndata: ");
    EXPECT_EQ(name_at, 0u) << *text;
    EXPECT_NE(data_at, std::string::npos) << *text;
    e.name = text->substr(7, data_at - 7);
    e.data = json::parse(text->substr(data_at + 7, text->size() - data_at - 9));
    return e;
  }
  // Job events until one says `id` is `status`; the statuses seen for `id` on the way.
  std::vector<std::string> statuses_until(const std::string& id, const std::string& status) {
    std::vector<std::string> seen;
    for (sse_event e = next(); !e.name.empty(); e = next()) {
      if (e.name != "job" || e.data["id"] != id) continue;
      seen.push_back(e.data["status"]);
      if (seen.back() == status) return seen;
    }
    ADD_FAILURE() << "the stream ended before job " << id << " was " << status;
    return seen;
  }

 private:
  http_client c_;
};

std::string sse_clients(http_client& c) {
  return sample_text(c.get("/metrics").body, "jobd_http_sse_clients");
}

TEST(Events, TheStreamBeginsWithThePoolAndCarriesEveryChangeOfAJob) {
  jobd_process server({});
  event_client events(server.port());
  const http_reply head = events.header();
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-type"), "text/event-stream");
  EXPECT_EQ(head.header("cache-control"), "no-cache");
  EXPECT_EQ(head.header("content-length"), "");
  const sse_event first = events.next();
  EXPECT_EQ(first.name, "pool");
  EXPECT_EQ(first.data["lanes"]["normal"]["capacity"], 1024) << first.data;
  http_client c(server.port());
  EXPECT_EQ(sse_clients(c), "1");
  const std::string id = submit_async(c, sleep_job(50));
  EXPECT_EQ(events.statuses_until(id, "succeeded"),
            (std::vector<std::string>{"queued", "running", "succeeded"}));
}

TEST(Events, ThePoolComesEveryIntervalAndAGoneClientIsForgotten) {
  jobd_process server({"--events-interval-ms", "20"});
  http_client c(server.port());
  {
    event_client events(server.port());
    EXPECT_EQ(events.header().status, 200);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(events.next().name, "pool");
    EXPECT_EQ(sse_clients(c), "1");
  }
  // Seen gone as it closes: its gauge falls back.
  while (sse_clients(c) != "0") (void)c.get("/v1/jobs/none?wait=0.02");
}

// A client that stops reading falls behind by more than the server keeps: told so when it
// reads again. Meanwhile the jobs are accepted and run, and a client that reads sees them all
// end.
TEST(Events, AClientThatStopsReadingIsToldItLaggedAndHoldsUpNoOne) {
  // Every job event streamed, however fast they come: this is about the ring.
  jobd_process server({"--read-timeout-ms", "120000", "--events-job-rate", "10000000"});
  event_client stalled(server.port(), 4096);
  EXPECT_EQ(stalled.header().status, 200);
  event_client reading(server.port());
  EXPECT_EQ(reading.header().status, 200);
  http_client c(server.port());
  // Each job's end carries its 64 KiB result: 300 of them outgrow the 8 MiB of events the
  // server keeps and the stalled client's socket buffers together.
  const std::string payload = "\"" + std::string(64 * 1024, 'x') + "\"";
  std::string last;
  for (int i = 0; i < 300; ++i) {
    last = submit_async(c, R"({"type":"echo","payload":)" + payload + "}");
  }
  EXPECT_EQ(reading.statuses_until(last, "succeeded").back(), "succeeded");
  // The stalled client reads again: it is told what it missed before the last job's end.
  bool lagged = false;
  bool last_ended = false;
  for (sse_event e = stalled.next(); !e.name.empty() && !last_ended; e = stalled.next()) {
    if (e.name == "lag") {
      lagged = true;
      EXPECT_GT(e.data["missed"].get<int>(), 0);
    }
    last_ended = e.name == "job" && e.data["id"] == last && e.data["status"] == "succeeded";
  }
  EXPECT_TRUE(lagged);
  EXPECT_TRUE(last_ended);
}

// Jobs that change faster than events_job_rate: the rest is told as lag, and the stream goes on
// with the pool and the job events of later windows.
TEST(Events, JobEventsOverTheRateAreToldAsLag) {
  jobd_process server({"--events-job-rate", "10", "--events-interval-ms", "20"});
  event_client events(server.port());
  EXPECT_EQ(events.header().status, 200);
  http_client c(server.port());
  // 200 jobs, two events each, in one pipelined burst: far more than one a window.
  std::string burst;
  for (int i = 0; i < 200; ++i) {
    burst +=
        "POST /v1/jobs?wait=true HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\n"
        "{\"type\":\"noop\"}";
  }
  ASSERT_TRUE(c.send_raw(burst));
  for (int i = 0; i < 200; ++i) ASSERT_EQ(c.read_reply().value_or(http_reply{}).status, 200);
  int jobs_seen = 0;
  int missed = 0;
  for (sse_event e = events.next(); !e.name.empty() && missed == 0; e = events.next()) {
    if (e.name == "job") ++jobs_seen;
    if (e.name == "lag") missed = e.data["missed"].get<int>();
  }
  EXPECT_GT(missed, 0);
  EXPECT_LT(jobs_seen, 400);
  // And the stream goes on.
  sse_event e = events.next();
  while (!e.name.empty() && e.name != "pool") e = events.next();
  EXPECT_EQ(e.name, "pool");
}

TEST(Events, AShutdownEndsTheStreamAfterWhatItHas) {
  jobd_process server({});
  event_client events(server.port());
  EXPECT_EQ(events.header().status, 200);
  EXPECT_EQ(events.next().name, "pool");
  server.signal(SIGTERM);
  for (sse_event e = events.next(); !e.name.empty(); e = events.next()) {
  }
  EXPECT_EQ(server.wait_exit(), 0);
}

TEST(Events, WithAuthOnTheStreamNeedsAToken) {
  temp_folder dir;
  const std::string token = "tok-" + std::string(32, 'e');
  std::ofstream(dir.path() / "tokens") << token << "\n";
  jobd_process server({"--auth-token-file", (dir.path() / "tokens").string()});
  http_client c(server.port());
  EXPECT_EQ(c.get("/v1/events").status, 401);
  http_client with_token(server.port());
  EXPECT_TRUE(
      with_token.send_raw("GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Authorization: Bearer " +
                          token + "\r\n\r\n"));
  EXPECT_EQ(with_token.read_reply(false).value_or(http_reply{}).status, 200);
}

}  // namespace
}  // namespace jobd::testing
