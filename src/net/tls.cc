#include "pier/net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <strings.h>

#include <boost/asio/ip/address.hpp>
#include <sstream>

namespace ssl = boost::asio::ssl;

namespace pier::net {

std::string TlsErrorText() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

namespace {

Status Fail(const std::string& what, const std::string& message) {
  return Status::InvalidArgument(what + ": " + message + ": " + TlsErrorText());
}

// "TLSv1.2 TLSv1.3" -> the SSL_OP_NO_* options that leave only those enabled.
Result<uint64_t> ProtocolOptions(const std::string& protocols, const std::string& what) {
  if (protocols.empty()) return uint64_t{SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1};
  uint64_t disabled = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_TLSv1_2 | SSL_OP_NO_TLSv1_3;
  std::istringstream in(protocols);
  for (std::string p; in >> p;) {
    if (p == "TLSv1") {
      disabled &= ~uint64_t{SSL_OP_NO_TLSv1};
    } else if (p == "TLSv1.1") {
      disabled &= ~uint64_t{SSL_OP_NO_TLSv1_1};
    } else if (p == "TLSv1.2") {
      disabled &= ~uint64_t{SSL_OP_NO_TLSv1_2};
    } else if (p == "TLSv1.3") {
      disabled &= ~uint64_t{SSL_OP_NO_TLSv1_3};
    } else {
      return Status::InvalidArgument(what + ": unknown protocol '" + p +
                                     "' (use TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)");
    }
  }
  return disabled;
}

// ALPN's wire form: each protocol as a length byte and its name.
Result<std::string> AlpnWire(const std::vector<std::string>& protocols, const std::string& what) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) {
      return Status::InvalidArgument(what + ": bad ALPN protocol name '" + p + "'");
    }
    wire += static_cast<char>(p.size());
    wire += p;
  }
  return wire;
}

bool IsIpAddress(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

// "*.example.com" matches "a.example.com" (one label), exact names match themselves.
bool NameMatches(const std::string& pattern, const std::string& name) {
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    const std::string suffix = pattern.substr(1);
    if (name.size() <= suffix.size()) return false;
    if (strcasecmp(name.c_str() + name.size() - suffix.size(), suffix.c_str()) != 0) return false;
    return name.find('.') == name.size() - suffix.size();
  }
  return strcasecmp(pattern.c_str(), name.c_str()) == 0;
}

}  // namespace

struct TlsServerContext::Built {
  std::unique_ptr<ssl::context> main;
  std::vector<std::pair<std::vector<std::string>, std::unique_ptr<ssl::context>>> sni;
  std::string alpn;  // wire form

  static int OnServerName(SSL* s, int* /*alert*/, void* arg) {
    const auto* b = static_cast<const Built*>(arg);
    const char* name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
    if (name == nullptr) return SSL_TLSEXT_ERR_OK;  // the default certificate
    for (const auto& [names, ctx] : b->sni) {
      for (const auto& n : names) {
        if (NameMatches(n, name)) {
          SSL_set_SSL_CTX(s, ctx->native_handle());
          return SSL_TLSEXT_ERR_OK;
        }
      }
    }
    return SSL_TLSEXT_ERR_OK;
  }

  static int OnAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                    unsigned int inlen, void* arg) {
    const auto* b = static_cast<const Built*>(arg);
    unsigned char* selected = nullptr;
    // The server's preference order wins.
    if (SSL_select_next_proto(
            &selected, outlen, reinterpret_cast<const unsigned char*>(b->alpn.data()),
            static_cast<unsigned>(b->alpn.size()), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
      return SSL_TLSEXT_ERR_NOACK;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
};

namespace {

// One context with a certificate and the options every context of a listener shares.
Result<std::unique_ptr<ssl::context>> ServerContext(const TlsServerOptions& o,
                                                    const std::string& cert,
                                                    const std::string& key) {
  const std::string& what = o.what;
  if (cert.empty() || key.empty()) {
    return Status::InvalidArgument(what + ": give both a certificate and a key file");
  }
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* c = ctx->native_handle();
  auto disabled = ProtocolOptions(o.protocols, what + " protocols");
  if (!disabled.ok()) return disabled.status();
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | *disabled);
  if (SSL_CTX_use_certificate_chain_file(c, cert.c_str()) != 1) {
    return Fail(what, "cannot load the certificate chain " + cert);
  }
  if (SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Fail(what, "cannot load the private key " + key);
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return Fail(what, "the private key " + key + " does not match the certificate " + cert);
  }
  if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(c, o.ciphers.c_str()) != 1) {
    return Fail(what, "no usable cipher in '" + o.ciphers + "'");
  }
  if (!o.ciphersuites.empty() && SSL_CTX_set_ciphersuites(c, o.ciphersuites.c_str()) != 1) {
    return Fail(what, "no usable TLSv1.3 cipher suite in '" + o.ciphersuites + "'");
  }
  static const unsigned char kSessionContext[] = "pier";
  SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);
  // Resumption by stateless tickets only: OpenSSL's per-context session cache takes a lock and a
  // hash insert per handshake and a full sweep every 255, for clients that mostly never resume.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(c, 1);
  if (o.auth_clients == "no") {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  } else if (o.auth_clients == "yes" || o.auth_clients == "optional") {
    if (o.ca_cert_file.empty()) {
      return Status::InvalidArgument(what + ": auth-clients " + o.auth_clients +
                                     " needs a CA certificate file to check clients against");
    }
    if (SSL_CTX_load_verify_locations(c, o.ca_cert_file.c_str(), nullptr) != 1) {
      return Fail(what, "cannot load the CA certificate " + o.ca_cert_file);
    }
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.ca_cert_file.c_str())) {
      SSL_CTX_set_client_CA_list(c, names);
    }
    SSL_CTX_set_verify(c,
                       o.auth_clients == "yes" ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                               : SSL_VERIFY_PEER,
                       nullptr);
  } else {
    return Status::InvalidArgument(what + ": auth-clients must be yes, no or optional, got '" +
                                   o.auth_clients + "'");
  }
  return ctx;
}

