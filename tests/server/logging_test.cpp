#include "server/obs/logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace jobd::server {
namespace {

// Sets up jobd's logging with `level` and `format`, runs `write`, and returns what reached stderr.
// The previous default logger and stderr are restored, so other tests log as before.
template <class Fn>
std::string logged(const std::string& level, config::log_format format, Fn write) {
  const auto previous = spdlog::default_logger();
  char path[] = "/tmp/jobd-logging-test-XXXXXX";
  const int file = mkstemp(path);
  EXPECT_GE(file, 0);
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  dup2(file, STDERR_FILENO);
  config::settings s;
  s.log_level = level;
  s.log_format_ = format;
  setup_logging(s);
  write();
  spdlog::default_logger()->flush();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(file);
  spdlog::set_default_logger(previous);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  unlink(path);
  return text.str();
}

TEST(Logging, LevelsAreNamedAsTheSettingNamesThem) {
  const std::string text = logged("trace", config::log_format::text, [] {
    spdlog::warn("w");
    spdlog::error("e");
    spdlog::info("i");
  });
  EXPECT_NE(text.find("Z warn  w\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Z error e\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Z info  i\n"), std::string::npos) << text;
  const std::string json = logged("trace", config::log_format::json, [] { spdlog::warn("w"); });
  EXPECT_NE(json.find(R"("level":"warn","msg":"w"})"), std::string::npos) << json;
}

TEST(Logging, AnnouncedLineShowsAtEveryLevelButOff) {
  for (const char* level : {"info", "warn", "error", "critical"}) {
    const std::string text = logged(level, config::log_format::text, [] {
      spdlog::info("hidden above info");
      announce("listening on 127.0.0.1:1");
    });
    EXPECT_NE(text.find(" info  listening on 127.0.0.1:1\n"), std::string::npos) << level;
    EXPECT_EQ(text.find("hidden") != std::string::npos, std::string(level) == "info") << level;
  }
  const std::string json =
      logged("error", config::log_format::json, [] { announce("listening on [::1]:2"); });
  EXPECT_NE(json.find(R"("level":"info","msg":"listening on [::1]:2"})"), std::string::npos)
      << json;
  EXPECT_EQ(logged("off", config::log_format::text, [] { announce("listening on x"); }), "");
}

TEST(Logging, JsonLinesAreValidUtf8WhateverTheMessageHolds) {
  const std::string json = logged("info", config::log_format::json,
                                  [] { spdlog::info("bad \xff\xfe, good \xc3\xa9\x01"); });
  // Each byte of an invalid sequence is U+FFFD; valid UTF-8 stays; controls are escaped.
  EXPECT_NE(json.find("\"msg\":\"bad \xef\xbf\xbd\xef\xbf\xbd, good \xc3\xa9\\u0001\"}"),
            std::string::npos)
      << json;
}

}  // namespace
}  // namespace jobd::server
