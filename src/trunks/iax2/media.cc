// Media: voice frames in (full, mini and trunk entries; timestamp unwrap, jitter buffer) and out
// (mini frames or trunk entries on an exact 20 ms timestamp grid, full frames at format changes
// and 16-bit wraps).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "trunks/iax2/engine_internal.h"

namespace vfax::trunks::iax2 {

using namespace detail;

namespace {

bool voiceReady(int kind, State state, bool haveRxTs, std::uint32_t format) {
  // A mini frame (or trunk entry) is only valid after a full voice frame set the format.
  return (kind == kCallIn || kind == kCallOut) &&
         (state == State::Up || state == State::Accepted || state == State::Ringing) && haveRxTs &&
         format != 0;
}

}  // namespace

std::uint32_t Engine::unwrapMiniTs(Session& s, std::uint16_t low) {
  std::uint32_t ts = (s.lastRxTs & 0xffff0000u) | low;
  auto diff = static_cast<std::int32_t>(ts - s.lastRxTs);
  if (diff < -0x8000)
    ts += 0x10000;
  else if (diff > 0x8000)
    ts -= 0x10000;
  if (static_cast<std::int32_t>(ts - s.lastRxTs) > 0) s.lastRxTs = ts;
  return ts;
}

// An entry of a trunk frame without its own timestamp: the call's timestamp follows the trunk's.
// The first such entry (and the first after a full voice frame) continues the call's timeline
// one frame on; later ones move with the trunk's timestamp, in whole frames, so that a sender's
// timer jitter does not shift the playout slot.
std::uint32_t Engine::trunkRxTs(Session& s, std::uint32_t trunkTs, std::size_t len) {
  const std::size_t samples = s.format == kFormatSlinear ? len / 2 : len;
  const std::int32_t frameMs = samples >= 8 ? static_cast<std::int32_t>(samples / 8) : 20;
  const auto delta = static_cast<std::int32_t>(trunkTs - s.trunkRxBase);
  const std::int32_t frames =
      delta >= 0 ? (delta + frameMs / 2) / frameMs : -((frameMs / 2 - delta) / frameMs);
  std::uint32_t ts = s.trunkRxAnchor + static_cast<std::uint32_t>(frames * frameMs);
  // A new trunk timeline (the far end restarted it), or none yet: anchor again.
  if (!s.trunkRxAnchored || std::abs(static_cast<std::int32_t>(ts - s.lastRxTs)) > 2000) {
    s.trunkRxAnchored = true;
    s.trunkRxBase = trunkTs;
    s.trunkRxAnchor = s.lastRxTs + static_cast<std::uint32_t>(frameMs);
    ts = s.trunkRxAnchor;
  }
  if (static_cast<std::int32_t>(ts - s.lastRxTs) > 0) s.lastRxTs = ts;
  return ts;
}

void Engine::onMini(const MiniFrame& m, const Address& from) {
  // Mini frames name only the sender's call number: find the call it belongs to.
  Session* s = findByRemote(from, m.srcCall);
  if (!s || !voiceReady(s->kind, s->state, s->haveRxTs, s->format)) {
    ++stats_.dropped;
    return;
  }
  s->jb.put(unwrapMiniTs(*s, m.timestamp), s->format, m.data, m.len);
}

void Engine::onTrunk(const std::uint8_t* data, std::size_t len, const Address& from) {
  auto h = parseTrunk(data, len, trunkEntries_);
  if (!h) {
    ++stats_.dropped;
    ++stats_.trunkDropped;
    return;
  }
  ++stats_.trunkFramesIn;
  for (const TrunkEntry& e : trunkEntries_) {
    // Entries name the sender's call number, like mini frames; one of a call we do not have (or
    // that has no voice yet) is dropped alone.
    Session* s = findByRemote(from, e.srcCall);
    if (!s || e.len == 0 || !voiceReady(s->kind, s->state, s->haveRxTs, s->format)) {
      ++stats_.trunkDropped;
      continue;
    }
    const std::uint32_t ts =
        h->timestamps ? unwrapMiniTs(*s, e.timestamp) : trunkRxTs(*s, h->timestamp, e.len);
    s->jb.put(ts, s->format, e.data, e.len);
  }
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
  s.trunkRxAnchored = false;  // trunk entries without timestamps continue from this frame
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
    // (The loop runs missed media ticks after a stall of up to 500 ms: those frames keep their
    // places on the grid.)
    if (static_cast<std::int32_t>(elapsed - s->txTs) > kMediaCatchUpMs) {
      s->txTs = (elapsed / 20) * 20;
    }
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
  if (s->trunk) {
    sendTrunked(*s, data, len, nowMs);
    return;
  }
  std::uint8_t buf[kMaxDatagram];
  std::size_t n =
      serializeMini(s->local, static_cast<std::uint16_t>(s->txTs & 0xffff), data, len, buf);
  ++stats_.framesOut;
  transport_.sendTo(s->addr, buf, n);
}

void Engine::sendTrunked(Session& s, const std::uint8_t* data, std::size_t len,
                         std::int64_t nowMs) {
  if (!s.trunkOut) {
    for (auto& t : trunkOuts_) {
      if (t->addr == s.addr && t->timestamps == s.trunkTimestamps) s.trunkOut = t.get();
    }
    if (!s.trunkOut) {
      auto t = std::make_unique<TrunkOut>();
      t->addr = s.addr;
      t->timestamps = s.trunkTimestamps;
      t->epochMs = nowMs / 20 * 20;
      s.trunkOut = t.get();
      trunkOuts_.push_back(std::move(t));
    }
    ++s.trunkOut->users;
  }
  TrunkOut& t = *s.trunkOut;
  // The trunk's timestamp on the 20 ms grid all media timers share: every frame of a tick
  // carries the tick's time even when the loop ran a little late.
  const auto trunkTs =
      static_cast<std::uint32_t>(std::max<std::int64_t>(nowMs - t.epochMs, 0) / 20 * 20);
  if (!t.writer.empty() && !t.writer.fits(len)) {
    transport_.sendTo(t.addr, t.writer.data(), t.writer.size());  // full: split here
    ++stats_.trunkFramesOut;
    t.writer.clear();
  }
  if (t.writer.empty()) t.writer.begin(trunkTs, t.timestamps);
  if (!t.writer.add(s.local, static_cast<std::uint16_t>(s.txTs & 0xffff), data, len)) {
    // Larger than a trunk frame holds: a mini frame of its own.
    std::uint8_t buf[kMaxDatagram];
    std::size_t n =
        serializeMini(s.local, static_cast<std::uint16_t>(s.txTs & 0xffff), data, len, buf);
    transport_.sendTo(s.addr, buf, n);
  }
  ++stats_.framesOut;
  if (!t.dirty) {
    t.dirty = true;
    dirtyTrunks_.push_back(&t);
  }
}

void Engine::flushTrunks() {
  for (TrunkOut* t : dirtyTrunks_) {
    t->dirty = false;
    if (t->writer.empty()) continue;
    transport_.sendTo(t->addr, t->writer.data(), t->writer.size());
    ++stats_.trunkFramesOut;
    t->writer.clear();
  }
  dirtyTrunks_.clear();
}

void Engine::releaseTrunk(Session& s) {
  if (!s.trunkOut) return;
  TrunkOut* t = s.trunkOut;
  s.trunkOut = nullptr;
  if (--t->users > 0) return;
  if (t->dirty) {  // what it holds still goes out
    if (!t->writer.empty()) {
      transport_.sendTo(t->addr, t->writer.data(), t->writer.size());
      ++stats_.trunkFramesOut;
    }
    std::erase(dirtyTrunks_, t);
  }
  std::erase_if(trunkOuts_, [t](const auto& p) { return p.get() == t; });
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
