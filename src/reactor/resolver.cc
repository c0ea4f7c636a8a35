#include "reactor/resolver.h"

#include <netdb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

namespace vfax::reactor {

// What the worker threads share with the Resolver. Workers are detached and own a reference:
// a lookup stuck in a slow DNS server never holds up the loop or a shutdown.
struct Resolver::Shared {
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::string> queue;
  bool closed = false;
  int threads = 0;
  int idle = 0;
  EventLoop* loop = nullptr;  // valid while !closed (the Resolver dies before its loop)
  Resolver* owner = nullptr;  // loop thread only
  std::function<std::vector<SockAddr>(const std::string&, std::string*)> lookupFn;
};

namespace {

std::vector<SockAddr> systemLookup(const std::string& host, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    *error = rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc);
    return {};
  }
  std::vector<SockAddr> out;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    SockAddr a;
    std::memcpy(&a.ss, ai->ai_addr, ai->ai_addrlen);
    a.len = static_cast<socklen_t>(ai->ai_addrlen);
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  ::freeaddrinfo(res);
  if (out.empty()) *error = "no IPv4 or IPv6 address";
  return out;
}

}  // namespace

Resolver::Resolver(EventLoop& loop, ResolverOptions options)
    : loop_(loop), options_(std::move(options)), shared_(std::make_shared<Shared>()) {
  shared_->loop = &loop_;
  shared_->owner = this;
  shared_->lookupFn = options_.lookupFn ? options_.lookupFn : systemLookup;
}

Resolver::~Resolver() {
  std::lock_guard l(shared_->m);
  shared_->closed = true;
  shared_->owner = nullptr;
  shared_->queue.clear();
  shared_->cv.notify_all();
}

std::optional<SockAddr> Resolver::lookup(const std::string& host, int port, int family) {
  if (auto a = SockAddr::numeric(host, port)) return a;
  if (host.empty()) return std::nullopt;
  auto [it, inserted] = cache_.try_emplace(host);
  Entry& e = it->second;
  if (inserted || (loop_.nowMs() >= e.expiresMs && !e.pending)) start(host, e);
  if (e.addrs.empty()) return std::nullopt;
  ++stats_.hits;
  SockAddr a = e.addrs.front();
  for (const auto& candidate : e.addrs) {
    if (candidate.ss.ss_family == family) {
      a = candidate;
      break;
    }
  }
  a.setPort(port);
  return a;
}

void Resolver::prefetch(const std::string& host) {
  if (host.empty() || SockAddr::numeric(host, 1)) return;
  lookup(host, 1);
}

void Resolver::invalidate(const std::string& host) {
  auto it = cache_.find(host);
  if (it != cache_.end()) it->second.expiresMs = 0;
}

std::string Resolver::error(const std::string& host) const {
  auto it = cache_.find(host);
  if (it == cache_.end() || (it->second.pending && it->second.error.empty())) {
    return "resolving host name '" + host + "'";
  }
  return "cannot resolve '" + host + "': " + it->second.error;
}

void Resolver::start(const std::string& host, Entry& e) {
  e.pending = true;
  ++stats_.lookups;
  std::lock_guard l(shared_->m);
  shared_->queue.push_back(host);
  if (shared_->idle == 0 && shared_->threads < std::max(1, options_.workers)) {
    ++shared_->threads;
    std::thread(workerMain, shared_).detach();
  }
  shared_->cv.notify_one();
}

void Resolver::finished(const std::string& host, std::vector<SockAddr> addrs, std::string error) {
  Entry& e = cache_[host];
  e.pending = false;
  const bool ok = !addrs.empty();
  if (ok) {
    e.addrs = std::move(addrs);
    e.error.clear();
    e.expiresMs = loop_.nowMs() + options_.ttlMs;
  } else {
    ++stats_.failures;
    // The last good address stays in use: a DNS outage must not cut off a working peer.
    e.error = error;
    e.expiresMs = loop_.nowMs() + options_.negativeTtlMs;
    spdlog::warn("resolver: cannot resolve '{}': {}{}", host, error,
                 e.addrs.empty() ? "" : " (keeping " + e.addrs.front().toString() + ")");
  }
  if (onResolved_) onResolved_(host, ok);
}

void Resolver::workerMain(std::shared_ptr<Shared> shared) {
  std::unique_lock l(shared->m);
  for (;;) {
    ++shared->idle;
    shared->cv.wait(l, [&] { return shared->closed || !shared->queue.empty(); });
    --shared->idle;
    if (shared->closed) break;
    std::string host = std::move(shared->queue.front());
    shared->queue.pop_front();
    auto fn = shared->lookupFn;
    l.unlock();
    std::string error;
    std::vector<SockAddr> addrs = fn(host, &error);
    l.lock();
    if (shared->closed) break;
    std::weak_ptr<Shared> weak = shared;
    shared->loop->post([weak, host = std::move(host), addrs = std::move(addrs),
                        error = std::move(error)]() mutable {
      auto s = weak.lock();
      if (s && s->owner) s->owner->finished(host, std::move(addrs), std::move(error));
    });
  }
  --shared->threads;
}

}  // namespace vfax::reactor
