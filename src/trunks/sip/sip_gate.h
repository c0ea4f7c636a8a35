#pragma once
// SourceGate: bounded per-source bookkeeping for the SIP trunk's front door. Answers to sources
// we do not know (403 to an INVITE) are rate limited per source and in all, and sources whose
// digests keep failing are ignored for a while. A "source" is an IPv4 address, or the /64 of an
// IPv6 address (one host owns a whole /64: counting its addresses one by one would give it 2^64
// fresh budgets); an IPv4-mapped IPv6 address counts as its IPv4 address.
// Memory is bounded: at most kMaxSources entries. When full, idle entries are forgotten first,
// then the least recently seen half of the sources that are not blocked; a blocked source is
// forgotten only when every entry is blocked (a flood of spoofed addresses can neither grow the
// table nor wash a blocked source out of it). The cost is amortized O(1) per packet.
// Not thread-safe (the SIP thread only).
#include <cstdint>
#include <string>
#include <unordered_map>

namespace vfax::trunks::sip {

class SourceGate {
 public:
  static constexpr std::size_t kMaxSources = 4096;
  static constexpr int kFailuresBeforeBlock = 5;     // failed digests within the window
  static constexpr std::int64_t kWindowMs = 60'000;  // failure counting window
  static constexpr std::int64_t kBlockMs = 300'000;  // how long a failing source is ignored
  static constexpr int kAnswersPerSecondPerSource = 2;
  static constexpr int kAnswersPerSecond = 50;  // to unknown sources, all together

  /// True while `host` is ignored (too many failed digests).
  bool blocked(const std::string& host, std::int64_t nowMs) const;
  /// Counts a failed authentication of `host`.
  void recordFailure(const std::string& host, std::int64_t nowMs);
  /// True when we may answer `host` now (rate limits); counts the answer.
  bool mayAnswer(const std::string& host, std::int64_t nowMs);
  std::size_t size() const { return sources_.size(); }

  /// The key `host` (a numeric address) is counted under: IPv4 as is, IPv6 as its /64
  /// ("2001:db8:1:2::/64"), IPv4-mapped IPv6 as the IPv4 address; anything else as given.
  static std::string sourceKey(const std::string& host);

 private:
  struct Entry {
    std::int64_t lastSeenMs = 0;
    std::int64_t windowStartMs = 0;
    int failures = 0;
    std::int64_t blockedUntilMs = 0;
    std::int64_t answerSecond = 0;
    int answers = 0;
  };
  Entry& entry(const std::string& key, std::int64_t nowMs);
  void prune(std::int64_t nowMs);
  void forgetOlderHalf(bool includeBlocked, std::int64_t nowMs);

  std::unordered_map<std::string, Entry> sources_;
  std::int64_t globalSecond_ = 0;
  int globalAnswers_ = 0;
};

}  // namespace vfax::trunks::sip
