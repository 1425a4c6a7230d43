// Status and Result<T>: the one error type inside fpgaserve.
//
// Every fallible call returns a Status (or a Result<T> carrying a value on success). Codes are few and
// chosen so that server/http can map them to HTTP statuses in one place; messages are complete sentences
// meant for the user (they name the file, parameter or card concerned). Exceptions from third-party code
// are caught at the boundary that calls it and turned into a Status.
//
// Both types are [[nodiscard]]: a call whose Status or Result is dropped does not compile. Where dropping one
// is right, say so: `status.IgnoreError();  // why it is safe` (or `(void)` with the same comment).
//
// Checked invariants: Result::value() (and * and ->) on an error, and a Result built from an OK Status, abort
// the process with a message naming the misuse (and the error) instead of reading an empty optional. The check
// is one predictable branch; the message is built out of line.
//
// It lives in base/, below fpga/ and server/ (base/ includes nothing of ours; kernel/ does not use it).
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace fpgaserve {

enum class StatusCode {
  kOk,
  kInvalidArgument,    // the caller's input is wrong (bad parameter, malformed file)
  kNotFound,           // a named thing does not exist (file, model, route)
  kOutOfRange,         // a size exceeds a limit (prompt longer than the context, model larger than the card)
  kResourceExhausted,  // a queue or pool is full; retrying later may succeed
  kUnavailable,        // not ready, draining, or no healthy card
  kDeadlineExceeded,   // a timeout fired
  kCancelled,          // the client went away or the request was cancelled
  kDeviceFailure,      // a card failed; the card is unhealthy afterwards
  kInternal,           // a bug
};

class Status;
namespace status_internal {
// Prints "fpgaserve: <what>[: <status>]" to stderr and aborts. Out of line: the fast path stays small.
[[noreturn]] void Die(const char* what, const Status* status);
}  // namespace status_internal

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
  static Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status DeviceFailure(std::string m) { return {StatusCode::kDeviceFailure, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: <message>", for logs and the command line.
  std::string ToString() const;
  // Drops the status on purpose; the caller's comment says why that is safe.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

const char* StatusCodeName(StatusCode code);

inline std::string Status::ToString() const {
  return ok() ? std::string("ok") : std::string(StatusCodeName(code_)) + ": " + message_;
}

inline const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kOutOfRange: return "out of range";
    case StatusCode::kResourceExhausted: return "resource exhausted";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kDeadlineExceeded: return "deadline exceeded";
    case StatusCode::kCancelled: return "cancelled";
    case StatusCode::kDeviceFailure: return "device failure";
    case StatusCode::kInternal: return "internal error";
  }
  return "unknown";
}

// A value on success, a Status on failure.
// REQUIRES: value(), * and -> only when ok() (checked: the process aborts with the error otherwise).
// REQUIRES: the Status a Result is built from is not OK (checked likewise).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) [[unlikely]] {
      status_internal::Die("Result constructed from an OK Status (it needs a value)", nullptr);
    }
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & {
    Check();
    return *value_;
  }
  const T& value() const& {
    Check();
    return *value_;
  }
  T&& value() && {
    Check();
    return std::move(*value_);
  }
  T* operator->() {
    Check();
    return &*value_;
  }
  const T* operator->() const {
    Check();
    return &*value_;
  }
  T& operator*() & {
    Check();
    return *value_;
  }
  const T& operator*() const& {
    Check();
    return *value_;
  }

 private:
  void Check() const {
    if (!value_.has_value()) [[unlikely]] {
      status_internal::Die("Result::value() called on an error", &status_);
    }
  }

  std::optional<T> value_;
  Status status_;
};

}  // namespace fpgaserve
