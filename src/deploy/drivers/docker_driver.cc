// The `docker` driver: containers through the Docker Engine API (v1.41) on its unix socket, one
// HTTP/1.1 request per connection (Boost.Beast). Containers are named pier-PROJECT-ID and
// labelled pier.project / pier.service / pier.version / pier.instance; limits are HostConfig's
// NanoCpus, Memory and PidsLimit; the instance's port is published on 127.0.0.1:host_port;
// Init is on so a container stops at once on SIGTERM; restarts are Docker's RestartPolicy.
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "pier/deploy/driver.h"

namespace pier::deploy {

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Json = nlohmann::json;

constexpr size_t kMaxReplyBytes = 16 << 20;

struct Reply {
  int status = 0;
  std::string body;
};

std::string Escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789ABCDEF";
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// The message Docker put in an error reply, else the body.
std::string DockerMessage(const Reply& r) {
  auto j = Json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"];
  return r.body.empty() ? "HTTP " + std::to_string(r.status) : r.body;
}

// A container's log stream without its 8-byte frame headers (stream, 0, 0, 0, size32be).
std::string Demultiplex(std::string_view raw) {
  std::string out;
  while (raw.size() >= 8) {
    const auto* h = reinterpret_cast<const unsigned char*>(raw.data());
    if (h[0] > 2 || h[1] != 0 || h[2] != 0 || h[3] != 0) return out + std::string(raw);  // a TTY
    const size_t n = (size_t{h[4]} << 24) | (size_t{h[5]} << 16) | (size_t{h[6]} << 8) | h[7];
    const size_t take = std::min(n, raw.size() - 8);
    out.append(raw.substr(8, take));
    raw.remove_prefix(8 + take);
  }
  return out;
}

class DockerDriver final : public Driver {
 public:
  explicit DockerDriver(DockerDriverOptions o) : options_(std::move(o)) {}

  std::string name() const override { return "docker"; }

  Result<Reply> Call(http::verb method, const std::string& target, const std::string& body = "") {
    try {
      asio::io_context io;
      asio::local::stream_protocol::socket sock(io);
      boost::system::error_code ec;
      sock.connect(asio::local::stream_protocol::endpoint(options_.socket), ec);
      if (ec) {
        return Status::Unavailable("cannot reach the Docker daemon at " + options_.socket + ": " +
                                   ec.message() + " (is dockerd running?)");
      }
      http::request<http::string_body> req(method, "/v1.41" + target, 11);
      req.set(http::field::host, "docker");
      req.set(http::field::connection, "close");
      if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
      }
      req.prepare_payload();
      http::write(sock, req);
      boost::beast::flat_buffer buf;
      http::response_parser<http::string_body> parser;
      parser.body_limit(kMaxReplyBytes);
      http::read(sock, buf, parser, ec);
      if (ec && ec != http::error::end_of_stream) {
        return Status::Unavailable("Docker API " + std::string(http::to_string(method)) + " " +
                                   target + ": " + ec.message());
      }
      auto res = parser.release();
      return Reply{static_cast<int>(res.result_int()), std::move(res.body())};
    } catch (const std::exception& e) {
      return Status::Unavailable("Docker API " + target + ": " + e.what());
    }
  }

  Status RemoveLeftovers() {
    const Json filter = {{"label", {"pier.project=" + options_.project}}};
    auto r = Call(http::verb::get, "/containers/json?all=1&filters=" + Escape(filter.dump()));
    if (!r.ok()) return r.status();
    if (r->status != 200) return Status::Unavailable("Docker: " + DockerMessage(*r));
    auto list = Json::parse(r->body, nullptr, false);
    if (!list.is_array()) return Status::Unavailable("Docker: the container list is not JSON");
    for (const auto& c : list) {
      (void)Call(http::verb::delete_, "/containers/" + c.value("Id", "") + "?force=1");
    }
    return Status::Ok();
  }

  std::string ContainerName(const std::string& id) const {
    return "pier-" + options_.project + "-" + id;
  }

  Status Start(const InstanceSpec& spec) override {
    if (spec.image.empty()) {
      return Status::InvalidArgument("services." + spec.service +
                                     ": the docker driver runs images; give the service an image");
    }
    const std::string port = std::to_string(spec.port) + "/tcp";
    Json env = Json::array();
    for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
    Json host = {
        {"Init", true},
        {"PortBindings",
         {{port, {{{"HostIp", "127.0.0.1"}, {"HostPort", std::to_string(spec.host_port)}}}}}},
        {"RestartPolicy", {{"Name", spec.restart == "no" ? "" : spec.restart}}}};
    if (spec.cpu > 0) host["NanoCpus"] = std::llround(spec.cpu * 1e9);
    if (spec.memory > 0) host["Memory"] = spec.memory;
    if (spec.pids > 0) host["PidsLimit"] = spec.pids;
    Json body = {{"Image", spec.image},
                 {"Env", env},
                 {"ExposedPorts", {{port, Json::object()}}},
                 {"Labels",
                  {{"pier.project", options_.project},
                   {"pier.service", spec.service},
                   {"pier.version", spec.version},
                   {"pier.instance", spec.id}}},
                 {"HostConfig", host}};
    if (!spec.command.empty()) body["Cmd"] = spec.command;
    const HealthCheck& h = spec.health;
    if (h.kind == HealthCheck::Kind::kCommand) {
      Json test = {"CMD"};
      for (const auto& a : h.command) test.push_back(a);
      body["Healthcheck"] = {{"Test", test},
                             {"Interval", h.interval_ms * 1000000},
                             {"Timeout", h.timeout_ms * 1000000},
                             {"StartPeriod", h.start_period_ms * 1000000},
                             {"Retries", h.retries}};
    }
    const std::string name = ContainerName(spec.id);
    // A leftover of the same name goes; none there is fine (the create below says what failed).
    (void)Call(http::verb::delete_, "/containers/" + name + "?force=1");
    auto r = Call(http::verb::post, "/containers/create?name=" + Escape(name), body.dump());
    if (!r.ok()) return r.status();
    if (r->status == 404) {
      return Status::NotFound("services." + spec.service + ": image '" + spec.image +
                              "' not found (docker images; build or import it first)");
    }
    if (r->status != 201) {
      return Status::InvalidArgument(
          "services." + spec.service +
          ": Docker refused to create the container: " + DockerMessage(*r));
    }
    r = Call(http::verb::post, "/containers/" + name + "/start");
    if (!r.ok()) return r.status();
    if (r->status != 204 && r->status != 304) {
      (void)Call(http::verb::delete_, "/containers/" + name + "?force=1");  // best effort
      return Status::Unavailable("services." + spec.service +
                                 ": Docker could not start it: " + DockerMessage(*r));
    }
    return Status::Ok();
  }

