// File: settings.h
// A server command's settings table: each setting is written once, as its key, the field it
// fills (whose initial value is the default), its help, and its range or check. From the table
// come the command-line flags (--KEY), the YAML keys of the command's config file (KEY in the
// command's section, or at the top level for the keys every server shares; a flag wins over the
// file) and the validation, with errors that name the flag, or the file, line and key.
//   Settings s("cache");
//   s.Text("maxmemory", &f.maxmemory, "Memory limit for keys, e.g. 100mb", CheckMemory);
//   s.Count("maxclients", &f.maxclients, "Maximum client connections", 1, 1000000);
//   s.AddTo(sub);  ...  PIER_RETURN_IF_ERROR(s.Apply(f.config, *sub));
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "pier/base/config.h"
#include "pier/base/status.h"

namespace pier::app {

class Settings {
 public:
  // What a text value must be: an InvalidArgument whose message says what is wrong (the table
  // adds the flag or the file's line and key).
  using Check = std::function<Status(const std::string& value)>;
  // Where the next settings live in the config file.
  enum class Scope {
    kSection,   // under the command's section (cache:, queue:, ...)
    kTop,       // at the top level (threads, log-level, data-dir)
    kFlagOnly,  // not in the file (--config itself, --shutdown-timeout, the tuner's flags)
  };

  explicit Settings(std::string section) : section_(std::move(section)) {}

  Settings& In(Scope scope) {
    scope_ = scope;
    return *this;
  }
  Settings& Text(const char* key, std::string* field, std::string help, Check check = {});
  // "yes" or "no" on the command line (Redis style), a boolean in the file.
  Settings& YesNo(const char* key, std::string* field, std::string help);
  // One of `choices`.
  Settings& Choice(const char* key, std::string* field, std::string help,
                   std::vector<std::string> choices);
  Settings& Count(const char* key, uint64_t* field, std::string help, uint64_t lo, uint64_t hi);
  Settings& Integer(const char* key, int64_t* field, std::string help, int64_t lo, int64_t hi);
  Settings& Number(const char* key, double* field, std::string help, double lo, double hi);

  // Every setting as a flag, with its help and default.
  void AddTo(CLI::App* sub) const;
  // Reads `config_file` (when not empty): each setting whose flag was not given takes the
  // file's value (every value in the file is checked); then checks every value. The file's
  // unknown keys are errors.
  Status Apply(const std::string& config_file, const CLI::App& sub) const;

  // The checks tables share: a memory size (e.g. 100mb), optionally within [lo, hi] bytes.
  static Check Memory(uint64_t lo = 0, uint64_t hi = UINT64_MAX);

 private:
  struct Setting {
    std::string key, help;
    Scope scope = Scope::kSection;
    std::variant<std::string*, uint64_t*, int64_t*, double*> field;
    bool yes_no = false;
    Check check;  // text values
    // Numbers: the range, in the field's type.
    std::variant<std::pair<uint64_t, uint64_t>, std::pair<int64_t, int64_t>,
                 std::pair<double, double>>
        range;
  };
  Settings& Add(Setting s);
  // The file's value for `s` (range and check errors go to the section, with the line).
  static void Read(ConfigSection& sec, const Setting& s);
  // A value's check, for the flag (or the default).
  static Status CheckValue(const Setting& s);

  std::string section_;
  Scope scope_ = Scope::kSection;
  std::vector<Setting> settings_;
};

}  // namespace pier::app
