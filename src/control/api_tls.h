// The API's HTTPS context (api.tls): Mozilla's "intermediate" server profile (TLS 1.2 and 1.3;
// on TLS 1.2 only ECDHE key exchange with AES-GCM or ChaCha20-Poly1305, so every session has
// forward secrecy; no renegotiation, no compression). Built once at start by serve's thread.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace rampart::control {

// TLS 1.2 suites of the profile (OpenSSL names); TLS 1.3's three suites are all forward secret.
inline constexpr const char* kApiTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* kApiTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
inline constexpr const char* kApiTlsGroups = "X25519:P-256:P-384";

// A server context with `certificate` (PEM, chain after the leaf) and `private_key`; null with
// *error when they cannot be loaded or do not match.
std::shared_ptr<SSL_CTX> make_api_tls_context(const std::string& certificate,
                                              const std::string& private_key, std::string* error);

}  // namespace rampart::control
