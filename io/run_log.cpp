#include "io/run_log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace engine::io {

namespace {

constexpr spdlog::level::level_enum kLevels[] = {spdlog::level::debug, spdlog::level::info,
                                                 spdlog::level::warn, spdlog::level::err};
constexpr const char* kLevelNames[] = {"debug", "info", "warn", "error"};

spdlog::level::level_enum parse_level(const std::string& name) {
  for (int k = 0; k < 4; ++k)
    if (name == kLevelNames[k]) return kLevels[k];
  throw std::invalid_argument("--log-level " + name + ": expected debug, info, warn or error");
}

std::shared_ptr<spdlog::logger> file_logger(const std::string& name, const std::string& path,
                                            const std::string& pattern) {
  try {
    if (const auto parent = std::filesystem::path(path).parent_path(); !parent.empty())
      std::filesystem::create_directories(parent);
    auto logger = std::make_shared<spdlog::logger>(
        name, std::make_shared<spdlog::sinks::basic_file_sink_mt>(path));
    logger->set_pattern(pattern);
    logger->flush_on(spdlog::level::debug);  // a crash loses nothing already logged
    return logger;
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot open the log " + path + ": " + e.what());
  }
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + length, sizeof text - length, ".%03lldZ", static_cast<long long>(millis));
  return text;
}

}  // namespace

std::pair<std::string, std::string> split_subsystem(const std::string& tagged) {
  if (tagged.size() > 2 && tagged[0] == '[') {
    const auto close = tagged.find("] ");
    if (close != std::string::npos && close > 1 &&
        tagged.find_first_of(" [", 1) > close)  // one word in brackets
      return {tagged.substr(1, close - 1), tagged.substr(close + 2)};
  }
  return {"main", tagged};
}

RunLog::RunLog(const RunLogOptions& options) : options_(options) {
  const auto level = options.quiet ? spdlog::level::warn : parse_level(options.level);
  terminal_ = std::make_shared<spdlog::logger>("terminal",
                                               std::make_shared<spdlog::sinks::stdout_sink_mt>());
  errors_ =
      std::make_shared<spdlog::logger>("errors", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  for (const auto& logger : {terminal_, errors_}) {
    logger->set_pattern("%v");
    logger->set_level(options.terminal ? level : std::max(level, spdlog::level::warn));
    logger->flush_on(spdlog::level::debug);  // interleaves sensibly with other output
  }
  if (!options.json_path.empty()) {
    json_ = file_logger("json", options.json_path, "%v");
    json_->set_level(std::min(level, spdlog::level::info));
  }
  if (!options.text_path.empty()) {
    text_ = file_logger("text", options.text_path, "%Y-%m-%dT%H:%M:%S.%e %l %v");
    text_->set_level(std::min(level, spdlog::level::info));
  }
}

RunLog::~RunLog() = default;

void RunLog::write(int level, const std::string& tagged) {
  const auto spd = kLevels[level];
  const auto& terminal = level >= 2 ? errors_ : terminal_;
  if (terminal->should_log(spd)) {
    // Other ranks' lines say which rank they come from; warnings and errors say so.
    std::string prefix = options_.world_size > 1 && options_.rank != 0
                             ? "[rank " + std::to_string(options_.rank) + "] "
                             : "";
    if (level >= 2) prefix += level == 2 ? "warning: " : "error: ";
    terminal->log(spd, "{}{}", prefix, tagged);
  }
  if (json_ && json_->should_log(spd)) {
    const auto [subsystem, message] = split_subsystem(tagged);
    json_->log(spd, "{}",
               nlohmann::ordered_json({{"time", utc_now()},
                               {"level", kLevelNames[level]},
                               {"rank", options_.rank},
                               {"subsystem", subsystem},
                               {"message", message}})
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (text_ && text_->should_log(spd)) text_->log(spd, "{}", tagged);
}

}  // namespace engine::io
