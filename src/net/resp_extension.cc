#include "pier/net/resp_extension.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace pier::net {

void PendingReply::Complete(std::string reply) {
  {
    std::lock_guard l(mu_);
    reply_ = std::move(reply);
    done_ = true;
  }
  // The timer is touched only on its own executor.
  asio::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
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

}  // namespace pier::net
