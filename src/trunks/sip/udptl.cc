#include "trunks/sip/udptl.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace vfax::trunks::sip {

namespace {

// Signed distance from `from` to `to` on the 16-bit sequence circle (65535 -> 0 is +1).
int seqDelta(std::uint16_t to, std::uint16_t from) {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(to - from));
}

// Bytes of an aligned-PER length determinant for n (X.691 10.9.3.6/10.9.3.7); n < 16384.
std::size_t lengthBytes(std::size_t n) { return n < 128 ? 1 : 2; }

std::size_t putLength(std::uint8_t* out, std::size_t pos, std::size_t n) {
  if (n < 128) {
    out[pos] = static_cast<std::uint8_t>(n);
    return pos + 1;
  }
  out[pos] = static_cast<std::uint8_t>(0x80 | (n >> 8));
  out[pos + 1] = static_cast<std::uint8_t>(n & 0xff);
  return pos + 2;
}

// Reads the datagram front to back; the first problem becomes the error and stops reading.
class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t len) : data_(data), len_(len) {}

  bool failed() const { return !error_.code.empty(); }
  const core::Error& error() const { return error_; }
  std::size_t pos() const { return pos_; }
  std::size_t left() const { return len_ - pos_; }

  std::uint8_t byte(const char* what) {
    if (failed()) return 0;
    if (left() < 1) {
      fail("udptl_truncated", std::string("UDPTL datagram ends before the ") + what + " (offset " +
                                  std::to_string(pos_) + ")");
      return 0;
    }
    return data_[pos_++];
  }

  // An unconstrained length determinant (X.691 10.9.3.5-10.9.3.8).
  std::size_t length(const char* what) {
    const std::uint8_t b = byte(what);
    if (failed()) return 0;
    if ((b & 0x80) == 0) return b;
    if ((b & 0xc0) == 0x80) {
      const std::uint8_t lo = byte(what);
      return failed() ? 0 : ((static_cast<std::size_t>(b & 0x3f) << 8) | lo);
    }
    // 11xxxxxx: a fragment of (b & 0x3f) x 16K items follows, then more length determinants.
    // No T.38 element comes near 16K, so this is refused rather than reassembled.
    fail("udptl_fragmented", std::string("UDPTL ") + what +
                                 " uses the fragmented (16K) length form, which no T.38 packet "
                                 "needs (offset " +
                                 std::to_string(pos_ - 1) + ")");
    return 0;
  }

  UdptlView octets(std::size_t n, const char* what) {
    if (failed()) return {};
    if (n > left()) {
      fail("udptl_truncated", std::string("UDPTL ") + what + " of " + std::to_string(n) +
                                  " bytes runs past the end of the datagram (" +
                                  std::to_string(left()) + " bytes left at offset " +
                                  std::to_string(pos_) + ")");
      return {};
    }
    UdptlView v{data_ + pos_, n};
    pos_ += n;
    return v;
  }

  void fail(const char* code, std::string message) {
    if (!failed()) error_ = core::makeError(code, std::move(message));
  }

 private:
  const std::uint8_t* data_;
  std::size_t len_;
  std::size_t pos_ = 0;
  core::Error error_;
};

}  // namespace

