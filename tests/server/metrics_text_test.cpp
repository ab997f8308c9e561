// The exposition's numbers: each is the shortest text that reads back as the same double, and
// the histogram's `le` labels keep their text from scrape to scrape.
#include <gtest/gtest.h>

#include <string>

#include "metrics_page.hpp"
#include "server/obs/metrics.hpp"

namespace jobd::server {
namespace {

using testing::sample_text;

TEST(MetricsText, WritesEachValueAsTheShortestTextThatReadsBackExactly) {
  metrics m;
  m.observe_request("/healthz", 200, 0.1);
  m.observe_request("/v1/pool", 200, 0.1);
  m.observe_request("/v1/pool", 200, 0.2);
  m.observe_request("/v1/pool", 503, 1e-7);
  const std::string page = m.render(pool::pool_stats{}, {}, {}, {}, {}, {}, {});

  EXPECT_EQ(sample_text(page, R"(jobd_http_request_duration_seconds_sum{route="/healthz"})"),
            "0.1");
  // 0.1 + 0.2 is not 0.3 in binary: the text says exactly which double it is.
  const std::string sum =
      sample_text(page, R"(jobd_http_request_duration_seconds_sum{route="/v1/pool"})");
  EXPECT_EQ(std::stod(sum), 0.1 + 0.2 + 1e-7);
  EXPECT_EQ(sum, "0.30000010000000005");
  EXPECT_EQ(sample_text(page, R"(jobd_http_request_duration_seconds_count{route="/v1/pool"})"),
            "3");
  EXPECT_EQ(sample_text(page, R"(jobd_http_requests_total{route="/v1/pool",code="200"})"), "2");
}

// Round numbers stay in plain digits, whatever their size: a grep for a capacity of 100000 finds
// it, where the shortest form of the double would be 1e+05.
TEST(MetricsText, WritesWholeNumbersInPlainDigits) {
  metrics m;
  pool::pool_stats p;
  p.lanes[static_cast<std::size_t>(pool::lane::normal)].capacity = 100000;
  p.lanes[static_cast<std::size_t>(pool::lane::high)].capacity = 1000000;
  p.lanes[static_cast<std::size_t>(pool::lane::normal)].oldest_wait_seconds = 2.5e-7;
  const std::string page = m.render(p, {}, {}, {}, {}, {}, {});
  EXPECT_EQ(sample_text(page, R"(jobd_queue_capacity{priority="normal"})"), "100000");
  EXPECT_EQ(sample_text(page, R"(jobd_queue_capacity{priority="high"})"), "1000000");
  EXPECT_EQ(std::stod(sample_text(page, R"(jobd_queue_oldest_wait_seconds{priority="normal"})")),
            2.5e-7);
  EXPECT_EQ(sample_text(page, R"(jobd_queue_oldest_wait_seconds{priority="high"})"), "0");
}

TEST(MetricsText, BucketsAreCumulativeUnderTheirFixedBounds) {
  metrics m;
  for (double s : {0.00005, 0.0003, 0.0003, 0.2, 400.0}) m.observe_request("/metrics", 200, s);
  const std::string page = m.render(pool::pool_stats{}, {}, {}, {}, {}, {}, {});
  auto bucket = [&](const std::string& le) {
    return sample_text(
        page, R"(jobd_http_request_duration_seconds_bucket{route="/metrics",le=")" + le + "\"}");
  };
  EXPECT_EQ(bucket("0.0001"), "1");
  EXPECT_EQ(bucket("0.00025"), "1");
  EXPECT_EQ(bucket("0.0005"), "3");
  EXPECT_EQ(bucket("0.25"), "4");
  EXPECT_EQ(bucket("300"), "4");
  EXPECT_EQ(bucket("+Inf"), "5");
}

// The store's figures: its state as 0 or 1, and records per commit under bounds of counts,
// not of seconds.
TEST(MetricsText, ShowsTheStoresStateAndItsCommitsInRecords) {
  metrics m;
  store::store_stats s;
  s.commit_jobs.observe(3);
  s.commit_jobs.observe(40);
  s.write_errors = 2;
  s.connections_busy = 1;
  s.connections_idle = 2;
  const std::string page = m.render(pool::pool_stats{}, {}, {}, {}, {false, "disk full"}, s, {});
  EXPECT_EQ(sample_text(page, "jobd_store_up"), "0");
  EXPECT_EQ(sample_text(page, R"(jobd_store_commit_jobs_bucket{le="3"})"), "1");
  EXPECT_EQ(sample_text(page, R"(jobd_store_commit_jobs_bucket{le="48"})"), "2");
  EXPECT_EQ(sample_text(page, R"(jobd_store_commit_jobs_sum)"), "43");
  EXPECT_EQ(sample_text(page, R"(jobd_store_errors_total{op="write"})"), "2");
  EXPECT_EQ(sample_text(page, R"(jobd_store_errors_total{op="read"})"), "0");
  EXPECT_EQ(sample_text(page, R"(jobd_store_connections{state="busy"})"), "1");
  EXPECT_EQ(sample_text(page, R"(jobd_store_connections{state="idle"})"), "2");
  EXPECT_EQ(sample_text(m.render(pool::pool_stats{}, {}, {}, {}, {}, {}, {}), "jobd_store_up"),
            "1");
}

}  // namespace
}  // namespace jobd::server
