// File: tls_options.h
// What TLS is configured with, apart from OpenSSL (config parsers and option structs include
// this; tls.h builds the contexts).
#pragma once

#include <string>
#include <vector>

namespace pier::net {

// A server's certificate and what it asks of clients. The names follow redis-server's flags
// (tls-cert-file, tls-auth-clients...), so `pier cache` takes them as Redis users know them.
struct TlsServerOptions {
  std::string cert_file;     // PEM chain; empty: TLS is off
  std::string key_file;      // PEM private key
  std::string ca_cert_file;  // CA that signs client certificates (tls-auth-clients yes|optional)
  std::string auth_clients = "no";  // no | yes (a client certificate is required) | optional
  std::string protocols;            // e.g. "TLSv1.2 TLSv1.3" (the default: both)
  std::string ciphers;              // TLSv1.2 cipher list (OpenSSL syntax); empty: OpenSSL's
  std::string ciphersuites;         // TLSv1.3 suites; empty: OpenSSL's
  // More certificates chosen by the name the client asks for (SNI): exact names or "*.suffix".
  struct Sni {
    std::vector<std::string> names;
    std::string cert_file;
    std::string key_file;
  };
  std::vector<Sni> sni;
  // Application protocols offered in ALPN, in preference order ("h2", "http/1.1"); empty: none.
  std::vector<std::string> alpn;
  // What flags or fields these came from, for error messages ("--tls-cert-file").
  std::string what = "tls";
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// What a client checks of a server, and the certificate it shows (mutual TLS).
struct TlsClientOptions {
  bool enabled = false;
  std::string ca_cert_file;  // empty: the system's trust store
  std::string cert_file;     // client certificate, for servers that ask for one
  std::string key_file;
  std::string server_name;  // sent as SNI and verified; empty: the host connected to
  bool verify = true;       // false: accept any certificate (tests, never production)
  std::vector<std::string> alpn;
  std::string what = "tls";
};

}  // namespace pier::net
