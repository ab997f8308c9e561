// The event hub in-process: a client begins with the pool it was given and then takes every
// event in order, is woken once when it waits, is told how many it missed when it fell more
// than the ring behind, and is told the end after what it has; the gauge follows its clients.
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
  event_hub hub(stats);
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
  event_hub hub(stats);
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
  event_hub hub(stats);
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
  event_hub hub(stats);
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

}  // namespace
}  // namespace jobd::server
