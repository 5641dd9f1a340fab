// An open-loop load generator, for bench/load/curve.py:
//   loadgen --port P --proto resp|http --rate R --duration S [--connections C]
//           [--command "GET key"] [--path /]
// Request i is due at start + i/R and goes out on connection i % C at that time, whether or
// not the replies to earlier requests have come back: a slow server does not slow the client
// down, so its queueing shows up as latency (no coordinated omission; a connection with
// requests outstanding pipelines the next). A request's latency runs from its due time to the
// last byte of its reply. One thread: epoll, and a timerfd for the next due time.
// Prints one JSON line: the offered rate, requests sent, replies received and their rate,
// latency percentiles in microseconds, error replies, and replies still missing after the
// drain (--drain seconds after the last request).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pier/net/resp_reply.h"

namespace {

namespace http = boost::beast::http;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "loadgen: %s\n", what.c_str());
  std::exit(2);
}

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct Args {
  uint16_t port = 0;
  std::string proto = "resp";
  double rate = 1000, duration = 5, drain = 5;
  size_t connections = 50;
  std::string command = "GET key";
  std::string path = "/";
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string_view k = argv[i];
    if (i + 1 >= argc) Die("missing value for " + std::string(k));
    const char* v = argv[++i];
    if (k == "--port") {
      a.port = static_cast<uint16_t>(std::atoi(v));
    } else if (k == "--proto") {
      a.proto = v;
    } else if (k == "--rate") {
      a.rate = std::atof(v);
    } else if (k == "--duration") {
      a.duration = std::atof(v);
    } else if (k == "--drain") {
      a.drain = std::atof(v);
    } else if (k == "--connections") {
      a.connections = static_cast<size_t>(std::atoi(v));
    } else if (k == "--command") {
      a.command = v;
    } else if (k == "--path") {
      a.path = v;
    } else {
      Die("unknown option " + std::string(k));
    }
  }
  if (a.port == 0 || a.rate <= 0 || a.duration <= 0 || a.connections == 0) {
    Die("usage: loadgen --port P --proto resp|http --rate R --duration S [--connections C]");
  }
  if (a.proto != "resp" && a.proto != "http") Die("--proto: resp or http, not " + a.proto);
  return a;
}

// The bytes of one request.
std::string Request(const Args& a) {
  if (a.proto == "http") return "GET " + a.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos < a.command.size()) {
    size_t end = a.command.find(' ', pos);
    if (end == std::string::npos) end = a.command.size();
    if (end > pos) words.push_back(a.command.substr(pos, end - pos));
    pos = end + 1;
  }
  std::string out;
  pier::net::AppendCommand(&out, {words.begin(), words.end()});
  return out;
}

// Splits a connection's input into replies: returns how many leading bytes of `in` make one
// whole reply (0: not yet), and whether that reply is an error.
class ReplyFramer {
 public:
  void set_http(bool http) { http_ = http; }

  size_t Next(std::string_view in, bool* error) {
    if (http_) return NextHttp(in, error);
    pier::net::RespValue v;
    switch (resp_.Parse(in, &v)) {
      case pier::net::RespReplyParser::Result::kComplete:
        *error = v.is_error();
        return resp_.consumed();
      case pier::net::RespReplyParser::Result::kIncomplete:
        return 0;
      case pier::net::RespReplyParser::Result::kError:
        Die("bad RESP reply: " + resp_.error());
    }
    return 0;
  }

 private:
  size_t NextHttp(std::string_view in, bool* error) {
    if (!parser_) {
      parser_ = std::make_unique<http::response_parser<http::string_body>>();
      parser_->eager(true);
    }
    boost::system::error_code ec;
    size_t used =
        parser_->put(boost::asio::buffer(in.data() + consumed_, in.size() - consumed_), ec);
    consumed_ += used;
    if (ec == http::error::need_more) return 0;
    if (ec) Die("bad HTTP response: " + ec.message());
    if (!parser_->is_done()) return 0;
    *error = parser_->get().result_int() >= 400;
    parser_.reset();
    size_t n = consumed_;
    consumed_ = 0;
    return n;
  }

  bool http_ = false;
  pier::net::RespReplyParser resp_;
  std::unique_ptr<http::response_parser<http::string_body>> parser_;
  size_t consumed_ = 0;  // bytes of `in` (the current response) the parser has taken
};

struct Conn {
  int fd = -1;
  std::string out;          // requests not yet written
  std::string in;           // bytes read, not yet a whole reply
  std::deque<int64_t> due;  // due times of the requests awaiting replies, oldest first
  bool want_write = false;  // registered for EPOLLOUT
  ReplyFramer framer;
};

int Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    Die("connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

class Generator {
 public:
  explicit Generator(const Args& a) : a_(a), request_(Request(a)) {
    total_ = static_cast<size_t>(std::llround(a.rate * a.duration));
    latencies_.reserve(total_);
    epoll_ = epoll_create1(0);
    timer_ = timerfd_create(CLOCK_MONOTONIC, 0);
    Watch(timer_, EPOLLIN, ~uint64_t{0}, EPOLL_CTL_ADD);
    conns_.resize(a.connections);
    for (size_t i = 0; i < conns_.size(); ++i) {
      conns_[i].fd = Connect(a.port);
      conns_[i].framer.set_http(a.proto == "http");
      Watch(conns_[i].fd, EPOLLIN, i, EPOLL_CTL_ADD);
    }
  }

  void Run() {
    start_ = NowNs() + 10'000'000;  // connections settle for 10 ms
    const int64_t give_up = start_ + static_cast<int64_t>((a_.duration + a_.drain) * 1e9);
    epoll_event events[64];
    while (next_ < total_ || outstanding_ > 0) {
      int64_t now = NowNs();
      if (now > give_up) break;
      SendDue(now);
      ArmTimer(give_up);
      int n = epoll_wait(epoll_, events, 64, -1);
      if (n < 0 && errno != EINTR) Die(std::string("epoll_wait: ") + std::strerror(errno));
      now = NowNs();
      for (int i = 0; i < n; ++i) {
        if (events[i].data.u64 == ~uint64_t{0}) {
          uint64_t expirations;
          (void)!read(timer_, &expirations, sizeof expirations);
          continue;
        }
        Conn& c = conns_[events[i].data.u64];
        if (events[i].events & EPOLLOUT) Flush(c, events[i].data.u64);
        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) Receive(c, now);
      }
    }
  }

  void Report() const {
    std::vector<int64_t> l = latencies_;
    std::sort(l.begin(), l.end());
    auto pct = [&](double q) -> double {
      if (l.empty()) return 0;
      size_t i = std::min(l.size() - 1, static_cast<size_t>(std::ceil(q * l.size())) - 1);
      return l[i] / 1e3;
    };
    // Replies per second from the start to the last reply: below the offered rate once the
    // server falls behind.
    double elapsed = std::max(a_.duration, (last_reply_ - start_) / 1e9);
    std::printf(
        "{\"offered\": %.0f, \"sent\": %zu, \"completed\": %zu, \"rate\": %.0f, "
        "\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"p999\": %.1f, \"max\": %.1f, "
        "\"errors\": %zu, \"missing\": %zu}\n",
        a_.rate, next_, l.size(), l.size() / elapsed, pct(0.5), pct(0.9), pct(0.99), pct(0.999),
        l.empty() ? 0.0 : l.back() / 1e3, errors_, outstanding_);
  }

 private:
  int64_t Due(size_t i) const { return start_ + static_cast<int64_t>(i * 1e9 / a_.rate); }

  void Watch(int fd, uint32_t events, uint64_t tag, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    if (epoll_ctl(epoll_, op, fd, &ev) != 0) Die(std::string("epoll_ctl: ") + std::strerror(errno));
  }

  // Queues every request due by `now` on its connection, then writes.
  void SendDue(int64_t now) {
    size_t first = next_;
    while (next_ < total_ && Due(next_) <= now) {
      Conn& c = conns_[next_ % conns_.size()];
      c.out += request_;
      c.due.push_back(Due(next_));
      ++next_;
      ++outstanding_;
    }
    size_t touched = std::min(next_ - first, conns_.size());
    for (size_t k = 0; k < touched; ++k) {
      size_t i = (first + k) % conns_.size();
      Flush(conns_[i], i);
    }
  }

  void ArmTimer(int64_t give_up) {
    int64_t at = next_ < total_ ? Due(next_) : give_up;
    itimerspec its{};
    its.it_value.tv_sec = at / 1'000'000'000;
    its.it_value.tv_nsec = at % 1'000'000'000;
    timerfd_settime(timer_, TFD_TIMER_ABSTIME, &its, nullptr);
  }

  void Flush(Conn& c, size_t index) {
    while (!c.out.empty()) {
      ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      if (n < 0) Die(std::string("send: ") + std::strerror(errno));
      c.out.erase(0, static_cast<size_t>(n));
    }
    bool want = !c.out.empty();
    if (want != c.want_write) {
      Watch(c.fd, want ? EPOLLIN | EPOLLOUT : EPOLLIN, index, EPOLL_CTL_MOD);
      c.want_write = want;
    }
  }

  void Receive(Conn& c, int64_t now) {
    char buf[65536];
    for (;;) {
      ssize_t n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      if (n <= 0) Die(n == 0 ? "the server closed a connection" : std::strerror(errno));
      c.in.append(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof buf) break;
    }
    size_t done = 0;  // bytes of `in` that made whole replies
    for (;;) {
      bool error = false;
      size_t used = c.framer.Next(std::string_view(c.in).substr(done), &error);
      if (used == 0) break;
      if (c.due.empty()) Die("a reply to no request");
      latencies_.push_back(now - c.due.front());
      last_reply_ = now;
      c.due.pop_front();
      --outstanding_;
      errors_ += error ? 1 : 0;
      done += used;
    }
    c.in.erase(0, done);
  }

  Args a_;
  std::string request_;
  size_t total_ = 0, next_ = 0, outstanding_ = 0, errors_ = 0;
  int64_t start_ = 0, last_reply_ = 0;
  int epoll_ = -1, timer_ = -1;
  std::vector<Conn> conns_;
  std::vector<int64_t> latencies_;
};

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_TIMERSLACK, 1UL);  // wake at the due time, not up to 50 us after it
  Generator g(Parse(argc, argv));
  g.Run();
  g.Report();
  return 0;
}
