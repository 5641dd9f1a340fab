// TLS record boundaries on the RESP path. A client and a server (OpenSSL, a certificate made at
// start-up) shake hands in memory; then, with the first byte even, the client sends the rest of
// the input as application data, its TLS records are delivered to the server one byte at a time,
// and what the server decrypts is parsed as RESP before AUTH as it arrives: it must equal the
// input and parse as the input parses whole. With the first byte odd, the rest is handed to a
// fresh server as raw TLS bytes, one at a time (a malformed ClientHello or record).
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "resp_split.h"

namespace {

SSL_CTX* ServerContext() {
  static SSL_CTX* ctx = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_server_method());
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("pier-fuzz"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    SSL_CTX_use_certificate(c, cert);
    SSL_CTX_use_PrivateKey(c, key);
    return c;
  }();
  return ctx;
}

SSL_CTX* ClientContext() {
  static SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  return ctx;
}

// An SSL object reading from `in` and writing to `out` (memory BIOs it owns).
struct Endpoint {
  explicit Endpoint(SSL_CTX* ctx, bool server) : ssl(SSL_new(ctx)) {
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);
    server ? SSL_set_accept_state(ssl) : SSL_set_connect_state(ssl);
  }
  ~Endpoint() { SSL_free(ssl); }
  std::string Drain() {
    std::string bytes;
    char buf[4096];
    int n;
    while ((n = BIO_read(out, buf, sizeof buf)) > 0) bytes.append(buf, static_cast<size_t>(n));
    return bytes;
  }
  SSL* ssl;
  BIO* in;
  BIO* out;
};

bool Handshake(Endpoint& client, Endpoint& server) {
  for (int round = 0; round < 10; ++round) {
    const int c = SSL_do_handshake(client.ssl);
    std::string to_server = client.Drain();
    BIO_write(server.in, to_server.data(), static_cast<int>(to_server.size()));
    const int s = SSL_do_handshake(server.ssl);
    std::string to_client = server.Drain();
    BIO_write(client.in, to_client.data(), static_cast<int>(to_client.size()));
    if (c == 1 && s == 1) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    Endpoint server(ServerContext(), true);
    for (char byte : payload) {
      BIO_write(server.in, &byte, 1);
      if (SSL_do_handshake(server.ssl) <= 0 &&
          SSL_get_error(server.ssl, -1) != SSL_ERROR_WANT_READ) {
        break;  // refused, as it should be
      }
    }
    ERR_clear_error();
    return 0;
  }
  Endpoint client(ClientContext(), false), server(ServerContext(), true);
  if (!Handshake(client, server)) __builtin_trap();
  if (!payload.empty() &&
      SSL_write(client.ssl, payload.data(), static_cast<int>(payload.size())) <= 0) {
    __builtin_trap();
  }
  const std::string wire = client.Drain();
  std::string plain;
  char buf[4096];
  for (char byte : wire) {  // every record boundary, and every byte inside a record
    BIO_write(server.in, &byte, 1);
    int n;
    while ((n = SSL_read(server.ssl, buf, sizeof buf)) > 0)
      plain.append(buf, static_cast<size_t>(n));
  }
  if (plain != payload) __builtin_trap();
  pier::fuzz::CheckSplitsAgree(plain, /*authenticated=*/false);
  ERR_clear_error();
  return 0;
}
