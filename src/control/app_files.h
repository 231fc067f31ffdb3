// The files an app written through the API names (tls_settings.certificates[].certificate and
// .private_key, tls_settings.origin_ca_file), checked the way the data plane will load them but
// without telling an API client anything about a file it could not use: missing, unreadable,
// not a regular file, larger than 1 MiB, not PEM, a key that does not match its certificate all
// give one and the same message (docs/hardening.md, "Certificates through the API"). The edge
// often runs as root, so a distinguishable answer would let the API probe the file system.
// The config file keeps its detailed messages (the operator wrote those paths). Any thread.
#pragma once

#include <string>
#include <vector>

#include "config/model.h"

namespace rampart::control {

// The message of every refused file of a certificate pair / of origin_ca_file.
inline constexpr const char* kUnusableCertificate =
    "the certificate and private key cannot be used: a file is missing or unreadable by the "
    "edge, is not a PEM file, or the key does not match the certificate (the API does not say "
    "which; check the files on the edge)";
inline constexpr const char* kUnusableCaFile =
    "cannot be used: the file is missing or unreadable by the edge, or is not a PEM CA bundle "
    "(the API does not say which; check the file on the edge)";

// Appends one error per unusable certificate pair or CA file of `app` (paths relative to the
// app: "tls_settings.certificates[0]"); true when every file is usable. Reads each file once
// (regular files of at most 1 MiB, opened without blocking), logs the detailed reason.
bool check_app_files(const config::App& app, std::vector<config::ConfigError>* errors);

// Rewrites the config validator's detailed file errors ("cannot read PATH: No such file ...")
// of tls_settings into the messages above (one per certificate pair), for answers to the API.
void make_file_errors_opaque(std::vector<config::ConfigError>* errors);

}  // namespace rampart::control
