// The HTTP/1.1 side of a proxy listener: one coroutine per client connection that reads a
// request head, routes it, and relays the request and the response, streaming bodies.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <random>

#include "pier/base/clock.h"
#include "pier/base/hash.h"
#include "proxy/http_head.h"
#include "proxy/io.h"
#include "proxy/session.h"

namespace pier::proxy {

namespace asio = boost::asio;

namespace {

const char* Reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

// A seed per session from a per-thread generator: std::random_device per connection cost 2% of
// the CPU of a proxy taking a new connection per request.
uint32_t NextSeed() {
  thread_local std::mt19937 seeds{std::random_device{}()};
  return seeds();
}

enum class Framing { kNone, kLength, kChunked, kUntilClose };

// Where a message body ends, followed through the bytes that pass.
struct Body {
  Framing framing = Framing::kNone;
  uint64_t remaining = 0;
  uint64_t seen = 0;
  ChunkedDecoder chunked;
  bool done = true;

  void Start(Framing f, uint64_t length) {
    framing = f;
    remaining = length;
    seen = 0;
    chunked.Reset();
    done = f == Framing::kNone || (f == Framing::kLength && length == 0);
  }
  // How many bytes at the front of `data` belong to the body; false on a malformed chunk.
  bool Take(std::string_view data, size_t* n, std::vector<std::string_view>* payload = nullptr) {
    *n = 0;
    if (done) return true;
    switch (framing) {
      case Framing::kNone:
        break;
      case Framing::kLength:
        *n = static_cast<size_t>(std::min<uint64_t>(remaining, data.size()));
        remaining -= *n;
        done = remaining == 0;
        if (payload != nullptr && *n > 0) payload->push_back(data.substr(0, *n));
        break;
      case Framing::kChunked: {
        auto st = chunked.Feed(data, payload);
        if (st.error) return false;
        *n = st.consumed;
        done = st.done;
        break;
      }
      case Framing::kUntilClose:
        *n = data.size();
        if (payload != nullptr && *n > 0) payload->push_back(data);
        break;
    }
    seen += *n;
    return true;
  }
};

enum class Fail { kNone, kConnect, kTimeout, kReset, kBadResponse, kClient };

struct Outcome {
  Fail fail = Fail::kNone;
  std::string detail;
};

class HttpSession {
 public:
  HttpSession(net::Connection& conn, const SessionEnv& env)
      : conn_(conn),
        env_(env),
        client_(conn.stream()),
        worker_(env.worker(static_cast<asio::io_context&>(client_.get_executor().context()))) {
    error_code ec;
    auto ep = client_.socket().remote_endpoint(ec);
    if (!ec) {
      client_ip_ = ep.address().to_string();
      client_addr_ = client_ip_ + ":" + std::to_string(ep.port());
    }
  }

  awaitable<void> Run() {
    for (;;) {
      Refresh();
      if (listener_ == nullptr) co_return;  // the listener was removed by a reload
      max_header_ = listener_->config.max_header_bytes;
      std::string err;
      HeadParse r = HeadParse::kIncomplete;
      // Once a request has started, its head has request_header_timeout to arrive (a client
      // that trickles a header line at a time holds no connection slot for long).
      std::optional<net::SocketDeadline> head_deadline;
      for (;;) {
        if (!in_.empty()) {
          r = ParseRequestHead(in_.view(), max_header_, &req_, &err);
          if (r != HeadParse::kIncomplete) break;
          if (!head_deadline) {
            head_deadline.emplace(
                client_.socket(),
                std::chrono::milliseconds(listener_->config.request_header_timeout_ms));
          }
        }
        error_code ec;
        if (co_await ReadMore(client_, in_, ec) == 0) co_return;  // the client went away
        conn_.Touch();
      }
      head_deadline.reset();
      if (r == HeadParse::kTooLarge) {
        // (GCC 12: a coroutine's arguments are named locals, never temporaries built in the
        // co_await expression, which it may destroy twice.)
        const std::string what =
            "request header section exceeds " + std::to_string(max_header_) + " bytes";
        BeginRequest(false);
        co_await Respond(431, what, true);
        EndRequest();
        co_return;
      }
      if (r == HeadParse::kError) {
        const std::string what = "bad request: " + err;
        BeginRequest(false);
        co_await Respond(400, what, true);
        EndRequest();
        co_return;
      }
      conn_.SetBusy(true);
      BeginRequest(true);
      const bool keep = co_await Exchange();
      EndRequest();
      conn_.SetBusy(false);
      if (!keep) co_return;
    }
  }

