#include "tcp/tls_context.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "config/file_read.h"
#include "net/ip_addr.h"

namespace rampart::tcp {

namespace {

constexpr long kSslModes =
    SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS;

bool add_ext(X509* x, int nid, const std::string& value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(x, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A socket BIO whose writes never raise SIGPIPE (OpenSSL's own uses write(2)): a peer that
// vanished is an EPIPE error for the session, whatever the process's SIGPIPE disposition.
// Reads, ctrl, create and destroy are the stock socket BIO's.
int nosignal_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::send(static_cast<int>(BIO_get_fd(b, nullptr)), data, static_cast<size_t>(len),
                     MSG_NOSIGNAL);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) BIO_set_retry_write(b);
  return static_cast<int>(n);
}

int nosignal_puts(BIO* b, const char* text) {
  return nosignal_write(b, text, static_cast<int>(std::strlen(text)));
}

const BIO_METHOD* nosignal_socket_method() {
  static const BIO_METHOD* method = [] {
    const BIO_METHOD* base = BIO_s_socket();
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "rampart socket");
    if (m == nullptr) return base;
    BIO_meth_set_write(m, nosignal_write);
    BIO_meth_set_puts(m, nosignal_puts);
    BIO_meth_set_read(m, BIO_meth_get_read(base));
    BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(base));
    BIO_meth_set_create(m, BIO_meth_get_create(base));
    BIO_meth_set_destroy(m, BIO_meth_get_destroy(base));
    return static_cast<const BIO_METHOD*>(m);
  }();
  return method;
}

bool attach_socket(SSL* ssl, int fd) {
  BIO* bio = BIO_new(nosignal_socket_method());
  if (bio == nullptr) return false;
  BIO_set_fd(bio, fd, BIO_NOCLOSE);
  SSL_set_bio(ssl, bio, bio);  // the SSL owns it
  return true;
}

// Settings shared by every context of the app (both legs).
void common_options(SSL_CTX* ctx) {
  SSL_CTX_set_mode(ctx, kSslModes);
  // A peer's TCP FIN without close_notify reads as an orderly end (a half-close), as plain TCP.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
}

}  // namespace

std::string openssl_error(const char* fallback) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return fallback;
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

SelfSignedCert::~SelfSignedCert() {
  X509_free(cert);
  EVP_PKEY_free(key);
}

std::shared_ptr<SelfSignedCert> generate_self_signed(const std::string& name, int days,
                                                     std::string* error) {
  auto out = std::make_shared<SelfSignedCert>();
  out->name = name;
  out->key = EVP_EC_gen("P-256");
  out->cert = X509_new();
  bool ok = out->key != nullptr && out->cert != nullptr;
  X509* x = out->cert;
  if (ok) {
    unsigned char serial[16];
    ok = RAND_bytes(serial, sizeof serial) == 1;
    serial[0] &= 0x7f;  // positive
    BIGNUM* bn = ok ? BN_bin2bn(serial, sizeof serial, nullptr) : nullptr;
    ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != nullptr;
    BN_free(bn);
  }
  if (ok) {
    ok = X509_set_version(x, 2) == 1 && X509_gmtime_adj(X509_getm_notBefore(x), 0) != nullptr &&
         X509_gmtime_adj(X509_getm_notAfter(x), long{days} * 86400) != nullptr &&
         X509_set_pubkey(x, out->key) == 1;
  }
  if (ok) {
    X509_NAME* subject = X509_get_subject_name(x);
    // A CN is at most 64 characters; longer names are in the SAN only.
    std::string cn = name.size() <= 64 ? name : name.substr(0, 64);
    ok = X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                    reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                    0) == 1 &&
         X509_set_issuer_name(x, subject) == 1;
  }
  if (ok) {
    const bool is_ip = net::IpAddr::parse(name).has_value();
    ok = add_ext(x, NID_subject_alt_name, (is_ip ? "IP:" : "DNS:") + name) &&
         add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
         add_ext(x, NID_key_usage, "critical,digitalSignature") &&
         add_ext(x, NID_ext_key_usage, "serverAuth") && X509_sign(x, out->key, EVP_sha256()) > 0;
  }
  if (!ok) {
    *error = "cannot generate a self-signed certificate for " + name + ": " +
             openssl_error("OpenSSL failed");
    return nullptr;
  }
  return out;
}

TlsContext::~TlsContext() {
  for (SSL_CTX* c : server_ctxs_) SSL_CTX_free(c);
  SSL_CTX_free(origin_ctx_);
}

std::shared_ptr<const TlsContext> TlsContext::build(const config::App& app,
                                                    const TlsContext* previous, std::string* error,
                                                    std::vector<std::string>* warnings) {
  std::shared_ptr<TlsContext> t(new TlsContext());
  t->mode_ = app.tls;
  const config::TlsSettings& s = app.tls_settings;
  if (s.certificates.empty()) {
    const std::string name = app.dns.name.empty() ? "localhost" : app.dns.name;
    if (previous != nullptr && previous->self_signed_ && previous->self_signed_->name == name) {
      t->self_signed_ = previous->self_signed_;
    } else {
      t->self_signed_ = generate_self_signed(name, kSelfSignedDays, error);
      if (!t->self_signed_) return nullptr;
      warnings->push_back("app " + app.id + ": no tls_settings.certificates; clients get a " +
                          "self-signed certificate for " + name + " (EC P-256, " +
                          std::to_string(kSelfSignedDays) + " days)");
    }
    if (!t->add_server_ctx(app, nullptr, error)) return nullptr;
  } else {
    for (const auto& files : s.certificates)
      if (!t->add_server_ctx(app, &files, error)) return nullptr;
  }
  if (app.tls == config::TlsMode::kFull || app.tls == config::TlsMode::kStrict) {
    if (!t->build_origin_ctx(app, error)) return nullptr;
  }
  return t;
}

