#pragma once
// httplib's Server with vfax's own connection handling: ConnectionGuard (connection_guard.h)
// accepts, and a worker calls serve() with the socket. httplib still parses and routes every
// request (its protected process_request()); the socket and TLS are ours, since the Debian
// library keeps process_and_close_socket() private and its SSLServer does the TLS handshake
// with no deadline of its own.
#include <openssl/ssl.h>

#include <atomic>
#include <memory>
#include <string>

#include <httplib.h>

#include "core/result.h"

namespace vfax::api::detail {

class GuardedServer : public httplib::Server {
 public:
  /// `tls`: null for plain HTTP (one request per connection), else the context to accept with
  /// (kept-alive connections, up to 100 requests each). `idleSeconds`: no byte read or written for
  /// this long ends the connection.
  GuardedServer(std::shared_ptr<SSL_CTX> tls, int idleSeconds);

  /// Serves the connection on `fd` (blocking) and closes it.
  void serve(int fd);
  /// httplib streams an answer's content provider only while its listening socket is set (it
  /// takes an unset one for "shutting down"): the guard's, for as long as it serves.
  void running(int listenFd) { svr_sock_ = listenFd; }
  /// Kept-alive connections end after their current request, streamed answers stop.
  void stopping() {
    stopping_ = true;
    svr_sock_ = -1;
  }
  bool tls() const { return tls_ != nullptr; }

 private:
  std::shared_ptr<SSL_CTX> tls_;
  int idleSeconds_;
  std::atomic<bool> stopping_{false};
};

/// A server context for the API: TLS 1.2 or newer, the PEM certificate chain and private key.
/// Error `tls_failed` names the config key, the file and OpenSSL's reason.
core::Result<std::shared_ptr<SSL_CTX>> makeTlsContext(const std::string& certFile,
                                                      const std::string& keyFile);

}  // namespace vfax::api::detail
