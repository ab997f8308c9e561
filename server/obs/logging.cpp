#include "server/obs/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "common/json_writer.hpp"

namespace jobd::server {
namespace {

// %* : the message as a JSON string, so that any message makes a valid JSON line.
class json_message_flag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string text;
    append_json_string(text, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(std::string_view(text));
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_message_flag>();
  }
};

// %^ : the level by the names the log_level setting takes ("warn", where spdlog says "warning"),
// left-aligned in `width` columns, so a line can be filtered by the word that configured it.
class level_flag : public spdlog::custom_flag_formatter {
 public:
  explicit level_flag(std::size_t width) : width_(width) {}
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr std::array<std::string_view, 7> names{"trace", "debug",    "info", "warn",
                                                           "error", "critical", "off"};
    const auto i = static_cast<std::size_t>(msg.level);
    const std::string_view name = i < names.size() ? names[i] : "?";
    dest.append(name);
    for (std::size_t n = name.size(); n < width_; ++n) dest.push_back(' ');
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<level_flag>(width_);
  }

 private:
  std::size_t width_;
};

}  // namespace

void setup_logging(const config::settings& s) {
  auto logger =
      std::make_shared<spdlog::logger>("jobd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (s.log_format_ == config::log_format::json) {
    formatter->add_flag<json_message_flag>('*').add_flag<level_flag>('^', 0).set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%^","msg":%*})");
  } else {
    formatter->add_flag<level_flag>('^', 5).set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^ %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(s.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

void announce(std::string_view message) {
  spdlog::logger& logger = *spdlog::default_logger_raw();
  if (logger.level() == spdlog::level::off) return;
  // Straight to the sinks, which let every level through: the logger's own level would hold
  // the line back at warn and above.
  const spdlog::details::log_msg msg(logger.name(), spdlog::level::info, message);
  for (const auto& sink : logger.sinks()) sink->log(msg);
  logger.flush();
}

void log_access(std::string_view request_id, std::string_view client, std::string_view method,
                std::string_view target, std::string_view route, unsigned status,
                double duration_ms) {
  spdlog::info(
      "access request_id={} client={} method={} target={} route={} status={} "
      "duration_ms={:.3f}",
      request_id, client, method, target, route, status, duration_ms);
}

}  // namespace jobd::server
