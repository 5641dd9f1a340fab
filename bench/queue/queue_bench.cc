// One producer and one consumer through a queue, for bench/queue/compare.py:
//   queue_bench --system pier|redis|rabbitmq --port P --messages N --size S --window W [--rate R]
// The producer keeps at most W messages unconfirmed, sending more as confirms come back (pier:
// QPUBLISH, each reply sent once durable; Redis: XADD; RabbitMQ: persistent basic.publish in
// confirm mode). The
// consumer takes up to W at a time (QCONSUME / XREADGROUP / basic.consume with prefetch W) and
// acknowledges each batch (QACK / XACK / basic.ack multiple). Each payload starts with its send
// time, so the consumer measures publish-to-consume latency. With --rate the producer instead
// sends each message at its time slot, R per second (open loop, still at most W unconfirmed):
// the latency of a queue that keeps up, not of a backlog. Consumers acknowledge without waiting
// (RESP: acks go over a second connection from a thread of their own; AMQP acks are
// asynchronous). Prints one JSON line.
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pier/net/resp_connection.h"
#include "pier/net/resp_reply.h"

using Clock = std::chrono::steady_clock;
using pier::net::RespConnection;
using pier::net::RespValue;

namespace {

struct Args {
  std::string system = "pier";
  uint16_t port = 7379;
  size_t messages = 100000, size = 16, window = 64;
  double rate = 0;  // > 0: paced, one message at a time
};

// Paced mode: waits for message i's send slot.
void Pace(const Args& a, Clock::time_point start, size_t i) {
  if (a.rate > 0) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(i / a.rate)));
  }
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "queue_bench: %s\n", what.c_str());
  std::exit(2);
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

std::string Payload(size_t size) {
  std::string p(std::max<size_t>(size, 8), 'x');
  int64_t t = NowNs();
  std::memcpy(p.data(), &t, 8);
  return p;
}

int64_t SentAt(std::string_view p) {
  int64_t t = 0;
  if (p.size() >= 8) std::memcpy(&t, p.data(), 8);
  return t;
}

std::unique_ptr<RespConnection> Dial(uint16_t port) {
  auto c = RespConnection::Connect("127.0.0.1", port, std::chrono::milliseconds(2000));
  if (!c.ok()) Die(c.status().message());
  return std::move(*c);
}

std::vector<RespValue> Run(RespConnection& c, const std::vector<std::vector<std::string>>& cmds) {
  std::vector<std::vector<std::string_view>> v;
  for (const auto& a : cmds) v.emplace_back(a.begin(), a.end());
  auto r = c.Run(v, std::chrono::milliseconds(30000));
  if (!r.ok()) Die(r.status().message());
  for (const auto& x : *r) {
    if (x.is_error()) Die("server error: " + x.str);
  }
  return std::move(*r);
}

// ---- RESP systems: pier and Redis Streams ----
// A sliding window over one socket: a writer sends what the window allows, a reader counts
// replies (each a confirm) and reopens the window.
void RespProducer(const Args& a) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(a.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Die("connect failed");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::mutex mu;
  std::condition_variable cv;
  size_t confirmed = 0;
  std::thread reader([&] {
    pier::net::RespReplyParser parser;
    std::string in;
    char buf[65536];
    size_t n_confirmed = 0;
    while (n_confirmed < a.messages) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) Die("producer connection closed");
      in.append(buf, static_cast<size_t>(n));
      size_t got = 0;
      RespValue v;
      while (parser.Parse(in, &v) == pier::net::RespReplyParser::Result::kComplete) {
        if (v.is_error()) Die("server error: " + v.str);
        in.erase(0, parser.consumed());
        ++got;
      }
      n_confirmed += got;
      std::lock_guard l(mu);
      confirmed = n_confirmed;
      cv.notify_one();
    }
  });
  const auto start = Clock::now();
  for (size_t sent = 0; sent < a.messages;) {
    size_t room;
    {
      std::unique_lock l(mu);
      cv.wait(l, [&] { return sent - confirmed < a.window; });
      room = a.rate > 0 ? 1 : a.window - (sent - confirmed);  // paced: each at its slot
    }
    std::string out;
    for (size_t i = 0; i < room && sent < a.messages; ++i, ++sent) {
      Pace(a, start, sent);
      std::string p = Payload(a.size);
      if (a.system == "pier") {
        pier::net::AppendCommand(&out, {"QPUBLISH", "bench", p});
      } else {
        pier::net::AppendCommand(&out, {"XADD", "bench", "*", "d", p});
      }
    }
    for (size_t off = 0; off < out.size();) {
      ssize_t n = ::write(fd, out.data() + off, out.size() - off);
      if (n <= 0) Die("producer write failed");
      off += static_cast<size_t>(n);
    }
  }
  reader.join();
  ::close(fd);
}

