#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "handlers/registry.hpp"

namespace jobd::handlers {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

class Builtins : public ::testing::Test {
 protected:
  Builtins() { add_builtins(reg_); }

  json run(std::string_view type, const json& payload, std::stop_token stop = {}) {
    const job_type* t = reg_.find(type);
    EXPECT_NE(t, nullptr) << type;
    if (t->validate) t->validate(payload);
    return t->run(payload, run_context{{.stop = stop, .deadline = pool::clock::now() + 1h}});
  }

  std::string validation_error(std::string_view type, const json& payload) {
    try {
      reg_.find(type)->validate(payload);
    } catch (const job_error& e) {
      EXPECT_EQ(e.code(), "invalid_field");
      return e.what();
    }
    return "";
  }

  registry reg_;
};

TEST_F(Builtins, RegistryListsTheFiveBuiltinsByName) {
  EXPECT_EQ(reg_.names(), "cpu, echo, fail, noop, sleep");
  for (const job_type* t : reg_.all()) EXPECT_EQ(t->kind, "builtin");
  EXPECT_EQ(reg_.find("nope"), nullptr);
  EXPECT_THROW(reg_.add({.name = "noop",
                         .run = [](const json&, const pool::job_context&) { return json(); }}),
               std::invalid_argument);
}

// A durable store keeps only a cheap job's end: running it again must change nothing.
TEST_F(Builtins, NoneHasSideEffectsAndACheapTypeWithThemIsRefused) {
  for (const job_type* t : reg_.all()) EXPECT_FALSE(t->side_effects) << t->name;
  EXPECT_THROW(reg_.add({.name = "mailer",
                         .cheap = true,
                         .run = [](const json&, const pool::job_context&) { return json(); }}),
               std::invalid_argument);
  EXPECT_NO_THROW(reg_.add({.name = "pure",
                            .cheap = true,
                            .side_effects = false,
                            .run = [](const json&, const pool::job_context&) { return json(); }}));
}

TEST_F(Builtins, NoopReturnsNullAndEchoReturnsThePayload) {
  EXPECT_TRUE(run("noop", json{{"x", 1}}).is_null());
  const json payload = {{"a", {1, 2, 3}}, {"b", "text"}};
  EXPECT_EQ(run("echo", payload), payload);
  EXPECT_EQ(run("echo", "just a string"), "just a string");
}

TEST_F(Builtins, SleepSleepsAndReportsIt) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(run("sleep", json{{"ms", 20}}), (json{{"slept_ms", 20}}));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
}

TEST_F(Builtins, SleepReturnsAsSoonAsItIsStopped) {
  std::stop_source src;
  src.request_stop();
  const auto start = std::chrono::steady_clock::now();
  (void)run("sleep", json{{"ms", 3'600'000}}, src.get_token());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);  // not the hour it asked for
}

TEST_F(Builtins, SleepRejectsBadPayloadsNamingTheField) {
  EXPECT_NE(validation_error("sleep", json::object()).find("payload.ms is required"),
            std::string::npos);
  EXPECT_EQ(
      validation_error("sleep", json{{"ms", "10"}}),
      R"(payload.ms must be an integer 0..3600000 (got the string "10": leave out the quotes))");
  EXPECT_EQ(validation_error("sleep", json{{"ms", 4'000'000}}),
            "payload.ms is out of range: allowed 0..3600000 (got 4000000)");
  EXPECT_NE(validation_error("sleep", json{{"ms", -1}}).find("out of range"), std::string::npos);
  EXPECT_NE(validation_error("sleep", json{{"ms", 1.5}}).find("must be an integer"),
            std::string::npos);
  EXPECT_NE(validation_error("sleep", json{{"ms", 3'600'001}}).find("0..3600000"),
            std::string::npos);
  EXPECT_NE(validation_error("sleep", nullptr).find("payload.ms"), std::string::npos);
}

TEST_F(Builtins, PayloadsWithAFieldTheTypeDoesNotReadAreRefused) {
  // A misspelt field alone is named, not only the field it stands for.
  EXPECT_EQ(validation_error("sleep", json{{"msec", 100}}),
            R"(unknown field "payload.msec"; allowed: payload.ms)");
  EXPECT_EQ(validation_error("sleep", json{{"ms", 0}, {"msec", 10}}),
            R"(unknown field "payload.msec"; allowed: payload.ms)");
  EXPECT_EQ(validation_error("cpu", json{{"iterations", 1}, {"seed", 2}}),
            R"(unknown field "payload.seed"; allowed: payload.iterations)");
  EXPECT_EQ(validation_error("fail", json{{"mesage", "x"}}),
            R"(unknown field "payload.mesage"; allowed: payload.message)");
  EXPECT_EQ(validation_error("sleep", json{{"ms", 0}}), "");
  EXPECT_EQ(validation_error("fail", json::object()), "");
}

TEST_F(Builtins, CpuDigestIsDeterministicAndDependsOnIterations) {
  const json a = run("cpu", json{{"iterations", 1000}});
  EXPECT_EQ(a, run("cpu", json{{"iterations", 1000}}));
  EXPECT_NE(a.at("digest"), run("cpu", json{{"iterations", 1001}}).at("digest"));
  EXPECT_EQ(a.at("iterations"), 1000);
  EXPECT_EQ(a.at("digest").get<std::string>().size(), 16u);
  EXPECT_NE(validation_error("cpu", json{{"iterations", true}}), "");
}

TEST_F(Builtins, CpuStopsEarlyWhenStopped) {
  std::stop_source src;
  src.request_stop();
  EXPECT_TRUE(run("cpu", json{{"iterations", 1'000'000'000'000}}, src.get_token()).is_null());
}

TEST_F(Builtins, FailThrowsJobFailedWithTheMessage) {
  try {
    (void)run("fail", json{{"message", "disk on fire"}});
    FAIL() << "fail did not throw";
  } catch (const job_error& e) {
    EXPECT_EQ(e.code(), "job_failed");
    EXPECT_STREQ(e.what(), "disk on fire");
  }
  EXPECT_NE(validation_error("fail", json{{"message", 3}}).find("payload.message"),
            std::string::npos);
  EXPECT_THROW((void)run("fail", nullptr), job_error);
}

}  // namespace
}  // namespace jobd::handlers
