// Idempotency-Key over HTTP: a replay is answered with the first job and creates nothing, a
// key with another body is refused, a refused request leaves no key, duplicates sent at the
// same instant make one job, keys belong to their token, expire, and survive a restart.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "../support/temp_folder.hpp"
#include "jobd_process.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

http_reply post_with_key(http_client& c, const std::string& key, const std::string& body,
                         const std::string& target = "/v1/jobs",
                         std::map<std::string, std::string> headers = {}) {
  headers["Idempotency-Key"] = key;
  return c.request("POST", target, body, headers);
}

std::size_t jobs_listed(http_client& c) {
  return c.get("/v1/jobs").json()["jobs"].size();
}

TEST(Idempotency, TheSameKeyAndBodyAreAnsweredWithTheFirstJob) {
  jobd_process server({});
  http_client c(server.port());
  const std::string body = sleep_job(200);
  const auto first = post_with_key(c, "order-17", body);
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(first.header("idempotent-replayed"), "");
  const auto again = post_with_key(c, "order-17", body);
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(again.header("idempotent-replayed"), "true");
  EXPECT_EQ(again.json()["id"], first.json()["id"]);
  EXPECT_EQ(again.header("location"), first.header("location"));
  // With wait, the replay is the job's own sync answer.
  const auto sync = post_with_key(c, "order-17", body, "/v1/jobs?wait=true");
  EXPECT_EQ(sync.status, 200) << sync.body;
  EXPECT_EQ(sync.header("idempotent-replayed"), "true");
  EXPECT_EQ(sync.json()["status"], "succeeded");
  EXPECT_EQ(sync.json()["id"], first.json()["id"]);
  EXPECT_EQ(jobs_listed(c), 1u);
}

TEST(Idempotency, TheSameKeyWithAnotherBodyIs422AndCreatesNothing) {
  jobd_process server({});
  http_client c(server.port());
  ASSERT_EQ(post_with_key(c, "k", R"({"type":"echo","payload":1})").status, 202);
  const auto other = post_with_key(c, "k", R"({"type":"echo","payload":2})");
  EXPECT_EQ(other.status, 422) << other.body;
  EXPECT_EQ(other.json()["error"]["code"], "idempotency_key_reused");
  EXPECT_EQ(jobs_listed(c), 1u);
}

TEST(Idempotency, ARefusedRequestLeavesNoKeyBehind) {
  jobd_process server({"--workers", "1", "--reserved-high-workers", "0", "--queue-capacity", "1"});
  http_client c(server.port());
  // Refused for its body: the key is free for a good one.
  EXPECT_EQ(post_with_key(c, "a", R"({"type":"nope"})").status, 400);
  EXPECT_EQ(post_with_key(c, "a", R"({"type":"echo"})", "/v1/jobs?wait=true").status, 200);
  // Refused for a full lane: the same request, sent again once there is room, makes the job.
  const std::string blocker = submit_async(c, sleep_job(60'000));
  wait_running(c, blocker);
  const std::string filler = submit_async(c, sleep_job(60'000));
  const auto full = post_with_key(c, "b", R"({"type":"echo"})");
  EXPECT_EQ(full.status, 503) << full.body;
  EXPECT_EQ(c.request("DELETE", "/v1/jobs/" + filler).status, 200);  // queued: gone at once
  cancel_running(c, blocker);
  (void)wait_terminal(c, blocker);
  const auto later = post_with_key(c, "b", R"({"type":"echo"})");
  EXPECT_EQ(later.status, 202) << later.body;
  EXPECT_EQ(later.header("idempotent-replayed"), "");
}

// With SQLite, the first request is answered only once its job is committed: the others come
// while it is under way, and wait for it.
TEST(Idempotency, DuplicatesSentAtTheSameInstantMakeOneJob) {
  temp_folder dir;
  jobd_process server({"--store", "sqlite:" + (dir.path() / "jobd.db").string()});
  constexpr int senders = 16;
  std::vector<std::unique_ptr<http_client>> clients;
  for (int i = 0; i < senders; ++i) clients.push_back(std::make_unique<http_client>(server.port()));
  std::vector<http_reply> replies(senders);
  std::atomic<int> ready{0};
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < senders; ++i) {
      threads.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < senders) std::this_thread::yield();
        replies[i] = post_with_key(*clients[i], "burst", sleep_job(50));
      });
    }
  }
  std::set<std::string> ids;
  int replayed = 0;
  for (const auto& r : replies) {
    ASSERT_EQ(r.status, 202) << r.body;
    ids.insert(r.json()["id"].get<std::string>());
    replayed += r.header("idempotent-replayed") == "true" ? 1 : 0;
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(replayed, senders - 1);
  http_client c(server.port());
  EXPECT_EQ(jobs_listed(c), 1u);
}

