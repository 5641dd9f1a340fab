#include "pier/net/tls.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <filesystem>

#include "pier/net/tcp_listener.h"

namespace pier::net {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

// A self-signed certificate for `cn` (its own CA) written as PEM files in `dir`.
struct Cert {
  std::string crt, key;
};

Cert MakeCert(const fs::path& dir, const std::string& name, const std::string& cn, long serial,
              EVP_PKEY* key = nullptr) {
  if (key == nullptr) key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, n);
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* ca = X509V3_EXT_conf_nid(nullptr, &v3, NID_basic_constraints, "critical,CA:TRUE");
  X509_add_ext(x, ca, -1);
  X509_EXTENSION_free(ca);
  X509_sign(x, key, EVP_sha256());
  Cert c{(dir / (name + ".crt")).string(), (dir / (name + ".key")).string()};
  FILE* f = std::fopen(c.crt.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(c.key.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
  return c;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pier-tls-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    server_ = MakeCert(dir_, "server", "pier.test", 1);
    other_ = MakeCert(dir_, "other", "other.test", 7);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Connects to `port` trusting `ca`, asking for `sni`; returns the server certificate's serial
  // and the ALPN protocol, after an echo round trip.
  std::pair<long, std::string> Talk(uint16_t port, const std::string& ca, const std::string& sni) {
    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(ca);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx.native_handle(), alpn, sizeof alpn - 1);
    asio::ssl::stream<asio::ip::tcp::socket> s(io, ctx);
    SSL_set_tlsext_host_name(s.native_handle(), sni.c_str());
    s.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    s.handshake(asio::ssl::stream_base::client);
    asio::write(s, asio::buffer("ping", 4));
    char buf[4];
    asio::read(s, asio::buffer(buf));
    EXPECT_EQ(std::string(buf, 4), "ping");
    X509* peer = SSL_get1_peer_certificate(s.native_handle());
    const long serial = ASN1_INTEGER_get(X509_get_serialNumber(peer));
    X509_free(peer);
    const unsigned char* p = nullptr;
    unsigned n = 0;
    SSL_get0_alpn_selected(s.native_handle(), &p, &n);
    return {serial, std::string(reinterpret_cast<const char*>(p), n)};
  }

  fs::path dir_;
  Cert server_, other_;
};

TEST_F(TlsTest, ErrorsNameTheFile) {
  auto missing = TlsServerContext::Create(
      {.cert_file = (dir_ / "nope.crt").string(), .key_file = server_.key, .what = "--tls"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--tls: cannot load the certificate chain"),
            std::string::npos);
  EXPECT_NE(missing.status().message().find("nope.crt"), std::string::npos);
  auto mismatch = TlsServerContext::Create({.cert_file = server_.crt, .key_file = other_.key});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find(other_.key), std::string::npos);
  auto no_ca = TlsServerContext::Create(
      {.cert_file = server_.crt, .key_file = server_.key, .auth_clients = "yes"});
  ASSERT_FALSE(no_ca.ok());
  EXPECT_NE(no_ca.status().message().find("needs a CA"), std::string::npos);
  auto bad_protocol = TlsServerContext::Create(
      {.cert_file = server_.crt, .key_file = server_.key, .protocols = "SSLv3"});
  ASSERT_FALSE(bad_protocol.ok());
  EXPECT_NE(bad_protocol.status().message().find("unknown protocol 'SSLv3'"), std::string::npos);
}

TEST_F(TlsTest, ListenerHandshakesPicksBySniNegotiatesAlpnAndReloads) {
  auto tls = TlsServerContext::Create({.cert_file = server_.crt,
                                       .key_file = server_.key,
                                       .sni = {{.names = {"*.other.test", "other.test"},
                                                .cert_file = other_.crt,
                                                .key_file = other_.key}},
                                       .alpn = {"h2", "http/1.1"}});
  ASSERT_TRUE(tls.ok()) << tls.status().message();
  IoPool pool(1);
  auto l =
      TcpListener::Bind(pool, {.host = "127.0.0.1", .port = 0, .tls = *tls},
                        [](Connection& c) -> asio::awaitable<void> {
                          char buf[4];
                          boost::system::error_code ec;
                          co_await asio::async_read(c.stream(), asio::buffer(buf),
                                                    asio::redirect_error(asio::use_awaitable, ec));
                          if (ec) co_return;
                          co_await asio::async_write(c.stream(), asio::buffer(buf),
                                                     asio::redirect_error(asio::use_awaitable, ec));
                        });
  ASSERT_TRUE(l.ok());
  (*l)->Start();
  pool.Start();
  const uint16_t port = (*l)->local_endpoint().port();
  EXPECT_EQ(Talk(port, server_.crt, "pier.test"), std::make_pair(1L, std::string("http/1.1")));
  EXPECT_EQ(Talk(port, other_.crt, "a.other.test").first, 7);
  EXPECT_EQ(Talk(port, other_.crt, "other.test").first, 7);
  // A new certificate under the same file names: new handshakes get it after Reload.
  const std::string first = (dir_ / "first.crt").string();
  fs::copy_file(server_.crt, first);
  server_ = MakeCert(dir_, "server", "pier.test", 2);
  EXPECT_EQ(Talk(port, first, "pier.test").first, 1);  // not re-read until asked
  ASSERT_TRUE((*tls)->Reload().ok());
  EXPECT_EQ(Talk(port, server_.crt, "pier.test").first, 2);
  // A broken file leaves the running certificate in place.
  const std::string trusted = (dir_ / "trusted.crt").string();
  fs::copy_file(server_.crt, trusted);
  fs::resize_file(server_.crt, 10);
  EXPECT_FALSE((*tls)->Reload().ok());
  EXPECT_EQ(Talk(port, trusted, "pier.test").first, 2);
  l.value()->Close();
  l.value()->CloseAll();
  pool.Stop(false);
  pool.Join();
}

TEST_F(TlsTest, ClientContextVerifiesNamesAndAddresses) {
  auto ctx = MakeTlsClientContext({.enabled = true, .ca_cert_file = server_.crt});
  ASSERT_TRUE(ctx.ok());
  SSL* ssl = SSL_new((*ctx)->native_handle());
  EXPECT_TRUE(PrepareTlsClient(ssl, {.enabled = true}, "pier.test").ok());
  EXPECT_STREQ(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), "pier.test");
  SSL_free(ssl);
  auto bad = MakeTlsClientContext(
      {.enabled = true, .ca_cert_file = (dir_ / "none.pem").string(), .what = "cluster 'x' tls"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cluster 'x' tls: cannot load the CA certificate"),
            std::string::npos);
}

}  // namespace
}  // namespace pier::net
