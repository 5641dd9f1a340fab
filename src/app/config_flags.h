// File: config_flags.h
// How a server command merges its YAML config file with its flags: every key of the file is read
// (so none is reported unknown), and the file's value is used only where the flag was not given.
//   ConfigFlags take(sub);  take(section, "maxmemory", "--maxmemory", &f.maxmemory);
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "pier/base/config.h"

namespace pier::app {

class ConfigFlags {
 public:
  explicit ConfigFlags(const CLI::App& sub) : sub_(sub) {}

  template <typename T, typename... Range>
  void operator()(ConfigSection& sec, const char* key, const char* flag, T* field,
                  Range... range) const {
    T value = *field;
    sec.Read(key, &value, range...);
    if (sub_.count(flag) == 0) *field = value;
  }

  // A yes/no flag (Redis style) read from a YAML boolean.
  void YesNo(ConfigSection& sec, const char* key, const char* flag, std::string* field) const {
    bool value = *field == "yes";
    sec.Read(key, &value);
    if (sub_.count(flag) == 0) *field = value ? "yes" : "no";
  }

  // A yes/no flag's value, checked.
  static Status CheckYesNo(const char* flag, const std::string& value) {
    if (value == "yes" || value == "no") return Status::Ok();
    return Status::InvalidArgument(std::string(flag) + ": use yes or no, got '" + value + "'");
  }

  // The top-level keys every server shares: threads, log-level.
  template <typename Flags>  // a ServerFlags
  void Common(ConfigSection& root, Flags& f) const {
    uint64_t threads = f.threads;
    (*this)(root, "threads", "--threads", &threads, uint64_t{0}, uint64_t{1024});
    f.threads = threads;
    (*this)(root, "log-level", "--log-level", &f.log_level);
  }

 private:
  const CLI::App& sub_;
};

}  // namespace pier::app
