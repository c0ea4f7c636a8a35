#include "trunks/sip/sip_gate.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace vfax::trunks::sip {

std::string SourceGate::sourceKey(const std::string& host) {
  if (host.find(':') == std::string::npos) return host;
  std::string text = host;
  if (auto pct = text.find('%'); pct != std::string::npos) text.resize(pct);  // zone id
  in6_addr a{};
  if (inet_pton(AF_INET6, text.c_str(), &a) != 1) return host;
  char buf[INET6_ADDRSTRLEN] = {};
  if (IN6_IS_ADDR_V4MAPPED(&a)) {
    in_addr v4{};
    std::memcpy(&v4, a.s6_addr + 12, 4);
    return inet_ntop(AF_INET, &v4, buf, sizeof buf) ? std::string(buf) : host;
  }
  std::memset(a.s6_addr + 8, 0, 8);
  if (!inet_ntop(AF_INET6, &a, buf, sizeof buf)) return host;
  return std::string(buf) + "/64";
}

SourceGate::Entry& SourceGate::entry(const std::string& key, std::int64_t nowMs) {
  auto it = sources_.find(key);
  if (it == sources_.end()) {
    if (sources_.size() >= kMaxSources) prune(nowMs);
    it = sources_.emplace(key, Entry{}).first;
  }
  it->second.lastSeenMs = nowMs;
  return it->second;
}

void SourceGate::prune(std::int64_t nowMs) {
  // Forget what is no longer blocked and idle first. When that frees less than a quarter of the
  // table, also the least recently seen half of the unblocked sources (so that the next full
  // scan is at least kMaxSources / 4 insertions away), and only if that is not enough either,
  // blocked ones too.
  for (auto it = sources_.begin(); it != sources_.end();) {
    const Entry& e = it->second;
    if (e.blockedUntilMs <= nowMs && nowMs - e.lastSeenMs > kWindowMs) {
      it = sources_.erase(it);
    } else {
      ++it;
    }
  }
  if (sources_.size() <= kMaxSources * 3 / 4) return;
  forgetOlderHalf(false, nowMs);
  if (sources_.size() <= kMaxSources * 3 / 4) return;
  forgetOlderHalf(true, nowMs);
}

void SourceGate::forgetOlderHalf(bool includeBlocked, std::int64_t nowMs) {
  auto candidate = [&](const Entry& e) { return includeBlocked || e.blockedUntilMs <= nowMs; };
  std::vector<std::int64_t> seen;
  seen.reserve(sources_.size());
  for (const auto& [key, e] : sources_) {
    if (candidate(e)) seen.push_back(e.lastSeenMs);
  }
  if (seen.empty()) return;
  std::nth_element(seen.begin(), seen.begin() + static_cast<long>(seen.size() / 2), seen.end());
  const std::int64_t median = seen[seen.size() / 2];
  for (auto it = sources_.begin(); it != sources_.end();) {
    it = candidate(it->second) && it->second.lastSeenMs <= median ? sources_.erase(it)
                                                                  : std::next(it);
  }
}

bool SourceGate::blocked(const std::string& host, std::int64_t nowMs) const {
  auto it = sources_.find(sourceKey(host));
  return it != sources_.end() && it->second.blockedUntilMs > nowMs;
}

void SourceGate::recordFailure(const std::string& host, std::int64_t nowMs) {
  Entry& e = entry(sourceKey(host), nowMs);
  if (nowMs - e.windowStartMs > kWindowMs) {
    e.windowStartMs = nowMs;
    e.failures = 0;
  }
  if (++e.failures >= kFailuresBeforeBlock) {
    e.blockedUntilMs = nowMs + kBlockMs;
    e.failures = 0;
  }
}

bool SourceGate::mayAnswer(const std::string& host, std::int64_t nowMs) {
  const std::int64_t second = nowMs / 1000;
  if (second != globalSecond_) {
    globalSecond_ = second;
    globalAnswers_ = 0;
  }
  if (globalAnswers_ >= kAnswersPerSecond) return false;
  Entry& e = entry(sourceKey(host), nowMs);
  if (e.answerSecond != second) {
    e.answerSecond = second;
    e.answers = 0;
  }
  if (e.answers >= kAnswersPerSecondPerSource) return false;
  ++e.answers;
  ++globalAnswers_;
  return true;
}

}  // namespace vfax::trunks::sip
