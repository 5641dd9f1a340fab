#include "cache/server/command.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pier::cache::server {

void CommandContext::WrongArity() {
  out.Error("ERR wrong number of arguments for '" + Lower(args[0]) + "' command");
}

const CommandTable& CommandTable::Get() {
  static const CommandTable table = [] {
    CommandTable t;
    RegisterStringCommands(t);
    RegisterKeyCommands(t);
    RegisterHashCommands(t);
    RegisterListCommands(t);
    RegisterSetCommands(t);
    RegisterZSetCommands(t);
    RegisterSortCommands(t);
    RegisterServerCommands(t);
    RegisterClusterCommands(t);
    RegisterWatchCommands(t);
    RegisterStreamCommands(t);
    RegisterScriptCommands(t);
    return t;
  }();
  return table;
}

void CommandTable::Add(CommandSpec spec) {
  spec.notify = NotifyRuleFor(spec.name, spec.group, spec.flags);
  by_name_[spec.name] = specs_.size();
  specs_.push_back(std::move(spec));
}

const CommandSpec* CommandTable::Find(std::string_view name) const {
  char buf[32];
  if (name.size() >= sizeof buf) return nullptr;
  for (size_t i = 0; i < name.size(); ++i) {
    const char ch = name[i];
    buf[i] = ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch + ('a' - 'A')) : ch;  // ASCII only
  }
  auto it = by_name_.find(std::string_view(buf, name.size()));
  return it == by_name_.end() ? nullptr : &specs_[it->second];
}

bool ParseLongDouble(std::string_view s, long double* out) {
  if (s.empty() || s.size() > 5 * 1024) return false;
  if (std::isspace(static_cast<unsigned char>(s[0]))) return false;
  std::string copy(s);
  char* end = nullptr;
  errno = 0;
  long double v = std::strtold(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || errno == ERANGE || std::isnan(v)) return false;
  *out = v;
  return true;
}

std::string FormatLongDouble(long double v) {
  char buf[5 * 1024 + 64];
  int n = std::snprintf(buf, sizeof buf, "%.17Lf", v);
  std::string s(buf, static_cast<size_t>(n));
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

}  // namespace pier::cache::server