core::Result<UdptlPacket> parseUdptl(const std::uint8_t* data, std::size_t len) {
  if (data == nullptr || len == 0) {
    return core::makeError("udptl_truncated", "empty UDPTL datagram");
  }
  Reader r(data, len);
  UdptlPacket p;
  // seq-number INTEGER (0..65535): a constrained whole number of 2 octets (X.691 10.5.7.3).
  const std::uint8_t hi = r.byte("sequence number");
  const std::uint8_t lo = r.byte("sequence number");
  p.seq = static_cast<std::uint16_t>((hi << 8) | lo);
  // primary-ifp-packet: an open type, i.e. a length determinant and the octets (X.691 10.2).
  p.primary = r.octets(r.length("primary IFP length"), "primary IFP");
  if (!r.failed() && p.primary.len == 0) {
    r.fail("udptl_empty_ifp", "UDPTL primary IFP is empty (seq " + std::to_string(p.seq) + ")");
  }
  // error-recovery CHOICE: one bit (0 = secondary-ifp-packets, 1 = fec-info); the length
  // determinant after it is octet-aligned, so the other 7 bits are padding (ignored).
  const std::uint8_t choice = r.byte("error-recovery choice");
  if (r.failed()) return r.error();
  p.fec = (choice & 0x80) != 0;
  if (!p.fec) {
    // SEQUENCE OF open types: a count, then each IFP as length + octets, most recent first.
    p.secondaryCount = r.length("secondary IFP count");
    for (std::size_t i = 0; i < p.secondaryCount && !r.failed(); ++i) {
      const UdptlView v = r.octets(r.length("secondary IFP length"), "secondary IFP");
      if (i < kUdptlMaxViews) p.secondaries[i] = v;
    }
  } else {
    // fec-npackets INTEGER (unconstrained): a length in octets, then a two's complement value.
    const std::size_t n = r.length("fec-npackets length");
    if (!r.failed() && (n == 0 || n > 4)) {
      r.fail("udptl_bad_integer",
             "UDPTL fec-npackets has " + std::to_string(n) + " octets (1 to 4 expected)");
    }
    const UdptlView v = r.octets(n, "fec-npackets");
    if (!r.failed()) {
      if ((v.data[0] & 0x80) != 0) {
        r.fail("udptl_bad_integer", "UDPTL fec-npackets is negative");
      }
      for (std::size_t i = 0; i < v.len; ++i) p.fecSpan = (p.fecSpan << 8) | v.data[i];
    }
    // fec-data SEQUENCE OF OCTET STRING: a count, then each word as length + octets.
    p.fecCount = r.length("FEC word count");
    for (std::size_t i = 0; i < p.fecCount && !r.failed(); ++i) {
      const UdptlView w = r.octets(r.length("FEC word length"), "FEC word");
      if (i < kUdptlMaxViews) p.fecWords[i] = w;
    }
  }
  if (!r.failed() && r.left() != 0) {
    r.fail("udptl_trailing", "UDPTL datagram has " + std::to_string(r.left()) +
                                 " bytes after the packet (offset " + std::to_string(r.pos()) +
                                 ")");
  }
  if (r.failed()) return r.error();
  return p;
}

std::size_t udptlMaxIfp(std::size_t maxDatagram) {
  // Sequence number (2) + IFP length (1 or 2) + IFP + the smallest error recovery (FEC: choice,
  // fec-npackets as 1 + 1 octets, a zero count = 4 bytes; redundancy needs only 2).
  constexpr std::size_t kOverhead = 2 + 4;
  if (maxDatagram < kOverhead + 2) return 0;
  std::size_t n = maxDatagram - kOverhead - 1;
  if (n >= 128) n = std::max<std::size_t>(127, maxDatagram - kOverhead - 2);
  return std::min<std::size_t>(n, 16383);
}

std::size_t udptlIfpBudget(const UdptlOptions& options) {
  constexpr std::size_t kUsefulIfp = 80;
  const std::size_t bare = udptlMaxIfp(options.maxDatagram);
  const std::size_t d = options.maxDatagram;
  // Every IFP or word costs its bytes plus a length of up to 2; the datagram adds the sequence
  // number (2) and the error-recovery header (2 for redundancy, 4 for FEC).
  std::size_t copies = 1;
  std::size_t header = 2 + 2;
  switch (options.ec) {
    case UdptlEc::None:
      return bare;
    case UdptlEc::Redundancy:
      copies += static_cast<std::size_t>(
          std::clamp(options.redundancyDepth, 0, UdptlOptions::kMaxRedundancy));
      break;
    case UdptlEc::Fec:
      copies +=
          static_cast<std::size_t>(std::clamp(options.fecEntries, 1, UdptlOptions::kMaxFecWindow));
      header = 2 + 4;
      break;
  }
  const std::size_t perCopy = d > header ? (d - header) / copies : 0;
  const std::size_t full = perCopy > 2 ? perCopy - 2 : 0;
  return std::min(bare, std::max(full, kUsefulIfp));
}

