#include "pier/deploy/validate.h"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "pier/base/memory_units.h"

namespace pier::deploy {

namespace {

std::string Seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gs", static_cast<double>(ms) / 1000.0);
  return buf;
}

std::string Cores(double c) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", c);
  return buf;
}

class Checker {
 public:
  Checker(const Architecture& a, const ValidateOptions& o) : a_(a), o_(o) {
    for (const auto& s : a_.services) by_name_.emplace(s.name, &s);
  }

  std::vector<Problem> Run() {
    Names();
    References();
    Cycles();
    Ports();
    Resources();
    Chains();
    return std::move(out_);
  }

 private:
  void Add(std::string where, std::string field, std::string message, std::string fix) {
    out_.push_back({std::move(where), std::move(field), std::move(message), std::move(fix)});
  }

  void Names() {
    std::map<std::string, int> seen;
    for (const auto& s : a_.services) {
      if (++seen[s.name] == 2) {
        Add(s.where, "services." + s.name, "the service name '" + s.name + "' is used twice",
            "rename one of them");
      }
    }
    std::set<std::pair<std::string, std::string>> routes;
    for (const auto& r : a_.routes) {
      if (!routes.insert({r.host, r.path_prefix}).second) {
        Add(r.where, "routes",
            "a second route for host '" + r.host + "' and path '" + r.path_prefix +
                "' (the first one wins)",
            "remove it or change its host or path_prefix");
      }
    }
  }

  void References() {
    for (const auto& s : a_.services) {
      for (const auto& d : s.depends_on) {
        const std::string field = "services." + s.name + ".depends_on." + d.service;
        auto it = by_name_.find(d.service);
        if (it == by_name_.end()) {
          Add(d.where, field, "'" + d.service + "' is not a service", Suggest(d.service));
        } else if (d.condition == Dependency::Condition::kHealthy &&
                   it->second->health.kind == HealthCheck::Kind::kNone) {
          Add(d.where, field,
              s.name + " waits for " + d.service + " to be healthy, but " + d.service +
                  " has no health check",
              "add a health: section to " + d.service + ", or use condition: started");
        }
      }
      for (const auto& c : s.calls) {
        if (!by_name_.count(c.service)) {
          Add(c.where, "services." + s.name + ".calls", "'" + c.service + "' is not a service",
              Suggest(c.service));
        }
      }
    }
    for (const auto& r : a_.routes) {
      if (!by_name_.count(r.service)) {
        Add(r.where, "routes.service", "'" + r.service + "' is not a service", Suggest(r.service));
      }
    }
  }

  std::string Suggest(const std::string& name) const {
    std::string all;
    for (const auto& s : a_.services) all += (all.empty() ? "" : ", ") + s.name;
    return "name one of the services (" + all + ") or add a service called " + name;
  }

  // Depth-first search for cycles in one relation; each cycle is reported once.
  void FindCycles(const char* relation,
                  const std::function<std::vector<std::string>(const Service&)>& edges,
                  const std::function<std::string(const Service&, const std::string&)>& where) {
    std::map<std::string, int> state;  // 0 new, 1 on the stack, 2 done
    std::vector<std::string> stack;
    std::function<void(const Service&)> visit = [&](const Service& s) {
      state[s.name] = 1;
      stack.push_back(s.name);
      for (const auto& next : edges(s)) {
        auto it = by_name_.find(next);
        if (it == by_name_.end()) continue;
        if (state[next] == 1) {
          std::string cycle;
          bool in = false;
          for (const auto& n : stack) {
            in = in || n == next;
            if (in) cycle += n + " -> ";
          }
          cycle += next;
          Add(where(s, next), "services." + s.name + "." + relation,
              std::string(relation == std::string("calls") ? "a call" : "a dependency") +
                  " cycle: " + cycle,
              "remove one of these " + std::string(relation) + " entries");
        } else if (state[next] == 0) {
          visit(*it->second);
        }
      }
      stack.pop_back();
      state[s.name] = 2;
    };
    for (const auto& s : a_.services) {
      if (state[s.name] == 0) visit(s);
    }
  }

