// Completion callbacks over HTTP, to a receiver on 127.0.0.1: the job object POSTed with its
// event and signature, deliveries tried again after failures, slow answers and redirects, given
// up after the last attempt, refused URLs, and a delivery pending across a kill -9.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <filesystem>
#include <fstream>

#include "../support/temp_folder.hpp"
#include "callback_receiver.hpp"
#include "jobd_process.hpp"
#include "metrics_page.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* secret = "a-secret-of-some-length-0123456789";

std::string hmac_hex(const std::string& key, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &size);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    static constexpr char digits[] = "0123456789abcdef";
    hex += digits[mac[i] >> 4];
    hex += digits[mac[i] & 15];
  }
  return hex;
}

class Callbacks : public ::testing::Test {
 protected:
  Callbacks() { std::ofstream(secret_file_) << secret << "\n"; }

  std::vector<std::string> args(const callback_receiver& r, std::vector<std::string> extra = {}) {
    std::vector<std::string> a{
        "--callback-allow",       "http://127.0.0.1:" + std::to_string(r.port()) + "/",
        "--callback-secret-file", secret_file_.string(),
        "--callback-backoff-ms",  "20"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  temp_folder dir_;
  std::filesystem::path secret_file_ = dir_.path() / "callback.secret";
};

TEST_F(Callbacks, TheJobObjectIsPostedWithItsEventAndSignature) {
  callback_receiver receiver([](int) { return callback_receiver::answer{}; });
  jobd_process server(args(receiver));
  http_client c(server.port());
  const auto r = c.post("/v1/jobs?wait=true", R"({"type":"echo","payload":"hi","callback_url":")" +
                                                  receiver.url() + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["callback"]["status"], "pending");
  const auto got = receiver.wait_for(1);
  const auto& d = got.at(0);
  EXPECT_TRUE(d.head.starts_with("POST /done HTTP/1.1\r\n")) << d.head;
  EXPECT_EQ(d.header("X-Jobd-Event"), "job.finished");
  EXPECT_EQ(d.header("Content-Type"), "application/json");
  EXPECT_EQ(d.header("X-Jobd-Signature"), "sha256=" + hmac_hex(secret, d.body));
  const json posted = json::parse(d.body);
  EXPECT_EQ(posted["id"], r.json()["id"]);
  EXPECT_EQ(posted["status"], "succeeded");
  EXPECT_EQ(posted["result"], "hi");
  const json cb = settled_callback(c, r.json()["id"]);
  EXPECT_EQ(cb["status"], "delivered");
  EXPECT_EQ(cb["attempts"], 1);
  EXPECT_EQ(cb["last_error"], nullptr);
  EXPECT_EQ(sample_text(c.get("/metrics").body, R"(jobd_callbacks_total{outcome="delivered"})"),
            "1");
}

TEST_F(Callbacks, FailuresSlowAnswersAndRedirectsAreTriedAgain) {
  // 500, then a redirect, then an answer slower than the timeout, then 200.
  callback_receiver receiver([](int n) {
    if (n == 0) return callback_receiver::answer{500};
    if (n == 1) return callback_receiver::answer{302};
    if (n == 2) return callback_receiver::answer{200, 600ms};
    return callback_receiver::answer{};
  });
  jobd_process server(args(receiver, {"--callback-timeout-ms", "200"}));
  http_client c(server.port());
  const std::string id = submit_async(
      c, R"({"type":"fail","payload":{"message":"x"},"callback_url":")" + receiver.url() + R"("})");
  const auto got = receiver.wait_for(4);
  for (const auto& d : got) EXPECT_EQ(d.header("X-Jobd-Event"), "job.finished");
  // The receiver was not told a redirect's target: jobd never went there.
  const json cb = settled_callback(c, id);
  EXPECT_EQ(cb["status"], "delivered");
  EXPECT_EQ(cb["attempts"], 4);
  const std::string page = c.get("/metrics").body;
  EXPECT_EQ(sample_text(page, R"(jobd_callbacks_total{outcome="retried"})"), "3");
  EXPECT_EQ(sample_text(page, R"(jobd_callbacks_total{outcome="delivered"})"), "1");
}

TEST_F(Callbacks, AReceiverThatNeverTakesItIsGivenUpAfterTheLastAttempt) {
  callback_receiver receiver([](int) { return callback_receiver::answer{503}; });
  jobd_process server(args(receiver, {"--callback-max-attempts", "3"}));
  http_client c(server.port());
  const std::string id =
      submit_async(c, R"({"type":"echo","callback_url":")" + receiver.url("/x?y=1") + R"("})");
  const json cb = settled_callback(c, id);
  EXPECT_EQ(cb["status"], "failed");
  EXPECT_EQ(cb["attempts"], 3);
  EXPECT_EQ(cb["last_error"], "answered 503");
  EXPECT_TRUE(receiver.wait_for(3).at(0).head.starts_with("POST /x?y=1 HTTP/1.1"));
  EXPECT_EQ(sample_text(c.get("/metrics").body, R"(jobd_callbacks_total{outcome="failed"})"), "1");
}

TEST_F(Callbacks, AtMostCallbackConcurrencyDeliveriesAreUnderWayAtOnce) {
  callback_receiver receiver([](int) { return callback_receiver::answer{200, 200ms}; });
  jobd_process server(args(receiver, {"--callback-concurrency", "2"}));
  http_client c(server.port());
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    ids.push_back(submit_async(c, R"({"type":"echo","callback_url":")" + receiver.url() + R"("})"));
  }
  (void)receiver.wait_for(6);
  for (const auto& id : ids) EXPECT_EQ(settled_callback(c, id)["status"], "delivered");
  // Six slow answers, two at a time: never a third, and the bound was used.
  EXPECT_EQ(receiver.most_at_once(), 2u);
}

