// The event hub in-process: a client begins with the pool it was given and then takes every
// event in order, is woken once when it waits (and within a window only by its first event and
// its end), is told how many it missed when it fell more than the ring behind or when a window
// had more job events than are streamed, and is told the end after what it has; the gauge
// follows its clients.
#include "server/api/event_hub.hpp"

#include <gtest/gtest.h>

#include <string>

namespace jobd::server {
namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(EventHub, AClientTakesThePoolItBeganWithThenEveryEventInOrder) {
  metrics stats;
  event_hub hub(stats, 100);
  EXPECT_FALSE(hub.has_clients());
  const auto client = hub.subscribe("{\"p\":0}");
  EXPECT_TRUE(hub.has_clients());
  EXPECT_EQ(stats.sse_clients(), 1u);
  int wakes = 0;
  client->attach([&wakes] { ++wakes; });
  std::string out;
  EXPECT_TRUE(client->take(out, 1 << 20));
  EXPECT_EQ(out, "event: pool\ndata: {\"p\":0}\n\n");
  // Waiting now: the next event wakes it, once, however many follow before it takes.
  hub.publish_pool("{\"p\":1}");
  hub.publish_pool("{\"p\":2}");
  EXPECT_EQ(wakes, 1);
  out.clear();
  EXPECT_TRUE(client->take(out, 1 << 20));
  EXPECT_EQ(out, "event: pool\ndata: {\"p\":1}\n\nevent: pool\ndata: {\"p\":2}\n\n");
  // `limit` bounds one take; the rest comes with the next.
  for (int i = 0; i < 10; ++i) hub.publish_pool("{}");
  out.clear();
  EXPECT_TRUE(client->take(out, 40));
  EXPECT_EQ(count_of(out, "event: pool"), 2u);
  out.clear();
  EXPECT_TRUE(client->take(out, 1 << 20));
  EXPECT_EQ(count_of(out, "event: pool"), 8u);
}

TEST(EventHub, AClientMoreThanTheRingBehindIsToldHowManyItMissed) {
  metrics stats;
  event_hub hub(stats, 100);
  const auto client = hub.subscribe("{}");
  client->attach([] {});
  for (std::size_t i = 0; i < event_hub::ring_events + 10; ++i) hub.publish_pool("{}");
  std::string out;
  EXPECT_TRUE(client->take(out, std::size_t{1} << 30));
  EXPECT_EQ(count_of(out, "event: lag\ndata: {\"missed\":10}\n\n"), 1u);
  EXPECT_EQ(count_of(out, "event: pool"), 1 + event_hub::ring_events);
}

TEST(EventHub, AfterCloseAClientGetsWhatWaitsThenTheEnd) {
  metrics stats;
  event_hub hub(stats, 100);
  const auto client = hub.subscribe("{}");
  int wakes = 0;
  client->attach([&wakes] { ++wakes; });
  std::string out;
  EXPECT_TRUE(client->take(out, 1 << 20));
  hub.publish_pool("{\"last\":1}");
  hub.close();
  hub.publish_pool("{\"after\":1}");  // nothing after the close
  EXPECT_EQ(wakes, 1);
  out.clear();
  EXPECT_FALSE(client->take(out, 1 << 20));
  EXPECT_EQ(out, "event: pool\ndata: {\"last\":1}\n\n");
  // A client that comes after the close gets its first event and the end.
  const auto late = hub.subscribe("{}");
  out.clear();
  EXPECT_FALSE(late->take(out, 1 << 20));
  EXPECT_EQ(out, "event: pool\ndata: {}\n\n");
}

TEST(EventHub, TheGaugeCountsClientsAliveAndAGoneClientIsNotWoken) {
  metrics stats;
  event_hub hub(stats, 100);
  int wakes = 0;
  {
    const auto client = hub.subscribe("{}");
    client->attach([&wakes] { ++wakes; });
    std::string out;
    EXPECT_TRUE(client->take(out, 1 << 20));
    client->detach();
    hub.publish_pool("{}");
    EXPECT_EQ(stats.sse_clients(), 1u);
  }
  EXPECT_EQ(stats.sse_clients(), 0u);
  EXPECT_FALSE(hub.has_clients());
  hub.publish_pool("{}");
  EXPECT_EQ(wakes, 0);
}

// The first event after a quiet window wakes a waiting client at once; the others of its
// window, and every event of a window after a busy one, wait for the window's end.
TEST(EventHub, OnlyTheFirstEventAfterAQuietWindowWakesAtOnce) {
  metrics stats;
  event_hub hub(stats, 100);
  const auto client = hub.subscribe("{}");
  int wakes = 0;
  client->attach([&wakes] { ++wakes; });
  std::string out;
  const auto take = [&] {
    out.clear();
    EXPECT_TRUE(client->take(out, 1 << 20));  // and waits again
    return out;
  };
  take();
  hub.publish_pool("{\"n\":1}");
  EXPECT_EQ(wakes, 1);
  take();
  hub.publish_pool("{\"n\":2}");
  hub.publish_pool("{\"n\":3}");
  EXPECT_EQ(wakes, 1);
  hub.end_window();
  EXPECT_EQ(wakes, 2);
  EXPECT_EQ(take(), "event: pool\ndata: {\"n\":2}\n\nevent: pool\ndata: {\"n\":3}\n\n");
  // The window after a busy one: its events wait for its end.
  hub.publish_pool("{\"n\":4}");
  EXPECT_EQ(wakes, 2);
  hub.end_window();
  EXPECT_EQ(wakes, 3);
  EXPECT_EQ(take(), "event: pool\ndata: {\"n\":4}\n\n");
  // A quiet window wakes no one; the first event after it wakes at once.
  hub.end_window();
  EXPECT_EQ(wakes, 3);
  hub.publish_pool("{\"n\":5}");
  EXPECT_EQ(wakes, 4);
}

// A window takes so many job events; the others are counted, and told at its end as one lag.
TEST(EventHub, JobEventsOverTheWindowsShareAreToldAsOneLag) {
  metrics stats;
  event_hub hub(stats, 3);
  store::job_record job;
  job.type = "echo";
  hub.changed(job);  // no client: not even counted
  const auto client = hub.subscribe("{}");
  client->attach([] {});
  for (int i = 0; i < 8; ++i) hub.changed(job);
  hub.end_window();
  hub.changed(job);  // the next window takes again
  std::string out;
  EXPECT_TRUE(client->take(out, 1 << 20));
  EXPECT_EQ(count_of(out, "event: job\ndata: {"), 4u) << out;
  EXPECT_EQ(count_of(out, "event: lag\ndata: {\"missed\":5}\n\n"), 1u) << out;
  EXPECT_LT(out.find("event: lag"), out.rfind("event: job")) << out;
  EXPECT_NE(out.find("\"type\":\"echo\""), std::string::npos) << out;
}

}  // namespace
}  // namespace jobd::server