// --- sending ---------------------------------------------------------------------------------

namespace {

UdptlOptions clampOptions(UdptlOptions o) {
  o.redundancyDepth = std::clamp(o.redundancyDepth, 0, UdptlOptions::kMaxRedundancy);
  o.fecSpan = std::clamp(o.fecSpan, 1, UdptlOptions::kMaxFecWindow);
  o.fecEntries = std::clamp(o.fecEntries, 1, UdptlOptions::kMaxFecWindow);
  while (o.fecSpan * o.fecEntries > UdptlOptions::kMaxFecWindow) {
    if (o.fecSpan >= o.fecEntries) {
      --o.fecSpan;
    } else {
      --o.fecEntries;
    }
  }
  return o;
}

}  // namespace

UdptlSender::UdptlSender(UdptlOptions options) : options_(clampOptions(options)), ring_(kRing) {}

void UdptlSender::setOptions(const UdptlOptions& options) { options_ = clampOptions(options); }

const UdptlSender::Slot* UdptlSender::history(std::uint16_t seq) const {
  const Slot& s = ring_[seq % kRing];
  return (s.len != 0 && s.seq == seq) ? &s : nullptr;
}

std::size_t UdptlSender::encode(const std::uint8_t* ifp, std::size_t len, std::uint8_t* out,
                                std::size_t cap) {
  if (ifp == nullptr || len == 0 || len > 16383 || out == nullptr) return 0;
  const std::size_t limit = std::min(cap, options_.maxDatagram);
  const bool fec = options_.ec == UdptlEc::Fec;
  // The bare packet: sequence number, primary, and an empty error-recovery part.
  const std::size_t bare = 2 + lengthBytes(len) + len + (fec ? 4 : 2);
  if (bare > limit) return 0;

  const std::uint16_t seq = seq_;
  out[0] = static_cast<std::uint8_t>(seq >> 8);
  out[1] = static_cast<std::uint8_t>(seq & 0xff);
  std::size_t pos = putLength(out, 2, len);
  std::memcpy(out + pos, ifp, len);
  pos += len;
  pos = fec ? encodeFec(seq, out, pos, limit) : encodeRedundancy(seq, out, pos, limit);

  // Keep this IFP for the redundancy/FEC of the next datagrams (after encoding: the ring is
  // larger than any window, so this slot is never one of the current packet's own references).
  Slot& slot = ring_[seq % kRing];
  slot.seq = seq;
  if (len <= slot.data.size()) {
    slot.len = static_cast<std::uint16_t>(len);
    std::memcpy(slot.data.data(), ifp, len);
  } else {
    slot.len = 0;
  }
  seq_ = static_cast<std::uint16_t>(seq + 1);
  return pos;
}

std::size_t UdptlSender::encodeRedundancy(std::uint16_t seq, std::uint8_t* out, std::size_t pos,
                                          std::size_t limit) const {
  // T.38 D.2.2 (and every deployed sender): secondary i is the IFP of seq - 1 - i. Take the
  // longest run of recent IFPs that fits; older ones go first when space is short.
  const int depth = options_.ec == UdptlEc::None ? 0 : options_.redundancyDepth;
  std::size_t room = limit - pos - 2;  // choice octet + a one-octet count (depth < 128)
  int count = 0;
  for (int i = 0; i < depth; ++i) {
    const Slot* s = history(static_cast<std::uint16_t>(seq - 1 - i));
    if (s == nullptr) break;
    const std::size_t need = lengthBytes(s->len) + s->len;
    if (need > room) break;
    room -= need;
    ++count;
  }
  out[pos++] = 0x00;  // CHOICE index 0: secondary-ifp-packets
  pos = putLength(out, pos, static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const Slot* s = history(static_cast<std::uint16_t>(seq - 1 - i));
    pos = putLength(out, pos, s->len);
    std::memcpy(out + pos, s->data.data(), s->len);
    pos += s->len;
  }
  return pos;
}