  Status Stop(const std::string& id, std::chrono::milliseconds grace) override {
    const std::string name = ContainerName(id);
    const int64_t t = std::max<int64_t>(1, (grace.count() + 999) / 1000);
    auto r = Call(http::verb::post, "/containers/" + name + "/stop?t=" + std::to_string(t));
    if (!r.ok()) return r.status();
    if (r->status == 404) return Status::NotFound("no container " + name);
    r = Call(http::verb::delete_, "/containers/" + name + "?force=1");
    if (!r.ok()) return r.status();
    if (r->status != 204 && r->status != 404) {
      return Status::Unavailable("Docker could not remove " + name + ": " + DockerMessage(*r));
    }
    return Status::Ok();
  }

  Result<InstanceState> Inspect(const std::string& id) override {
    const std::string name = ContainerName(id);
    auto r = Call(http::verb::get, "/containers/" + name + "/json");
    if (!r.ok()) return r.status();
    if (r->status == 404) return Status::NotFound("no container " + name);
    auto j = Json::parse(r->body, nullptr, false);
    if (r->status != 200 || !j.is_object()) {
      return Status::Unavailable("Docker inspect " + name + ": " + DockerMessage(*r));
    }
    InstanceState s;
    const Json& st = j["State"];
    s.running = st.value("Running", false);
    s.exit_code = st.value("ExitCode", 0);
    s.restarts = j.value("RestartCount", 0u);
    s.handle = j.value("Id", "").substr(0, 12);
    const Json& hc = j["HostConfig"];
    s.limits = "docker: NanoCpus=" + std::to_string(hc.value("NanoCpus", int64_t{0})) +
               " Memory=" + std::to_string(hc.value("Memory", int64_t{0})) +
               " PidsLimit=" + (hc["PidsLimit"].is_number() ? hc["PidsLimit"].dump() : "0");
    return s;
  }

  Result<std::string> Logs(const std::string& id, size_t max_bytes) override {
    const std::string name = ContainerName(id);
    auto r = Call(http::verb::get, "/containers/" + name + "/logs?stdout=1&stderr=1&tail=200");
    if (!r.ok()) return r.status();
    if (r->status != 200) return Status::NotFound("Docker logs " + name + ": " + DockerMessage(*r));
    std::string text = Demultiplex(r->body);
    return text.size() > max_bytes ? text.substr(text.size() - max_bytes) : text;
  }

  // Docker restarts containers itself; this reports its events (die, restart, oom) since the
  // last call, so pier's log says what happened.
  std::vector<std::string> Supervise() override {
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    if (events_since_ == 0) events_since_ = now;
    if (now <= events_since_) return {};
    const Json filter = {{"label", {"pier.project=" + options_.project}},
                         {"type", {"container"}},
                         {"event", {"die", "oom", "restart"}}};
    auto r = Call(http::verb::get, "/events?since=" + std::to_string(events_since_) + "&until=" +
                                       std::to_string(now) + "&filters=" + Escape(filter.dump()));
    events_since_ = now;
    std::vector<std::string> out;
    if (!r.ok() || r->status != 200) return out;
    size_t start = 0;
    while (start < r->body.size()) {
      size_t end = r->body.find('\n', start);
      if (end == std::string::npos) end = r->body.size();
      auto e = Json::parse(r->body.substr(start, end - start), nullptr, false);
      start = end + 1;
      if (!e.is_object()) continue;
      const Json attrs = e["Actor"]["Attributes"];
      out.push_back(
          attrs.value("pier.instance", "?") + ": container " + e.value("status", "?") +
          (attrs.contains("exitCode") ? " (exit code " + attrs.value("exitCode", "") + ")" : ""));
    }
    return out;
  }

 private:
  DockerDriverOptions options_;
  int64_t events_since_ = 0;
};

}  // namespace

Result<std::unique_ptr<Driver>> MakeDockerDriver(DockerDriverOptions options) {
  auto d = std::make_unique<DockerDriver>(std::move(options));
  auto ping = d->Call(http::verb::get, "/_ping");
  if (!ping.ok()) return ping.status();
  if (ping->status != 200) return Status::Unavailable("Docker /_ping: " + DockerMessage(*ping));
  if (Status s = d->RemoveLeftovers(); !s.ok()) return s;
  return std::unique_ptr<Driver>(std::move(d));
}

}  // namespace pier::deploy