bool TlsContext::add_server_ctx(const config::App& app, const config::TlsCertificate* files,
                                std::string* error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    *error = openssl_error("SSL_CTX_new failed");
    return false;
  }
  server_ctxs_.push_back(ctx);  // freed by the destructor, also on failure below
  common_options(ctx);
  const std::string& minv = app.tls_settings.min_version;
  SSL_CTX_set_min_proto_version(ctx, minv == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  // Sessions resumed on any of the app's certificates must belong to this app.
  std::string sid = app.id.substr(0, SSL_MAX_SID_CTX_LENGTH);
  SSL_CTX_set_session_id_context(ctx, reinterpret_cast<const unsigned char*>(sid.data()),
                                 static_cast<unsigned>(sid.size()));
  SSL_CTX_set_tlsext_servername_callback(ctx, &TlsContext::on_servername);
  SSL_CTX_set_tlsext_servername_arg(ctx, this);
  if (files == nullptr) {
    if (SSL_CTX_use_certificate(ctx, self_signed_->cert) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, self_signed_->key) != 1) {
      *error = openssl_error("cannot use the self-signed certificate");
      return false;
    }
    return true;
  }
  // OpenSSL opens files by name and reads to the end: a FIFO or /dev/zero would stall this
  // (control) thread, so only bounded regular files get that far.
  std::string why;
  for (const auto& [what, path] : {std::pair{"certificate: ", &files->certificate},
                                   std::pair{"private key: ", &files->private_key}}) {
    if (!config::check_regular_file(*path, config::kMaxPemFileBytes, &why)) {
      *error = std::string(what) + why;
      return false;
    }
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, files->certificate.c_str()) != 1) {
    *error = "certificate " + files->certificate + ": " + openssl_error("cannot load");
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files->private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error = "private key " + files->private_key + ": " + openssl_error("cannot load");
    return false;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    *error =
        "private key " + files->private_key + " does not match certificate " + files->certificate;
    ERR_clear_error();
    return false;
  }
  return true;
}

bool TlsContext::build_origin_ctx(const config::App& app, std::string* error) {
  origin_ctx_ = SSL_CTX_new(TLS_client_method());
  if (origin_ctx_ == nullptr) {
    *error = openssl_error("SSL_CTX_new failed");
    return false;
  }
  common_options(origin_ctx_);
  SSL_CTX_set_min_proto_version(origin_ctx_, TLS1_2_VERSION);
  const config::TlsSettings& s = app.tls_settings;
  origin_name_ = !s.origin_server_name.empty() ? s.origin_server_name : app.dns.name;
  verify_origin_ = app.tls == config::TlsMode::kStrict;
  if (!verify_origin_) {
    SSL_CTX_set_verify(origin_ctx_, SSL_VERIFY_NONE, nullptr);
    return true;
  }
  SSL_CTX_set_verify(origin_ctx_, SSL_VERIFY_PEER, nullptr);
  if (std::string why;
      !s.origin_ca_file.empty() &&
      !config::check_regular_file(s.origin_ca_file, config::kMaxPemFileBytes, &why)) {
    *error = "origin_ca_file " + why;
    return false;
  }
  int ok = s.origin_ca_file.empty()
               ? SSL_CTX_set_default_verify_paths(origin_ctx_)
               : SSL_CTX_load_verify_locations(origin_ctx_, s.origin_ca_file.c_str(), nullptr);
  if (ok != 1) {
    *error = "origin_ca_file " + s.origin_ca_file + ": " + openssl_error("cannot load");
    return false;
  }
  return true;
}

SSL* TlsContext::new_client_ssl(int fd) const {
  SSL* ssl = SSL_new(server_ctxs_.front());
  if (ssl == nullptr) return nullptr;
  if (!attach_socket(ssl, fd)) {
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_accept_state(ssl);
  return ssl;
}

SSL* TlsContext::new_origin_ssl(int fd, const std::string& origin_ip) const {
  if (origin_ctx_ == nullptr) return nullptr;
  SSL* ssl = SSL_new(origin_ctx_);
  if (ssl == nullptr) return nullptr;
  bool ok = attach_socket(ssl, fd);
  const std::string& name = origin_name_.empty() ? origin_ip : origin_name_;
  const bool is_ip = net::IpAddr::parse(name).has_value();
  // SNI carries host names only (RFC 6066).
  if (ok && !is_ip) ok = SSL_set_tlsext_host_name(ssl, name.c_str()) == 1;
  if (ok && verify_origin_) {
    ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1
               : SSL_set1_host(ssl, name.c_str()) == 1;
  }
  if (!ok) {
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_connect_state(ssl);
  return ssl;
}

size_t TlsContext::select(std::string_view server_name) const {
  if (server_name.empty() || server_ctxs_.size() < 2) return 0;
  for (size_t i = 0; i < server_ctxs_.size(); ++i) {
    X509* cert = SSL_CTX_get0_certificate(server_ctxs_[i]);
    if (cert != nullptr &&
        X509_check_host(cert, server_name.data(), server_name.size(), 0, nullptr) == 1)
      return i;
  }
  return 0;
}

int TlsContext::on_servername(SSL* ssl, int*, void* arg) {
  const auto* self = static_cast<const TlsContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;
  size_t i = self->select(name);
  if (i != 0) SSL_set_SSL_CTX(ssl, self->server_ctxs_[i]);
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace rampart::tcp