TEST_F(Callbacks, AUrlOutsideTheAllowListOrNotHttpIs400AndCreatesNothing) {
  callback_receiver receiver([](int) { return callback_receiver::answer{}; });
  jobd_process server(args(receiver));
  http_client c(server.port());
  const std::pair<std::string, std::string> cases[] = {
      {R"("http://127.0.0.1:1/elsewhere")", "must start with one of the callback_allow prefixes"},
      {R"("https://127.0.0.1/")", "must start with one of the callback_allow prefixes"},
      {R"("ftp://127.0.0.1/")", "must be an http:// or https:// URL"},
      {"5", "callback_url must be a string"},
  };
  for (const auto& [url, says] : cases) {
    const auto r = c.post("/v1/jobs", R"({"type":"echo","callback_url":)" + url + "}");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find(says), std::string::npos) << r.body;
  }
  EXPECT_TRUE(c.get("/v1/jobs").json()["jobs"].empty());
}

TEST(CallbacksOff, ACallbackUrlIsRefusedWhenNoPrefixIsAllowed) {
  jobd_process server({});
  http_client c(server.port());
  const auto r = c.post("/v1/jobs", R"({"type":"echo","callback_url":"http://127.0.0.1:9/"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("callbacks are off"), std::string::npos) << r.body;
}

// A delivery that failed is still pending when jobd is killed; the next start delivers it.
TEST_F(Callbacks, APendingDeliverySurvivesAKill9) {
  std::uint16_t port = 0;
  {
    // Taken and let go: nothing listens there while the first jobd tries.
    callback_receiver probe([](int) { return callback_receiver::answer{}; });
    port = probe.port();
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/later";
  const std::vector<std::string> common{"--store",
                                        "sqlite:" + (dir_.path() / "jobd.db").string(),
                                        "--callback-allow",
                                        "http://127.0.0.1:" + std::to_string(port) + "/",
                                        "--callback-backoff-ms",
                                        "600000"};
  std::string id;
  {
    jobd_process first(common);
    http_client c(first.port());
    id = submit_async(c, R"({"type":"echo","callback_url":")" + url + R"("})");
    for (;;) {  // the first delivery fails: connection refused
      const json cb = c.get("/v1/jobs/" + id).json()["callback"];
      if (cb["attempts"] == 1) {
        EXPECT_EQ(cb["status"], "pending");
        EXPECT_NE(cb["last_error"].get<std::string>().find("cannot connect"), std::string::npos);
        break;
      }
      (void)c.get("/v1/jobs/" + id + "?wait=0.02");
    }
    first.signal(SIGKILL);
    EXPECT_EQ(first.wait_exit(), 128 + SIGKILL);
  }
  callback_receiver receiver([](int) { return callback_receiver::answer{}; }, port);
  jobd_process second(common);
  const auto got = receiver.wait_for(1);
  EXPECT_EQ(json::parse(got.at(0).body)["id"], id);
  http_client c(second.port());
  const json cb = settled_callback(c, id);
  EXPECT_EQ(cb["status"], "delivered");
  EXPECT_EQ(cb["attempts"], 2);
}

}  // namespace
}  // namespace jobd::testing
