// make_api_tls_context: Mozilla "intermediate" (https://wiki.mozilla.org/Security/Server_Side_TLS)
// without its DHE suites: ECDHE only.
#include "control/api_tls.h"

#include <openssl/err.h>

#include <utility>

#include "config/file_read.h"

namespace rampart::control {
namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

}  // namespace

std::shared_ptr<SSL_CTX> make_api_tls_context(const std::string& certificate,
                                              const std::string& private_key, std::string* error) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) {
    *error = "api.tls: cannot create a TLS context: " + openssl_error();
    return nullptr;
  }
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(c, kApiTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(c, kApiTls13Suites) != 1 ||
      SSL_CTX_set1_groups_list(c, kApiTlsGroups) != 1) {
    *error = "api.tls: cannot set the TLS profile: " + openssl_error();
    return nullptr;
  }
  // OpenSSL 3 refuses client-initiated renegotiation by default; none at all here.
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          SSL_MODE_RELEASE_BUFFERS);
  // OpenSSL reads the files whole by name: only regular files under the PEM cap get that far.
  for (const auto& [field, file] : {std::pair{"api.tls.certificate", &certificate},
                                    std::pair{"api.tls.private_key", &private_key}}) {
    if (std::string why; !config::check_regular_file(*file, config::kMaxPemFileBytes, &why)) {
      *error = std::string(field) + ": cannot read " + *file + ": " + why;
      return nullptr;
    }
  }
  if (SSL_CTX_use_certificate_chain_file(c, certificate.c_str()) != 1) {
    *error =
        "api.tls.certificate: cannot load " + certificate + " (PEM expected): " + openssl_error();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(c, private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error =
        "api.tls.private_key: cannot load " + private_key + " (PEM expected): " + openssl_error();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    *error = "api.tls: the private key does not match the certificate";
    return nullptr;
  }
  return ctx;
}

}  // namespace rampart::control
