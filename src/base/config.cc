#include "pier/base/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "pier/base/duration.h"

namespace pier {

struct ConfigDocument::Impl {
  std::string name;
  YAML::Node root;
  std::vector<std::string> errors;
  // Every mapping seen, by dotted path, with the keys that were read.
  struct Seen {
    YAML::Node node;
    std::vector<std::string> read;
  };
  std::map<std::string, Seen> sections;

  std::string Where(const YAML::Mark& m) const {
    if (m.line < 0) return name;
    return name + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
};

struct ConfigSection::Impl {
  std::string path;  // dotted, "" for the root
  YAML::Node node;   // a map, or null when absent
};

namespace {

// yaml-cpp recurses per nesting level; bound flow nesting before handing it the text.
Status CheckNesting(std::string_view text, const std::string& name) {
  int depth = 0;
  int line = 1;
  for (char c : text) {
    if (c == '\n') ++line;
    if (c == '[' || c == '{') {
      if (++depth > kMaxConfigNesting) {
        return Status::InvalidArgument(name + ":" + std::to_string(line) +
                                       ": nesting deeper than " +
                                       std::to_string(kMaxConfigNesting) + " levels");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return Status::Ok();
}

std::string Dotted(const std::string& path, std::string_view key) {
  if (key.empty()) return path;
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

}  // namespace

ConfigDocument::ConfigDocument(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConfigDocument::~ConfigDocument() = default;

Result<std::unique_ptr<ConfigDocument>> ConfigDocument::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(path + ": cannot open config file");
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) {
      return Status::InvalidArgument(path + ": config file larger than 1 MiB");
    }
  }
  return LoadString(text, path);
}

Result<std::unique_ptr<ConfigDocument>> ConfigDocument::LoadString(std::string_view text,
                                                                   std::string name) {
  if (text.size() > kMaxConfigBytes) {
    return Status::InvalidArgument(name + ": config larger than 1 MiB");
  }
  if (Status s = CheckNesting(text, name); !s.ok()) return s;
  auto impl = std::make_unique<Impl>();
  impl->name = std::move(name);
  try {
    impl->root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(impl->Where(e.mark) + ": " + e.msg);
  }
  if (impl->root.IsDefined() && !impl->root.IsNull() && !impl->root.IsMap()) {
    return Status::InvalidArgument(impl->Where(impl->root.Mark()) +
                                   ": the top level must be a mapping of keys to values");
  }
  return std::unique_ptr<ConfigDocument>(new ConfigDocument(std::move(impl)));
}

ConfigSection ConfigDocument::Root() {
  auto s = std::make_shared<ConfigSection::Impl>();
  s->node = impl_->root.IsMap() ? impl_->root : YAML::Node();
  impl_->sections[""].node = s->node;
  return ConfigSection(this, s);
}

Status ConfigDocument::Finish() {
  if (!impl_->errors.empty()) return Status::InvalidArgument(impl_->errors.front());
  for (auto& [path, seen] : impl_->sections) {
    if (!seen.node.IsMap()) continue;
    for (auto it = seen.node.begin(); it != seen.node.end(); ++it) {
      std::string key = it->first.Scalar();
      bool known = false;
      for (const auto& r : seen.read) known = known || r == key;
      if (!known) {
        return Status::InvalidArgument(impl_->Where(it->first.Mark()) + ": unknown key '" +
                                       Dotted(path, key) + "'");
      }
    }
  }
  return Status::Ok();
}

bool ConfigSection::Has(std::string_view key) const {
  const YAML::Node& map = impl_->node;
  return map.IsMap() && map[std::string(key)].IsDefined();
}

void ConfigSection::Error(std::string_view key, std::string_view what) {
  auto& d = *doc_->impl_;
  const YAML::Node& map = impl_->node;
  YAML::Node n = Has(key) ? map[std::string(key)] : map;
  d.errors.push_back(d.Where(n.Mark()) + ": " + Dotted(impl_->path, key) + ": " +
                     std::string(what));
}

namespace {

// Finds `key` and marks it read; nullopt when absent or explicitly null.
std::optional<YAML::Node> Take(ConfigDocument::Impl& d, ConfigSection::Impl& s,
                               std::string_view key) {
  if (!s.node.IsMap()) return std::nullopt;
  d.sections[s.path].read.emplace_back(key);
  const YAML::Node& map = s.node;  // const: operator[] must not insert the key
  YAML::Node n = map[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  return n;
}

}  // namespace

void ConfigSection::Read(std::string_view key, std::string* out) {
  auto found = Take(*doc_->impl_, *impl_, key);
  if (!found) return;
  const YAML::Node& n = *found;
  if (!n.IsScalar()) return Error(key, "expected a string");
  *out = n.Scalar();
}

void ConfigSection::Read(std::string_view key, bool* out) {
  auto found = Take(*doc_->impl_, *impl_, key);
  if (!found) return;
  const YAML::Node& n = *found;
  const std::string& v = n.IsScalar() ? n.Scalar() : std::string();
  if (v == "true" || v == "yes" || v == "on") {
    *out = true;
  } else if (v == "false" || v == "no" || v == "off") {
    *out = false;
  } else {
    Error(key, "expected true or false, got '" + v + "'");
  }
}

void ConfigSection::Read(std::string_view key, int64_t* out, int64_t min, int64_t max) {
  auto found = Take(*doc_->impl_, *impl_, key);
  if (!found) return;
  const YAML::Node& n = *found;
  const std::string v = n.IsScalar() ? n.Scalar() : std::string();
  int64_t x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
    return Error(key, "expected an integer, got '" + v + "'");
  }
  if (x < min || x > max) {
    return Error(key, "value " + v + " is out of range [" + std::to_string(min) + ", " +
                          std::to_string(max) + "]");
  }
  *out = x;
}

void ConfigSection::Read(std::string_view key, uint32_t* out, uint32_t min, uint32_t max) {
  uint64_t v = *out;
  Read(key, &v, min, max);
  *out = static_cast<uint32_t>(v);
}

void ConfigSection::Read(std::string_view key, uint64_t* out, uint64_t min, uint64_t max) {
  auto found = Take(*doc_->impl_, *impl_, key);
  if (!found) return;
  const YAML::Node& n = *found;
  const std::string v = n.IsScalar() ? n.Scalar() : std::string();
  uint64_t x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
    return Error(key, "expected a non-negative integer, got '" + v + "'");
  }
  if (x < min || x > max) {
    return Error(key, "value " + v + " is out of range [" + std::to_string(min) + ", " +
                          std::to_string(max) + "]");
  }
  *out = x;
}

void ConfigSection::Read(std::string_view key, double* out) {
  auto found = Take(*doc_->impl_, *impl_, key);
  if (!found) return;
  const YAML::Node& n = *found;
  const std::string v = n.IsScalar() ? n.Scalar() : std::string();
  std::istringstream in(v);
  double x = 0;
  if (!(in >> x) || !in.eof()) return Error(key, "expected a number, got '" + v + "'");
  *out = x;
}

void ConfigSection::ReadDurationMs(std::string_view key, int64_t* out_ms, int64_t min_ms,
                                   int64_t max_ms) {
  std::string text;
  Read(key, &text);
  if (text.empty()) return;
  auto d = ParseGoDuration(text);
  if (!d.ok()) return Error(key, d.status().message() + " (write e.g. 250ms, 30s, 1m30s)");
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
  if (ms < min_ms || ms > max_ms) return Error(key, "'" + text + "' is out of range");
  *out_ms = ms;
}

void ConfigSection::Read(std::string_view key, std::vector<std::string>* out) {
  auto found = Take(*doc_->impl_, *impl_, key);
  if (!found) return;
  const YAML::Node& n = *found;
  if (n.IsScalar()) {
    *out = {n.Scalar()};
    return;
  }
  if (!n.IsSequence()) return Error(key, "expected a list of strings");
  std::vector<std::string> v;
  for (const auto& item : n) {
    if (!item.IsScalar()) return Error(key, "expected a list of strings");
    v.push_back(item.Scalar());
  }
  *out = std::move(v);
}

ConfigSection ConfigSection::Section(std::string_view key) {
  auto& d = *doc_->impl_;
  auto n = Take(d, *impl_, key);
  auto s = std::make_shared<Impl>();
  s->path = Dotted(impl_->path, key);
  if (n && !n->IsMap()) {
    Error(key, "expected a mapping of keys to values");
  } else if (n) {
    s->node = *n;
    d.sections[s->path].node = *n;
  }
  return ConfigSection(doc_, s);
}

std::vector<ConfigSection> ConfigSection::List(std::string_view key) {
  auto& d = *doc_->impl_;
  std::vector<ConfigSection> out;
  auto n = Take(d, *impl_, key);
  if (!n) return out;
  if (!n->IsSequence()) {
    Error(key, "expected a list");
    return out;
  }
  for (size_t i = 0; i < n->size(); ++i) {
    YAML::Node item = (*n)[i];
    auto s = std::make_shared<Impl>();
    s->path = Dotted(impl_->path, key) + "[" + std::to_string(i) + "]";
    if (!item.IsMap()) {
      d.errors.push_back(d.Where(item.Mark()) + ": " + s->path +
                         ": expected a mapping of keys to values");
    } else {
      s->node = item;
      d.sections[s->path].node = item;
    }
    out.push_back(ConfigSection(doc_, s));
  }
  return out;
}

std::vector<std::string> ConfigSection::Keys() const {
  std::vector<std::string> keys;
  if (!impl_->node.IsMap()) return keys;
  for (auto it = impl_->node.begin(); it != impl_->node.end(); ++it) {
    keys.push_back(it->first.Scalar());
  }
  return keys;
}

std::string ConfigSection::Where() const { return doc_->impl_->Where(impl_->node.Mark()); }
const std::string& ConfigSection::path() const { return impl_->path; }

}  // namespace pier
