#include "proxy/tracer.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <random>

#include "pier/net/http_fetch.h"
#include "pier/net/tcp_listener.h"

namespace pier::proxy {
namespace {

template <size_t N>
std::array<char, N> RandomHex() {
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::array<char, N> out{};
  for (size_t i = 0; i < N; i += 16) {
    uint64_t v = rng();
    for (size_t j = i; j < N && j < i + 16; ++j, v >>= 4) out[j] = kHex[v & 15];
  }
  if (std::string_view(out.data(), N).find_first_not_of('0') == std::string_view::npos) {
    out[N - 1] = '1';  // an all-zero id is invalid
  }
  return out;
}

template <size_t N>
std::string Hex(const std::array<char, N>& id) {
  return std::string(id.data(), N);
}

}  // namespace

std::array<char, 32> Tracer::NewTraceId() { return RandomHex<32>(); }
std::array<char, 16> Tracer::NewSpanId() { return RandomHex<16>(); }

int64_t Tracer::NowUnixNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<Tracer>> Tracer::Create(const std::string& endpoint,
                                               std::string service_name) {
  const std::string scheme = "http://";
  if (endpoint.rfind(scheme, 0) != 0) {
    return Status::InvalidArgument("--otlp-endpoint: give http://HOST:PORT[/PATH], got '" +
                                   endpoint + "' (OTLP over HTTPS is not supported yet)");
  }
  std::string rest = endpoint.substr(scheme.size());
  std::string path;
  if (const size_t slash = rest.find('/'); slash != std::string::npos) {
    path = rest.substr(slash);
    rest.resize(slash);
  }
  while (!path.empty() && path.back() == '/') path.pop_back();
  auto hp = net::ParseHostPort(rest, "--otlp-endpoint");
  if (!hp.ok()) return hp.status();
  return std::unique_ptr<Tracer>(
      new Tracer(hp->first, hp->second, path + "/v1/traces", std::move(service_name)));
}

Tracer::Tracer(std::string host, uint16_t port, std::string path, std::string service_name)
    : host_(std::move(host)),
      port_(port),
      path_(std::move(path)),
      service_(std::move(service_name)),
      exporter_([this] { Loop(); }) {}

Tracer::~Tracer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  exporter_.join();
}

void Tracer::Record(Span span) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(span));
    wake = queue_.size() >= kBatch;
  }
  if (wake) cv_.notify_one();
}

std::string Tracer::OtlpJson(const std::vector<Span>& spans, const std::string& service_name) {
  using nlohmann::json;
  auto attr = [](const std::string& key, json value) {
    return json{{"key", key}, {"value", std::move(value)}};
  };
  json list = json::array();
  for (const Span& s : spans) {
    json attributes = json::array();
    for (const auto& [k, v] : s.strings) attributes.push_back(attr(k, {{"stringValue", v}}));
    // OTLP's JSON encoding writes 64-bit integers as strings.
    for (const auto& [k, v] : s.ints) {
      attributes.push_back(attr(k, {{"intValue", std::to_string(v)}}));
    }
    json span = {
        {"traceId", Hex(s.trace_id)},
        {"spanId", Hex(s.span_id)},
        {"name", s.name},
        {"kind", static_cast<int>(s.kind)},
        {"startTimeUnixNano", std::to_string(s.start_unix_ns)},
        {"endTimeUnixNano", std::to_string(s.end_unix_ns)},
        {"attributes", std::move(attributes)},
        {"status", s.error ? json{{"code", 2}, {"message", s.status_message}} : json{{"code", 0}}}};
    if (s.parent_id[0] != '\0') span["parentSpanId"] = Hex(s.parent_id);
    list.push_back(std::move(span));
  }
  json body = {
      {"resourceSpans",
       json::array({{{"resource",
                      {{"attributes",
                        json::array({attr("service.name", {{"stringValue", service_name}})})}}},
                     {"scopeSpans", json::array({{{"scope", {{"name", "pier"}}},
                                                  {"spans", std::move(list)}}})}}})}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

void Tracer::Loop() {
  std::vector<Span> batch;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, std::chrono::seconds(1),
                 [this] { return stop_ || queue_.size() >= kBatch; });
    const bool stop = stop_;
    batch.clear();
    const size_t n = std::min(queue_.size(), kBatch);
    std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n),
              std::back_inserter(batch));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    const bool more = !queue_.empty();
    lock.unlock();
    if (!batch.empty()) {
      auto r = net::HttpFetch({.host = host_,
                               .port = port_,
                               .method = "POST",
                               .target = path_,
                               .body = OtlpJson(batch, service_),
                               .headers = {{"Content-Type", "application/json"}},
                               .timeout = std::chrono::milliseconds(5000)});
      if (r.ok() && r->status >= 200 && r->status < 300) {
        exported_.fetch_add(batch.size(), std::memory_order_relaxed);
      } else {
        dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
        spdlog::warn("OTLP export to {}:{}{} failed ({}): {} spans dropped", host_, port_, path_,
                     r.ok() ? "HTTP " + std::to_string(r->status) : r.status().message(),
                     batch.size());
      }
    }
    lock.lock();
    if (stop && !more && queue_.empty()) return;
  }
}

}  // namespace pier::proxy
