// Exec job types through the registry: payload to stdin, output modes, and errors that say what
// happened.
#include "handlers/exec.hpp"

#include <gtest/gtest.h>

#include "children.hpp"

namespace jobd::handlers {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

class Exec : public ::testing::Test {
 protected:
  json run(config::exec_type t, const json& payload, std::stop_token stop = {}) {
    t.name = "t";
    config::settings s;
    s.exec_types = {t};
    s.kill_grace = 200ms;
    registry r;
    add_exec_types(r, s, test_children());
    return r.find("t")->run(payload,
                            run_context{{.stop = stop, .deadline = pool::clock::now() + 1h}});
  }

  job_error error_of(config::exec_type t, const json& payload) {
    try {
      (void)run(std::move(t), payload);
    } catch (const job_error& e) {
      return e;
    }
    ADD_FAILURE() << "no job_error";
    return job_error("", "");
  }

  static config::exec_type sh(const std::string& script) {
    config::exec_type t;
    t.command = {"/bin/sh", "-c", script};
    return t;
  }
};

TEST_F(Exec, SendsThePayloadAsJsonTextOrAsTheRawStringToStdin) {
  EXPECT_EQ(run(sh("cat"), json{{"a", 1}})["stdout"], R"({"a":1})");
  EXPECT_EQ(run(sh("cat"), "raw text")["stdout"], "raw text");
  config::exec_type none = sh("cat");
  none.stdin_from = config::exec_type::input::none;
  EXPECT_EQ(run(none, "ignored")["stdout"], "");
}

TEST_F(Exec, ResultHasExitCodeStdoutAndTheStderrTail) {
  const json r = run(sh("echo out; echo err >&2"), nullptr);
  EXPECT_EQ(r, (json{{"exit_code", 0}, {"stdout", "out\n"}, {"stderr", "err\n"}}));
}

TEST_F(Exec, JsonOutputIsParsedAndBadJsonFailsTheJob) {
  config::exec_type t = sh("cat");
  t.output = config::exec_type::output_format::json;
  EXPECT_EQ(run(t, json{{"x", {1, 2}}})["stdout"], (json{{"x", {1, 2}}}));
  t.command = {"/bin/sh", "-c", "echo not json"};
  const job_error e = error_of(t, nullptr);
  EXPECT_EQ(e.code(), "invalid_output");
  EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos);
}

// A command's output is untrusted input: nesting that would overflow the parser's stack and
// numbers beyond a double fail the job instead of the server.
TEST_F(Exec, HostileJsonOutputFailsOnlyTheJob) {
  config::exec_type deep = sh("head -c 100000 /dev/zero | tr '\\0' '['");
  deep.output = config::exec_type::output_format::json;
  const job_error too_deep = error_of(deep, nullptr);
  EXPECT_EQ(too_deep.code(), "invalid_output");
  EXPECT_NE(std::string(too_deep.what()).find("deeper than 64"), std::string::npos);
  config::exec_type huge = sh("echo '[1e999]'");
  huge.output = config::exec_type::output_format::json;
  const job_error overflow = error_of(huge, nullptr);
  EXPECT_EQ(overflow.code(), "invalid_output");
  EXPECT_NE(std::string(overflow.what()).find("number overflow"), std::string::npos);
  // One key twice would keep one value silently, as it would in a request body.
  config::exec_type twice = sh(R"(echo '{"a":1,"b":{"a":2,"a":3}}')");
  twice.output = config::exec_type::output_format::json;
  const job_error repeated = error_of(twice, nullptr);
  EXPECT_EQ(repeated.code(), "invalid_output");
  EXPECT_STREQ(repeated.what(),
               R"(stdout is not valid JSON: the key "a" appears twice in one object)");
}

TEST_F(Exec, Base64OutputCarriesBinaryBytes) {
  config::exec_type t = sh("printf '\\000\\377ab'");
  t.output = config::exec_type::output_format::base64;
  EXPECT_EQ(run(t, nullptr)["stdout"], "AP9hYg==");
}

TEST_F(Exec, InvalidUtf8InTextOutputBecomesReplacementCharacters) {
  const json r = run(sh("printf 'ok\\377\\300'"), nullptr);
  EXPECT_EQ(r["stdout"], "ok\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_NO_THROW((void)r.dump());
}

TEST_F(Exec, NonZeroExitFailsWithTheExitCodeAndStderr) {
  const job_error e = error_of(sh("echo bad input >&2; exit 7"), nullptr);
  EXPECT_EQ(e.code(), "nonzero_exit");
  EXPECT_EQ(e.details()["exit_code"], 7);
  EXPECT_EQ(e.details()["stderr"], "bad input\n");
}

TEST_F(Exec, DeathBySignalFailsNamingTheSignal) {
  const job_error e = error_of(sh("kill -KILL $$"), nullptr);
  EXPECT_EQ(e.code(), "killed_by_signal");
  EXPECT_EQ(e.details()["signal"], 9);
  EXPECT_NE(std::string(e.what()).find("SIGKILL"), std::string::npos);
}

TEST_F(Exec, OutputPastTheCapFailsWithOutputTooLarge) {
  config::exec_type t = sh("head -c 100000 /dev/zero");
  t.max_output_bytes = 1000;
  EXPECT_EQ(error_of(t, nullptr).code(), "output_too_large");
}

TEST_F(Exec, AStoppedJobSaysWhatEndingItTook) {
  std::stop_source stop;
  stop.request_stop();
  try {
    (void)run(sh("sleep 30"), nullptr, stop.get_token());
    FAIL() << "a stopped job returned a result";
  } catch (const job_error& e) {
    // Escalation to SIGKILL is the process tests' business; here, that the message says it.
    EXPECT_EQ(e.code(), "stopped");
    EXPECT_NE(std::string(e.what()).find("stopped with SIGTERM"), std::string::npos) << e.what();
  }
}

TEST_F(Exec, DefaultEnvironmentIsPathAndLangWhichTheTypeMayOverride) {
  config::exec_type t = sh("echo $PATH $LANG $EXTRA");
  EXPECT_EQ(run(t, nullptr)["stdout"], "/usr/local/bin:/usr/bin:/bin C.UTF-8\n");
  t.env = {{"LANG", "C"}, {"EXTRA", "yes"}};
  EXPECT_EQ(run(t, nullptr)["stdout"], "/usr/local/bin:/usr/bin:/bin C yes\n");
}

TEST_F(Exec, AProgramThatCannotStartFailsTheJob) {
  config::exec_type t;
  t.command = {"/nonexistent/program"};
  EXPECT_EQ(error_of(t, nullptr).code(), "spawn_failed");
}

TEST_F(Exec, ATypeNamedLikeABuiltinIsRefused) {
  config::settings s;
  config::exec_type t = sh("true");
  t.name = "sleep";
  s.exec_types = {t};
  registry r;
  add_builtins(r);
  try {
    add_exec_types(r, s, test_children());
    ADD_FAILURE() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "job_types.sleep: \"sleep\" is the name of a built-in job type; choose another");
  }
}

}  // namespace
}  // namespace jobd::handlers
