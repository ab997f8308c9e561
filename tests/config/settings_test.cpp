#include "config/settings.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace jobd::config {
namespace {

using namespace std::chrono_literals;

// A config file in the test's temporary directory, removed afterwards.
class temp_file {
 public:
  explicit temp_file(const std::string& text) {
    path_ = ::testing::TempDir() + "jobd-settings-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".json";
    std::ofstream(path_) << text;
  }
  ~temp_file() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string error_of(const std::vector<std::string>& args,
                     const std::vector<std::string>& env = {}) {
  try {
    (void)load(args, env, 2);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

TEST(Settings, DefaultsFollowTheContract) {
  const settings s = load({}, {}, 2).values;
  EXPECT_EQ(s.listen_host, "127.0.0.1");
  EXPECT_EQ(s.listen_port, 8080);
  EXPECT_EQ(s.default_timeout, 30'000ms);
  EXPECT_EQ(s.max_timeout, 3'600'000ms);
  EXPECT_EQ(s.drain_timeout, 30'000ms);
  EXPECT_EQ(s.retain_jobs, 10'000u);
  EXPECT_EQ(s.retain_seconds, 3600s);
  EXPECT_EQ(s.workers_min, 2u);  // auto: the CPUs given
  EXPECT_EQ(s.workers_max, 8u);
  EXPECT_EQ(s.reserved_high_workers, 1u);
}

TEST(Settings, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  temp_file f(R"({"queue_capacity": 11, "high_queue_capacity": 12, "pipeline_limit": 13})");
  const settings s = load({"--config", f.path(), "--queue-capacity", "31"},
                          {"JOBD_QUEUE_CAPACITY=21", "JOBD_HIGH_QUEUE_CAPACITY=22"}, 2)
                         .values;
  EXPECT_EQ(s.queue_capacity, 31u);       // flag
  EXPECT_EQ(s.high_queue_capacity, 22u);  // environment over file
  EXPECT_EQ(s.pipeline_limit, 13u);       // file over default
  EXPECT_EQ(s.max_body_bytes, 1u << 20);  // default
}

TEST(Settings, ConfigFileCanComeFromTheEnvironment) {
  temp_file f(R"({"listen": "[::1]:9000", "log_format": "json", "access_log": false})");
  const settings s = load({}, {"JOBD_CONFIG=" + f.path()}, 2).values;
  EXPECT_EQ(s.listen_host, "::1");
  EXPECT_EQ(s.listen_port, 9000);
  EXPECT_EQ(s.log_format_, log_format::json);
  EXPECT_FALSE(s.access_log);
}

TEST(Settings, WorkersSetsBothBoundsAndSpecificKeysWin) {
  settings s = load({"--workers=6"}, {}, 2).values;
  EXPECT_EQ(s.workers_min, 6u);
  EXPECT_EQ(s.workers_max, 6u);
  s = load({"--workers-max", "10", "--workers", "3"}, {}, 2).values;
  EXPECT_EQ(s.workers_min, 3u);
  EXPECT_EQ(s.workers_max, 10u);
  s = load({"--workers", "1"}, {}, 2).values;
  EXPECT_EQ(s.reserved_high_workers, 0u);
}

TEST(Settings, BadValuesNameTheSettingTheValueTheSourceAndWhatIsAllowed) {
  std::string e = error_of({"--queue-capacity", "lots"});
  EXPECT_NE(e.find("queue_capacity = \"lots\""), std::string::npos) << e;
  EXPECT_NE(e.find("flag --queue-capacity"), std::string::npos) << e;
  EXPECT_NE(e.find("1..10000000"), std::string::npos) << e;

  e = error_of({}, {"JOBD_MAX_TIMEOUT_MS=0"});
  EXPECT_NE(e.find("max_timeout_ms = \"0\" (from environment JOBD_MAX_TIMEOUT_MS)"),
            std::string::npos)
      << e;

  EXPECT_NE(error_of({"--listen", "localhost"}).find("ADDR:PORT"), std::string::npos);
  EXPECT_NE(error_of({"--listen", "127.0.0.1:70000"}).find("0..65535"), std::string::npos);
  EXPECT_NE(error_of({"--listen", "::1:80"}).find("brackets"), std::string::npos);
  EXPECT_NE(error_of({}, {"JOBD_AUTH_TOKEN_FILE="}).find("must name a file"), std::string::npos);
  // A switch given without its value does not take the next flag for it.
  EXPECT_NE(error_of({"--access-log", "--listen", "127.0.0.1:1"})
                .find("--access-log needs a value (--access-log VALUE or --access-log=VALUE)"),
            std::string::npos);
  // Addresses, not names: a name would fail only when the server binds.
  for (const char* host :
       {"localhost:8080", "999.1.1.1:80", "127.1:80", "[127.0.0.1]:80", "127.0.0.1%lo:80"}) {
    EXPECT_NE(error_of({"--listen", host}).find("host names are not looked up"), std::string::npos)
        << host;
  }
  EXPECT_NE(error_of({"--listen", "[::g]:80"}).find("not an IPv6 address"), std::string::npos);
  EXPECT_NE(error_of({"--log-level", "loud"}).find("trace, debug"), std::string::npos);
  // A switch's message lists every form it takes, and each of them is taken.
  EXPECT_NE(
      error_of({"--access-log", "TRUE"}).find("true or false (also 1 or 0, yes or no, on or off)"),
      std::string::npos);
  for (const char* form : {"true", "1", "yes", "on", "false", "0", "no", "off"}) {
    EXPECT_EQ(error_of({"--access-log", form}), "") << form;
  }
  EXPECT_NE(error_of({"--workers", "-1"}).find("auto"), std::string::npos);
  EXPECT_NE(error_of({"--nope", "1"}).find("unknown option --nope (jobd --help)"),
            std::string::npos);
  EXPECT_NE(error_of({"--queue-capasity", "1"})
                .find("unknown option --queue-capasity; did you mean --queue-capacity?"),
            std::string::npos);
  EXPECT_NE(error_of({"--worker", "1"}).find("did you mean --workers?"), std::string::npos);
  EXPECT_NE(error_of({}, {"JOBD_WORKER=1"})
                .find("unknown environment variable JOBD_WORKER; did you mean JOBD_WORKERS?"),
            std::string::npos);
  EXPECT_NE(error_of({"--queue-capacity"}).find("needs a value"), std::string::npos);
  EXPECT_NE(error_of({"stray"}).find("unexpected argument"), std::string::npos);
  EXPECT_NE(error_of({}, {"JOBD_QUEUE_CAPACTY=3"}).find("JOBD_QUEUE_CAPACTY"), std::string::npos);
}

TEST(Settings, TheStoreIsMemoryUnlessSqliteIsNamed) {
  settings s = load({}, {}, 2).values;
  EXPECT_EQ(s.store, "memory");
  EXPECT_EQ(sqlite_path(s), "");
  EXPECT_TRUE(s.store_full_sync);
  EXPECT_EQ(s.store_timeout, 5'000ms);
  s = load({"--store", "sqlite:var/jobd.db", "--store-sync", "normal"},
           {"JOBD_STORE_TIMEOUT_MS=250"}, 2)
          .values;
  EXPECT_EQ(sqlite_path(s), "var/jobd.db");
  EXPECT_FALSE(s.store_full_sync);
  EXPECT_EQ(s.store_timeout, 250ms);

  std::string e = error_of({"--store", "sqlite:"});
  EXPECT_NE(e.find("store = \"sqlite:\" (from flag --store): allowed: memory, sqlite:PATH"),
            std::string::npos)
      << e;
  e = error_of({}, {"JOBD_STORE=postgres://db/jobs"});
  EXPECT_NE(e.find("PostgreSQL is not built into this jobd"), std::string::npos) << e;
  EXPECT_NE(error_of({"--store", "/var/jobd.db"}).find("allowed: memory, sqlite:PATH"),
            std::string::npos);
  EXPECT_NE(error_of({"--store-sync", "off"}).find("allowed: full, normal"), std::string::npos);
  EXPECT_NE(error_of({"--store-timeout-ms", "0"}).find("1..600000"), std::string::npos);
}

TEST(Settings, TheBuiltInDefaultTimeoutFollowsALowerCeiling) {
  EXPECT_EQ(load({"--max-timeout-ms", "5000"}, {}, 2).values.default_timeout,
            std::chrono::milliseconds(5000));
  EXPECT_EQ(load({}, {"JOBD_MAX_TIMEOUT_MS=40000"}, 2).values.default_timeout,
            std::chrono::milliseconds(30'000));
  // A default given on purpose is never changed behind the operator's back, wherever it was
  // given: above the ceiling, it is refused.
  EXPECT_EQ(load({"--max-timeout-ms", "5000", "--default-timeout-ms", "5000"}, {}, 2)
                .values.default_timeout,
            std::chrono::milliseconds(5000));
  EXPECT_EQ(error_of({"--max-timeout-ms", "5000"}, {"JOBD_DEFAULT_TIMEOUT_MS=30000"}),
            "default_timeout_ms = 30000 (from environment JOBD_DEFAULT_TIMEOUT_MS): must not "
            "exceed max_timeout_ms = 5000 (from flag --max-timeout-ms)");
  temp_file f(R"({"default_timeout_ms": 30000, "max_timeout_ms": 5000})");
  EXPECT_NE(error_of({"--config", f.path()}).find("default_timeout_ms = 30000 (from config file"),
            std::string::npos);
  // null in a file is the default, as --check-config writes an unset value.
  temp_file unset(R"({"default_timeout_ms": null, "max_timeout_ms": 5000})");
  EXPECT_EQ(load({"--config", unset.path()}, {}, 2).values.default_timeout,
            std::chrono::milliseconds(5000));
}

TEST(Settings, InconsistentSettingsAreRefusedAsAWhole) {
  EXPECT_NE(error_of({"--workers-min", "4", "--workers-max", "2"}).find("workers_max = 2"),
            std::string::npos);
  // Each value of the pair is named with where it came from.
  EXPECT_EQ(error_of({"--workers-max", "2"}, {"JOBD_WORKERS_MIN=4"}),
            "workers_max = 2 (from flag --workers-max): must be at least workers_min = 4 (from "
            "environment JOBD_WORKERS_MIN)");
  EXPECT_EQ(error_of({"--workers", "3", "--reserved-high-workers", "3"}),
            "reserved_high_workers = 3 (from flag --reserved-high-workers): must be below "
            "workers_max = 3 (from flag --workers), so that some worker serves the normal lane");
  EXPECT_EQ(error_of({"--default-timeout-ms", "5000"}, {"JOBD_MAX_TIMEOUT_MS=1000"}),
            "default_timeout_ms = 5000 (from flag --default-timeout-ms): must not exceed "
            "max_timeout_ms = 1000 (from environment JOBD_MAX_TIMEOUT_MS)");
  EXPECT_NE(
      error_of({"--workers", "2", "--reserved-high-workers", "2"}).find("reserved_high_workers"),
      std::string::npos);
  EXPECT_NE(error_of({"--default-timeout-ms", "5000", "--max-timeout-ms", "1000"})
                .find("must not exceed max_timeout_ms"),
            std::string::npos);
}

TEST(Settings, BadConfigFilesAreRefusedWithThePath) {
  EXPECT_NE(error_of({"--config", "/nonexistent/jobd.json"})
                .find("cannot be read: No such file or directory"),
            std::string::npos);
  temp_file broken("{ not json");
  EXPECT_EQ(error_of({"--config", broken.path()})
                .find("config file " + broken.path() + " is not valid JSON: "),
            0u);
  // Found by the config fuzz target: these escaped as exceptions other than config_error.
  temp_file overflow(R"({"listen": 1e999})");
  EXPECT_NE(error_of({"--config", overflow.path()}).find("number overflow"), std::string::npos);
  temp_file deep(std::string(100'000, '['));
  EXPECT_EQ(error_of({"--config", deep.path()}),
            "config file " + deep.path() + " nests deeper than 64 levels");
  temp_file unknown(R"({"queue_capacty": 3})");
  EXPECT_NE(error_of({"--config", unknown.path()})
                .find(R"(unknown setting "queue_capacty"; did you mean "queue_capacity"?)"),
            std::string::npos);
  temp_file types_misspelt(R"({"job_type": {}})");
  EXPECT_NE(error_of({"--config", types_misspelt.path()}).find(R"(did you mean "job_types"?)"),
            std::string::npos);
  temp_file wrong_type(R"({"queue_capacity": [3]})");
  EXPECT_NE(error_of({"--config", wrong_type.path()}).find("must be a string, a number"),
            std::string::npos);
  // A key given twice is refused, not read as its last value, at any depth.
  temp_file twice(R"({"queue_capacity": 3, "workers": 2, "queue_capacity": 4})");
  EXPECT_NE(error_of({"--config", twice.path()}).find("\"queue_capacity\" appears twice"),
            std::string::npos);
  temp_file twice_inside(
      R"({"job_types": {"t": {"command": ["/bin/true"], "timeout_ms": 5, "timeout_ms": 6}}})");
  EXPECT_NE(error_of({"--config", twice_inside.path()}).find("\"timeout_ms\" appears twice"),
            std::string::npos);
  temp_file same_key_apart(R"({"job_types": {"a": {"command": ["/bin/true"]},
                                            "b": {"command": ["/bin/true"]}}})");
  EXPECT_EQ(error_of({"--config", same_key_apart.path()}), "");
  // Comments are allowed, brackets in them included.
  temp_file commented("// jobd [settings]\n{\"queue_capacity\": 3 /* [[[ */}");
  EXPECT_EQ(error_of({"--config", commented.path()}), "");
  temp_file array("[1, 2]");
  EXPECT_NE(error_of({"--config", array.path()}).find("JSON object"), std::string::npos);
}

TEST(Settings, HelpVersionAndCheckConfigAreActions) {
  EXPECT_EQ(load({"--help"}, {}, 2).what, command::action::help);
  EXPECT_EQ(load({"--version"}, {}, 2).what, command::action::version);
  EXPECT_EQ(load({"--check-config"}, {}, 2).what, command::action::check_config);
  const std::string help = settings_help();
  EXPECT_NE(help.find("--queue-capacity  (JOBD_QUEUE_CAPACITY, \"queue_capacity\")"),
            std::string::npos);
}

TEST(Settings, DescribeRoundTripsThroughAConfigFile) {
  const settings s =
      load({"--listen", "[::1]:0", "--workers", "3", "--log-format", "json"}, {}, 2).values;
  temp_file f(describe(s));
  const settings again = load({"--config", f.path()}, {}, 2).values;
  EXPECT_EQ(describe(again), describe(s));
  EXPECT_EQ(nlohmann::json::parse(describe(s)).at("listen"), "[::1]:0");
}

}  // namespace
}  // namespace jobd::config

namespace jobd::config {
namespace {

TEST(ExecTypes, ParseFromTheConfigFileWithDefaults) {
  temp_file f(R"({"job_types": {
      "upper": {"command": ["/usr/bin/tr", "a-z", "A-Z"], "timeout_ms": 5000, "output": "text",
                "env": {"LANG": "C.UTF-8"}, "cwd": "/tmp"},
      "json-id": {"command": ["/bin/cat"], "output": "json", "stdin": "payload", "max_output_bytes": 1024}}})");
  const settings s = load({"--config", f.path()}, {}, 2).values;
  ASSERT_EQ(s.exec_types.size(), 2u);
  const auto& upper = s.exec_types[1].name == "upper" ? s.exec_types[1] : s.exec_types[0];
  EXPECT_EQ(upper.command, (std::vector<std::string>{"/usr/bin/tr", "a-z", "A-Z"}));
  EXPECT_EQ(upper.timeout, 5000ms);
  EXPECT_EQ(upper.cwd, "/tmp");
  EXPECT_EQ(upper.env.at(0), (std::pair<std::string, std::string>{"LANG", "C.UTF-8"}));
  EXPECT_EQ(upper.max_output_bytes, 1u << 20);
  // describe() writes them back in a form load() accepts.
  temp_file again(describe(s));
  EXPECT_EQ(describe(load({"--config", again.path()}, {}, 2).values), describe(s));
}

TEST(ExecTypes, BadDefinitionsNameTheTypeAndTheField) {
  auto error_for = [](const std::string& types) {
    temp_file f(R"({"job_types": )" + types + "}");
    return error_of({"--config", f.path()});
  };
  EXPECT_NE(error_for(R"({"t": {"command": ["cat"]}})").find("job_types.t.command"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"t": {"command": ["cat"]}})").find("absolute path"), std::string::npos);
  EXPECT_NE(error_for(R"({"t": {"command": ["/nonexistent/tool"]}})")
                .find("the program \"/nonexistent/tool\" is not an executable file"),
            std::string::npos);
  // A directory passes access(X_OK), and would fail every job.
  EXPECT_NE(error_for(R"({"t": {"command": ["/bin"]}})").find("is not an executable file"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"t": {"command": ["/bin/echo", "a\u0000b"]}})")
                .find("job_types.t.command: must not contain NUL"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"t": {"command": ["/bin/cat"], "env": {"A": "x\u0000"}}})")
                .find("job_types.t.env.A: must not contain NUL"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"t": {"command": ["/bin/cat"], "cwd": "/tmp\u0000x"}})")
                .find("job_types.t.cwd: must not contain NUL"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"t": {"command": []}})").find("job_types.t.command"), std::string::npos);
  EXPECT_NE(error_for(R"({"t": {}})").find("job_types.t.command: is required"), std::string::npos);
  EXPECT_NE(error_for(R"({"t": {"command": ["/bin/cat"], "timeout": 5}})")
                .find("job_types.t.timeout: unknown field (did you mean timeout_ms?); allowed: "),
            std::string::npos);
  EXPECT_NE(
      error_for(R"({"t": {"command": ["/bin/cat"], "output": "xml"}})").find("job_types.t.output"),
      std::string::npos);
  EXPECT_NE(error_for(R"({"t": {"command": ["/bin/cat"], "stdin": 1}})").find("job_types.t.stdin"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"t": {"command": ["/bin/cat"], "timeout_ms": "5"}})")
                .find("job_types.t.timeout_ms"),
            std::string::npos);
  EXPECT_NE(
      error_for(R"({"t": {"command": ["/bin/cat"], "env": {"A": 1}}})").find("job_types.t.env.A"),
      std::string::npos);
  EXPECT_NE(error_for(R"({"t": {"command": ["/bin/cat"], "cwd": "/nonexistent"}})")
                .find("job_types.t.cwd"),
            std::string::npos);
  EXPECT_NE(
      error_for(R"({"t": {"command": ["/bin/cat"], "shell": true}})").find("job_types.t.shell"),
      std::string::npos);
  EXPECT_NE(error_for(R"({"Bad Name": {"command": ["/bin/cat"]}})").find("job_types.Bad Name"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"t": {"command": ["/bin/cat"], "timeout_ms": 7200000}})")
                .find("max_timeout_ms"),
            std::string::npos);
}

}  // namespace
}  // namespace jobd::config