  void Cycles() {
    FindCycles(
        "depends_on",
        [](const Service& s) {
          std::vector<std::string> v;
          for (const auto& d : s.depends_on) v.push_back(d.service);
          return v;
        },
        [](const Service& s, const std::string& to) {
          for (const auto& d : s.depends_on) {
            if (d.service == to) return d.where;
          }
          return s.where;
        });
    FindCycles(
        "calls",
        [](const Service& s) {
          std::vector<std::string> v;
          for (const auto& c : s.calls) v.push_back(c.service);
          return v;
        },
        [](const Service& s, const std::string& to) {
          for (const auto& c : s.calls) {
            if (c.service == to) return c.where;
          }
          return s.where;
        });
  }

  void Ports() {
    std::map<uint16_t, std::string> owner;
    auto platform = [&](const std::string& listen, const std::string& what) {
      const size_t colon = listen.rfind(':');
      uint32_t port = 0;
      if (colon == std::string::npos) return;
      std::from_chars(listen.data() + colon + 1, listen.data() + listen.size(), port);
      if (port > 0 && port <= 65535) owner[static_cast<uint16_t>(port)] = what;
    };
    if (a_.platform.proxy) platform(a_.platform.proxy_listen, "the pier proxy");
    if (a_.platform.registry) platform("127.0.0.1:7900", "the pier registry");
    if (a_.platform.cache || a_.platform.queue)
      platform(a_.platform.resp_listen, "the pier RESP listener (cache, queue)");
    for (const auto& s : a_.services) {
      for (const auto& p : s.ports) {
        if (p.host == 0) continue;
        const std::string field = "services." + s.name + ".ports";
        const std::string port = std::to_string(p.host);
        if (s.replicas > 1) {
          Add(s.where, field,
              std::to_string(s.replicas) + " replicas of " + s.name + " would all bind host port " +
                  port,
              "publish only the container port (\"" + std::to_string(p.container) +
                  "\") and reach the replicas through a route on the proxy");
        }
        auto [it, fresh] = owner.emplace(p.host, "service " + s.name);
        if (!fresh) {
          Add(s.where, field, "host port " + port + " is taken by " + it->second,
              "pick another host port for " + s.name);
        }
      }
    }
  }

  void Resources() {
    const Capacity& c = o_.capacity;
    double cpu = 0;
    uint64_t memory = 0;
    bool cpu_reported = false, memory_reported = false;  // then the sums would say it again
    for (const auto& s : a_.services) {
      cpu += s.cpu * s.replicas;
      memory += s.memory * s.replicas;
      const std::string field = "services." + s.name + ".resources";
      if (c.cpus > 0 && s.cpu > c.cpus) {
        cpu_reported = true;
        Add(s.where, field + ".cpu",
            s.name + " asks for " + Cores(s.cpu) + " cores; this machine has " + Cores(c.cpus),
            "lower resources.cpu to at most " + Cores(c.cpus));
      }
      if (c.memory_bytes > 0 && s.memory > c.memory_bytes) {
        memory_reported = true;
        Add(s.where, field + ".memory",
            s.name + " asks for " + HumanBytes(s.memory) + " of memory; this machine has " +
                HumanBytes(c.memory_bytes),
            "lower resources.memory to at most " + HumanBytes(c.memory_bytes));
      }
    }
    const std::string where = a_.services.empty() ? "" : a_.services.front().where;
    if (c.cpus > 0 && cpu > c.cpus && !cpu_reported) {
      Add(where, "services",
          "the services ask for " + Cores(cpu) +
              " cores in all (cpu x replicas); this machine has " + Cores(c.cpus),
          "lower replicas or resources.cpu so the sum fits");
    }
    if (c.memory_bytes > 0 && memory > c.memory_bytes && !memory_reported) {
      Add(where, "services",
          "the services ask for " + HumanBytes(memory) +
              " of memory in all (memory x replicas); this machine has " +
              HumanBytes(c.memory_bytes),
          "lower replicas or resources.memory so the sum fits");
    }
  }