 private:
  void Refresh() {
    if (rt_ == nullptr || env_.version->load(std::memory_order_acquire) != version_) {
      version_ = env_.version->load(std::memory_order_acquire);
      rt_ = env_.runtime();
      auto it = rt_->listeners.find(env_.listener);
      listener_ = it == rt_->listeners.end() ? nullptr : &it->second;
    }
  }

  // Writes to the client, counting the bytes for the access log.
  awaitable<void> ToClient(std::string_view head, std::string_view body, error_code& ec) {
    bytes_out_ += head.size() + body.size();
    co_await WriteAll(client_, head, body, ec);
  }

  // Starts the record of a request (`parsed`: req_ holds its head) when the listener has an
  // access log or spans are exported; copies what it needs of the head, which Exchange consumes.
  // The trace: the request's sampled W3C trace context continues with pier's server span, or a
  // new trace starts; a context that says "not sampled" passes through untouched.
  void BeginRequest(bool parsed) {
    log_ = listener_ != nullptr ? listener_->access_log : nullptr;
    if (log_ != nullptr) log_filter_ = listener_->access_filter;
    bytes_out_ = 0;
    TraceParent incoming;
    const bool has_context = parsed && TraceParent::Parse(req_.Find("traceparent"), &incoming);
    tracing_ = parsed && env_.tracer != nullptr &&
               (has_context ? incoming.sampled()
                            : env_.trace_sample >= 1 || std::uniform_real_distribution<double>(
                                                            0, 1)(rng_) < env_.trace_sample);
    recording_ = log_ != nullptr || tracing_;
    if (!recording_) return;
    access_ = AccessRecord{};
    access_.start_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
    access_start_us_ = SteadyNowUs();
    access_.client = client_addr_;
    access_.listener = listener_->config.name;
    req_body_.Start(Framing::kNone, 0);  // bytes_in counts this request's body only
    if (!parsed) return;
    access_.method = req_.method;
    access_.authority = req_.host;
    access_.target = req_.target;
    access_.http_minor = req_.minor_version;
    access_.user_agent = req_.Find("user-agent");
    access_.referer = req_.Find("referer");
    access_.bytes_in = req_.size;
    if (has_context) access_.trace_id = incoming.trace();
    if (!tracing_) return;
    server_span_ = Span{};
    server_span_.kind = Span::Kind::kServer;
    server_span_.trace_id = has_context ? incoming.trace_id : Tracer::NewTraceId();
    if (has_context) server_span_.parent_id = incoming.parent_id;
    server_span_.span_id = Tracer::NewSpanId();
    server_span_.start_unix_ns = Tracer::NowUnixNs();
    upstream_context_.trace_id = server_span_.trace_id;
    upstream_context_.parent_id = server_span_.span_id;  // each attempt puts its own
    upstream_context_.flags = has_context ? incoming.flags : 1;
    access_.trace_id.assign(server_span_.trace_id.data(), server_span_.trace_id.size());
  }
  void EndRequest() {
    if (!recording_) return;
    recording_ = false;
    access_.bytes_in += req_body_.seen;
    access_.bytes_out = bytes_out_;
    access_.duration_us = SteadyNowUs() - access_start_us_;
    if (tracing_) {
      Span& s = server_span_;
      s.end_unix_ns = Tracer::NowUnixNs();
      s.name = access_.method + " " + (access_.route.empty() ? access_.listener : access_.route);
      s.strings = {{"http.method", access_.method},    {"http.target", access_.target},
                   {"net.peer.name", access_.client},  {"pier.listener", access_.listener},
                   {"pier.route", access_.route},      {"pier.cluster", access_.cluster},
                   {"pier.upstream", access_.upstream}};
      s.ints = {{"http.status_code", access_.status},
                {"pier.retries", access_.retries},
                {"http.request_content_length", static_cast<int64_t>(access_.bytes_in)}};
      s.error = access_.status >= 500;
      s.status_message = access_.error;
      env_.tracer->Record(std::move(s));
      tracing_ = false;
    }
    if (log_ != nullptr &&
        log_filter_.Keep(access_, std::uniform_real_distribution<double>(0, 1)(rng_))) {
      log_->Write(access_);
    }
    log_ = nullptr;
  }

