#include "registry/store/etcd_store.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cstring>
#include <nlohmann/json.hpp>

#include "pier/base/logging.h"
#include "pier/net/http_fetch.h"
#include "pier/net/tcp_listener.h"
#include "registry/definition_json.h"

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

namespace pier::registry {

namespace {

constexpr size_t kMaxTxnOps = 128;

// The key just past every key that starts with `prefix` (etcd's range_end for a prefix).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      prefix.back() = static_cast<char>(prefix.back() + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');
}

std::optional<EtcdStore::Heartbeat> ParseHeartbeat(const std::string& check_id,
                                                   const std::string& value) {
  json j = json::parse(value, nullptr, false);
  HealthStatus status;
  if (!j.is_object() || !ParseHealthStatus(j.value("Status", ""), &status)) return std::nullopt;
  return EtcdStore::Heartbeat{check_id, status, j.value("Output", "")};
}

}  // namespace

EtcdStore::EtcdStore(std::string host, uint16_t port, const std::string& prefix)
    : host_(std::move(host)),
      port_(port),
      root_(prefix + "/"),
      prefix_(prefix + "/services/"),
      health_(prefix + "/health/"),
      where_("etcd " + host_ + ":" + std::to_string(port_)) {}

EtcdStore::~EtcdStore() { Stop(); }

Result<std::unique_ptr<EtcdStore>> EtcdStore::Open(const std::string& url) {
  const std::string scheme = "etcd://";
  if (url.rfind(scheme, 0) != 0) {
    return Status::InvalidArgument("--store: expected etcd://HOST:PORT[/PREFIX], got '" + url +
                                   "'");
  }
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string prefix = slash == std::string::npos ? "/pier/registry" : rest.substr(slash);
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  auto hp = net::ParseHostPort(rest.substr(0, slash), "--store");
  if (!hp.ok()) return hp.status();
  std::unique_ptr<EtcdStore> store(new EtcdStore(hp->first, hp->second, prefix));
  auto r = store->Post("/v3/maintenance/status", "{}");
  if (!r.ok()) return r.status();
  return store;
}

Result<std::string> EtcdStore::Post(const std::string& path, const std::string& body) {
  net::HttpFetchRequest req;
  req.host = host_;
  req.port = port_;
  req.method = "POST";
  req.target = path;
  req.body = body;
  req.headers.emplace_back("Content-Type", "application/json");
  auto r = net::HttpFetch(req);
  if (!r.ok()) return Status::Unavailable("registry store: etcd " + r.status().message());
  if (r->status != 200) {
    return Status::Unavailable("registry store: " + where_ + " " + path + ": " +
                               std::to_string(r->status) + " " + r->body.substr(0, 300));
  }
  return std::move(r->body);
}

Status EtcdStore::Commit(const std::vector<StoreOp>& ops) {
  for (size_t start = 0; start < ops.size(); start += kMaxTxnOps) {
    json success = json::array();
    for (size_t i = start; i < std::min(ops.size(), start + kMaxTxnOps); ++i) {
      std::string key = Base64Encode(prefix_ + ops[i].id);
      if (ops[i].def) {
        success.push_back(
            {{"requestPut", {{"key", key}, {"value", Base64Encode(StoreRow(*ops[i].def))}}}});
      } else {
        success.push_back({{"requestDeleteRange", {{"key", key}}}});
      }
    }
    auto r = Post("/v3/kv/txn", json{{"success", success}}.dump());
    if (!r.ok()) return r.status();
  }
  return Status::Ok();
}