TEST(Idempotency, TheHeaderMustBeOneToTwoHundredFiftyFiveVisibleCharacters) {
  jobd_process server({});
  for (const std::string& bad : {std::string(), std::string(256, 'k'), std::string("two words"),
                                 std::string("tab\there"), std::string("caf\xc3\xa9")}) {
    http_client c(server.port());
    const auto r = post_with_key(c, bad, R"({"type":"echo"})");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("Idempotency-Key header must be 1..255 visible ASCII"), std::string::npos)
        << r.body;
  }
  // Other control characters never get this far: HTTP itself refuses them in any field.
  for (const std::string& bad : {std::string("a\x01b"), std::string("del\x7f")}) {
    http_client c(server.port());
    const auto r = post_with_key(c, bad, R"({"type":"echo"})");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("a header's value holds a control character"), std::string::npos)
        << r.body;
  }
  http_client c(server.port());
  EXPECT_EQ(jobs_listed(c), 0u);
  EXPECT_EQ(post_with_key(c, std::string(255, '~'), R"({"type":"echo"})").status, 202);
}

TEST(Idempotency, AKeyExpiresAfterItsTime) {
  jobd_process server({"--idempotency-ttl-s", "1"});
  http_client c(server.port());
  const auto first = post_with_key(c, "daily", R"({"type":"echo"})");
  std::this_thread::sleep_for(1100ms);  // the contract is a time: past it, the key is new
  const auto second = post_with_key(c, "daily", R"({"type":"echo"})");
  EXPECT_EQ(second.status, 202);
  EXPECT_EQ(second.header("idempotent-replayed"), "");
  EXPECT_NE(second.json()["id"], first.json()["id"]);
}

class IdempotencyWithTokens : public ::testing::Test {
 protected:
  IdempotencyWithTokens() { std::ofstream(tokens_) << token_a << "\n" << token_b << "\n"; }
  const std::string token_a = "alpha-token-0123456789abcdef";
  const std::string token_b = "bravo-token-0123456789abcdef";
  temp_folder dir_;
  std::filesystem::path tokens_ = dir_.path() / "tokens";
};

TEST_F(IdempotencyWithTokens, KeysOfOneTokenAreNotAnothers) {
  std::filesystem::permissions(
      tokens_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  jobd_process server({"--auth-token-file", tokens_.string()});
  http_client c(server.port());
  const std::string body = R"({"type":"echo"})";
  const auto a =
      post_with_key(c, "same", body, "/v1/jobs", {{"Authorization", "Bearer " + token_a}});
  const auto b =
      post_with_key(c, "same", body, "/v1/jobs", {{"Authorization", "Bearer " + token_b}});
  ASSERT_EQ(a.status, 202) << a.body;
  ASSERT_EQ(b.status, 202) << b.body;
  EXPECT_NE(a.json()["id"], b.json()["id"]);
  EXPECT_EQ(b.header("idempotent-replayed"), "");
  const auto a_again =
      post_with_key(c, "same", body, "/v1/jobs", {{"Authorization", "Bearer " + token_a}});
  EXPECT_EQ(a_again.json()["id"], a.json()["id"]);
}

TEST(IdempotencyDurable, KeysSurviveAKill9WithTheSqliteStore) {
  temp_folder dir;
  const std::vector<std::string> args{"--store", "sqlite:" + (dir.path() / "jobd.db").string()};
  std::string id;
  {
    jobd_process first(args);
    http_client c(first.port());
    const auto r =
        post_with_key(c, "survivor", R"({"type":"echo","payload":"x"})", "/v1/jobs?wait=true");
    ASSERT_EQ(r.status, 200) << r.body;
    id = r.json()["id"];
    first.signal(SIGKILL);
    EXPECT_EQ(first.wait_exit(), 128 + SIGKILL);
  }
  jobd_process second(args);
  http_client c(second.port());
  const auto again = post_with_key(c, "survivor", R"({"type":"echo","payload":"x"})");
  EXPECT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(again.header("idempotent-replayed"), "true");
  EXPECT_EQ(again.json()["id"], id);
  EXPECT_EQ(again.json()["status"], "succeeded");
  EXPECT_EQ(post_with_key(c, "survivor", R"({"type":"echo","payload":"y"})").status, 422);
  EXPECT_EQ(jobs_listed(c), 1u);
}

}  // namespace
}  // namespace jobd::testing
