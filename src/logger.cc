#include "groupcache/logger.h"

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace groupcache {
namespace {

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

// Quotes a value that would otherwise be ambiguous in key=value output.
void AppendValue(std::string& out, std::string_view v) {
  bool plain = !v.empty() && v.find_first_of(" \"=\t\n") == std::string_view::npos;
  if (plain) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
}

class SpdLogger final : public Logger {
 public:
  SpdLogger(LogLevel level, std::string name)
      // Not registered in spdlog's global registry: two loggers with one name
      // in one process (two nodes in a test) must not collide.
      : logger_(std::move(name), std::make_shared<spdlog::sinks::stderr_color_sink_mt>()) {
    logger_.set_level(ToSpdlog(level));
  }

  bool Enabled(LogLevel level) const override { return logger_.should_log(ToSpdlog(level)); }

  void Log(LogLevel level, std::string_view message,
           std::initializer_list<LogField> fields) override {
    std::string line(message);
    for (const LogField& f : fields) {
      line.push_back(' ');
      line.append(f.key);
      line.push_back('=');
      AppendValue(line, f.value);
    }
    logger_.log(ToSpdlog(level), "{}", line);
  }

 private:
  spdlog::logger logger_;
};

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "info";
}

// JSON lines. spdlog still does the writing (one locked write per line, so
// lines from several threads never interleave) and the timestamp: the
// pattern is the object's opening with "ts", the rest of the object is the
// message.
class JsonLogger final : public Logger {
 public:
  JsonLogger(LogLevel level, std::string name)
      // No colours: escape codes would break the JSON.
      : name_(name), logger_(std::move(name), std::make_shared<spdlog::sinks::stderr_sink_mt>()) {
    logger_.set_level(ToSpdlog(level));
    logger_.set_formatter(std::make_unique<spdlog::pattern_formatter>(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ",%v})", spdlog::pattern_time_type::utc, "\n"));
  }

  bool Enabled(LogLevel level) const override { return logger_.should_log(ToSpdlog(level)); }

  void Log(LogLevel level, std::string_view message,
           std::initializer_list<LogField> fields) override {
    nlohmann::ordered_json line;
    line["level"] = LevelName(level);
    line["logger"] = name_;
    line["msg"] = message;
    for (const LogField& f : fields) {
      std::string key(f.key);
      if (key == "ts" || key == "level" || key == "logger" || key == "msg") key += '_';
      line[key] = f.value;
    }
    // Replace, not throw, on invalid UTF-8: a log line about a binary key
    // must still be written.
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    // Without the braces: the pattern has them (and "ts" after the first).
    logger_.log(ToSpdlog(level), "{}", std::string_view(text).substr(1, text.size() - 2));
  }

 private:
  const std::string name_;
  spdlog::logger logger_;
};

class NullLogger final : public Logger {
 public:
  bool Enabled(LogLevel) const override { return false; }
  void Log(LogLevel, std::string_view, std::initializer_list<LogField>) override {}
};

}  // namespace

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  if (text == "debug")
    *level = LogLevel::kDebug;
  else if (text == "info")
    *level = LogLevel::kInfo;
  else if (text == "warn" || text == "warning")
    *level = LogLevel::kWarn;
  else if (text == "error")
    *level = LogLevel::kError;
  else if (text == "off")
    *level = LogLevel::kOff;
  else
    return false;
  return true;
}

bool ParseLogFormat(std::string_view text, LogFormat* format) {
  if (text == "text") {
    *format = LogFormat::kText;
  } else if (text == "json") {
    *format = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

std::shared_ptr<Logger> NewDefaultLogger(DefaultLoggerOptions options) {
  if (options.format == LogFormat::kJson) {
    return std::make_shared<JsonLogger>(options.level, std::move(options.name));
  }
  return std::make_shared<SpdLogger>(options.level, std::move(options.name));
}

std::shared_ptr<Logger> NewDefaultLogger(LogLevel level, std::string name) {
  return NewDefaultLogger(DefaultLoggerOptions{level, std::move(name), LogFormat::kText});
}

std::shared_ptr<Logger> NewNullLogger() { return std::make_shared<NullLogger>(); }

}  // namespace groupcache