std::size_t UdptlSender::encodeFec(std::uint16_t seq, std::uint8_t* out, std::size_t pos,
                                   std::size_t limit) const {
  // Parity word m (0 <= m < entries) is the XOR of the IFPs seq + m - k*entries, k = 1..span,
  // each zero-padded to the longest; together the words cover seq - span*entries .. seq - 1.
  // This is the interleaving the T.38 Annex D implementations in the field (Asterisk, spandsp,
  // FreeSWITCH) use, so their receivers can repair with it. While the history is shorter (the
  // first datagrams) or the datagram limit is tight, fewer entries / a shorter span are sent.
  auto covered = [&](int span, int entries) {
    for (int back = 1; back <= span * entries; ++back) {
      if (history(static_cast<std::uint16_t>(seq - back)) == nullptr) return false;
    }
    return true;
  };
  auto wordLen = [&](int span, int entries, int m) {
    std::size_t n = 0;
    for (int k = 1; k <= span; ++k) {
      n = std::max<std::size_t>(n, history(static_cast<std::uint16_t>(seq + m - k * entries))->len);
    }
    return n;
  };
  int span = options_.fecSpan;
  int entries = 0;
  for (int e = options_.fecEntries; e > 0 && entries == 0; --e) {
    for (int s = options_.fecSpan; s > 0; --s) {
      if (!covered(s, e)) continue;
      std::size_t need = 4;  // choice, fec-npackets (length + value), one-octet word count
      for (int m = 0; m < e; ++m) {
        const std::size_t n = wordLen(s, e, m);
        need += lengthBytes(n) + n;
      }
      if (pos + need <= limit) {
        span = s;
        entries = e;
        break;
      }
    }
  }
  out[pos++] = 0x80;  // CHOICE index 1: fec-info
  out[pos++] = 0x01;  // fec-npackets: one octet
  out[pos++] = static_cast<std::uint8_t>(span);
  pos = putLength(out, pos, static_cast<std::size_t>(entries));
  for (int m = 0; m < entries; ++m) {
    const std::size_t n = wordLen(span, entries, m);
    pos = putLength(out, pos, n);
    std::uint8_t* word = out + pos;
    std::memset(word, 0, n);
    for (int k = 1; k <= span; ++k) {
      const Slot* s = history(static_cast<std::uint16_t>(seq + m - k * entries));
      for (std::size_t j = 0; j < s->len; ++j) word[j] ^= s->data[j];
    }
    pos += n;
  }
  return pos;
}

// --- receiving -------------------------------------------------------------------------------

UdptlReceiver::UdptlReceiver() : ring_(kRing) {}

void UdptlReceiver::reset() {
  started_ = false;
  candidate_ = false;
  for (Slot& s : ring_) s.present = false;
}

const UdptlReceiver::Slot* UdptlReceiver::stored(std::uint16_t seq) const {
  const Slot& s = ring_[seq % kRing];
  return (s.present && s.seq == seq) ? &s : nullptr;
}

void UdptlReceiver::start(std::uint16_t first) {
  started_ = true;
  for (Slot& s : ring_) s.present = false;
  next_ = first;
  newest_ = static_cast<std::uint16_t>(first - 1);
  holdWindow_ = 1;
}

void UdptlReceiver::store(std::uint16_t seq, const std::uint8_t* data, std::size_t len,
                          bool recovered) {
  Slot& s = slot(seq);
  s.seq = seq;
  s.present = true;
  s.fromRecovery = recovered;
  s.len = static_cast<std::uint16_t>(len);
  std::memcpy(s.data.data(), data, len);
}

