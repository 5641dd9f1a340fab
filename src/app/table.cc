#include "app/table.h"

#include <iostream>
#include <nlohmann/json.hpp>

namespace pier::app {

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

void PrintTable(TableFormat f, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  if (f.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
      nlohmann::json o;
      for (size_t i = 0; i < header.size(); ++i) o[header[i]] = r[i];
      out.push_back(o);
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  if (f.csv) {
    auto quote = [](const std::string& s) {
      if (s.find_first_of(",\"\n") == std::string::npos) return s;
      std::string q = "\"";
      for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    };
    std::cout << Join(header, ",") << "\n";
    for (const auto& r : rows) {
      std::vector<std::string> q;
      for (const auto& c : r) q.push_back(quote(c));
      std::cout << Join(q, ",") << "\n";
    }
    return;
  }
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size(); ++i) {
      std::cout << r[i];
      if (i + 1 < r.size()) std::cout << std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << "\n";
  };
  std::vector<std::string> upper;
  for (auto h : header) {
    for (auto& c : h) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    upper.push_back(h);
  }
  line(upper);
  for (const auto& r : rows) line(r);
}

}  // namespace pier::app