// Acknowledgements sent from a thread of their own over a second connection, so a consumer
// never waits for an ack's reply (which pier and Redis send once the ack is on disk): the
// RESP form of AMQP's asynchronous basic.ack.
class AsyncAcker {
 public:
  explicit AsyncAcker(uint16_t port) : conn_(Dial(port)), thread_([this] { Loop(); }) {}
  ~AsyncAcker() {
    {
      std::lock_guard l(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void Ack(std::vector<std::string> cmd) {
    {
      std::lock_guard l(mu_);
      queued_.push_back(std::move(cmd));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    for (;;) {
      std::vector<std::vector<std::string>> batch;
      {
        std::unique_lock l(mu_);
        cv_.wait(l, [&] { return stop_ || !queued_.empty(); });
        if (queued_.empty()) return;
        batch.swap(queued_);
      }
      Run(*conn_, batch);
    }
  }
  std::unique_ptr<RespConnection> conn_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<std::string>> queued_;
  bool stop_ = false;
  std::thread thread_;
};

void RespConsumer(const Args& a, std::vector<int64_t>* latencies) {
  auto c = Dial(a.port);
  AsyncAcker acker(a.port);
  const std::string window = std::to_string(a.window);
  while (latencies->size() < a.messages) {
    std::vector<std::string> ack;
    if (a.system == "pier") {
      auto r = Run(*c, {{"QCONSUME", "bench", "COUNT", window, "BLOCK", "1000"}});
      ack = {"QACK", "bench", "default"};
      for (const auto& m : r[0].elements) {
        for (size_t i = 0; i + 1 < m.elements.size(); i += 2) {
          if (m.elements[i].str == "id") ack.push_back(std::to_string(m.elements[i + 1].integer));
          if (m.elements[i].str == "payload") {
            latencies->push_back(NowNs() - SentAt(m.elements[i + 1].str));
          }
        }
      }
    } else {
      auto r = Run(*c, {{"XREADGROUP", "GROUP", "g", "c", "COUNT", window, "BLOCK", "1000",
                         "STREAMS", "bench", ">"}});
      ack = {"XACK", "bench", "g"};
      if (r[0].is_null()) continue;
      for (const auto& stream : r[0].elements) {
        for (const auto& entry : stream.elements[1].elements) {
          ack.push_back(entry.elements[0].str);
          latencies->push_back(NowNs() - SentAt(entry.elements[1].elements[1].str));
        }
      }
    }
    if (ack.size() > 3) acker.Ack(std::move(ack));
  }
}

// ---- RabbitMQ (AMQP 0-9-1 with librabbitmq) ----
void Check(amqp_rpc_reply_t r, const char* what) {
  if (r.reply_type != AMQP_RESPONSE_NORMAL) Die(std::string("amqp: ") + what + " failed");
}

amqp_connection_state_t AmqpDial(uint16_t port) {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* s = amqp_tcp_socket_new(conn);
  if (!s || amqp_socket_open(s, "127.0.0.1", port) != AMQP_STATUS_OK) Die("amqp: cannot connect");
  Check(amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest"), "login");
  amqp_channel_open(conn, 1);
  Check(amqp_get_rpc_reply(conn), "channel.open");
  amqp_queue_declare(conn, 1, amqp_cstring_bytes("bench"), 0, /*durable=*/1, 0, 0,
                     amqp_empty_table);
  Check(amqp_get_rpc_reply(conn), "queue.declare");
  return conn;
}

void AmqpProducer(const Args& a) {
  auto conn = AmqpDial(a.port);
  amqp_confirm_select(conn, 1);
  Check(amqp_get_rpc_reply(conn), "confirm.select");
  amqp_basic_properties_t props;
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.delivery_mode = 2;  // persistent
  uint64_t published = 0, confirmed = 0;
  const auto start = Clock::now();
  while (confirmed < a.messages) {
    while (published < a.messages && published - confirmed < a.window) {
      Pace(a, start, published);
      std::string p = Payload(a.size);
      amqp_bytes_t body{p.size(), p.data()};
      if (amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes("bench"), 0, 0, &props,
                             body) != AMQP_STATUS_OK) {
        Die("amqp: publish failed");
      }
      ++published;
    }
    amqp_frame_t f;
    if (amqp_simple_wait_frame(conn, &f) != AMQP_STATUS_OK) Die("amqp: wait for confirm failed");
    if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
      auto* ack = static_cast<amqp_basic_ack_t*>(f.payload.method.decoded);
      confirmed = ack->multiple ? ack->delivery_tag : confirmed + 1;
    } else if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
      Die("amqp: the broker nacked a publish");
    }
  }
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);
}

void AmqpConsumer(const Args& a, std::vector<int64_t>* latencies) {
  auto conn = AmqpDial(a.port);
  amqp_basic_qos(conn, 1, 0, static_cast<uint16_t>(a.window), 0);
  Check(amqp_get_rpc_reply(conn), "basic.qos");
  amqp_basic_consume(conn, 1, amqp_cstring_bytes("bench"), amqp_empty_bytes, 0, /*no_ack=*/0, 0,
                     amqp_empty_table);
  Check(amqp_get_rpc_reply(conn), "basic.consume");
  size_t unacked = 0;
  while (latencies->size() < a.messages) {
    amqp_envelope_t env;
    amqp_maybe_release_buffers(conn);
    Check(amqp_consume_message(conn, &env, nullptr, 0), "consume");
    latencies->push_back(NowNs() -
                         SentAt(std::string_view(static_cast<const char*>(env.message.body.bytes),
                                                 env.message.body.len)));
    // Ack half a window at a time (multiple), like the RESP consumers ack each batch.
    if (++unacked >= std::max<size_t>(1, a.window / 2) || latencies->size() == a.messages) {
      amqp_basic_ack(conn, 1, env.delivery_tag, /*multiple=*/1);
      unacked = 0;
    }
    amqp_destroy_envelope(&env);
  }
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--system")
      a.system = v;
    else if (k == "--port")
      a.port = static_cast<uint16_t>(std::stoi(v));
    else if (k == "--messages")
      a.messages = std::stoul(v);
    else if (k == "--size")
      a.size = std::stoul(v);
    else if (k == "--window")
      a.window = std::stoul(v);
    else if (k == "--rate")
      a.rate = std::stod(v);
    else
      Die("unknown flag " + k);
  }
  if (a.system == "redis") {
    auto c = Dial(a.port);
    Run(*c, {{"DEL", "bench"}});
    Run(*c, {{"XGROUP", "CREATE", "bench", "g", "$", "MKSTREAM"}});
  }
  std::vector<int64_t> latencies;
  latencies.reserve(a.messages);
  const auto t0 = Clock::now();
  std::thread consumer([&] {
    if (a.system == "rabbitmq")
      AmqpConsumer(a, &latencies);
    else
      RespConsumer(a, &latencies);
  });
  if (a.system == "rabbitmq")
    AmqpProducer(a);
  else
    RespProducer(a);
  const double publish_s = std::chrono::duration<double>(Clock::now() - t0).count();
  consumer.join();
  const double total_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(latencies.begin(), latencies.end());
  auto q = [&](double p) {
    return latencies.empty() ? 0.0
                             : latencies[std::min(latencies.size() - 1,
                                                  static_cast<size_t>(p * latencies.size()))] /
                                   1000.0;
  };
  std::printf(
      "{\"system\":\"%s\",\"messages\":%zu,\"size\":%zu,\"msgs_per_s\":%.0f,\"publish_s\":%.3f,"
      "\"p50_us\":%.0f,\"p99_us\":%.0f}\n",
      a.system.c_str(), latencies.size(), a.size, latencies.size() / total_s, publish_s, q(0.5),
      q(0.99));
  return 0;
}
