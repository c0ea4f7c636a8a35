#pragma once
// The API's accept side, in front of httplib. httplib 0.11.4 (Debian 12) gives every accepted
// connection a worker thread at once and keeps it for the connection's life; its timeouts apply
// per read and per write, never to a whole header or body; its task queue has no bound and its
// listen backlog is 5. So a client that sends a header a byte every few seconds holds a worker
// for hours, and a few hundred of them starve /healthz. The guard accepts itself and hands a
// connection to a worker only once it is worth one:
// - open connections are capped in total and per source address (over the cap: 503 and close);
// - plain HTTP: the request's whole header must be in the socket's receive buffer (peeked, never
//   consumed) within the header timeout; until then it holds a file descriptor but no thread;
// - ready connections wait in a bounded queue (full: 503), and a source may hold only so many
//   workers at once, so one address cannot take every worker however it paces its requests;
// - deadlines per phase (header, body, answer), set by the hooks below from the worker thread;
//   a connection past its deadline is shut down (its worker's read or write fails at once).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"

namespace vfax::api {

struct ConnectionLimits {
  int maxConnections = 512;          // open connections in all (waiting, queued and served)
  int maxConnectionsPerSource = 32;  // ... from one source address
  int maxQueued = 64;                // connections with a whole request waiting for a worker
  int workers = 16;                  // threads serving requests
  int maxActivePerSource = 8;        // workers one source address may hold at once
  std::chrono::milliseconds headerTimeout{10'000};     // connect (or last answer) to whole header
  std::chrono::milliseconds requestTimeout{60'000};    // header to end of an API request's body
  std::chrono::milliseconds transferTimeout{600'000};  // an upload's body; writing an answer
  /// Plain HTTP: peek for the whole header before a worker takes the connection, and answer a
  /// refusal with a 503. TLS: neither (the handshake and header run on the worker, under the
  /// header deadline).
  bool plainHttp = true;
};

/// Counters for /metrics and tests.
struct ConnectionStats {
  std::uint64_t open = 0;      // now
  std::uint64_t active = 0;    // now, on a worker
  std::uint64_t refused = 0;   // since start: over a cap or a full queue (503)
  std::uint64_t timedOut = 0;  // since start: closed at a deadline
};

class ConnectionGuard {
 public:
  /// Serves one connection on a worker thread and closes it (httplib's process_and_close_socket).
  using Serve = std::function<void(int fd)>;

  ConnectionGuard(ConnectionLimits limits, Serve serve);
  ~ConnectionGuard();  // stops
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;

  /// Binds and listens on host:port (port 0: a free one); returns the port. Error: bind_failed.
  core::Result<int> bind(const std::string& host, int port);
  /// Starts the accept thread and the workers.
  void start();
  /// Stops accepting, closes waiting connections, gives served ones `grace` to end and then shuts
  /// them down, and joins every thread. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
  int listenFd() const { return listenFd_; }
  ConnectionStats stats() const;

  // Hooks, called on the worker thread serving the request (no-ops elsewhere):
  /// The header is parsed: the body must arrive within the request (or, for an upload, the
  /// transfer) timeout. A `stream` (GET /events) has no deadline and holds no per-source worker.
  static void headerRead(bool upload, bool stream);
  /// The handler runs our code now (a body it reads itself is read): no deadline.
  static void handlerStarted();
  /// The answer is being written: within the transfer timeout.
  static void answerStarted();
  /// The answer is written; a kept-alive connection's next header is due within the header timeout.
  static void answered();

  struct Conn;  // internal (public only for the worker's thread-local pointer)

 private:
  void acceptLoop();
  void workerLoop();
  void acceptAll(std::chrono::steady_clock::time_point now);
  void peek(Conn& c, std::chrono::steady_clock::time_point now,
            std::vector<std::unique_ptr<Conn>>& done);
  void enqueue(std::unique_ptr<Conn> c, std::chrono::steady_clock::time_point now);
  void refuse(int fd, const char* response);
  void release(Conn& c);  // under mutex_: the counts of a closed connection
  void expire(std::chrono::steady_clock::time_point now);
  static void setDeadline(std::chrono::steady_clock::duration d);

  ConnectionLimits limits_;
  Serve serve_;
  int listenFd_ = -1;
  int wakeFd_ = -1;
  std::thread acceptThread_;
  std::vector<std::thread> workers_;
  bool started_ = false;

  mutable std::mutex mutex_;
  std::condition_variable ready_cv_;
  std::condition_variable idle_cv_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Conn>> waiting_;  // accept thread only: header not yet whole
  std::deque<std::unique_ptr<Conn>> ready_;     // whole request, waiting for a worker
  std::set<Conn*> active_;                      // on a worker
  std::map<std::string, int> perSource_;        // open connections by source
  std::map<std::string, int> activePerSource_;  // workers held by source
  ConnectionStats stats_;
};

}  // namespace vfax::api
