#include "pier/net/resp_service.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

namespace asio = boost::asio;

namespace pier::net {

void PendingReply::Complete(std::string reply) {
  {
    std::lock_guard l(mu_);
    if (done_) return;
    reply_ = std::move(reply);
    done_ = true;
    on_cancel_ = nullptr;
  }
  // The timer is touched only on its own executor.
  asio::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
}

void PendingReply::Cancel() {
  std::function<void()> hook;
  {
    std::lock_guard l(mu_);
    if (done_) return;
    done_ = true;
    hook = std::move(on_cancel_);
  }
  if (hook) hook();
  asio::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
}

void PendingReply::OnCancel(std::function<void()> fn) {
  std::lock_guard l(mu_);
  if (!done_) on_cancel_ = std::move(fn);
}

bool PendingReply::ready() const {
  std::lock_guard l(mu_);
  return done_;
}

asio::awaitable<void> PendingReply::Wait() {
  for (;;) {
    if (ready()) co_return;
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void RespRouter::Add(RespService* service) {
  services_.push_back(service);
  service->ForEachCommand([&](const RespCommand& c) {
    if (by_name_.count(c.name)) return;  // an earlier service has it
    by_name_.emplace(c.name, Route{service, &c, commands_.size(), services_.size() - 1});
    commands_.push_back(&c);
  });
}

RespRouter::Route RespRouter::Find(std::string_view name) const {
  char buf[32];
  if (name.size() >= sizeof buf) return {};
  for (size_t i = 0; i < name.size(); ++i) {
    const char ch = name[i];
    buf[i] = ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch + ('a' - 'A')) : ch;  // ASCII only
  }
  auto it = by_name_.find(std::string_view(buf, name.size()));
  return it == by_name_.end() ? Route{} : it->second;
}

}  // namespace pier::net
