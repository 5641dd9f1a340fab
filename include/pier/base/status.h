// File: status.h
// Status and Result<T>: errors a user can fix, carried without exceptions.
//   Result<int> r = ParsePort("x");  if (!r.ok()) std::cerr << r.status().message();
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace pier {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the input is wrong (exit code 1)
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kResourceExhausted,
  kUnavailable,  // the environment failed (exit code 2)
  kIoError,      // the environment failed (exit code 2)
  kInternal,
  kAborted,  // undone on purpose, e.g. a rollout rolled back (exit code 1)
};

// A code plus a message that says what to fix. Cheap to copy when ok.
class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Process exit code by the command-line conventions: 0 ok, 1 bad input, 2 environment.
  int ExitCode() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) v_ = Status::Internal("Result constructed from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

namespace detail {
[[noreturn]] void CheckFailed(const char* expr, const char* file, int line, const char* msg);
}  // namespace detail

}  // namespace pier

// Invariants: PIER_CHECK is always on and crashes with a message; PIER_DCHECK only in debug.
#define PIER_CHECK_MSG(cond, msg) \
  ((cond) ? (void)0 : ::pier::detail::CheckFailed(#cond, __FILE__, __LINE__, msg))
#define PIER_CHECK(cond) PIER_CHECK_MSG(cond, "")
#ifdef NDEBUG
#define PIER_DCHECK(cond) ((void)0)
#else
#define PIER_DCHECK(cond) PIER_CHECK(cond)
#endif
