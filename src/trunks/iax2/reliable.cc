// Reliable delivery: full frames numbered, kept until acknowledged and retransmitted by poll()
// (engine.cc); ACK, VNAK and INVAL.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "trunks/iax2/engine_internal.h"

namespace vfax::trunks::iax2 {

using namespace detail;

// ---------------------------------------------------------------- sending

void Engine::sendRaw(const Address& to, const std::vector<std::uint8_t>& bytes) {
  if (bytes.empty()) return;
  ++stats_.framesOut;
  transport_.sendTo(to, bytes.data(), bytes.size());
}

std::uint32_t Engine::timestampFor(Session& s, std::int64_t nowMs) {
  auto ts = static_cast<std::uint32_t>(std::max<std::int64_t>(nowMs - s.startMs, 0));
  // Full frames must not go back in time, and a new command should not reuse the last stamp.
  if (ts <= s.lastTxTs && s.lastTxTs != 0) ts = s.lastTxTs + 1;
  return ts;
}

void Engine::sendFullPayload(Session& s, FrameType type, std::uint32_t subclass,
                             std::vector<std::uint8_t> payload, std::int64_t nowMs,
                             std::optional<std::uint32_t> ts) {
  FullFrame f;
  f.srcCall = s.local;
  f.dstCall = s.remote;
  f.timestamp = ts ? *ts : timestampFor(s, nowMs);
  if (f.timestamp > s.lastTxTs) s.lastTxTs = f.timestamp;
  f.iseq = s.iseq;
  f.type = type;
  f.subclass = subclass;
  f.payload = std::move(payload);
  bool counted = countsInSequence(f);
  f.oseq = s.oseq;
  if (counted) ++s.oseq;
  auto bytes = serializeFull(f);
  if (bytes.empty()) return;
  if (config_.logFrames) {
    spdlog::debug("iax2 tx {} call {}/{} ts {} o{} i{} to {}", describe(f), f.srcCall, f.dstCall,
                  f.timestamp, f.oseq, f.iseq, s.addr.toString());
  }
  sendRaw(s.addr, bytes);
  if (counted) {
    Session::Pending p;
    p.oseq = f.oseq;
    p.nextMs = nowMs + kFirstRetryMs;
    p.bytes = std::move(bytes);
    s.pending.push_back(std::move(p));
  }
}

void Engine::sendFull(Session& s, FrameType type, std::uint32_t subclass, const IeList& ies,
                      std::int64_t nowMs, std::optional<std::uint32_t> ts) {
  std::vector<std::uint8_t> payload;
  if (!ies.encode(payload)) return;
  sendFullPayload(s, type, subclass, std::move(payload), nowMs, ts);
}

void Engine::sendAck(Session& s, std::uint32_t ts) {
  FullFrame f;
  f.srcCall = s.local;
  f.dstCall = s.remote;
  f.timestamp = ts;  // an ACK carries the timestamp of the frame it acknowledges
  f.oseq = s.oseq;
  f.iseq = s.iseq;
  f.type = FrameType::Iax;
  f.subclass = static_cast<std::uint32_t>(Cmd::Ack);
  sendRaw(s.addr, serializeFull(f));
}

void Engine::sendVnak(Session& s, std::int64_t nowMs) {
  sendFull(s, FrameType::Iax, static_cast<std::uint32_t>(Cmd::Vnak), IeList{}, nowMs);
}

void Engine::sendInvalUnknown(const FullFrame& in, const Address& from) {
  FullFrame f;
  f.srcCall = in.dstCall;
  f.dstCall = in.srcCall;
  f.timestamp = in.timestamp;
  f.oseq = in.iseq;
  f.iseq = static_cast<std::uint8_t>(in.oseq + 1);
  f.type = FrameType::Iax;
  f.subclass = static_cast<std::uint32_t>(Cmd::Inval);
  if (f.srcCall == 0) return;
  sendRaw(from, serializeFull(f));
}

void Engine::handleAcks(Session& s, std::uint8_t iseq) {
  std::erase_if(s.pending, [iseq](const Session::Pending& p) { return seqBefore(p.oseq, iseq); });
}

}  // namespace vfax::trunks::iax2
