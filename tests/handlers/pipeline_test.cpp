// Pipelines on their stage pools, driven directly: stages chained, map stages in input order
// whatever order their items end in, a failing item named and its siblings stopped, a stop or
// deadline ending the running stage and skipping the rest, a full stage queue backing up into
// the pipeline instead of refusing it, and the configuration errors.
//
// Items are held by gates that only the test (or a stop) opens: nothing here waits on time,
// but for the deadline test, which waits for the deadline itself.
#include "handlers/pipeline.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace jobd::handlers {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr auto must_happen_within = 20s;

// Where the tests' held items wait, and what they count.
struct bench_state {
  std::mutex mu;
  std::condition_variable_any cv;
  bool open = false;
  int started = 0;   // held items that began
  int stopped = 0;   // held items that saw their stop token
  int finished = 0;  // "count" items done
  void release() {
    std::lock_guard lk(mu);
    open = true;
    cv.notify_all();
  }
  template <class Pred>
  bool wait_until(Pred pred) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, must_happen_within, pred);
  }
};

// A stage sink that keeps the last report.
struct stage_log final : stage_sink {
  std::mutex mu;
  json last;
  int reports = 0;
  void stages_changed(json stages) override {
    std::lock_guard lk(mu);
    last = std::move(stages);
    ++reports;
  }
  json stages() {
    std::lock_guard lk(mu);
    return last;
  }
};

class Pipelines : public ::testing::Test {
 protected:
  void SetUp() override {
    types_.add({.name = "add1",
                .kind = "builtin",
                .validate =
                    [](const json& p) {
                      if (!p.is_number()) throw job_error("invalid_field", "must be a number");
                    },
                .run = [](const json& p, const run_context&) { return json(p.get<int>() + 1); }});
    types_.add({.name = "double", .kind = "builtin", .run = [](const json& p, const run_context&) {
                  return json(p.get<int>() * 2);
                }});
    // Fails on 3; otherwise the payload back.
    types_.add(
        {.name = "fail-on-3", .kind = "builtin", .run = [](const json& p, const run_context&) {
           if (p == 3) throw job_error("nonzero_exit", "three", json{{"exit_code", 3}});
           return p;
         }});
    // Item 0 ends only after every other item of its map has ended (there are `held_after`).
    types_.add(
        {.name = "zero-last", .kind = "builtin", .run = [this](const json& p, const run_context&) {
           std::unique_lock lk(state_.mu);
           if (p == 0) {
             state_.cv.wait(lk, [&] { return state_.finished == zero_waits_for_; });
           } else {
             ++state_.finished;
             state_.cv.notify_all();
           }
           return p;
         }});
    // Waits for the test's release or its stop; says which.
    types_.add(
        {.name = "held", .kind = "builtin", .run = [this](const json& p, const run_context& ctx) {
           std::unique_lock lk(state_.mu);
           ++state_.started;
           state_.cv.notify_all();
           if (!state_.cv.wait(lk, ctx.stop, [&] { return state_.open; })) {
             ++state_.stopped;
             state_.cv.notify_all();
             throw job_error("stopped", "held item stopped");
           }
           return p;
         }});
  }

  void add(const std::string& name, std::vector<config::pipeline_stage> stages) {
    config::pipeline_type p;
    p.name = name;
    p.stages = std::move(stages);
    settings_.pipeline_types.push_back(std::move(p));
  }

  pipelines& start() {
    pipelines_.emplace(types_, settings_);
    return *pipelines_;
  }

  // Runs `pipeline` on this thread with `stop` and `deadline`, telling `log`.
  json run(const std::string& pipeline, const json& payload, stage_log& log,
           std::stop_token stop = {}, pool::clock::duration budget = 1h) {
    const job_type* t = types_.find(pipeline);
    EXPECT_NE(t, nullptr);
    run_context ctx{{.stop = std::move(stop), .deadline = pool::clock::now() + budget}, &log};
    return t->run(payload, ctx);
  }

  job_error error_of(const std::string& pipeline, const json& payload, stage_log& log,
                     std::stop_token stop = {}, pool::clock::duration budget = 1h) {
    try {
      run(pipeline, payload, log, std::move(stop), budget);
    } catch (const job_error& e) {
      return e;
    }
    ADD_FAILURE() << "the pipeline succeeded";
    return job_error("none", "none");
  }

