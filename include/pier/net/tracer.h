// File: tracer.h
// Spans of requests (the proxy's, and any HTTP listener's traced ones), exported with OTLP over
// HTTP or HTTPS (JSON, as the OpenTelemetry protocol specification encodes it) to a collector:
// batched by an exporter thread, from a bounded queue (a span that finds it full is dropped and
// counted).
//   auto t = Tracer::Create("http://127.0.0.1:4318", "pier-proxy");
//   Span s = (*t)->Begin(...);  ...  (*t)->Record(std::move(s));
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pier/base/status.h"
#include "pier/net/tls_options.h"
#include "pier/net/trace_context.h"

namespace pier::net {

struct Span {
  enum class Kind { kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };  // OTLP's numbers
  std::array<char, 32> trace_id{};
  std::array<char, 16> span_id{};
  std::array<char, 16> parent_id{};  // all '\0': a root span
  std::string name;
  Kind kind = Kind::kServer;
  int64_t start_unix_ns = 0;
  int64_t end_unix_ns = 0;
  std::vector<std::pair<std::string, std::string>> strings;  // attributes
  std::vector<std::pair<std::string, int64_t>> ints;
  bool error = false;
  std::string status_message;
};

class Tracer {
 public:
  static constexpr size_t kMaxQueued = 8192;
  static constexpr size_t kBatch = 512;

  // `endpoint`: OTLP/HTTP base URL as OTEL_EXPORTER_OTLP_ENDPOINT gives it
  // (http[s]://HOST:PORT[/PATH]); spans go to PATH/v1/traces. Over https the collector's
  // certificate is verified against the system's CAs, or the file that
  // OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE or OTEL_EXPORTER_OTLP_CERTIFICATE names; a client
  // certificate and key come from OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_CERTIFICATE and _KEY (the
  // OpenTelemetry exporter variables).
  static Result<std::unique_ptr<Tracer>> Create(const std::string& endpoint,
                                                std::string service_name);
  ~Tracer();  // exports what is queued
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  static std::array<char, 32> NewTraceId();
  static std::array<char, 16> NewSpanId();
  static int64_t NowUnixNs();

  void Record(Span span);
  uint64_t exported() const { return exported_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

  // The request body for `spans` (exposed for tests).
  static std::string OtlpJson(const std::vector<Span>& spans, const std::string& service_name);

 private:
  Tracer(std::string host, uint16_t port, std::string path, TlsClientOptions tls,
         std::string service_name);
  void Loop();

  const std::string host_;
  const uint16_t port_;
  const std::string path_;
  const TlsClientOptions tls_;
  const std::string service_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Span> queue_;
  bool stop_ = false;
  std::atomic<uint64_t> exported_{0};
  std::atomic<uint64_t> dropped_{0};
  std::thread exporter_;
};

}  // namespace pier::net
