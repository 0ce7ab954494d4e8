// Status and Result<T>: how every fallible groupcache call reports failure.
//
// A Status is either OK or a code plus a human-readable message. Result<T>
// holds either a value or a non-OK Status. Both are small value types; they
// are not synchronised, so share them between threads only by copying.
//
// The library never throws across its API: user code that throws (a getter,
// a sink) is caught and turned into an error Status.
//
// Example:
//   groupcache::Result<std::string> r = LoadSomething();
//   if (!r.ok()) return r.status();
//   Use(*r);

#ifndef GROUPCACHE_STATUS_H_
#define GROUPCACHE_STATUS_H_

#include <cassert>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace groupcache {

// The error codes. Chosen to map onto the peer protocol's HTTP statuses and
// onto gRPC-style codes that users already know.
enum class StatusCode {
  kOk = 0,
  kCancelled,           // The caller's context was cancelled.
  kUnknown,             // An error that fits no other code.
  kInvalidArgument,     // The request is malformed (empty key, bad option).
  kDeadlineExceeded,    // The caller's deadline passed.
  kNotFound,            // The getter (local or remote) has no such key.
  kAlreadyExists,       // E.g. a group with this name already exists.
  kFailedPrecondition,  // Misuse at run time, e.g. a sink filled twice.
  kResourceExhausted,   // A size or count limit was hit.
  kUnavailable,         // A peer could not be reached or answered badly.
  kInternal,            // A bug or a getter that threw.
  kLoadFailed,          // The owning peer ran its getter and it failed
                        // (HTTP 503 on the wire). Not retried locally.
};

// Returns the code's name, e.g. "NotFound".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // An OK status.
  Status() = default;
  Status(StatusCode code, std::string message)
      : rep_(code == StatusCode::kOk ? nullptr : new Rep{code, std::move(message)}) {}
  Status(const Status& other) : rep_(other.rep_ ? new Rep(*other.rep_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (this != &other) *this = Status(other);
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  static Status Ok() { return {}; }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  const std::string& message() const { return rep_ ? rep_->message : EmptyMessage(); }

  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;

  // Marks a status as deliberately ignored.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  // An OK status is a null pointer: the success path, which is every hit
  // of the cache, creates, moves and destroys a Status as one word (with a
  // std::string member those small-string copies were 30 of a warm Get's
  // 596 instructions). Errors are rare and may cost an allocation.
  struct Rep {
    StatusCode code;
    std::string message;
  };
  static const std::string& EmptyMessage();

  std::unique_ptr<Rep> rep_;
};

// Constructors for each error code.
Status CancelledError(std::string message);
Status UnknownError(std::string message);
Status InvalidArgumentError(std::string message);
Status DeadlineExceededError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status FailedPreconditionError(std::string message);
Status ResourceExhaustedError(std::string message);
Status UnavailableError(std::string message);
Status InternalError(std::string message);
Status LoadFailedError(std::string message);

// A value of type T or a non-OK Status.
//
// REQUIRES: a Result is never constructed from an OK Status (that would be a
// Result without a value); doing so yields an Internal error instead.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : rep_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status)                        // NOLINT: implicit by design
      : rep_(status.ok() ? InternalError("Result built from an OK status") : std::move(status)) {}

  bool ok() const { return std::holds_alternative<T>(rep_); }

  // The error, or OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(rep_); }

  // REQUIRES: ok().
  const T& value() const& {
    assert(ok());
    return std::get<T>(rep_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(rep_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(rep_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, Status> rep_;
};

}  // namespace groupcache

#endif  // GROUPCACHE_STATUS_H_
