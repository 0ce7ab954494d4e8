// Logger: the one interface through which groupcache reports what it does.
//
// A message has a level and key-value fields, so that structured backends
// keep them apart. The library logs only through the Logger it is given
// (never through a global), and never while holding one of its locks, so an
// implementation may block briefly or log from inside itself.
// Implementations must be thread-safe.
//
// Two implementations come with the library: NewDefaultLogger() (spdlog, to
// stderr, as text or as JSON lines) and NewNullLogger() (drops everything).
//
// Example:
//   logger.Log(LogLevel::kWarn, "peer fetch failed",
//              {{"peer", url}, {"key", key}, {"error", status.ToString()}});

#ifndef GROUPCACHE_LOGGER_H_
#define GROUPCACHE_LOGGER_H_

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace groupcache {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

// Parses "debug", "info", "warn"/"warning", "error", "off"; false if unknown.
bool ParseLogLevel(std::string_view text, LogLevel* level);

struct LogField {
  std::string_view key;
  std::string_view value;
};

class Logger {
 public:
  virtual ~Logger() = default;

  // True if messages at `level` would be written; lets callers skip
  // building expensive fields.
  virtual bool Enabled(LogLevel level) const = 0;

  virtual void Log(LogLevel level, std::string_view message,
                   std::initializer_list<LogField> fields) = 0;

  void Debug(std::string_view m, std::initializer_list<LogField> f = {}) {
    if (Enabled(LogLevel::kDebug)) Log(LogLevel::kDebug, m, f);
  }
  void Info(std::string_view m, std::initializer_list<LogField> f = {}) {
    if (Enabled(LogLevel::kInfo)) Log(LogLevel::kInfo, m, f);
  }
  void Warn(std::string_view m, std::initializer_list<LogField> f = {}) {
    if (Enabled(LogLevel::kWarn)) Log(LogLevel::kWarn, m, f);
  }
  void Error(std::string_view m, std::initializer_list<LogField> f = {}) {
    if (Enabled(LogLevel::kError)) Log(LogLevel::kError, m, f);
  }
};

enum class LogFormat {
  // "[time] [name] [level] message key=value key="quoted value"".
  kText,
  // One JSON object per line, for log collectors:
  //   {"ts":"2024-05-01T12:00:00.123Z","level":"warn","logger":"NAME",
  //    "msg":"MESSAGE","KEY":"VALUE",...}
  // ts is UTC with milliseconds; level is debug, info, warn or error; the
  // fields follow in their order, as strings (invalid UTF-8 replaced by
  // U+FFFD). A field named ts, level, logger or msg is written with a
  // trailing underscore (msg_), so it cannot hide the line's own.
  kJson,
};

// Parses "text" or "json"; false if unknown.
bool ParseLogFormat(std::string_view text, LogFormat* format);

struct DefaultLoggerOptions {
  LogLevel level = LogLevel::kInfo;  // written from this level up
  std::string name = "groupcache";   // tags the lines
  LogFormat format = LogFormat::kText;
};

// Writes to stderr through spdlog in `options.format`.
std::shared_ptr<Logger> NewDefaultLogger(DefaultLoggerOptions options);

// Writes "message key=value key=value" lines (LogFormat::kText).
std::shared_ptr<Logger> NewDefaultLogger(LogLevel level = LogLevel::kInfo,
                                         std::string name = "groupcache");

// Discards everything.
std::shared_ptr<Logger> NewNullLogger();

}  // namespace groupcache

#endif  // GROUPCACHE_LOGGER_H_
