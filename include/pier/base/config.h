// File: config.h
// Strict YAML configuration: typed reads, unknown keys and bad values are errors with file:line.
//   auto doc = ConfigDocument::LoadFile("pier.yaml");
//   ConfigSection cache = doc->Root().Section("cache");
//   cache.Read("policy", &opts.policy);  cache.Read("capacity", &opts.capacity);
//   Status s = doc->Finish();  // "pier.yaml:4:3: unknown key 'cache.polcy'"
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pier/base/status.h"

namespace pier {

inline constexpr size_t kMaxConfigBytes = 1 << 20;  // 1 MiB
inline constexpr int kMaxConfigNesting = 64;

class ConfigDocument;

// A mapping inside a config document. Reading a key marks it as known; Finish() on the document
// reports every key that no one read. Not thread-safe.
class ConfigSection {
 public:
  // Missing keys leave *out unchanged (the default). Wrong types record an error.
  void Read(std::string_view key, std::string* out);
  void Read(std::string_view key, bool* out);
  void Read(std::string_view key, int64_t* out, int64_t min, int64_t max);
  void Read(std::string_view key, uint64_t* out, uint64_t min = 0, uint64_t max = UINT64_MAX);
  void Read(std::string_view key, uint32_t* out, uint32_t min, uint32_t max);
  void Read(std::string_view key, double* out);
  void Read(std::string_view key, std::vector<std::string>* out);
  // A Go duration ("250ms", "1m30s") into milliseconds within [min_ms, max_ms].
  void ReadDurationMs(std::string_view key, int64_t* out_ms, int64_t min_ms, int64_t max_ms);
  // A nested mapping; absent keys give an empty section.
  ConfigSection Section(std::string_view key);
  // A sequence of mappings (`routes: [{...}, {...}]`); each element's keys are checked too.
  std::vector<ConfigSection> List(std::string_view key);
  // This mapping's keys in file order (for maps keyed by name, e.g. `clusters: {web: ...}`).
  std::vector<std::string> Keys() const;
  bool Has(std::string_view key) const;
  // Where this section is, "file:line:column", and its dotted path.
  std::string Where() const;
  const std::string& path() const;

  // Records an error at this key's position (or the section's when the key is absent).
  void Error(std::string_view key, std::string_view what);

  struct Impl;  // opaque

 private:
  friend class ConfigDocument;
  ConfigSection(ConfigDocument* doc, std::shared_ptr<Impl> impl)
      : doc_(doc), impl_(std::move(impl)) {}
  ConfigDocument* doc_;
  std::shared_ptr<Impl> impl_;
};

class ConfigDocument {
 public:
  static Result<std::unique_ptr<ConfigDocument>> LoadFile(const std::string& path);
  // `name` stands for the file name in messages.
  static Result<std::unique_ptr<ConfigDocument>> LoadString(std::string_view text,
                                                            std::string name);
  ~ConfigDocument();

  ConfigSection Root();
  // The first error recorded, else an error for the first key no one read, else ok.
  Status Finish();

  struct Impl;  // opaque

 private:
  friend class ConfigSection;
  explicit ConfigDocument(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pier