Result<std::vector<ServiceDefinition>> EtcdStore::LoadAll() {
  auto r = Post(
      "/v3/kv/range",
      json{{"key", Base64Encode(prefix_)}, {"range_end", Base64Encode(PrefixEnd(prefix_))}}.dump());
  if (!r.ok()) return r.status();
  json j = json::parse(*r, nullptr, false);
  if (!j.is_object()) return Status::Unavailable("registry store: " + where_ + ": not JSON");
  std::vector<ServiceDefinition> out;
  for (const auto& kv : j.value("kvs", json::array())) {
    std::string key, row;
    Base64Decode(kv.value("key", ""), &key);
    Base64Decode(kv.value("value", ""), &row);
    auto def = FromStoreRow(row);
    if (!def.ok()) {
      LogEvent(LogLevel::kError, "registry store: skipping an unreadable key",
               {{"store", where_}, {"key", key}, {"error", def.status().message()}});
      continue;
    }
    out.push_back(std::move(*def));
  }
  // etcd's JSON gateway writes 64-bit integers as strings.
  std::string rev = j.value("header", json::object()).value("revision", "0");
  revision_ = std::stoll(rev);
  return out;
}

Result<std::vector<EtcdStore::Heartbeat>> EtcdStore::LoadHeartbeats() {
  auto r = Post(
      "/v3/kv/range",
      json{{"key", Base64Encode(health_)}, {"range_end", Base64Encode(PrefixEnd(health_))}}.dump());
  if (!r.ok()) return r.status();
  json j = json::parse(*r, nullptr, false);
  std::vector<Heartbeat> out;
  for (const auto& kv : j.is_object() ? j.value("kvs", json::array()) : json::array()) {
    std::string key, value;
    Base64Decode(kv.value("key", ""), &key);
    Base64Decode(kv.value("value", ""), &value);
    if (auto hb = ParseHeartbeat(key.substr(health_.size()), value)) out.push_back(*hb);
  }
  return out;
}

void EtcdStore::PublishHeartbeat(Heartbeat hb, Duration ttl) {
  std::lock_guard l(pub_mu_);
  if (!publisher_.joinable()) publisher_ = std::thread([this] { PublishLoop(); });
  std::string id = hb.check_id;
  pending_[id] = {std::move(hb), ttl};
  pub_cv_.notify_one();
}

void EtcdStore::PublishLoop() {
  std::unique_lock l(pub_mu_);
  while (!stop_) {
    pub_cv_.wait(l, [&] { return stop_ || !pending_.empty(); });
    auto batch = std::move(pending_);
    pending_.clear();
    l.unlock();
    for (const auto& [id, entry] : batch) {
      const auto& [hb, ttl] = entry;
      // A lease per heartbeat: the key lives one TTL past the last heartbeat, then etcd drops it.
      int64_t seconds = std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(ttl).count());
      auto grant = Post("/v3/lease/grant", json{{"TTL", std::to_string(seconds)}}.dump());
      Status s = grant.status();
      if (grant.ok()) {
        json g = json::parse(*grant, nullptr, false);
        std::string lease = g.is_object() ? g.value("ID", "") : "";
        json value = {{"Status", HealthStatusName(hb.status)}, {"Output", hb.output}};
        s = Post("/v3/kv/put", json{{"key", Base64Encode(health_ + id)},
                                    {"value", Base64Encode(value.dump())},
                                    {"lease", lease}}
                                   .dump())
                .status();
      }
      if (!s.ok()) {
        LogEvent(LogLevel::kWarn, "registry store: heartbeat failed",
                 {{"service_id", id}, {"error", s.message()}});
      }
    }
    l.lock();
  }
}

