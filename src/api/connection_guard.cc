#include "api/connection_guard.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace vfax::api {

using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kNever = Clock::time_point::max();
// A request line and headers larger than this are refused (httplib's own limit is 8 KiB a line).
constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr int kBacklog = 511;

const char kBusy[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: "
    "1\r\nConnection: close\r\nContent-Length: 79\r\n\r\n"
    "{\"error\":{\"code\":\"busy\",\"message\":\"too many connections, try again shortly\"}}\n";
const char kHeaderTooLarge[] =
    "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/json\r\n"
    "Connection: close\r\nContent-Length: 87\r\n\r\n"
    "{\"error\":{\"code\":\"header_too_large\",\"message\":\"the request header is too large\"}}\n";

std::string sourceOf(const sockaddr_storage& a) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (a.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, text, sizeof text);
  } else if (a.ss_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6&>(a);
    if (IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr)) {
      inet_ntop(AF_INET, &a6.sin6_addr.s6_addr[12], text, sizeof text);
    } else {
      inet_ntop(AF_INET6, &a6.sin6_addr, text, sizeof text);
    }
  }
  return text;
}

void setLowat(int fd, int bytes) { setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes); }

}  // namespace

struct ConnectionGuard::Conn {
  ConnectionGuard* guard = nullptr;
  int fd = -1;
  int watchFd =
      -1;  // a dup of fd while served: shut down at a deadline even after httplib closed fd
  std::string source;
  Clock::time_point deadline = kNever;
  bool stream = false;  // GET /events: no deadline, no per-source worker
  bool killed = false;
};

namespace {
thread_local ConnectionGuard::Conn* current = nullptr;
}  // namespace

ConnectionGuard::ConnectionGuard(ConnectionLimits limits, Serve serve)
    : limits_(limits), serve_(std::move(serve)) {}

ConnectionGuard::~ConnectionGuard() {
  stop();
  if (listenFd_ >= 0) ::close(listenFd_);
  if (wakeFd_ >= 0) ::close(wakeFd_);
}

core::Result<int> ConnectionGuard::bind(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int e = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); e != 0) {
    return core::makeError(
        "bind_failed", "cannot listen on " + host + ":" + service + " (" + gai_strerror(e) + ")");
  }
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, kBacklog) == 0) {
      listenFd_ = fd;
      break;
    }
    why = std::strerror(errno);
    ::close(fd);
  }
  freeaddrinfo(found);
  if (listenFd_ < 0) {
    return core::makeError("bind_failed", "cannot listen on " + host + ":" + service + " (" + why +
                                              "; in use, or not an address of this host)");
  }
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  getsockname(listenFd_, reinterpret_cast<sockaddr*>(&local), &len);
  return ntohs(local.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(local).sin6_port
                                           : reinterpret_cast<sockaddr_in&>(local).sin_port);
}

void ConnectionGuard::start() {
  if (started_) return;
  started_ = true;
  wakeFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  acceptThread_ = std::thread([this] { acceptLoop(); });
  for (int i = 0; i < limits_.workers; ++i) workers_.emplace_back([this] { workerLoop(); });
}

void ConnectionGuard::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mutex_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wakeFd_, &one, sizeof one);
  ready_cv_.notify_all();
  if (acceptThread_.joinable()) acceptThread_.join();
  {
    std::unique_lock lock(mutex_);
    for (auto& c : ready_) {
      ::close(c->fd);
      release(*c);
    }
    ready_.clear();
    if (!idle_cv_.wait_for(lock, grace, [this] { return active_.empty(); })) {
      for (Conn* c : active_) ::shutdown(c->watchFd, SHUT_RDWR);
    }
  }
  for (auto& t : workers_) t.join();
  workers_.clear();
}

ConnectionStats ConnectionGuard::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void ConnectionGuard::release(Conn& c) {
  if (--perSource_[c.source] <= 0) perSource_.erase(c.source);
  --stats_.open;
}