  // A client span for one attempt at `host`: its id goes upstream in traceparent.
  void BeginAttempt(const std::string& host, const std::string& cluster, uint32_t retry) {
    attempt_span_ = Span{};
    attempt_span_.kind = Span::Kind::kClient;
    attempt_span_.trace_id = server_span_.trace_id;
    attempt_span_.parent_id = server_span_.span_id;
    attempt_span_.span_id = Tracer::NewSpanId();
    attempt_span_.start_unix_ns = Tracer::NowUnixNs();
    attempt_span_.name = access_.method + " " + host;
    attempt_span_.strings = {{"net.peer.name", host}, {"pier.cluster", cluster}};
    attempt_span_.ints = {{"pier.retry", retry}};
    if (upstream_tp_at_ != std::string::npos) {
      std::copy(attempt_span_.span_id.begin(), attempt_span_.span_id.end(),
                up_head_.begin() + static_cast<std::ptrdiff_t>(upstream_tp_at_));
    }
  }
  // Ends it at the response head (`status`) or the failure (`error`).
  void EndAttempt(int status, const std::string& error) {
    attempt_span_.end_unix_ns = Tracer::NowUnixNs();
    if (status > 0) attempt_span_.ints.emplace_back("http.status_code", status);
    attempt_span_.error = status == 0 || status >= 500;
    attempt_span_.status_message = error;
    env_.tracer->Record(std::move(attempt_span_));
  }

  // Sends a short text/plain response of pier's own.
  awaitable<void> Respond(int status, const std::string& what, bool close) {
    if (recording_) {
      access_.status = status;
      access_.error = what;
    }
    const std::string body = "pier proxy: " + what + "\n";
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) +
                       "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n" +
                       (close ? "Connection: close\r\n" : "") + "\r\n";
    error_code ec;
    co_await ToClient(head, body, ec);
  }

  // Reads more from the upstream under the route's timeout; false on EOF, error or timeout.
  awaitable<bool> ReadUpstream(UpstreamConn& up, error_code& ec) {
    worker_.deadlines.Arm(&deadline_, SteadyNowMs() + timeout_ms_, &up.stream.socket());
    const size_t n = co_await ReadMore(up.stream, up.in, ec);
    worker_.deadlines.Disarm(&deadline_);
    co_return n > 0;
  }

  uint64_t HashFor(const HashKey& key) const {
    std::string_view v;
    switch (key.kind) {
      case HashKey::Kind::kNone:
        return 0;
      case HashKey::Kind::kHeader:
        v = req_.Find(key.name);
        break;
      case HashKey::Kind::kPath:
        v = req_.target.substr(0, req_.target.find('?'));
        break;
      case HashKey::Kind::kClientAddress:
        v = client_ip_;
        break;
      case HashKey::Kind::kCookie: {
        std::string_view cookies = req_.Find("cookie");
        while (!cookies.empty()) {
          const size_t semi = cookies.find(';');
          std::string_view c = cookies.substr(0, semi);
          while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
          if (c.size() > key.name.size() && c.substr(0, key.name.size()) == key.name &&
              c[key.name.size()] == '=') {
            v = c.substr(key.name.size() + 1);
            break;
          }
          if (semi == std::string_view::npos) break;
          cookies.remove_prefix(semi + 1);
        }
        break;
      }
    }
    return HashBytes(v);
  }

