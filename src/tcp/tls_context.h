// The TLS side of one app (tls: flexible | full | strict): the OpenSSL contexts that terminate
// the client's TLS (one per configured certificate, picked by the ClientHello's server name) and,
// for full/strict, the context that opens TLS toward the origin. Built once per snapshot by
// build_snapshot() (control thread); immutable afterwards and shared by every worker: SSL_CTX is
// safe to use from several threads once configured.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace rampart::tcp {

// A generated self-signed certificate and its key (EC P-256). Shared between the snapshots that
// keep the same dns.name, so a reload does not change the certificate clients see.
struct SelfSignedCert {
  std::string name;
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  SelfSignedCert() = default;
  SelfSignedCert(const SelfSignedCert&) = delete;
  SelfSignedCert& operator=(const SelfSignedCert&) = delete;
  ~SelfSignedCert();
};

// A self-signed certificate for `name` (CN and subjectAltName; an IP address gets an IP SAN),
// valid from now for `days` days. nullptr and *error when OpenSSL fails.
std::shared_ptr<SelfSignedCert> generate_self_signed(const std::string& name, int days,
                                                     std::string* error);

class TlsContext {
 public:
  static constexpr int kSelfSignedDays = 90;

  // Builds the contexts of `app` (tls != off). `previous` is the same app's context in the
  // snapshot being replaced, or null: its generated certificate is reused while dns.name is the
  // same. Returns null and sets *error when a certificate, key or CA file cannot be loaded;
  // notes (such as "using a self-signed certificate") go to *warnings.
  static std::shared_ptr<const TlsContext> build(const config::App& app, const TlsContext* previous,
                                                 std::string* error,
                                                 std::vector<std::string>* warnings);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  config::TlsMode mode() const { return mode_; }
  bool tls_to_origin() const { return origin_ctx_ != nullptr; }
  // A server-side SSL for an accepted client socket; null when OpenSSL fails.
  SSL* new_client_ssl(int fd) const;
  // A client-side SSL toward the origin (full/strict only); `origin_ip` is the name checked in
  // strict mode when neither origin_server_name nor dns.name is set.
  SSL* new_origin_ssl(int fd, const std::string& origin_ip) const;

  // The certificate presented for a ClientHello naming `server_name`: the first whose SAN (or
  // CN) matches, wildcards included; else the first one.
  size_t select(std::string_view server_name) const;
  size_t certificate_count() const { return server_ctxs_.size(); }
  X509* certificate(size_t i) const { return SSL_CTX_get0_certificate(server_ctxs_[i]); }
  const std::shared_ptr<SelfSignedCert>& self_signed() const { return self_signed_; }

 private:
  TlsContext() = default;
  static int on_servername(SSL* ssl, int* alert, void* arg);
  bool add_server_ctx(const config::App& app, const config::TlsCertificate* files,
                      std::string* error);
  bool build_origin_ctx(const config::App& app, std::string* error);

  config::TlsMode mode_ = config::TlsMode::kOff;
  std::vector<SSL_CTX*> server_ctxs_;
  SSL_CTX* origin_ctx_ = nullptr;
  std::shared_ptr<SelfSignedCert> self_signed_;
  std::string origin_name_;  // SNI toward the origin (and the name strict mode checks)
  bool verify_origin_ = false;
};

// The last OpenSSL error of this thread as text (and clears the queue); `fallback` when none.
std::string openssl_error(const char* fallback);

}  // namespace rampart::tcp
