#include "tcp/tls_relay.h"

#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace rampart::tcp {

using telemetry::Cause;
using telemetry::EventType;
using telemetry::Side;

TlsRelay::~TlsRelay() {
  SSL_free(client_ssl_);
  SSL_free(origin_ssl_);
}

TlsRelay::Io TlsRelay::ssl_result(SSL* ssl, int ret) {
  switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return Io::kBlocked;
    case SSL_ERROR_ZERO_RETURN:
      return Io::kEof;
    case SSL_ERROR_SYSCALL:
      if (errno == 0 || errno == EAGAIN) return errno == 0 ? Io::kEof : Io::kBlocked;
      last_errno_ = errno;
      ssl_error_ = false;
      ERR_clear_error();
      return Io::kError;
    default:
      last_errno_ = 0;
      ssl_error_ = true;
      return Io::kError;
  }
}

TlsRelay::Step TlsRelay::client_handshake(int client_fd) {
  if (client_ssl_ == nullptr) {
    client_fd_ = client_fd;
    client_ssl_ = ctx_ != nullptr ? ctx_->new_client_ssl(client_fd) : nullptr;
    if (client_ssl_ == nullptr) {
      status_ = ctx_ != nullptr ? telemetry::TlsStatus::kInternalError
                                : telemetry::TlsStatus::kInvalidConfig;
      set_failure({Side::kClient, Cause::kTlsHandshake}, EventType::kTlsError, true, false,
                  ctx_ != nullptr ? openssl_error("cannot create an SSL object")
                                  : "the app's TLS certificates could not be loaded");
      return Step::kFailed;
    }
  }
  ERR_clear_error();
  errno = 0;
  int r = SSL_do_handshake(client_ssl_);
  if (r == 1) {
    status_ = telemetry::TlsStatus::kOk;
    return Step::kDone;
  }
  Io io = ssl_result(client_ssl_, r);
  if (io == Io::kBlocked) return Step::kWait;
  status_ = telemetry::TlsStatus::kHandshakeFailed;
  std::string why = io == Io::kEof ? std::string("client closed during the handshake")
                    : ssl_error_   ? openssl_error("TLS error")
                                   : std::string(std::strerror(last_errno_));
  set_failure({Side::kClient, Cause::kTlsHandshake}, EventType::kTlsError, false, false,
              "client TLS handshake failed: " + why);
  return Step::kFailed;
}

TlsRelay::Step TlsRelay::origin_handshake(int origin_fd, const net::IpAddr& origin_ip) {
  origin_fd_ = origin_fd;
  if (!tls_to_origin()) return Step::kDone;
  if (origin_ssl_ == nullptr) {
    origin_ssl_ = ctx_->new_origin_ssl(origin_fd, origin_ip.to_string());
    if (origin_ssl_ == nullptr) {
      set_failure({Side::kOrigin, Cause::kTlsHandshake}, EventType::kOriginError, false, true,
                  openssl_error("cannot create an SSL object toward the origin"));
      return Step::kFailed;
    }
  }
  ERR_clear_error();
  errno = 0;
  int r = SSL_do_handshake(origin_ssl_);
  if (r == 1) return Step::kDone;
  Io io = ssl_result(origin_ssl_, r);
  if (io == Io::kBlocked) return Step::kWait;
  long verify = SSL_get_verify_result(origin_ssl_);
  if (verify != X509_V_OK) {
    set_failure(
        {Side::kOrigin, Cause::kTlsCertificate}, EventType::kOriginError, false, true,
        std::string("origin certificate rejected: ") + X509_verify_cert_error_string(verify));
    ERR_clear_error();
    return Step::kFailed;
  }
  std::string why = io == Io::kEof ? std::string("origin closed during the handshake")
                    : ssl_error_   ? openssl_error("TLS error")
                                   : std::string(std::strerror(last_errno_));
  set_failure({Side::kOrigin, Cause::kTlsHandshake}, EventType::kOriginError, false, true,
              "origin TLS handshake failed: " + why);
  return Step::kFailed;
}

void TlsRelay::handshake_timed_out() {
  status_ = telemetry::TlsStatus::kHandshakeFailed;
  set_failure({Side::kClient, Cause::kTlsHandshake}, EventType::kTlsError, true, false,
              "client TLS handshake timed out");
}

void TlsRelay::origin_timed_out() {
  set_failure({Side::kOrigin, Cause::kConnectTimeout}, EventType::kOriginError, false, true,
              "origin TLS handshake timed out");
}

void TlsRelay::fail_io(bool client_side, bool writing) {
  const char* who = client_side ? "client" : "origin";
  if (!ssl_error_) {
    fail_socket(client_side, last_errno_, writing,
                std::string(who) + " socket error: " + std::strerror(last_errno_));
    return;
  }
  // A broken record, a bad MAC, an unexpected message: the peer's TLS failed mid-stream. The
  // side that did not fail hears of it as a reset, as with plain TCP.
  set_failure({client_side ? Side::kClient : Side::kOrigin, Cause::kTlsError},
              EventType::kDisconnect, !client_side, client_side,
              std::string(who) + " TLS error: " + openssl_error("TLS error"));
}

