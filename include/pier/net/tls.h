// File: tls.h
// TLS for every listener and client (OpenSSL through Boost.Asio's ssl::context).
//   auto tls = TlsServerContext::Create({.cert_file = "srv.crt", .key_file = "srv.key"});
//   ListenerOptions lo;  lo.tls = *tls;        // the listener handshakes before the handler
//   (*tls)->Reload();                           // on SIGHUP: new handshakes use the new files
//   auto client = MakeTlsClientContext({.enabled = true, .ca_cert_file = "ca.crt"});
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "pier/base/status.h"
#include "pier/net/tls_options.h"

namespace pier::net {

// The contexts a listener hands to new connections. Thread-safe: Current() may be called from
// any thread while Reload() replaces the contexts; a connection keeps the one it started with.
class TlsServerContext {
 public:
  // Loads and checks every file; errors name the option and the file.
  static Result<std::shared_ptr<TlsServerContext>> Create(TlsServerOptions options);
  // Re-reads the certificates and keys (SIGHUP). On failure the current contexts stay.
  Status Reload();
  // The same with new options (a proxy listener whose tls section changed).
  Status Update(TlsServerOptions options);
  // The context for a new connection (with its SNI and ALPN callbacks). Keep the pointer for
  // the connection's lifetime.
  std::shared_ptr<boost::asio::ssl::context> Current() const;
  struct Built;  // the contexts of one load (tls.cc)

 private:
  explicit TlsServerContext(TlsServerOptions options) : options_(std::move(options)) {}
  TlsServerOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<Built> built_;
};

Result<std::shared_ptr<boost::asio::ssl::context>> MakeTlsClientContext(
    const TlsClientOptions& options);

// Prepares a client-side SSL object for `host` (SNI unless it is an IP address, and the name or
// address the certificate must match when verifying).
Status PrepareTlsClient(void* ssl /* SSL* */, const TlsClientOptions& options,
                        const std::string& host);

// OpenSSL's queued errors as one line ("error:0A000086:SSL routines::certificate verify
// failed"), emptying the queue.
std::string TlsErrorText();

}  // namespace pier::net