  // The request head as the upstream gets it: hop-by-hop fields dropped, X-Forwarded-* added.
  void BuildUpstreamHead(bool strip_expect) {
    up_head_.clear();
    up_head_.append(req_.method).append(" ").append(req_.target).append(" HTTP/1.1\r\n");
    std::string_view xff;
    for (const auto& f : req_.headers) {
      if (EqualsIgnoreCase(f.name, "x-forwarded-for")) {
        xff = f.value;
        continue;
      }
      if (EqualsIgnoreCase(f.name, "x-forwarded-proto")) continue;
      if (tracing_ && EqualsIgnoreCase(f.name, "traceparent")) continue;
      if (strip_expect && EqualsIgnoreCase(f.name, "expect")) continue;
      if (req_.IsHopByHop(f.name)) {
        const bool keep = (req_.chunked && EqualsIgnoreCase(f.name, "transfer-encoding")) ||
                          (req_.upgrade && EqualsIgnoreCase(f.name, "upgrade"));
        if (!keep) continue;
      }
      up_head_.append(f.name).append(": ").append(f.value).append("\r\n");
    }
    up_head_.append("X-Forwarded-For: ");
    if (!xff.empty()) up_head_.append(xff).append(", ");
    up_head_.append(client_ip_)
        .append(client_.is_tls() ? "\r\nX-Forwarded-Proto: https\r\n"
                                 : "\r\nX-Forwarded-Proto: http\r\n");
    if (req_.upgrade) up_head_.append("Connection: upgrade\r\n");
    upstream_tp_at_ = std::string::npos;
    if (tracing_) {  // each attempt writes its span id at upstream_tp_at_
      up_head_.append("traceparent: ");
      upstream_tp_at_ = up_head_.size() + 36;
      up_head_.append(upstream_context_.Header()).append("\r\n");
    }
    up_head_.append("\r\n");
  }

  // The response head as the client gets it.
  void BuildClientHead(const HttpHead& resp, bool chunked_out, bool close) {
    down_head_.clear();
    down_head_.append("HTTP/1.1 ").append(std::to_string(resp.status)).append(" ");
    down_head_.append(resp.reason).append("\r\n");
    for (const auto& f : resp.headers) {
      if (resp.IsHopByHop(f.name)) continue;
      down_head_.append(f.name).append(": ").append(f.value).append("\r\n");
    }
    if (chunked_out) down_head_.append("Transfer-Encoding: chunked\r\n");
    if (close) {
      down_head_.append("Connection: close\r\n");
    } else if (client_minor_ == 0) {
      down_head_.append("Connection: keep-alive\r\n");
    }
    down_head_.append("\r\n");
  }

  // Sends the request to `host` over a pooled or new connection and reads the response head
  // into resp_. A pooled connection that turns out closed is replaced once, when the request
  // can be sent again.
  awaitable<Outcome> Try(const std::string& address, const ClusterConfig& cc,
                         const UpstreamTls& tls, std::unique_ptr<UpstreamConn>& up) {
    for (bool retried_stale = false;; retried_stale = true) {
      deadline_.fired = false;
      bool reused = false;
      if (recording_) access_.upstream_connect_us = 0;  // a pooled connection
      if (!retried_stale) {
        up = worker_.pool.Take(PoolKey(address, tls), SteadyNowMs(), cc.idle_timeout_ms);
        reused = up != nullptr;
        if (reused && !replayable_ && !StillOpen(up->stream.socket())) {
          up.reset();
          reused = false;
        }
      }
      if (up == nullptr) {
        std::string error;
        bool timed_out = false;
        const int64_t c0 = SteadyNowUs();
        up = co_await ConnectUpstream(worker_, address, cc.connect_timeout_ms, tls, &error,
                                      &timed_out);
        const int64_t connect_us = SteadyNowUs() - c0;
        if (up != nullptr) env_.Record(Stage::kConnect, connect_us);
        if (recording_) access_.upstream_connect_us = connect_us;
        if (up == nullptr) co_return Outcome{timed_out ? Fail::kTimeout : Fail::kConnect, error};
      }
      ++up->requests;
      error_code ec;
      co_await WriteAll(up->stream, up_head_, in_.view().substr(0, body_buffered_), ec);
      if (!ec && !replayable_) {
        in_.Consume(body_buffered_);
        body_buffered_ = 0;
        if (Outcome o = co_await StreamRequestBody(*up); o.fail != Fail::kNone) co_return o;
      }
      std::string err;
      HeadParse r = HeadParse::kIncomplete;
      while (!ec) {
        if (!up->in.empty()) {
          r = ParseResponseHead(up->in.view(), 64 * 1024, &resp_, &err);
          if (r == HeadParse::kComplete && resp_.status >= 100 && resp_.status < 200 &&
              resp_.status != 101) {
            // An interim response (103 Early Hints): pass it on and wait for the final one.
            error_code cec;
            co_await ToClient(up->in.view().substr(0, resp_.size), {}, cec);
            up->in.Consume(resp_.size);
            continue;
          }
          if (r != HeadParse::kIncomplete) break;
        }
        co_await ReadUpstream(*up, ec);
        if (!ec && up->in.empty()) ec = asio::error::eof;
      }
      if (deadline_.fired) {
        co_return Outcome{Fail::kTimeout,
                          "no response within " + std::to_string(timeout_ms_) + " ms"};
      }
      if (ec) {
        if (reused && !retried_stale && replayable_ && up->in.empty()) {
          up.reset();  // the idle connection was closed by the upstream: use a new one
          continue;
        }
        Outcome o{Fail::kReset, "the connection closed before a response"};
        if (ec != asio::error::eof) o.detail = ec.message();
        co_return o;
      }
      if (r == HeadParse::kTooLarge)
        co_return Outcome{Fail::kBadResponse, "response head too large"};
      if (r == HeadParse::kError) co_return Outcome{Fail::kBadResponse, "bad response: " + err};
      co_return Outcome{};
    }
  }

