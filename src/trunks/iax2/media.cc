// Media: voice frames in (full and mini, timestamp unwrap, jitter buffer) and out (mini frames on
// an exact 20 ms timestamp grid, full frames at format changes and 16-bit wraps).
#include <algorithm>
#include <cstring>
#include <vector>

#include "trunks/iax2/engine_internal.h"

namespace vfax::trunks::iax2 {

using namespace detail;

void Engine::onMini(const MiniFrame& m, const Address& from) {
  // Mini frames name only the sender's call number: find the call it belongs to.
  Session* s = findByRemote(from, m.srcCall);
  if (!s || (s->state != State::Up && s->state != State::Accepted && s->state != State::Ringing) ||
      !s->haveRxTs || s->format == 0) {
    ++stats_.dropped;  // a mini frame is only valid after a full voice frame set the format
    return;
  }
  std::uint32_t ts = (s->lastRxTs & 0xffff0000u) | m.timestamp;
  auto diff = static_cast<std::int32_t>(ts - s->lastRxTs);
  if (diff < -0x8000)
    ts += 0x10000;
  else if (diff > 0x8000)
    ts -= 0x10000;
  if (static_cast<std::int32_t>(ts - s->lastRxTs) > 0) s->lastRxTs = ts;
  s->jb.put(ts, s->format, m.data, m.len);
}

void Engine::handleVoice(Session& s, const FullFrame& f) {
  if (s.kind != kCallIn && s.kind != kCallOut) return;
  if (s.state != State::Up && s.state != State::Accepted && s.state != State::Ringing) return;
  std::uint32_t fmt = f.subclass;
  if ((fmt & capability()) == 0 || (fmt & (fmt - 1)) != 0) return;
  s.format = fmt;
  if (!s.haveRxTs || static_cast<std::int32_t>(f.timestamp - s.lastRxTs) > 0) {
    s.lastRxTs = f.timestamp;
  }
  s.haveRxTs = true;
  s.jb.put(f.timestamp, fmt, f.payload.data(), f.payload.size());
}

void Engine::sendVoice(std::uint16_t call, const std::uint8_t* data, std::size_t len,
                       std::int64_t nowMs) {
  Session* s = find(call);
  if (!s || s->state != State::Up || s->format == 0 || len > kMaxDatagram - kFullHeader) return;
  auto elapsed = static_cast<std::uint32_t>(std::max<std::int64_t>(nowMs - s->startMs, 0));
  if (!s->txVoice) {
    s->txTs = (elapsed / 20 + 1) * 20;
  } else {
    s->txTs += 20;
    // After a stall of the loop, rejoin the wall clock instead of running behind for ever.
    if (static_cast<std::int32_t>(elapsed - s->txTs) > 200) s->txTs = (elapsed / 20) * 20;
  }
  bool full = !s->txVoice || s->txFormat != s->format ||
              (s->txTs & 0xffff0000u) != (s->lastTxTs & 0xffff0000u);
  s->txVoice = true;
  if (full) {
    s->txFormat = s->format;
    sendFullPayload(*s, FrameType::Voice, s->format, std::vector<std::uint8_t>(data, data + len),
                    nowMs, s->txTs);
    return;
  }
  std::uint8_t buf[kMaxDatagram];
  std::size_t n =
      serializeMini(s->local, static_cast<std::uint16_t>(s->txTs & 0xffff), data, len, buf);
  ++stats_.framesOut;
  transport_.sendTo(s->addr, buf, n);
}

const VoiceFrame* Engine::popVoice(std::uint16_t call) {
  Session* s = find(call);
  if (!s || s->state != State::Up) return nullptr;
  return s->jb.pop();
}

std::uint32_t Engine::format(std::uint16_t call) const {
  const Session* s = find(call);
  return s ? s->format : 0;
}

bool Engine::up(std::uint16_t call) const {
  const Session* s = find(call);
  return s && s->state == State::Up;
}

std::string Engine::peerOf(std::uint16_t call) const {
  const Session* s = find(call);
  return s ? s->peer : std::string();
}

}  // namespace vfax::trunks::iax2
