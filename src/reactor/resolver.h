#pragma once
// Host names to addresses without ever blocking the loop thread. lookup() answers at once from
// a cache (numeric addresses need none); a name it does not know yet, or whose entry expired,
// is resolved by getaddrinfo on a worker thread and the answer lands in the cache on the loop
// thread. Expired answers keep being served while a fresh lookup runs (a DNS outage does not cut
// a working peer off); failures are cached briefly and retried.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "reactor/event_loop.h"
#include "reactor/sock_addr.h"

namespace vfax::reactor {

struct ResolverOptions {
  std::int64_t ttlMs = 60'000;         // getaddrinfo tells no TTL: re-resolve this often
  std::int64_t negativeTtlMs = 5'000;  // a failed lookup is retried after this
  int workers = 2;                     // concurrent lookups (a slow DNS server blocks one each)
  /// Tests: replaces getaddrinfo (runs on a worker thread).
  std::function<std::vector<SockAddr>(const std::string& host, std::string* error)> lookupFn;
};

struct ResolverStats {
  std::uint64_t lookups = 0;  // getaddrinfo calls started
  std::uint64_t failures = 0;
  std::uint64_t hits = 0;
};

class Resolver {
 public:
  Resolver(EventLoop& loop, ResolverOptions options = {});
  ~Resolver();  // never waits for a lookup in progress
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // ---- loop thread ----
  /// The address of `host` with `port`, or nullopt while it is being resolved or failed
  /// (error() says which). Never blocks. `family` (AF_INET, AF_INET6) picks an address a socket
  /// of that family can reach when the name has several; AF_UNSPEC takes the first.
  std::optional<SockAddr> lookup(const std::string& host, int port, int family = AF_UNSPEC);
  /// Starts resolving ahead of need (configuration time).
  void prefetch(const std::string& host);
  /// The address stopped answering: resolve again on the next lookup (the old one is still
  /// served meanwhile).
  void invalidate(const std::string& host);
  /// Why `host` has no address yet: "resolving ..." or the resolver's error.
  std::string error(const std::string& host) const;
  /// Called on the loop thread whenever a lookup finished (success or not).
  void setOnResolved(std::function<void(const std::string& host, bool ok)> fn) {
    onResolved_ = std::move(fn);
  }
  const ResolverStats& stats() const { return stats_; }

 private:
  struct Entry {
    std::vector<SockAddr> addrs;
    std::string error;
    std::int64_t expiresMs = 0;
    bool pending = false;
  };
  struct Shared;
  static void workerMain(std::shared_ptr<Shared> shared);

  void start(const std::string& host, Entry& e);
  void finished(const std::string& host, std::vector<SockAddr> addrs, std::string error);

  EventLoop& loop_;
  ResolverOptions options_;
  std::shared_ptr<Shared> shared_;
  std::unordered_map<std::string, Entry> cache_;
  std::function<void(const std::string&, bool)> onResolved_;
  ResolverStats stats_;
};

}  // namespace vfax::reactor