  static std::vector<std::string> statuses(const json& stages) {
    std::vector<std::string> out;
    for (const json& s : stages) out.push_back(s["status"]);
    return out;
  }

  bench_state state_;
  int zero_waits_for_ = 0;
  registry types_;
  config::settings settings_;
  std::optional<pipelines> pipelines_;  // last: its stage pools run the types above
};

TEST_F(Pipelines, EachStagesResultIsTheNextOnesPayload) {
  add("calc", {{.type = "add1"}, {.type = "double"}, {.type = "add1"}});
  start();
  stage_log log;
  EXPECT_EQ(run("calc", 3, log), 9);
  const json stages = log.stages();
  ASSERT_EQ(stages.size(), 3u) << stages;
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(stages[i]["status"], "succeeded") << stages;
    EXPECT_TRUE(stages[i]["run_ms"].is_number()) << stages;
    EXPECT_TRUE(stages[i]["items"].is_null()) << stages;
  }
  EXPECT_EQ(stages[1]["type"], "double");
  // Told as it went: pending, then each stage running and done.
  EXPECT_EQ(log.reports, 1 + 2 * 3);
  const job_type* t = types_.find("calc");
  EXPECT_EQ(t->kind, "pipeline");
  EXPECT_FALSE(t->cheap);
}

TEST_F(Pipelines, AMapStageKeepsInputOrderWhateverOrderItsItemsEndIn) {
  zero_waits_for_ = 9;
  add("fan", {{.type = "zero-last", .map = true, .workers = 3}, {.type = "double", .map = true}});
  start();
  stage_log log;
  json input = json::array();
  for (int i = 0; i < 10; ++i) input.push_back(i);
  const json out = run("fan", input, log);
  json expected = json::array();
  for (int i = 0; i < 10; ++i) expected.push_back(i * 2);
  EXPECT_EQ(out, expected);
  EXPECT_EQ(log.stages()[0]["items"], 10);
  EXPECT_EQ(log.stages()[1]["items"], 10);
  // An empty array maps to an empty array.
  EXPECT_EQ(run("fan", json::array(), log), json::array());
}

TEST_F(Pipelines, AFailingItemFailsItsStageByIndexAndStopsItsSiblings) {
  types_.add({.name = "spread", .kind = "builtin", .run = [](const json&, const run_context&) {
                return json{0, 1, 2, 3};
              }});
  // Three held items run beside a failing one (the stage has four workers): they are stopped.
  add("spread-fail", {{.type = "spread"},
                      {.type = "fail-then-held", .map = true, .workers = 4},
                      {.type = "double"}});
  types_.add({.name = "fail-then-held",
              .kind = "builtin",
              .run = [this](const json& p, const run_context& ctx) {
                if (p == 2) {
                  // Fails once the three others are held.
                  state_.wait_until([&] { return state_.started == 3; });
                  throw job_error("nonzero_exit", "the command exited with status 3",
                                  json{{"exit_code", 3}});
                }
                return types_.find("held")->run(p, ctx);
              }});
  start();
  stage_log log;
  const job_error e = error_of("spread-fail", nullptr, log);
  EXPECT_EQ(e.code(), "stage_failed");
  EXPECT_EQ(std::string(e.what()),
            "stage 1 (fail-then-held) failed at item 2: the command exited with status 3");
  EXPECT_EQ(e.details()["stage"], 1);
  EXPECT_EQ(e.details()["item"], 2);
  EXPECT_EQ(e.details()["cause"]["code"], "nonzero_exit");
  EXPECT_EQ(e.details()["cause"]["exit_code"], 3);
  EXPECT_EQ(statuses(log.stages()), (std::vector<std::string>{"succeeded", "failed", "skipped"}));
  // Every sibling had ended, stopped, before the pipeline did.
  std::lock_guard lk(state_.mu);
  EXPECT_EQ(state_.stopped, 3);
}

// With stealing, each worker's runner has a slice of the items; item 0 ends only after the
// nine others, five of which are in its own runner's slice: the other runner must take them.
TEST_F(Pipelines, WithStealingAnIdleRunnerTakesFromABusyOnesSlice) {
  zero_waits_for_ = 9;
  add("steal", {{.type = "zero-last", .map = true, .workers = 2, .stealing = true}});
  start();
  stage_log log;
  json input = json::array();
  for (int i = 0; i < 10; ++i) input.push_back(i);
  EXPECT_EQ(run("steal", input, log), input);
  EXPECT_EQ(log.stages()[0]["items"], 10);
}

