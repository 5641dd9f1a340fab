#include "app/settings.h"

#include <fmt/format.h>

#include <cmath>

#include "pier/base/memory_units.h"

namespace pier::app {

namespace {

std::string Flag(const std::string& key) { return "--" + key; }

std::string Joined(const std::vector<std::string>& v, const std::string& last) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    out += i == 0 ? "" : i + 1 == v.size() ? " " + last + " " : ", ";
    out += v[i];
  }
  return out;
}

}  // namespace

Settings& Settings::Add(Setting s) {
  s.scope = scope_;
  settings_.push_back(std::move(s));
  return *this;
}

Settings& Settings::Text(const char* key, std::string* field, std::string help, Check check) {
  return Add({.key = key, .help = std::move(help), .field = field, .check = std::move(check)});
}

Settings& Settings::YesNo(const char* key, std::string* field, std::string help) {
  return Add({.key = key,
              .help = std::move(help),
              .field = field,
              .yes_no = true,
              .check = [](const std::string& v) {
                if (v == "yes" || v == "no") return Status::Ok();
                return Status::InvalidArgument("use yes or no, got '" + v + "'");
              }});
}

Settings& Settings::Choice(const char* key, std::string* field, std::string help,
                           std::vector<std::string> choices) {
  return Text(key, field, std::move(help), [choices](const std::string& v) {
    for (const auto& c : choices) {
      if (v == c) return Status::Ok();
    }
    return Status::InvalidArgument("use " + Joined(choices, "or") + ", got '" + v + "'");
  });
}

Settings& Settings::Count(const char* key, uint64_t* field, std::string help, uint64_t lo,
                          uint64_t hi) {
  return Add({.key = key, .help = std::move(help), .field = field, .range = std::pair{lo, hi}});
}

Settings& Settings::Integer(const char* key, int64_t* field, std::string help, int64_t lo,
                            int64_t hi) {
  return Add({.key = key, .help = std::move(help), .field = field, .range = std::pair{lo, hi}});
}

Settings& Settings::Number(const char* key, double* field, std::string help, double lo, double hi) {
  return Add({.key = key, .help = std::move(help), .field = field, .range = std::pair{lo, hi}});
}

Settings::Check Settings::Memory(uint64_t lo, uint64_t hi) {
  return [lo, hi](const std::string& v) {
    auto bytes = ParseMemory(v);
    if (!bytes.ok()) return bytes.status();
    if (*bytes < lo || *bytes > hi) {
      return Status::InvalidArgument(v + " is out of range (" + HumanBytes(lo) + " to " +
                                     HumanBytes(hi) + ")");
    }
    return Status::Ok();
  };
}

void Settings::AddTo(CLI::App* sub) const {
  for (const Setting& s : settings_) {
    std::visit(
        [&](auto* field) {
          CLI::Option* o = sub->add_option(Flag(s.key), *field, s.help);
          using T = std::remove_pointer_t<decltype(field)>;
          if constexpr (std::is_same_v<T, std::string>) {
            if (!field->empty()) o->capture_default_str();
          } else {
            const auto [lo, hi] = std::get<std::pair<T, T>>(s.range);
            o->capture_default_str();
            o->check(CLI::Range(lo, hi));
          }
        },
        s.field);
  }
}

void Settings::Read(ConfigSection& sec, const Setting& s) {
  if (!sec.Has(s.key)) return;
  if (auto* text = std::get_if<std::string*>(&s.field)) {
    if (s.yes_no) {
      bool b = **text == "yes";
      sec.Read(s.key, &b);
      **text = b ? "yes" : "no";
      return;
    }
    sec.Read(s.key, *text);
    if (!s.check) return;
    if (Status st = s.check(**text); !st.ok()) sec.Error(s.key, st.message());
  } else if (auto* u = std::get_if<uint64_t*>(&s.field)) {
    const auto [lo, hi] = std::get<std::pair<uint64_t, uint64_t>>(s.range);
    sec.Read(s.key, *u, lo, hi);
  } else if (auto* i = std::get_if<int64_t*>(&s.field)) {
    const auto [lo, hi] = std::get<std::pair<int64_t, int64_t>>(s.range);
    sec.Read(s.key, *i, lo, hi);
  } else if (auto* d = std::get_if<double*>(&s.field)) {
    const auto [lo, hi] = std::get<std::pair<double, double>>(s.range);
    double v = **d;
    sec.Read(s.key, &v);
    if (std::isnan(v) || v < lo || v > hi) {
      sec.Error(s.key, fmt::format("must be a number from {} to {}", lo, hi));
    } else {
      **d = v;
    }
  }
}

Status Settings::CheckValue(const Setting& s) {
  auto* text = std::get_if<std::string*>(&s.field);
  if (!text || !s.check) return Status::Ok();  // numbers: CLI::Range and the file's range
  Status st = s.check(**text);
  if (st.ok()) return st;
  return Status::InvalidArgument(Flag(s.key) + ": " + st.message());
}

Status Settings::Apply(const std::string& config_file, const CLI::App& sub) const {
  if (!config_file.empty()) {
    PIER_ASSIGN_OR_RETURN(auto doc, ConfigDocument::LoadFile(config_file));
    ConfigSection root = doc->Root();
    ConfigSection section = root.Section(section_);
    for (const Setting& s : settings_) {
      if (s.scope == Scope::kFlagOnly) continue;
      ConfigSection& sec = s.scope == Scope::kTop ? root : section;
      if (sub.count(Flag(s.key)) == 0) {
        Read(sec, s);
        continue;
      }
      // The flag wins, but the file's key is still read (and checked), so it is not unknown.
      std::visit(
          [&](auto* field) {
            const auto flag_value = *field;
            Read(sec, s);
            *field = flag_value;
          },
          s.field);
    }
    PIER_RETURN_IF_ERROR(doc->Finish());
  }
  for (const Setting& s : settings_) PIER_RETURN_IF_ERROR(CheckValue(s));
  return Status::Ok();
}

}  // namespace pier::app
