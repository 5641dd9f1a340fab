#include "cache/server/cluster.h"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "pier/base/config.h"
#include "pier/base/hash.h"

namespace pier::cache::server {

namespace {

// "0-5460,6000" -> ranges; false on bad syntax.
bool ParseRanges(const std::string& text, std::vector<std::pair<int, int>>* out) {
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    auto dash = part.find('-');
    std::string a = part.substr(0, dash);
    std::string b = dash == std::string::npos ? a : part.substr(dash + 1);
    int lo = -1, hi = -1;
    auto r1 = std::from_chars(a.data(), a.data() + a.size(), lo);
    auto r2 = std::from_chars(b.data(), b.data() + b.size(), hi);
    if (a.empty() || b.empty() || r1.ec != std::errc() || r2.ec != std::errc() ||
        r1.ptr != a.data() + a.size() || r2.ptr != b.data() + b.size() || lo < 0 ||
        hi >= kClusterSlots || lo > hi) {
      return false;
    }
    out->emplace_back(lo, hi);
  }
  return !out->empty();
}

}  // namespace

Result<ClusterConfig> ParseClusterConfig(std::string_view yaml, const std::string& name,
                                         const std::string& listen) {
  auto doc = ConfigDocument::LoadString(yaml, name);
  if (!doc.ok()) return doc.status();
  auto root = (*doc)->Root();
  std::vector<std::string> raw;
  root.Read("nodes", &raw);  // each "HOST:PORT" or "HOST:PORT SLOTS"
  if (Status s = (*doc)->Finish(); !s.ok()) return s;
  if (raw.empty()) return Status::InvalidArgument(name + ": 'nodes' must list at least one node");
  ClusterConfig c;
  bool any_slots = false;
  for (const std::string& entry : raw) {
    ClusterNode n;
    std::string addr = entry.substr(0, entry.find(' '));
    auto colon = addr.rfind(':');
    unsigned port = 0;
    if (colon == std::string::npos ||
        std::from_chars(addr.data() + colon + 1, addr.data() + addr.size(), port).ec !=
            std::errc() ||
        port == 0 || port > 65535) {
      return Status::InvalidArgument(name + ": node '" + entry + "': expected HOST:PORT [SLOTS]");
    }
    n.host = addr.substr(0, colon);
    n.port = static_cast<uint16_t>(port);
    uint64_t h1 = HashBytes(addr), h2 = HashBytes(addr + "#");
    n.id = fmt::format("{:016x}{:016x}{:08x}", h1, h2, static_cast<uint32_t>(h1 ^ h2));
    if (auto sp = entry.find(' '); sp != std::string::npos) {
      if (!ParseRanges(entry.substr(sp + 1), &n.ranges)) {
        return Status::InvalidArgument(name + ": node '" + entry +
                                       "': slots must look like 0-5460,6000 within 0-16383");
      }
      any_slots = true;
    }
    c.nodes.push_back(std::move(n));
  }
  if (!any_slots) {  // split evenly, in order, as redis-cli --cluster create does
    const int n = static_cast<int>(c.nodes.size());
    for (int i = 0; i < n; ++i) {
      c.nodes[i].ranges = {{i * kClusterSlots / n, (i + 1) * kClusterSlots / n - 1}};
    }
  }
  std::vector<int> seen(kClusterSlots, -1);
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    for (auto [lo, hi] : c.nodes[i].ranges) {
      for (int s = lo; s <= hi; ++s) {
        if (seen[s] >= 0) {
          return Status::InvalidArgument(name + ": slot " + std::to_string(s) +
                                         " is assigned to both " + c.nodes[seen[s]].host + ":" +
                                         std::to_string(c.nodes[seen[s]].port) + " and " +
                                         c.nodes[i].host + ":" + std::to_string(c.nodes[i].port));
        }
        seen[s] = static_cast<int>(i);
        c.owner[s] = static_cast<uint16_t>(i);
      }
    }
  }
  for (int s = 0; s < kClusterSlots; ++s) {
    if (seen[s] < 0)
      return Status::InvalidArgument(name + ": slot " + std::to_string(s) +
                                     " is not assigned to any node");
  }
  std::vector<std::string> known;
  bool found = false;
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    std::string a = c.nodes[i].host + ":" + std::to_string(c.nodes[i].port);
    known.push_back(a);
    if (a == listen) {
      c.self = i;
      found = true;
    }
  }
  if (!found) {
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    return Status::InvalidArgument(name + ": --listen " + listen +
                                   " is not one of the cluster's nodes (" + list + ")");
  }
  return c;
}

Result<ClusterConfig> LoadClusterConfig(const std::string& path, const std::string& listen) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument(path + ": cannot open cluster nodes file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseClusterConfig(ss.str(), path, listen);
}

}  // namespace pier::cache::server