TEST_F(Pipelines, WithStealingAFailingItemIsNamedAndItsSiblingsStopped) {
  types_.add({.name = "spread", .kind = "builtin", .run = [](const json&, const run_context&) {
                return json{0, 1, 2, 3};
              }});
  types_.add({.name = "fail-then-held",
              .kind = "builtin",
              .run = [this](const json& p, const run_context& ctx) {
                if (p == 2) {
                  state_.wait_until([&] { return state_.started == 3; });
                  throw job_error("nonzero_exit", "three");
                }
                return types_.find("held")->run(p, ctx);
              }});
  add("steal-fail", {{.type = "spread"},
                     {.type = "fail-then-held", .map = true, .workers = 4, .stealing = true}});
  start();
  stage_log log;
  const job_error e = error_of("steal-fail", nullptr, log);
  EXPECT_EQ(std::string(e.what()), "stage 1 (fail-then-held) failed at item 2: three");
  EXPECT_EQ(e.details()["item"], 2);
  std::lock_guard lk(state_.mu);
  EXPECT_EQ(state_.stopped, 3);
}

TEST_F(Pipelines, WithStealingAStopEndsEveryRunner) {
  add("steal-stop", {{.type = "held", .map = true, .workers = 2, .stealing = true}});
  start();
  stage_log log;
  std::stop_source stop;
  auto ended = std::async(std::launch::async, [&] {
    return error_of("steal-stop", json{1, 2, 3, 4}, log, stop.get_token());
  });
  ASSERT_TRUE(state_.wait_until([&] { return state_.started == 2; }));
  stop.request_stop();
  EXPECT_EQ(ended.get().code(), "stopped");
  EXPECT_EQ(statuses(log.stages()), std::vector<std::string>{"cancelled"});
  // Two ran and were stopped; the other two were never taken.
  std::lock_guard lk(state_.mu);
  EXPECT_EQ(state_.started, 2);
  EXPECT_EQ(state_.stopped, 2);
}

// A type with a timeout of its own runs each item as a job of its own (no stealing, unless
// asked), and an item is held to that timeout.
TEST_F(Pipelines, AnItemIsHeldToItsTypesOwnTimeout) {
  job_type timed = *types_.find("held");
  timed.name = "held-briefly";
  timed.default_timeout = 100ms;
  types_.add(std::move(timed));
  add("brief", {{.type = "held-briefly", .map = true}});
  start();
  stage_log log;
  const job_error e = error_of("brief", json{1}, log);
  EXPECT_EQ(e.code(), "stage_failed");
  EXPECT_EQ(e.details()["cause"]["code"], "timed_out");
  EXPECT_EQ(std::string(e.what()),
            "stage 0 (held-briefly) failed at item 0: it ran past its type's timeout of 100 ms");
}

TEST_F(Pipelines, AFailingPlainStageIsNamedWithoutAnItem) {
  add("one", {{.type = "add1"}, {.type = "fail-on-3"}, {.type = "double"}});
  start();
  stage_log log;
  const job_error e = error_of("one", 2, log);
  EXPECT_EQ(std::string(e.what()), "stage 1 (fail-on-3) failed: three");
  EXPECT_FALSE(e.details().contains("item"));
  EXPECT_EQ(run("one", 3, log), 8);
}

TEST_F(Pipelines, AStopEndsTheRunningStageAndSkipsTheRest) {
  // fail-on-3 passes anything but 3 on.
  add("stoppable", {{.type = "fail-on-3"}, {.type = "held", .map = true}, {.type = "double"}});
  start();
  stage_log log;
  std::stop_source stop;
  auto ended = std::async(std::launch::async, [&] {
    return error_of("stoppable", json{1, 2}, log, stop.get_token());
  });
  ASSERT_TRUE(state_.wait_until([&] { return state_.started == 2; }));
  stop.request_stop();
  const job_error e = ended.get();
  EXPECT_EQ(e.code(), "stopped");
  EXPECT_EQ(std::string(e.what()), "stopped in stage 1 (held)");
  EXPECT_EQ(statuses(log.stages()),
            (std::vector<std::string>{"succeeded", "cancelled", "skipped"}));
  std::lock_guard lk(state_.mu);
  EXPECT_EQ(state_.stopped, 2);
}

