#include "pier/net/resp_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pier/net/tls.h"

namespace pier::net {

namespace {

int MillisLeft(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

Result<std::unique_ptr<RespConnection>> RespConnection::Connect(const std::string& host,
                                                                uint16_t port,
                                                                std::chrono::milliseconds timeout,
                                                                const TlsClientOptions& tls) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string where = host + ":" + std::to_string(port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &addr.sin_addr) != 1) {
    return Status::InvalidArgument(where + ": not an IPv4 address");
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Unavailable(where + ": socket: " + std::strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    std::string err = std::strerror(errno);
    close(fd);
    return Status::Unavailable(where + ": connect: " + err);
  }
  pollfd p{fd, POLLOUT, 0};
  int r = poll(&p, 1, static_cast<int>(timeout.count()));
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (r == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
  if (r != 1 || soerr != 0) {
    close(fd);
    return Status::Unavailable(
        where +
        ": connect: " + (r == 0 ? std::string("timed out") : std::strerror(soerr ? soerr : errno)));
  }
  std::unique_ptr<RespConnection> c(new RespConnection(fd, where));
  if (tls.enabled) {
    if (Status st = c->StartTls(tls, host, deadline); !st.ok()) return st;
  }
  return c;
}

RespConnection::~RespConnection() {
  if (ssl_ != nullptr) SSL_free(static_cast<SSL*>(ssl_));
  close(fd_);
}

bool RespConnection::TlsRetry(int ret, std::chrono::steady_clock::time_point deadline,
                              const char* what, Status* error) {
  const int err = SSL_get_error(static_cast<SSL*>(ssl_), ret);
  short events = 0;
  if (err == SSL_ERROR_WANT_READ) events = POLLIN;
  if (err == SSL_ERROR_WANT_WRITE) events = POLLOUT;
  if (events == 0) {
    *error = err == SSL_ERROR_ZERO_RETURN
                 ? Status::Unavailable(where_ + ": connection closed by the server")
                 : Status::Unavailable(where_ + ": TLS " + what + ": " + TlsErrorText());
    return false;
  }
  pollfd p{fd_, events, 0};
  if (poll(&p, 1, MillisLeft(deadline)) != 1) {
    *error = Status::Unavailable(where_ + ": TLS " + what + " timed out");
    return false;
  }
  return true;
}

Status RespConnection::StartTls(const TlsClientOptions& tls, const std::string& host,
                                std::chrono::steady_clock::time_point deadline) {
  auto ctx = MakeTlsClientContext(tls);
  if (!ctx.ok()) return ctx.status();
  tls_ctx_ = *ctx;
  SSL* s = SSL_new((*ctx)->native_handle());
  if (s == nullptr) return Status::Internal(where_ + ": SSL_new: " + TlsErrorText());
  ssl_ = s;
  SSL_set_mode(s, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_fd(s, fd_);
  if (Status st = PrepareTlsClient(s, tls, host); !st.ok()) return st;
  for (;;) {
    ERR_clear_error();
    const int r = SSL_connect(s);
    if (r == 1) return Status::Ok();
    Status error;
    if (!TlsRetry(r, deadline, "handshake", &error)) return error;
  }
}

Status RespConnection::WriteAll(const std::string& data,
                                std::chrono::steady_clock::time_point deadline) {
  size_t off = 0;
  while (ssl_ != nullptr && off < data.size()) {
    ERR_clear_error();
    const int n = SSL_write(static_cast<SSL*>(ssl_), data.data() + off,
                            static_cast<int>(std::min<size_t>(data.size() - off, 1 << 30)));
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    Status error;
    if (!TlsRetry(n, deadline, "write", &error)) return error;
  }
  while (off < data.size()) {
    ssize_t n = send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      return Status::Unavailable(where_ + ": send: " + std::strerror(errno));
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, MillisLeft(deadline)) != 1)
      return Status::Unavailable(where_ + ": send timed out");
  }
  return Status::Ok();
}

Status RespConnection::ReadMore(std::chrono::steady_clock::time_point deadline) {
  char buf[16384];
  while (ssl_ != nullptr) {
    ERR_clear_error();
    const int n = SSL_read(static_cast<SSL*>(ssl_), buf, sizeof buf);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      return Status::Ok();
    }
    Status error;
    if (!TlsRetry(n, deadline, "read", &error)) return error;
  }
  for (;;) {
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      return Status::Ok();
    }
    if (n == 0) return Status::Unavailable(where_ + ": connection closed by the server");
    if (errno != EAGAIN && errno != EINTR)
      return Status::Unavailable(where_ + ": recv: " + std::strerror(errno));
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, MillisLeft(deadline)) != 1)
      return Status::Unavailable(where_ + ": reply timed out");
  }
}

Result<std::vector<RespValue>> RespConnection::Run(
    const std::vector<std::vector<std::string_view>>& commands, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  for (const auto& c : commands) net::AppendCommand(&out, c);
  if (Status s = WriteAll(out, deadline); !s.ok()) {
    broken_ = true;
    return s;
  }
  return ReadUntil(commands.size(), deadline);
}

bool RespConnection::Readable(std::chrono::milliseconds timeout) {
  if (!in_.empty()) return true;
  if (ssl_ != nullptr && SSL_pending(static_cast<SSL*>(ssl_)) > 0) return true;
  pollfd p{fd_, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

Result<std::vector<RespValue>> RespConnection::Read(size_t n, std::chrono::milliseconds timeout) {
  return ReadUntil(n, std::chrono::steady_clock::now() + timeout);
}

Result<std::vector<RespValue>> RespConnection::ReadUntil(
    size_t n, std::chrono::steady_clock::time_point deadline) {
  std::vector<RespValue> replies;
  replies.reserve(n);
  net::RespReplyParser parser;
  size_t pos = 0;
  while (replies.size() < n) {
    RespValue v;
    auto r = parser.Parse(std::string_view(in_).substr(pos), &v);
    if (r == net::RespReplyParser::Result::kComplete) {
      pos += parser.consumed();
      replies.push_back(std::move(v));
      continue;
    }
    if (r == net::RespReplyParser::Result::kError) {
      broken_ = true;
      return Status::Unavailable(where_ + ": bad reply: " + parser.error());
    }
    if (Status s = ReadMore(deadline); !s.ok()) {
      broken_ = true;
      return s;
    }
  }
  in_.erase(0, pos);
  return replies;
}

}  // namespace pier::net