  // Streams the rest of a request body (beyond what was buffered) from the client.
  awaitable<Outcome> StreamRequestBody(UpstreamConn& up) {
    while (!req_body_.done) {
      error_code ec;
      if (co_await ReadMore(client_, in_, ec) == 0) {
        co_return Outcome{Fail::kClient, "the client closed the connection during the body"};
      }
      conn_.Touch();
      size_t n = 0;
      if (!req_body_.Take(in_.view(), &n))
        co_return Outcome{Fail::kClient, "malformed chunked body"};
      if (req_body_.seen > max_body_) {
        co_return Outcome{Fail::kClient, "the request body exceeds the limit"};
      }
      co_await WriteAll(up.stream, in_.view().substr(0, n), {}, ec);
      in_.Consume(n);
      if (ec) co_return Outcome{Fail::kReset, "writing the request body: " + ec.message()};
    }
    co_return Outcome{};
  }

  // Relays resp_ and its body from `up` to the client. Returns whether the client connection
  // stays open; leaves `up` null unless it can be pooled.
  awaitable<bool> RelayResponse(std::unique_ptr<UpstreamConn>& up, bool head_request) {
    const int status = resp_.status;
    if (status == 101 && upgrade_) {
      error_code ec;
      co_await ToClient(up->in.view().substr(0, resp_.size), {}, ec);
      up->in.Consume(resp_.size);
      if (ec) co_return false;
      const std::function<void()> touch = [this] { conn_.Touch(); };
      const std::string_view client_pending = in_.view(), upstream_pending = up->in.view();
      co_await Tunnel(client_, up->stream, client_pending, upstream_pending, touch,
                      env_.tunnel_idle_ms);
      up.reset();
      co_return false;
    }
    Body body;
    if (head_request || status == 204 || status == 304 || status < 200) {
      body.Start(Framing::kNone, 0);
    } else if (resp_.chunked) {
      body.Start(Framing::kChunked, 0);
    } else if (resp_.other_coding || resp_.content_length < 0) {
      body.Start(Framing::kUntilClose, 0);
    } else {
      body.Start(Framing::kLength, static_cast<uint64_t>(resp_.content_length));
    }
    const bool dechunk = body.framing == Framing::kChunked && client_minor_ == 0;
    const bool close =
        client_close_ || !req_body_.done || body.framing == Framing::kUntilClose || dechunk;
    BuildClientHead(resp_, body.framing == Framing::kChunked && !dechunk, close);
    const bool upstream_close = resp_.close;
    up->in.Consume(resp_.size);  // resp_ views end here

    std::vector<std::string_view> payload;
    bool head_sent = false;
    error_code ec;
    for (;;) {
      size_t n = 0;
      payload.clear();
      if (!body.Take(up->in.view(), &n, dechunk ? &payload : nullptr)) {
        up.reset();
        co_return false;  // a malformed body from the upstream: the client sees a cut response
      }
      std::string_view out = up->in.view().substr(0, n);
      if (dechunk) {
        for (auto p : payload) {
          const std::string_view head = head_sent ? std::string_view() : down_head_;
          co_await ToClient(head, p, ec);
          head_sent = true;
          if (ec) break;
        }
      } else if (!head_sent || n > 0) {
        const std::string_view head = head_sent ? std::string_view() : down_head_;
        co_await ToClient(head, out, ec);
        head_sent = true;
      }
      up->in.Consume(n);
      if (ec) {
        up.reset();
        co_return false;
      }
      if (body.done) break;
      error_code rec;
      if (!co_await ReadUpstream(*up, rec)) {
        const bool clean_end = body.framing == Framing::kUntilClose && rec == asio::error::eof;
        up.reset();
        if (!head_sent) {
          error_code wec;
          co_await ToClient(down_head_, {}, wec);
        }
        co_return clean_end && !close;
      }
      conn_.Touch();
    }
    if (!head_sent) co_await ToClient(down_head_, {}, ec);
    if (upstream_close || !up->in.empty() || !req_body_.done) up.reset();
    co_return !close && !ec;
  }