TEST_F(Pipelines, TheDeadlineCoversEveryStage) {
  add("late", {{.type = "add1"}, {.type = "held"}, {.type = "double"}});
  start();
  stage_log log;
  const job_error e = error_of("late", 1, log, {}, 200ms);
  EXPECT_EQ(e.code(), "stopped");
  EXPECT_EQ(statuses(log.stages()),
            (std::vector<std::string>{"succeeded", "timed_out", "skipped"}));
  std::lock_guard lk(state_.mu);
  EXPECT_EQ(state_.stopped, 1);
}

TEST_F(Pipelines, AFullStageQueueBacksUpIntoThePipelineAndNoOtherStage) {
  // One job an item (no stealing): the items are what fills the queue.
  add("narrow",
      {{.type = "held", .map = true, .workers = 1, .queue_capacity = 1, .stealing = false}});
  add("other", {{.type = "add1", .workers = 1, .queue_capacity = 1}});
  pipelines& p = start();
  stage_log log;
  auto narrow = std::async(std::launch::async, [&] {
    return run("narrow", json{1, 2, 3, 4}, log);
  });
  ASSERT_TRUE(state_.wait_until([&] { return state_.started == 1; }));
  // One item runs, one waits in the stage's queue, and the pipeline holds the other two back.
  const auto narrow_load = [&] { return p.stats().front(); };
  for (const auto deadline = pool::clock::now() + must_happen_within;
       narrow_load().queued != 1 && pool::clock::now() < deadline;) {
    std::this_thread::yield();
  }
  EXPECT_EQ(narrow_load().queued, 1u);
  EXPECT_EQ(narrow_load().busy, 1u);
  EXPECT_EQ(narrow_load().capacity, 1u);
  // Another pipeline's stage is not held up by it.
  stage_log other_log;
  EXPECT_EQ(run("other", 41, other_log), 42);
  state_.release();
  EXPECT_EQ(narrow.get(), (json{1, 2, 3, 4}));
  EXPECT_EQ(p.stats().size(), 2u);
  EXPECT_EQ(p.stats()[1].pipeline, "other");
}

TEST_F(Pipelines, TheFirstStageChecksThePayloadAtSubmission) {
  add("plain", {{.type = "add1"}});
  add("mapped", {{.type = "add1", .map = true}});
  start();
  const auto message = [&](const std::string& type, const json& payload) {
    try {
      types_.find(type)->validate(payload);
    } catch (const job_error& e) {
      EXPECT_EQ(e.code(), "invalid_field");
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message("plain", 1), "accepted");
  EXPECT_EQ(message("plain", "x"), "must be a number");
  EXPECT_EQ(message("mapped", json{1, 2}), "accepted");
  EXPECT_EQ(message("mapped", json{1, "x"}), "payload[1]: must be a number");
  EXPECT_EQ(message("mapped", 1),
            "the payload must be an array: stage 0 (add1) runs on each element");
}

TEST_F(Pipelines, ALaterMapStageGivenNoArrayFailsClearly) {
  add("bad", {{.type = "add1"}, {.type = "double", .map = true}});
  start();
  stage_log log;
  const job_error e = error_of("bad", 1, log);
  EXPECT_EQ(e.code(), "invalid_stage_input");
  EXPECT_EQ(std::string(e.what()),
            "stage 1 (double) runs on each element of an array, and was given a number");
  EXPECT_EQ(statuses(log.stages()), (std::vector<std::string>{"succeeded", "failed"}));
}

TEST_F(Pipelines, AStageMustRunAKnownTypeThatIsNoPipeline) {
  add("typo", {{.type = "dobule"}});
  try {
    check_pipeline_types(types_, settings_);
    ADD_FAILURE() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("job_types.typo.stages[0].type: no job type \"dobule\" "
                                         "(did you mean double?)"),
              std::string::npos)
        << e.what();
  }
  settings_.pipeline_types.clear();
  add("first", {{.type = "add1"}});
  start();
  settings_.pipeline_types.clear();
  add("second", {{.type = "first"}});
  EXPECT_THROW(check_pipeline_types(types_, settings_), std::invalid_argument);
}

}  // namespace
}  // namespace jobd::handlers