Result<std::shared_ptr<TlsServerContext::Built>> Build(const TlsServerOptions& o) {
  auto b = std::make_shared<TlsServerContext::Built>();
  auto main = ServerContext(o, o.cert_file, o.key_file);
  if (!main.ok()) return main.status();
  b->main = std::move(*main);
  for (const auto& s : o.sni) {
    if (s.names.empty()) return Status::InvalidArgument(o.what + ": an SNI entry has no names");
    auto ctx = ServerContext(o, s.cert_file, s.key_file);
    if (!ctx.ok()) return ctx.status();
    b->sni.emplace_back(s.names, std::move(*ctx));
  }
  auto alpn = AlpnWire(o.alpn, o.what + " alpn");
  if (!alpn.ok()) return alpn.status();
  b->alpn = *alpn;
  auto attach = [&](ssl::context& ctx) {
    if (!b->alpn.empty()) {
      SSL_CTX_set_alpn_select_cb(ctx.native_handle(), &TlsServerContext::Built::OnAlpn, b.get());
    }
  };
  attach(*b->main);
  for (auto& [_, ctx] : b->sni) attach(*ctx);
  if (!b->sni.empty()) {
    SSL_CTX_set_tlsext_servername_callback(b->main->native_handle(),
                                           &TlsServerContext::Built::OnServerName);
    SSL_CTX_set_tlsext_servername_arg(b->main->native_handle(), b.get());
  }
  return b;
}

}  // namespace

Result<std::shared_ptr<TlsServerContext>> TlsServerContext::Create(TlsServerOptions options) {
  auto built = Build(options);
  if (!built.ok()) return built.status();
  std::shared_ptr<TlsServerContext> t(new TlsServerContext(std::move(options)));
  t->built_ = std::move(*built);
  return t;
}

Status TlsServerContext::Reload() {
  TlsServerOptions o;
  {
    std::lock_guard lock(mu_);
    o = options_;
  }
  return Update(std::move(o));
}

Status TlsServerContext::Update(TlsServerOptions options) {
  auto built = Build(options);
  if (!built.ok()) return built.status();
  std::lock_guard lock(mu_);
  built_ = std::move(*built);
  options_ = std::move(options);
  return Status::Ok();
}

std::shared_ptr<ssl::context> TlsServerContext::Current() const {
  std::lock_guard lock(mu_);
  // Shares ownership of the whole load: the SNI and ALPN callbacks read it during handshakes.
  return std::shared_ptr<ssl::context>(built_, built_->main.get());
}

Result<std::shared_ptr<ssl::context>> MakeTlsClientContext(const TlsClientOptions& o) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* c = ctx->native_handle();
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
  if (o.verify) {
    const int ok = o.ca_cert_file.empty()
                       ? SSL_CTX_set_default_verify_paths(c)
                       : SSL_CTX_load_verify_locations(c, o.ca_cert_file.c_str(), nullptr);
    if (ok != 1) return Fail(o.what, "cannot load the CA certificate " + o.ca_cert_file);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  }
  if (!o.cert_file.empty() || !o.key_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(c, o.cert_file.c_str()) != 1) {
      return Fail(o.what, "cannot load the client certificate " + o.cert_file);
    }
    if (SSL_CTX_use_PrivateKey_file(c, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return Fail(o.what, "cannot load the client key " + o.key_file);
    }
    if (SSL_CTX_check_private_key(c) != 1) {
      return Fail(o.what, "the client key does not match its certificate");
    }
  }
  auto alpn = AlpnWire(o.alpn, o.what + " alpn");
  if (!alpn.ok()) return alpn.status();
  if (!alpn->empty() &&
      SSL_CTX_set_alpn_protos(c, reinterpret_cast<const unsigned char*>(alpn->data()),
                              static_cast<unsigned>(alpn->size())) != 0) {
    return Fail(o.what, "cannot set ALPN");
  }
  return ctx;
}

Status PrepareTlsClient(void* handle, const TlsClientOptions& o, const std::string& host) {
  SSL* s = static_cast<SSL*>(handle);
  const std::string& name = o.server_name.empty() ? host : o.server_name;
  if (IsIpAddress(name)) {
    if (o.verify && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), name.c_str()) != 1) {
      return Fail(o.what, "cannot verify against address " + name);
    }
    return Status::Ok();
  }
  if (SSL_set_tlsext_host_name(s, name.c_str()) != 1) return Fail(o.what, "bad server name");
  if (o.verify && SSL_set1_host(s, name.c_str()) != 1) {
    return Fail(o.what, "cannot verify against name " + name);
  }
  return Status::Ok();
}

}  // namespace pier::net