  // From every route down the calls: attempts multiply by (1 + retries) per hop, and a call's
  // timeout times its attempts must fit in what its caller is given.
  void Chains() {
    for (const auto& r : a_.routes) {
      auto it = by_name_.find(r.service);
      if (it == by_name_.end()) continue;
      std::vector<std::string> path = {"route " + r.host + r.path_prefix, r.service};
      std::set<std::string> on_path = {r.service};
      Walk(*it->second, r.retries + 1ull, std::to_string(r.retries + 1), r.timeout_ms,
           "the route " + r.host + r.path_prefix, path, on_path);
    }
  }

  void Walk(const Service& s, uint64_t attempts, const std::string& product, int64_t budget_ms,
            const std::string& budget_from, std::vector<std::string>& path,
            std::set<std::string>& on_path) {
    for (const auto& c : s.calls) {
      auto it = by_name_.find(c.service);
      if (it == by_name_.end() || on_path.count(c.service)) continue;  // reported elsewhere
      const std::string field = "services." + s.name + ".calls." + c.service;
      const uint64_t tries = c.retries + 1ull;
      const int64_t total_ms = c.timeout_ms * static_cast<int64_t>(tries);
      if (total_ms > budget_ms && reported_.insert(field + "/timeout").second) {
        const int64_t fit = budget_ms / static_cast<int64_t>(tries);
        Add(c.where, field + ".timeout",
            s.name + " may wait " + std::to_string(tries) + " x " + Seconds(c.timeout_ms) + " = " +
                Seconds(total_ms) + " for " + c.service + ", but " + budget_from + " gives " +
                s.name + " only " + Seconds(budget_ms),
            "make timeout x (retries + 1) fit: timeout: " + std::to_string(fit) +
                "ms with retries: " + std::to_string(c.retries) + ", or fewer retries");
      }
      const uint64_t next = attempts * tries;
      const std::string next_product = product + " x " + std::to_string(tries);
      path.push_back(c.service);
      if (next > o_.max_attempts && c.retries > 0) {
        if (reported_.insert(field + "/amplification").second) {
          std::string chain;
          for (const auto& p : path) chain += (chain.empty() ? "" : " -> ") + p;
          Add(c.where, field + ".retries",
              "retries multiply along " + chain + ": one request can reach " + c.service + " " +
                  std::to_string(next) + " times (" + next_product + ")",
              "retry at one layer only: set retries: 0 on the inner calls (or lower them so the "
              "product stays <= " +
                  std::to_string(o_.max_attempts) + ")");
        }
      } else {
        on_path.insert(c.service);
        Walk(*it->second, next, next_product, c.timeout_ms, s.name + "'s call", path, on_path);
        on_path.erase(c.service);
      }
      path.pop_back();
    }
  }

  const Architecture& a_;
  const ValidateOptions& o_;
  std::map<std::string, const Service*> by_name_;  // the first of each name
  std::set<std::string> reported_;
  std::vector<Problem> out_;
};

}  // namespace

Capacity Capacity::OfThisMachine() {
  Capacity c;
  c.cpus = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  while (in >> key >> kb) {
    if (key == "MemTotal:") {
      c.memory_bytes = kb * 1024;
      break;
    }
    in.ignore(1 << 10, '\n');
  }
  return c;
}

std::vector<Problem> Validate(const Architecture& a, const ValidateOptions& options) {
  return Checker(a, options).Run();
}

std::string FormatProblem(const Problem& p) {
  return p.where + ": " + p.field + ": " + p.message + "\n  fix: " + p.fix + "\n";
}

}  // namespace pier::deploy