bool UdptlReceiver::holding() const { return started_ && seqDelta(newest_, next_) >= 0; }

void UdptlReceiver::giveUpOne(Deliver deliver, void* ctx) {
  if (const Slot* s = stored(next_)) {
    ++stats_.delivered;
    if (s->fromRecovery) ++stats_.recovered;
    deliver(ctx, s->data.data(), s->len, next_);
  } else {
    ++stats_.lost;
  }
  next_ = static_cast<std::uint16_t>(next_ + 1);
}

void UdptlReceiver::flush(Deliver deliver, void* ctx) {
  while (holding()) giveUpOne(deliver, ctx);
}

void UdptlReceiver::drain(Deliver deliver, void* ctx) {
  // Deliver in order; a gap waits only while a datagram still to come could repair it.
  while (seqDelta(newest_, next_) >= 0) {
    if (stored(next_) == nullptr && seqDelta(newest_, next_) < holdWindow_) break;
    giveUpOne(deliver, ctx);
  }
}

void UdptlReceiver::advanceTo(std::uint16_t seq, Deliver deliver, void* ctx) {
  // The ring holds next_ .. next_ + kRing - 1: older gaps are given up to make room.
  while (seqDelta(seq, next_) >= kRing) giveUpOne(deliver, ctx);
  if (seqDelta(newest_, static_cast<std::uint16_t>(next_ - 1)) < 0) {
    newest_ = static_cast<std::uint16_t>(next_ - 1);
  }
  while (seqDelta(seq, newest_) > 0) {
    newest_ = static_cast<std::uint16_t>(newest_ + 1);
    Slot& s = slot(newest_);
    s.seq = newest_;
    s.present = false;
  }
}

void UdptlReceiver::repairFec(const UdptlPacket& p) {
  const std::size_t entries = p.fecCount;
  const std::size_t span = p.fecSpan;
  if (entries == 0 || span == 0 || entries > kUdptlMaxViews ||
      span * entries > static_cast<std::size_t>(UdptlOptions::kMaxFecWindow)) {
    return;
  }
  // Each word repairs its group when exactly one member is missing; a repair can complete
  // another group, so go round until nothing changes (at most `entries` rounds).
  for (std::size_t round = 0; round < entries; ++round) {
    bool progress = false;
    for (std::size_t m = 0; m < entries; ++m) {
      const UdptlView& word = p.fecWords[m];
      int missing = 0;
      std::uint16_t missingSeq = 0;
      for (std::size_t k = 1; k <= span; ++k) {
        const auto s = static_cast<std::uint16_t>(p.seq + m - k * entries);
        if (stored(s) == nullptr) {
          ++missing;
          missingSeq = s;
        }
      }
      if (missing != 1 || seqDelta(missingSeq, next_) < 0 || word.len == 0 ||
          word.len > kUdptlMaxIfp) {
        continue;
      }
      // Its slot is inside the ring (advanceTo made room up to p.seq, and missingSeq >= next_).
      Slot& target = slot(missingSeq);
      std::memcpy(target.data.data(), word.data, word.len);
      for (std::size_t k = 1; k <= span; ++k) {
        const auto s = static_cast<std::uint16_t>(p.seq + m - k * entries);
        if (s == missingSeq) continue;
        const Slot* other = stored(s);
        const std::size_t n = std::min<std::size_t>(other->len, word.len);
        for (std::size_t j = 0; j < n; ++j) target.data[j] ^= other->data[j];
      }
      // The word is as long as the longest member: a repaired IFP that was shorter carries
      // trailing bytes (a limit of T.38's FEC scheme; T.38 IFPs are self-delimiting).
      target.seq = missingSeq;
      target.len = static_cast<std::uint16_t>(word.len);
      target.present = true;
      target.fromRecovery = true;
      progress = true;
    }
    if (!progress) break;
  }
}

