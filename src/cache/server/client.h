// File: client.h
// ClientState: what the server knows of one connection (CLIENT LIST fields, protocol, auth).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace pier::cache::server {

// Owned by its connection; CLIENT LIST/KILL read it from other threads under the server's
// client-registry lock, so the fields they read are either atomic or written under that lock.
struct ClientState {
  uint64_t id = 0;
  std::string addr;  // "127.0.0.1:50000"
  std::string laddr;
  std::string name;  // CLIENT SETNAME (under the registry lock)
  int protocol = 2;  // HELLO 3 switches to RESP3
  bool authenticated = false;
  int64_t created_ms = 0;
  std::atomic<int64_t> last_active_ms{0};
  std::atomic<const char*> last_command{"NULL"};  // a command table name
  bool close_after_reply = false;                 // QUIT, protocol errors
  bool drop = false;  // close at once, without the replies of this batch (HTTP-looking input)
  std::function<void()> kill;          // closes the connection from any thread
  std::function<void()> stop_reading;  // shutdown: the reply in flight is sent, then it closes
};

}  // namespace pier::cache::server