void EtcdStore::Follow(Followers followers) {
  follower_ = std::thread([this, f = std::move(followers)] {
    while (!stop_) {
      if (WatchOnce(f) || stop_) continue;
      // The stream broke: wait a little, then catch up with everything and follow again.
      for (int i = 0; i < 25 && !stop_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      auto all = LoadAll();
      if (!all.ok()) {
        LogEvent(LogLevel::kWarn, "registry store: reload failed",
                 {{"error", all.status().message()}});
        continue;
      }
      f.reload(*all);
    }
  });
}

void EtcdStore::Stop() {
  {
    std::lock_guard l(pub_mu_);
    stop_ = true;
  }
  pub_cv_.notify_all();
  if (publisher_.joinable()) publisher_.join();
  {
    std::lock_guard l(fd_mu_);
    if (stream_fd_ >= 0) ::shutdown(stream_fd_, SHUT_RDWR);
  }
  if (follower_.joinable()) follower_.join();
}

bool EtcdStore::WatchOnce(const Followers& f) {
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
  if (!ec) asio::connect(sock, endpoints, ec);
  if (ec) {
    LogEvent(LogLevel::kWarn, "registry store: watch failed",
             {{"store", where_}, {"error", ec.message()}});
    return false;
  }
  {
    std::lock_guard l(fd_mu_);
    if (stop_) return true;
    stream_fd_ = sock.native_handle();
  }
  struct Unpublish {
    EtcdStore* self;
    ~Unpublish() {
      std::lock_guard l(self->fd_mu_);
      self->stream_fd_ = -1;
    }
  } unpublish{this};
  json create = {{"key", Base64Encode(root_)},
                 {"range_end", Base64Encode(PrefixEnd(root_))},
                 {"start_revision", std::to_string(revision_ + 1)}};
  http::request<http::string_body> req{http::verb::post, "/v3/watch", 11};
  req.set(http::field::host, host_);
  req.set(http::field::content_type, "application/json");
  req.body() = json{{"create_request", create}}.dump();
  req.prepare_payload();
  http::write(sock, req, ec);
  if (ec) return false;
  // Each watch response is one JSON line in the chunked body; take them as they arrive.
  std::string line_buf;
  bool broken = false;
  auto on_line = [&](const std::string& line) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("result")) return;
    const json& r = j["result"];
    if (r.value("canceled", false) || r.value("compact_revision", "0") != "0") {
      broken = true;  // history compacted past us: reload everything
      return;
    }
    std::vector<StoreOp> ops;
    for (const auto& e : r.value("events", json::array())) {
      std::string key, row;
      const json& kv = e.value("kv", json::object());
      Base64Decode(kv.value("key", ""), &key);
      int64_t rev = std::stoll(kv.value("mod_revision", "0"));
      if (rev > revision_) revision_ = rev;
      bool deleted = e.value("type", "PUT") == "DELETE";
      if (key.rfind(health_, 0) == 0) {
        // An expired lease needs nothing: every registry runs the same TTL deadline.
        Base64Decode(kv.value("value", ""), &row);
        auto hb = deleted ? std::nullopt : ParseHeartbeat(key.substr(health_.size()), row);
        if (hb && f.heartbeat) f.heartbeat(*hb);
        continue;
      }
      if (key.rfind(prefix_, 0) != 0) continue;
      std::string id = key.substr(prefix_.size());
      if (deleted) {
        ops.push_back({id, std::nullopt});
        continue;
      }
      Base64Decode(kv.value("value", ""), &row);
      auto def = FromStoreRow(row);
      if (!def.ok()) {
        LogEvent(LogLevel::kError, "registry store: skipping an unreadable key",
                 {{"store", where_}, {"key", key}, {"error", def.status().message()}});
        continue;
      }
      ops.push_back({id, std::move(*def)});
    }
    if (!ops.empty()) f.services(ops);
  };
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  // The parser keeps a reference to the callback: it must outlive the reads.
  auto on_chunk = [&](uint64_t, boost::beast::string_view data,
                      boost::system::error_code&) -> size_t {
    line_buf.append(data.data(), data.size());
    for (size_t nl; (nl = line_buf.find('\n')) != std::string::npos;) {
      on_line(line_buf.substr(0, nl));
      line_buf.erase(0, nl + 1);
    }
    if (line_buf.size() > (64 << 20)) broken = true;  // no line is that long
    return data.size();
  };
  parser.on_chunk_body(on_chunk);
  boost::beast::flat_buffer buffer;
  while (!stop_ && !broken && !parser.is_done()) {
    http::read_some(sock, buffer, parser, ec);
    if (ec) break;
  }
  return stop_;
}

}  // namespace pier::registry
