#include "groupcache/logger.h"

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_color_sinks.h>

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

std::shared_ptr<Logger> NewDefaultLogger(LogLevel level, std::string name) {
  return std::make_shared<SpdLogger>(level, std::move(name));
}

std::shared_ptr<Logger> NewNullLogger() { return std::make_shared<NullLogger>(); }

}  // namespace groupcache