void ConnectionGuard::refuse(int fd, const char* response) {
  // Best effort: a client that sent its request already may see a reset instead.
  if (limits_.plainHttp) {
    [[maybe_unused]] auto n =
        ::send(fd, response, std::strlen(response), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  ::close(fd);
}

void ConnectionGuard::acceptLoop() {
  std::vector<pollfd> fds;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    fds.clear();
    fds.push_back({listenFd_, POLLIN, 0});
    fds.push_back({wakeFd_, POLLIN, 0});
    for (auto& c : waiting_) fds.push_back({c->fd, POLLIN | POLLRDHUP, 0});
    ::poll(fds.data(), fds.size(), 200);
    const auto now = Clock::now();
    // Waiting connections first: their indexes in fds are those of waiting_ before accepting.
    std::vector<std::unique_ptr<Conn>> done;
    for (std::size_t i = 0; i < waiting_.size(); ++i) {
      if (fds[i + 2].revents != 0) peek(*waiting_[i], now, done);
    }
    // peek() moved the finished ones out (null left behind).
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), nullptr), waiting_.end());
    for (auto& c : done) {
      if (c) enqueue(std::move(c), now);
    }
    if (fds[0].revents & POLLIN) acceptAll(now);
    expire(now);
  }
  for (auto& c : waiting_) ::close(c->fd);
  std::lock_guard lock(mutex_);
  for (auto& c : waiting_) release(*c);
  waiting_.clear();
}

void ConnectionGuard::acceptAll(Clock::time_point now) {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const int fd = ::accept4(listenFd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE)
        spdlog::warn("api: out of file descriptors; a connection waits in the backlog");
      return;
    }
    auto c = std::make_unique<Conn>();
    c->guard = this;
    c->fd = fd;
    c->source = sourceOf(peer);
    {
      std::lock_guard lock(mutex_);
      if (stats_.open >= static_cast<std::uint64_t>(limits_.maxConnections) ||
          perSource_[c->source] >= limits_.maxConnectionsPerSource) {
        if (perSource_[c->source] == 0) perSource_.erase(c->source);
        ++stats_.refused;
        spdlog::debug("api: refused a connection from {} (connection limit)", c->source);
        refuse(fd, kBusy);
        continue;
      }
      ++perSource_[c->source];
      ++stats_.open;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->deadline = now + limits_.headerTimeout;
    if (limits_.plainHttp) {
      waiting_.push_back(std::move(c));
    } else {
      enqueue(std::move(c), now);
    }
  }
}

void ConnectionGuard::peek(Conn& c, Clock::time_point, std::vector<std::unique_ptr<Conn>>& done) {
  char buf[kMaxHeaderBytes];
  const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
  auto finish = [&](const char* response) {
    auto it = std::find_if(waiting_.begin(), waiting_.end(),
                           [&](const auto& p) { return p.get() == &c; });
    std::unique_ptr<Conn> owned = std::move(*it);
    if (response == nullptr) {
      setLowat(c.fd, 1);  // httplib reads with select(): it must wake for any byte
      done.push_back(std::move(owned));
      return;
    }
    if (*response) {
      refuse(c.fd, response);
    } else {
      ::close(c.fd);
    }
    std::lock_guard lock(mutex_);
    release(c);
  };
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    return finish("");  // closed or broken before a whole header
  }
  if (n < 0) return;
  const std::string_view seen(buf, static_cast<std::size_t>(n));
  if (seen.find("\r\n\r\n") != std::string_view::npos ||
      seen.find("\n\n") != std::string_view::npos) {
    return finish(nullptr);
  }
  if (static_cast<std::size_t>(n) >= sizeof buf) return finish(kHeaderTooLarge);
  // poll() wakes again only when more than what is already there has arrived.
  setLowat(c.fd, static_cast<int>(n) + 1);
}

void ConnectionGuard::enqueue(std::unique_ptr<Conn> c, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (stopping_ || ready_.size() >= static_cast<std::size_t>(limits_.maxQueued)) {
    ++stats_.refused;
    spdlog::debug("api: refused a request from {} (queue full)", c->source);
    refuse(c->fd, kBusy);
    release(*c);
    return;
  }
  // Plain HTTP: the request is whole; it may wait this long for a worker. TLS: the header
  // deadline from the accept stays.
  if (limits_.plainHttp) c->deadline = now + limits_.requestTimeout;
  ready_.push_back(std::move(c));
  ready_cv_.notify_one();
}

