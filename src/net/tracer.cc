#include "pier/net/tracer.h"

#include <fmt/format.h>

#include <cstdlib>
#include <iterator>
#include <random>

#include "pier/base/logging.h"
#include "pier/base/strings.h"
#include "pier/net/http_fetch.h"
#include "pier/net/tcp_listener.h"

namespace pier::net {
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
  auto url = ParseHttpUrl(endpoint, "--otlp-endpoint");
  if (!url.ok()) return url.status();
  std::string path = url->target;
  while (!path.empty() && path.back() == '/') path.pop_back();
  TlsClientOptions tls;
  tls.enabled = url->tls;
  tls.what = "--otlp-endpoint";
  // The OpenTelemetry exporter variables: the signal's own first, then the general one.
  auto env = [](const char* traces, const char* general) {
    const char* v = std::getenv(traces);
    if (v == nullptr || *v == '\0') v = std::getenv(general);
    return std::string(v == nullptr ? "" : v);
  };
  tls.ca_cert_file = env("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE");
  tls.cert_file =
      env("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE");
  tls.key_file = env("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY");
  return std::unique_ptr<Tracer>(new Tracer(url->host, url->port, path + "/v1/traces",
                                            std::move(tls), std::move(service_name)));
}

Tracer::Tracer(std::string host, uint16_t port, std::string path, TlsClientOptions tls,
               std::string service_name)
    : host_(std::move(host)),
      port_(port),
      path_(std::move(path)),
      tls_(std::move(tls)),
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

// Written directly (no JSON tree): the exporter formats every span the proxy makes.
std::string Tracer::OtlpJson(const std::vector<Span>& spans, const std::string& service_name) {
  std::string out;
  out.reserve(256 + spans.size() * 640);
  auto put = [&out](std::string_view text) { out.append(text); };
  put(R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":)");
  AppendJsonString(out, service_name);
  put(R"(}}]},"scopeSpans":[{"scope":{"name":"pier"},"spans":[)");
  for (size_t i = 0; i < spans.size(); ++i) {
    const Span& s = spans[i];
    if (i > 0) out.push_back(',');
    fmt::format_to(std::back_inserter(out), R"({{"traceId":"{}","spanId":"{}",)",
                   std::string_view(s.trace_id.data(), 32), std::string_view(s.span_id.data(), 16));
    if (s.parent_id[0] != '\0') {
      fmt::format_to(std::back_inserter(out), R"("parentSpanId":"{}",)",
                     std::string_view(s.parent_id.data(), 16));
    }
    put(R"("name":)");
    AppendJsonString(out, s.name);
    // OTLP's JSON encoding writes 64-bit integers as strings.
    fmt::format_to(std::back_inserter(out),
                   R"(,"kind":{},"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[)",
                   static_cast<int>(s.kind), s.start_unix_ns, s.end_unix_ns);
    bool first = true;
    for (const auto& [k, v] : s.strings) {
      put(first ? R"({"key":)" : R"(,{"key":)");
      first = false;
      AppendJsonString(out, k);
      put(R"(,"value":{"stringValue":)");
      AppendJsonString(out, v);
      put("}}");
    }
    for (const auto& [k, v] : s.ints) {
      put(first ? R"({"key":)" : R"(,{"key":)");
      first = false;
      AppendJsonString(out, k);
      fmt::format_to(std::back_inserter(out), R"(,"value":{{"intValue":"{}"}}}})", v);
    }
    put(R"(],"status":{"code":)");
    if (s.error) {
      put(R"(2,"message":)");
      AppendJsonString(out, s.status_message);
    } else {
      put("0");
    }
    put("}}");
  }
  put("]}]}]}");
  return out;
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
                               .timeout = std::chrono::milliseconds(5000),
                               .tls = tls_});
      if (r.ok() && r->status >= 200 && r->status < 300) {
        exported_.fetch_add(batch.size(), std::memory_order_relaxed);
      } else {
        dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
        LogEvent(LogLevel::kWarn, "OTLP export failed: spans dropped",
                 {{"endpoint", host_ + ":" + std::to_string(port_) + path_},
                  {"error", r.ok() ? "HTTP " + std::to_string(r->status) : r.status().message()},
                  {"spans", batch.size()}});
      }
    }
    lock.lock();
    if (stop && !more && queue_.empty()) return;
  }
}

}  // namespace pier::net
