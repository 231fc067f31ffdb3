// check_app_files: PEM certificate, key and CA checks with one message per kind of failure.
#include "control/app_files.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "config/app_json.h"
#include "config/file_read.h"
#include "core/log.h"

namespace rampart::control {
namespace {

// A client-supplied path as a JSON string, safe on one log line.
std::string quoted(const std::string& path) {
  return nlohmann::json(path).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

// The file's bytes when it is a non-empty regular file of at most 1 MiB (config/file_read.h:
// what is not a regular file is never opened, so a device node is not touched).
bool read_small_file(const std::string& path, std::string* out) {
  std::string why;
  return config::read_regular_file(path, config::kMaxPemFileBytes, out, &why) && !out->empty();
}

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

Bio bio_of(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
}

// Why a pair is unusable ("" when it is usable), for the edge's own log.
std::string pair_problem(const config::TlsCertificate& c) {
  std::string cert_pem, key_pem;
  if (!read_small_file(c.certificate, &cert_pem)) return "cannot read " + quoted(c.certificate);
  if (!read_small_file(c.private_key, &key_pem)) return "cannot read " + quoted(c.private_key);
  Bio cb = bio_of(cert_pem), kb = bio_of(key_pem);
  X509Ptr cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr), X509_free);
  if (!cert) return quoted(c.certificate) + " is not a PEM certificate";
  // A passphrase callback that refuses: an encrypted key cannot be used unattended.
  KeyPtr key(PEM_read_bio_PrivateKey(
                 kb.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr),
             EVP_PKEY_free);
  if (!key) return quoted(c.private_key) + " is not an unencrypted PEM private key";
  if (X509_check_private_key(cert.get(), key.get()) != 1)
    return quoted(c.private_key) + " does not match " + quoted(c.certificate);
  return "";
}

std::string ca_problem(const std::string& path) {
  std::string pem;
  if (!read_small_file(path, &pem)) return "cannot read " + quoted(path);
  Bio b = bio_of(pem);
  X509Ptr first(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr), X509_free);
  return first ? "" : quoted(path) + " holds no PEM certificate";
}

}  // namespace

bool check_app_files(const config::App& app, std::vector<config::ConfigError>* errors) {
  const size_t before = errors->size();
  const config::TlsSettings& t = app.tls_settings;
  for (size_t i = 0; i < t.certificates.size(); ++i) {
    std::string why = pair_problem(t.certificates[i]);
    ERR_clear_error();
    if (why.empty()) continue;
    RLOG_WARN("API: app ", quoted(app.id), " tls_settings.certificates[", i, "] refused: ", why);
    errors->push_back({"tls_settings.certificates[" + std::to_string(i) + "]", kUnusableCertificate,
                       config::kErrInvalidValue});
  }
  if (!t.origin_ca_file.empty()) {
    std::string why = ca_problem(t.origin_ca_file);
    ERR_clear_error();
    if (!why.empty()) {
      RLOG_WARN("API: app ", quoted(app.id), " tls_settings.origin_ca_file refused: ", why);
      errors->push_back({"tls_settings.origin_ca_file", kUnusableCaFile, config::kErrInvalidValue});
    }
  }
  return errors->size() == before;
}

void make_file_errors_opaque(std::vector<config::ConfigError>* errors) {
  std::vector<config::ConfigError> out;
  for (config::ConfigError e : *errors) {
    const size_t certs = e.path.find("tls_settings.certificates[");
    const size_t ca = e.path.find("tls_settings.origin_ca_file");
    // `unavailable` marks the validator's file errors (missing, unreadable, not a regular file,
    // too large): all of them answer the same.
    if ((certs != std::string::npos || ca != std::string::npos) &&
        (e.unavailable || e.message.rfind("cannot read", 0) == 0)) {
      RLOG_WARN("API: ", nlohmann::json(e.to_string())
                             .dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
      if (certs != std::string::npos) {
        e.path = e.path.substr(0, e.path.find(']', certs) + 1);
        e.message = kUnusableCertificate;
      } else {
        e.message = kUnusableCaFile;
      }
    }
    bool seen = false;
    for (const auto& o : out) seen = seen || (o.path == e.path && o.message == e.message);
    if (!seen) out.push_back(std::move(e));
  }
  *errors = std::move(out);
}

}  // namespace rampart::control