void ConnectionGuard::expire(Clock::time_point now) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if ((*it)->deadline > now) {
      ++it;
      continue;
    }
    spdlog::debug("api: closed a connection from {} (no whole request header in time)",
                  (*it)->source);
    ::close((*it)->fd);
    std::lock_guard lock(mutex_);
    release(**it);
    ++stats_.timedOut;
    it = waiting_.erase(it);
  }
  std::lock_guard lock(mutex_);
  for (auto it = ready_.begin(); it != ready_.end();) {
    if ((*it)->deadline > now) {
      ++it;
      continue;
    }
    ++stats_.timedOut;
    refuse((*it)->fd, kBusy);
    release(**it);
    it = ready_.erase(it);
  }
  for (Conn* c : active_) {
    if (c->killed || c->deadline > now) continue;
    spdlog::debug("api: shut down a connection from {} (past its deadline)", c->source);
    c->killed = true;
    ++stats_.timedOut;
    ::shutdown(c->watchFd, SHUT_RDWR);
  }
}

void ConnectionGuard::workerLoop() {
  for (;;) {
    std::unique_ptr<Conn> c;
    {
      std::unique_lock lock(mutex_);
      auto eligible = [this] {
        return std::find_if(ready_.begin(), ready_.end(), [this](const auto& r) {
          auto it = activePerSource_.find(r->source);
          return it == activePerSource_.end() || it->second < limits_.maxActivePerSource;
        });
      };
      ready_cv_.wait(lock, [&] { return stopping_ || eligible() != ready_.end(); });
      if (stopping_) return;
      auto it = eligible();
      c = std::move(*it);
      ready_.erase(it);
      ++activePerSource_[c->source];
      ++stats_.active;
      c->watchFd = ::dup(c->fd);
      // Plain HTTP: the header is there, httplib reads it at once. TLS: the handshake and header
      // are read by httplib, and the accept's deadline stays.
      if (limits_.plainHttp) c->deadline = Clock::now() + limits_.headerTimeout;
      active_.insert(c.get());
    }
    current = c.get();
    serve_(c->fd);  // closes fd
    current = nullptr;
    {
      std::lock_guard lock(mutex_);
      active_.erase(c.get());
      if (!c->stream && --activePerSource_[c->source] <= 0) activePerSource_.erase(c->source);
      --stats_.active;
      release(*c);
      if (c->watchFd >= 0) ::close(c->watchFd);
    }
    ready_cv_.notify_all();  // a source under its worker cap again may have a request queued
    idle_cv_.notify_all();
  }
}

void ConnectionGuard::setDeadline(Clock::duration d) {
  Conn* c = current;
  if (c == nullptr) return;
  std::lock_guard lock(c->guard->mutex_);
  c->deadline = d == Clock::duration::max() ? kNever : Clock::now() + d;
}

void ConnectionGuard::headerRead(bool upload, bool stream) {
  Conn* c = current;
  if (c == nullptr) return;
  if (stream && !c->stream) {
    {
      std::lock_guard lock(c->guard->mutex_);
      c->stream = true;
      if (--c->guard->activePerSource_[c->source] <= 0) c->guard->activePerSource_.erase(c->source);
    }
    c->guard->ready_cv_.notify_all();
  }
  const auto& l = c->guard->limits_;
  setDeadline(c->stream ? Clock::duration::max()
                        : Clock::duration(upload ? l.transferTimeout : l.requestTimeout));
}

void ConnectionGuard::handlerStarted() { setDeadline(Clock::duration::max()); }

void ConnectionGuard::answerStarted() {
  Conn* c = current;
  if (c == nullptr) return;
  setDeadline(c->stream ? Clock::duration::max()
                        : Clock::duration(c->guard->limits_.transferTimeout));
}

void ConnectionGuard::answered() {
  Conn* c = current;
  if (c == nullptr) return;
  // httplib waits up to its keep-alive timeout (1 s) for the next request, then reads its header.
  setDeadline(Clock::duration(c->guard->limits_.headerTimeout) + std::chrono::seconds(1));
}

}  // namespace vfax::api