void UdptlReceiver::accept(const UdptlPacket& p, Deliver deliver, void* ctx) {
  advanceTo(p.seq, deliver, ctx);
  if (const Slot* have = stored(p.seq)) {
    if (have->fromRecovery) {
      // Repaired by FEC but not delivered yet: the real IFP replaces the padded repair.
      store(p.seq, p.primary.data, p.primary.len, false);
    } else {
      ++stats_.duplicates;
    }
  } else {
    store(p.seq, p.primary.data, p.primary.len, false);
  }
  if (!p.fec) {
    for (std::size_t i = 0; i < p.keptSecondaries(); ++i) {
      const auto s = static_cast<std::uint16_t>(p.seq - 1 - i);
      if (seqDelta(s, next_) < 0) break;  // delivered or given up already
      const UdptlView& v = p.secondaries[i];
      if (stored(s) != nullptr || v.len == 0 || v.len > kUdptlMaxIfp) continue;
      store(s, v.data, v.len, true);
    }
    holdWindow_ = 1;
  } else {
    repairFec(p);
    const std::size_t window = p.fecSpan * p.fecCount;
    holdWindow_ = (p.fecCount > 0 && p.fecSpan > 0 &&
                   window <= static_cast<std::size_t>(UdptlOptions::kMaxFecWindow))
                      ? static_cast<int>(window)
                      : 1;
  }
  drain(deliver, ctx);
}

bool UdptlReceiver::receive(const std::uint8_t* data, std::size_t len, Deliver deliver, void* ctx) {
  auto parsed = parseUdptl(data, len);
  if (!parsed) {
    ++stats_.malformed;
    lastError_ = parsed.error().message;
    return false;
  }
  const UdptlPacket& p = *parsed;
  if (p.primary.len > kUdptlMaxIfp) {
    ++stats_.malformed;
    lastError_ = "UDPTL primary IFP of " + std::to_string(p.primary.len) +
                 " bytes is larger than the " + std::to_string(kUdptlMaxIfp) + " bytes accepted";
    return false;
  }
  ++stats_.received;

  if (!started_) {
    // The first datagram: its secondaries are older IFPs of the same stream, deliver them too.
    start(static_cast<std::uint16_t>(
        p.seq - std::min<std::size_t>(p.fec ? 0 : p.keptSecondaries(), kRing - 2)));
    accept(p, deliver, ctx);
    return true;
  }

  const int d = seqDelta(p.seq, next_);
  bool far = d > kAheadWindow || d < -kBehindWindow;
  if (!far && d < 0) {
    // Behind what we deliver next: a duplicate or a late copy, unless it carries different
    // bytes than we delivered for that number (the far end restarted its numbering nearby).
    const Slot* had = stored(p.seq);
    const bool differs =
        had != nullptr && !had->fromRecovery &&
        (had->len != p.primary.len || std::memcmp(had->data.data(), p.primary.data, had->len) != 0);
    if (!differs) {
      ++stats_.duplicates;
      return true;
    }
    far = true;
  }
  if (!far) {
    if (candidate_) {
      ++stats_.strays;
      candidate_ = false;
    }
    accept(p, deliver, ctx);
    return true;
  }

  const int dc = seqDelta(p.seq, candidateSeq_);
  if (candidate_ && dc > 0 && dc <= kAheadWindow) {
    // Two datagrams agree on a new numbering: the far end restarted. Hand on what the old
    // stream left, then continue from the candidate.
    flush(deliver, ctx);
    ++stats_.resyncs;
    candidate_ = false;
    start(candidateSeq_);
    newest_ = candidateSeq_;
    store(candidateSeq_, candidateIfp_.data.data(), candidateIfp_.len, false);
    accept(p, deliver, ctx);
    return true;
  }
  if (candidate_) ++stats_.strays;
  candidate_ = true;
  candidateSeq_ = p.seq;
  candidateIfp_.len = static_cast<std::uint16_t>(p.primary.len);
  std::memcpy(candidateIfp_.data.data(), p.primary.data, p.primary.len);
  return true;
}

}  // namespace vfax::trunks::sip