TlsRelay::Io TlsRelay::read_side(bool client, char* buf, size_t cap, size_t* n) {
  SSL* ssl = client ? client_ssl_ : origin_ssl_;
  if (ssl != nullptr) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_read_ex(ssl, buf, cap, n);
    return r == 1 ? Io::kOk : ssl_result(ssl, r);
  }
  ssize_t r = ::recv(client ? client_fd_ : origin_fd_, buf, cap, 0);
  if (r > 0) {
    *n = static_cast<size_t>(r);
    return Io::kOk;
  }
  if (r == 0) return Io::kEof;
  if (errno == EAGAIN || errno == EINTR) return Io::kBlocked;
  last_errno_ = errno;
  ssl_error_ = false;
  return Io::kError;
}

TlsRelay::Io TlsRelay::write_side(bool client, const char* buf, size_t len, size_t* n) {
  SSL* ssl = client ? client_ssl_ : origin_ssl_;
  if (ssl != nullptr) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_write_ex(ssl, buf, len, n);
    return r == 1 ? Io::kOk : ssl_result(ssl, r);
  }
  ssize_t r = ::send(client ? client_fd_ : origin_fd_, buf, len, MSG_NOSIGNAL);
  if (r >= 0) {
    *n = static_cast<size_t>(r);
    return Io::kOk;
  }
  if (errno == EAGAIN || errno == EINTR) return Io::kBlocked;
  last_errno_ = errno;
  ssl_error_ = false;
  return Io::kError;
}

TlsRelay::Io TlsRelay::shutdown_side(bool client) {
  SSL* ssl = client ? client_ssl_ : origin_ssl_;
  if (ssl != nullptr) {
    ERR_clear_error();
    errno = 0;
    // 0: our close_notify is sent, the peer's is still to come (the other direction flows on).
    int r = SSL_shutdown(ssl);
    if (r < 0) {
      Io io = ssl_result(ssl, r);
      if (io != Io::kEof) return io;
    }
  }
  ::shutdown(client ? client_fd_ : origin_fd_, SHUT_WR);
  return Io::kOk;
}

bool TlsRelay::move(Direction& d, bool client_to_origin, bool* progress) {
  const bool src = client_to_origin;  // true: the client side
  const bool dst = !client_to_origin;
  for (;;) {
    bool step = false;
    if (d.end > d.start) {
      size_t n = 0;
      Io io = write_side(dst, d.buf.get() + d.start, d.end - d.start, &n);
      if (io == Io::kOk) {
        d.start += n;
        step = n > 0;
      } else if (io != Io::kBlocked) {
        fail_io(dst, true);
        return false;
      }
      if (d.start == d.end) d.start = d.end = 0;
    }
    if (!d.eof && d.end < kBufferSize) {
      size_t n = 0;
      Io io = read_side(src, d.buf.get() + d.end, kBufferSize - d.end, &n);
      if (io == Io::kOk) {
        d.end += n;
        d.bytes += n;
        if (d.total != nullptr) d.total->add(n);
        step = true;
      } else if (io == Io::kEof) {
        d.eof = true;
        step = true;
      } else if (io == Io::kError) {
        fail_io(src, false);
        return false;
      }
    }
    if (!step) break;
    *progress = true;
  }
  if (d.eof && d.end == d.start && !d.shut) {
    Io io = shutdown_side(dst);
    if (io == Io::kOk) {
      d.shut = true;
      *progress = true;
    } else if (io == Io::kError) {
      fail_io(dst, true);
      return false;
    }
  }
  return true;
}

TlsRelay::Step TlsRelay::relay() {
  if (!c2o_.buf) {
    c2o_.buf = std::make_unique<char[]>(kBufferSize);
    o2c_.buf = std::make_unique<char[]>(kBufferSize);
  }
  for (;;) {
    bool progress = false;
    if (!move(c2o_, true, &progress)) return Step::kFailed;
    if (!move(o2c_, false, &progress)) return Step::kFailed;
    if (c2o_.shut && o2c_.shut) return Step::kDone;
    if (!progress) return Step::kWait;
  }
}

void TlsRelay::describe(telemetry::ConnEvent* e) const {
  e->tls = true;
  e->tls_status = status_;
  e->client_bytes = c2o_.bytes;
  e->origin_bytes = o2c_.bytes;
  if (client_ssl_ == nullptr) return;
  if (const char* sni = SSL_get_servername(client_ssl_, TLSEXT_NAMETYPE_host_name))
    telemetry::ConnEvent::copy_text(e->tls_sni, sizeof e->tls_sni, sni);
  if (status_ != telemetry::TlsStatus::kOk) return;
  // Both point into OpenSSL's static tables, valid after this SSL is freed.
  e->tls_protocol = SSL_get_version(client_ssl_);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(client_ssl_))
    e->tls_cipher = SSL_CIPHER_get_name(c);
}

}  // namespace rampart::tcp
