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

// A code plus a message that says what to fix. Cheap to copy when ok. [[nodiscard]]: an error
// is never dropped by accident (`(void)` says it is on purpose).
class [[nodiscard]] Status {
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
class [[nodiscard]] Result {
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

// Propagation: return the error of an expression that yields a Status, or of a Result, and
// otherwise go on (with the Result's value in `lhs`).
//   PIER_RETURN_IF_ERROR(store.Commit(ops));
//   PIER_ASSIGN_OR_RETURN(auto token, ResolveToken(sources));
#define PIER_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::pier::Status pier_status_ = (expr);        \
    if (!pier_status_.ok()) return pier_status_; \
  } while (0)
#define PIER_STATUS_CONCAT_INNER(a, b) a##b
#define PIER_STATUS_CONCAT(a, b) PIER_STATUS_CONCAT_INNER(a, b)
#define PIER_ASSIGN_OR_RETURN(lhs, expr) \
  PIER_ASSIGN_OR_RETURN_IMPL(PIER_STATUS_CONCAT(pier_result_, __LINE__), lhs, expr)
#define PIER_ASSIGN_OR_RETURN_IMPL(result, lhs, expr) \
  auto result = (expr);                               \
  if (!result.ok()) return result.status();           \
  lhs = std::move(*result)

// Invariants: PIER_CHECK is always on and crashes with a message; PIER_DCHECK only in debug.
#define PIER_CHECK_MSG(cond, msg) \
  ((cond) ? (void)0 : ::pier::detail::CheckFailed(#cond, __FILE__, __LINE__, msg))
#define PIER_CHECK(cond) PIER_CHECK_MSG(cond, "")
#ifdef NDEBUG
#define PIER_DCHECK(cond) ((void)0)
#else
#define PIER_DCHECK(cond) PIER_CHECK(cond)
#endif
