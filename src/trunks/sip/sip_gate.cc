#include "trunks/sip/sip_gate.h"

#include <algorithm>
#include <vector>

namespace vfax::trunks::sip {

SourceGate::Entry& SourceGate::entry(const std::string& host, std::int64_t nowMs) {
  auto it = sources_.find(host);
  if (it == sources_.end()) {
    if (sources_.size() >= kMaxSources) prune(nowMs);
    it = sources_.emplace(host, Entry{}).first;
  }
  it->second.lastSeenMs = nowMs;
  return it->second;
}

void SourceGate::prune(std::int64_t nowMs) {
  // Forget what is no longer blocked and idle first; if that frees nothing, the older half.
  for (auto it = sources_.begin(); it != sources_.end();) {
    const Entry& e = it->second;
    if (e.blockedUntilMs <= nowMs && nowMs - e.lastSeenMs > kWindowMs) {
      it = sources_.erase(it);
    } else {
      ++it;
    }
  }
  if (sources_.size() < kMaxSources) return;
  std::vector<std::int64_t> seen;
  seen.reserve(sources_.size());
  for (const auto& [host, e] : sources_) seen.push_back(e.lastSeenMs);
  std::nth_element(seen.begin(), seen.begin() + static_cast<long>(seen.size() / 2), seen.end());
  const std::int64_t median = seen[seen.size() / 2];
  for (auto it = sources_.begin(); it != sources_.end();) {
    it = it->second.lastSeenMs <= median ? sources_.erase(it) : std::next(it);
  }
}

bool SourceGate::blocked(const std::string& host, std::int64_t nowMs) {
  auto it = sources_.find(host);
  return it != sources_.end() && it->second.blockedUntilMs > nowMs;
}

void SourceGate::recordFailure(const std::string& host, std::int64_t nowMs) {
  Entry& e = entry(host, nowMs);
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
  Entry& e = entry(host, nowMs);
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
