#include "api/guarded_server.h"

#include <netdb.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <filesystem>
#include <vector>

namespace vfax::api::detail {

namespace {

void addressOf(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  const int r = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len)
                     : getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  if (r != 0) return;
  char host[NI_MAXHOST] = {0};
  char serv[NI_MAXSERV] = {0};
  if (getnameinfo(reinterpret_cast<sockaddr*>(&a), len, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(serv);
  }
}

// A connection's socket (and TLS session) as httplib's Stream, with a read buffer: httplib reads
// request lines a byte at a time.
class ConnectionStream : public httplib::Stream {
 public:
  ConnectionStream(int fd, SSL* ssl, int timeoutMs) : fd_(fd), ssl_(ssl), timeoutMs_(timeoutMs) {}

  bool waitReadable(int ms) const {
    if (off_ < size_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0)) return true;
    return wait(POLLIN, ms);
  }
  bool is_readable() const override { return waitReadable(timeoutMs_); }
  // As httplib's own stream: a peer that has closed is not written to (an event stream learns of
  // a closed client at its next keep-alive comment, not only when the kernel's buffer is full).
  bool is_writable() const override { return wait(POLLOUT, timeoutMs_) && alive(); }

  ssize_t read(char* ptr, size_t size) override {
    if (off_ >= size_) {
      if (!is_readable()) return -1;
      const ssize_t n = fill();
      if (n <= 0) return n;
    }
    const size_t n = std::min(size, size_ - off_);
    std::copy_n(buf_.data() + off_, n, ptr);
    off_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    if (ssl_ != nullptr) {
      const int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, INT_MAX)));
      return n > 0 ? n : -1;
    }
    for (;;) {
      const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    addressOf(fd_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    addressOf(fd_, false, ip, port);
  }
  int socket() const override { return fd_; }

 private:
  bool wait(short events, int ms) const {
    pollfd p{fd_, events, 0};
    for (;;) {
      const int r = ::poll(&p, 1, ms);
      if (r < 0 && errno == EINTR) continue;
      return r > 0 && (p.revents & (events | POLLHUP | POLLERR)) != 0;
    }
  }

  bool alive() const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return true;
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
  }

  ssize_t fill() {
    off_ = size_ = 0;
    if (ssl_ != nullptr) {
      const int n = SSL_read(ssl_, buf_.data(), static_cast<int>(buf_.size()));
      if (n > 0) {
        size_ = static_cast<size_t>(n);
        return n;
      }
      return SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
    }
    for (;;) {
      const ssize_t n = ::recv(fd_, buf_.data(), buf_.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) size_ = static_cast<size_t>(n);
      return n;
    }
  }

  int fd_;
  SSL* ssl_;
  int timeoutMs_;
  std::vector<char> buf_ = std::vector<char>(16 * 1024);
  size_t off_ = 0;
  size_t size_ = 0;
};

std::string opensslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

}  // namespace

GuardedServer::GuardedServer(std::shared_ptr<SSL_CTX> tls, int idleSeconds)
    : tls_(std::move(tls)), idleSeconds_(idleSeconds) {}

void GuardedServer::serve(int fd) {
  // Blocking calls inside OpenSSL end after the idle timeout too.
  timeval tv{idleSeconds_, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int idleMs = idleSeconds_ * 1000;
  if (!tls_) {
    ConnectionStream stream(fd, nullptr, idleMs);
    bool closed = false;
    process_request(stream, true, closed, nullptr);
  } else {
    SSL* ssl = SSL_new(tls_.get());
    if (ssl != nullptr && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
      ConnectionStream stream(fd, ssl, idleMs);
      // Kept alive: up to 100 requests, the next one due within 1 s of an answer (the guard's
      // header deadline then bounds how long its header may take).
      for (int left = 100, waitMs = idleMs; left > 0 && !stopping_; --left, waitMs = 1000) {
        if (!stream.waitReadable(waitMs)) break;
        bool closed = false;
        const bool ok = process_request(stream, left == 1 || stopping_, closed,
                                        [ssl](httplib::Request& r) { r.ssl = ssl; });
        if (!ok || closed) break;
      }
      SSL_shutdown(ssl);
    }
    ERR_clear_error();  // a failed handshake leaves its reason on this thread's queue
    if (ssl != nullptr) SSL_free(ssl);
  }
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

core::Result<std::shared_ptr<SSL_CTX>> makeTlsContext(const std::string& cert,
                                                      const std::string& key) {
  namespace fs = std::filesystem;
  if (cert.empty() || key.empty()) {
    return core::makeError("tls_failed",
                           "TLS needs both [server] tls_cert and tls_key (only one is set)");
  }
  for (const auto& [name, path] : {std::pair{"tls_cert", cert}, std::pair{"tls_key", key}}) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec) || ::access(path.c_str(), R_OK) != 0) {
      return core::makeError(
          "tls_failed", std::string("[server] ") + name + ": " + path + " is not a readable file");
    }
  }
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return core::makeError("tls_failed", "cannot set up TLS (" + opensslError() + ")");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1) {
    return core::makeError("tls_failed", "[server] tls_cert: cannot load a PEM certificate from " +
                                             cert + " (" + opensslError() + ")");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return core::makeError("tls_failed", "[server] tls_key: cannot load a PEM private key from " +
                                             key + ", or it does not match the certificate " +
                                             cert + " (" + opensslError() + ")");
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return core::makeError("tls_failed", "[server] tls_key: " + key +
                                             " does not match the certificate " + cert + " (" +
                                             opensslError() + ")");
  }
  return ctx;
}

}  // namespace vfax::api::detail