  // One request and its response, the downstream side: the request's target, limits and route,
  // admission to the cluster's concurrency limit, the request body; Forward does the rest.
  // Returns whether the client connection stays open.
  awaitable<bool> Exchange() {
    const int64_t t0 = request_start_us_ = SteadyNowUs();
    Refresh();
    if (listener_ == nullptr) co_return false;
    max_body_ = listener_->config.max_body_bytes;
    std::string_view target = req_.target;
    std::string_view host = HostWithoutPort(req_.host);
    std::string_view path = target;
    if (target.substr(0, 7) == "http://") {  // absolute form
      const size_t slash = target.find('/', 7);
      host = HostWithoutPort(target.substr(7, slash == std::string_view::npos ? slash : slash - 7));
      path = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    client_minor_ = req_.minor_version;
    client_close_ = req_.close;
    upgrade_ = req_.upgrade;
    const std::string method(req_.method);
    const bool head_request = method == "HEAD";
    const size_t head_size = req_.size;

    if (req_.content_length >= 0 && static_cast<uint64_t>(req_.content_length) > max_body_) {
      const std::string what = "request body of " + std::to_string(req_.content_length) +
                               " bytes exceeds the limit of " + std::to_string(max_body_) +
                               " bytes";
      co_await Respond(413, what, true);
      co_return false;
    }
    req_body_.Start(req_.chunked              ? Framing::kChunked
                    : req_.content_length > 0 ? Framing::kLength
                                              : Framing::kNone,
                    req_.content_length > 0 ? static_cast<uint64_t>(req_.content_length) : 0);
    const Route* route = listener_->Match(req_, host, path);
    if (route == nullptr) {
      const std::string what =
          "no route for host '" + std::string(host) + "' and path '" + std::string(path) + "'";
      in_.Consume(head_size);
      co_await Respond(404, what, !req_body_.done);
      co_return req_body_.done && !client_close_;
    }
    const bool expect = EqualsIgnoreCase(req_.Find("expect"), "100-continue");
    Cluster& cluster = route->PickCluster(rng_());
    const ClusterConfig& cc = cluster.config();
    if (recording_) {
      access_.route = route->name;
      access_.cluster = cc.name;
    }
    if (!cluster.Admit(SteadyNowUs())) {
      in_.Consume(head_size);
      const std::string what = "cluster '" + cc.name + "' is at its concurrency limit (" +
                               std::to_string(cluster.concurrency().limit) + " requests in flight)";
      co_await Respond(503, what, !req_body_.done);
      route->Count(503, SteadyNowUs() - t0);
      co_return req_body_.done && !client_close_;
    }
    // Hands the request's outcome to the limiter on every way out of this function.
    struct Admission {
      Cluster& cluster;
      int64_t start_us;
      const int& status;
      ~Admission() {
        const int64_t now = SteadyNowUs();
        cluster.Finish(now - start_us, status != 0 && status < 500 && status != 499, now);
      }
    };
    int final_status = 0;
    const Admission admission{cluster, SteadyNowUs(), final_status};
    balance::PickContext ctx;
    if (cc.hash_key.kind != HashKey::Kind::kNone) {
      ctx.hash = HashFor(cc.hash_key);
      ctx.has_hash = true;
    }
    BuildUpstreamHead(expect);
    in_.Consume(head_size);  // req_ views end here
    if (!co_await StartRequestBody(expect)) co_return false;
    timeout_ms_ = route->config.timeout_ms;

    const bool keep = co_await Forward(*route, cluster, ctx, method, head_request, final_status);
    if (recording_) access_.status = final_status;
    if (replayable_) in_.Consume(body_buffered_);
    body_buffered_ = 0;
    const int64_t duration_us = SteadyNowUs() - t0;
    route->Count(final_status, duration_us);
    env_.Record(Stage::kLastByte, duration_us);
    co_return keep;
  }

  // How much of the request body is here already; all of it makes the request replayable (an
  // attempt can be repeated on another host). Answers 100 Continue when the client waits for
  // it. False: the connection ends (a malformed body, or the client went away).
  awaitable<bool> StartRequestBody(bool expect) {
    body_buffered_ = 0;
    Body probe = req_body_;
    if (!probe.Take(in_.view(), &body_buffered_)) {
      const std::string what = "bad request: malformed chunked body";
      co_await Respond(400, what, true);
      co_return false;
    }
    replayable_ = probe.done;
    if (replayable_) req_body_ = probe;
    if (!replayable_ && expect) {
      error_code ec;
      const std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
      co_await ToClient(cont, {}, ec);
      if (ec) co_return false;
    }
    if (!replayable_) req_body_.Take(in_.view().substr(0, body_buffered_), &body_buffered_);
    co_return true;
  }

  // Routing with retry state: picks a host of `cluster` (none it tried), makes one attempt
  // (Try), and retries on another host while the route's policy and retry budget allow; then
  // relays the response, or answers with pier's own error. Returns whether the client
  // connection stays open; sets `status` to the request's final status.
  awaitable<bool> Forward(const Route& route, Cluster& cluster, balance::PickContext& ctx,
                          const std::string& method, bool head_request, int& status) {
    const ClusterConfig& cc = cluster.config();
    const UpstreamTls tls{cluster.tls_context(), &cc.tls};
    route.budget->RequestStarted();
    std::vector<const balance::Host*> tried;
    uint32_t retries = 0;
    bool keep = false;
    std::string last_error;  // why the previous attempt failed, when retrying found no host
    // Another attempt on a different host: always after a failed connect (nothing was sent),
    // otherwise when the request can be sent again and the route's policy and budget allow.
    auto may_retry = [&](int code, Fail fail) {
      const bool allowed = fail == Fail::kConnect
                               ? retries < route.retry.options().max_retries
                               : replayable_ && route.retry.ShouldRetry(method, code, retries);
      return allowed && route.budget->TryStartRetry();
    };
    for (;;) {
      ctx.exclude = tried.empty() ? nullptr : &tried;
      std::string why;
      std::shared_ptr<balance::Host> h = cluster.Pick(ctx, &why);
      if (h == nullptr) {
        if (status == 0) status = 503;
        std::string what = "no upstream available in cluster '" + cc.name + "': " + why;
        if (!last_error.empty()) what = last_error + "; no other host to retry on";
        co_await Respond(status, what, !req_body_.done);
        keep = req_body_.done && !client_close_;
        break;
      }
      const int64_t a0 = SteadyNowUs();
      std::unique_ptr<UpstreamConn> up;
      if (recording_) {
        access_.upstream = h->address();
        access_.retries = retries;
        access_.upstream_response_us = -1;
      }
      if (tracing_) BeginAttempt(h->address(), cc.name, retries);
      Outcome o = co_await Try(h->address(), cc, tls, up);
      if (tracing_) EndAttempt(o.fail == Fail::kNone ? resp_.status : 0, o.detail);
      if (o.fail == Fail::kClient) {
        cluster.Report(*h, 499, SteadyNowUs() - a0);
        status = 499;
        break;
      }
      if (o.fail != Fail::kNone) {
        cluster.Report(*h, 0, SteadyNowUs() - a0);
        up.reset();
        status = o.fail == Fail::kTimeout ? 504 : 502;
        last_error = "upstream " + h->address() + " (cluster '" + cc.name + "') " +
                     (o.fail == Fail::kTimeout ? "timed out: " : "failed: ") + o.detail;
        if (may_retry(0, o.fail)) {
          co_await Backoff(route.retry, retries);
          route.retries->Inc();
          ++retries;
          tried.push_back(h.get());
          continue;
        }
        co_await Respond(status, last_error, !req_body_.done);
        keep = req_body_.done && !client_close_;
        break;
      }
      status = resp_.status;
      const int64_t head_us = SteadyNowUs();
      if (recording_) access_.upstream_response_us = head_us - a0;
      cluster.Report(*h, resp_.status, head_us - a0);
      env_.Record(Stage::kFirstByte, head_us - request_start_us_);
      if (resp_.status >= 500 && may_retry(resp_.status, Fail::kNone)) {
        last_error = "upstream " + h->address() + " (cluster '" + cc.name + "') answered " +
                     std::to_string(resp_.status);
        up.reset();
        co_await Backoff(route.retry, retries);
        route.retries->Inc();
        ++retries;
        tried.push_back(h.get());
        continue;
      }
      keep = co_await RelayResponse(up, head_request);
      if (up != nullptr) {
        worker_.pool.Put(std::move(up), SteadyNowMs(), cc.max_idle_per_host);
      }
      break;
    }
    route.budget->RequestFinished();
    for (uint32_t i = 0; i < retries; ++i) route.budget->RetryFinished();  // held till the end
    co_return keep;
  }

  awaitable<void> Backoff(const resilience::RetryPolicy& policy, uint32_t attempt) {
    const int64_t ms =
        policy.BackoffMs(attempt, std::uniform_real_distribution<double>(0, 1)(rng_));
    if (ms <= 0) co_return;
    asio::steady_timer t(client_.get_executor(), std::chrono::milliseconds(ms));
    error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  net::Connection& conn_;
  const SessionEnv& env_;
  net::Stream& client_;
  Worker& worker_;
  std::string client_ip_;
  std::string client_addr_;         // ip:port, for the access log
  std::shared_ptr<AccessLog> log_;  // the listener's, while a request is logged
  AccessFilter log_filter_;
  bool recording_ = false;  // access_ is being filled (a log or a trace wants it)
  bool tracing_ = false;    // this request's spans are exported
  Span server_span_, attempt_span_;
  TraceParent upstream_context_;               // the trace id and flags upstream requests carry
  size_t upstream_tp_at_ = std::string::npos;  // the parent id's offset in up_head_
  AccessRecord access_;
  int64_t request_start_us_ = 0;  // the current request's head, read (steady clock)
  int64_t access_start_us_ = 0;
  uint64_t bytes_out_ = 0;
  std::shared_ptr<const Runtime> rt_;
  uint64_t version_ = 0;
  const ListenerRuntime* listener_ = nullptr;
  size_t max_header_ = 64 * 1024;
  uint64_t max_body_ = 0;
  int64_t timeout_ms_ = 15000;
  Buffer in_;
  HttpHead req_, resp_;
  std::string up_head_, down_head_;
  Body req_body_;
  size_t body_buffered_ = 0;  // request body bytes at the front of in_
  bool replayable_ = false;
  bool upgrade_ = false;
  bool client_close_ = false;
  int client_minor_ = 1;
  Deadline deadline_;
  std::minstd_rand rng_{NextSeed()};
};

}  // namespace

awaitable<void> ServeHttp(net::Connection& conn, const SessionEnv& env) {
  HttpSession session(conn, env);
  co_await session.Run();
}

}  // namespace pier::proxy
