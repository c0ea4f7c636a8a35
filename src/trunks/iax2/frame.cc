#include "trunks/iax2/frame.h"

#include <cstring>

namespace vfax::trunks::iax2 {
namespace {

std::uint16_t rd16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t rd32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 |
         std::uint32_t(p[3]);
}
void wr16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void wr32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

}  // namespace

bool IeList::has(Ie id) const {
  for (const auto& ie : items_) {
    if (ie.id == static_cast<std::uint8_t>(id)) return true;
  }
  return false;
}

std::optional<std::string> IeList::str(Ie id) const {
  for (const auto& ie : items_) {
    if (ie.id == static_cast<std::uint8_t>(id)) return ie.value;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> IeList::u32(Ie id) const {
  auto s = str(id);
  if (!s || s->size() != 4) return std::nullopt;
  return rd32(reinterpret_cast<const std::uint8_t*>(s->data()));
}

std::optional<std::uint16_t> IeList::u16(Ie id) const {
  auto s = str(id);
  if (!s || s->size() != 2) return std::nullopt;
  return rd16(reinterpret_cast<const std::uint8_t*>(s->data()));
}

std::optional<std::uint8_t> IeList::u8(Ie id) const {
  auto s = str(id);
  if (!s || s->size() != 1) return std::nullopt;
  return static_cast<std::uint8_t>((*s)[0]);
}

IeList& IeList::add(Ie id, std::string_view value) {
  items_.push_back(InfoElement{static_cast<std::uint8_t>(id), std::string(value)});
  return *this;
}

IeList& IeList::addU32(Ie id, std::uint32_t v) {
  std::uint8_t b[4];
  wr32(b, v);
  return add(id, std::string_view(reinterpret_cast<const char*>(b), 4));
}

IeList& IeList::addU16(Ie id, std::uint16_t v) {
  std::uint8_t b[2];
  wr16(b, v);
  return add(id, std::string_view(reinterpret_cast<const char*>(b), 2));
}

IeList& IeList::addU8(Ie id, std::uint8_t v) {
  char c = static_cast<char>(v);
  return add(id, std::string_view(&c, 1));
}

bool IeList::encode(std::vector<std::uint8_t>& out) const {
  for (const auto& ie : items_) {
    if (ie.value.size() > 255) return false;
    out.push_back(ie.id);
    out.push_back(static_cast<std::uint8_t>(ie.value.size()));
    out.insert(out.end(), ie.value.begin(), ie.value.end());
  }
  return true;
}

std::optional<IeList> IeList::decode(const std::uint8_t* p, std::size_t n) {
  IeList list;
  std::size_t i = 0;
  while (i < n) {
    if (n - i < 2) return std::nullopt;
    std::uint8_t id = p[i];
    std::size_t len = p[i + 1];
    i += 2;
    if (len > n - i) return std::nullopt;
    list.items_.push_back(InfoElement{id, std::string(reinterpret_cast<const char*>(p + i), len)});
    i += len;
  }
  return list;
}

DatagramKind classify(const std::uint8_t* p, std::size_t n) {
  if (n < kMiniHeader) return DatagramKind::Malformed;
  if (p[0] & 0x80) return n >= kFullHeader ? DatagramKind::Full : DatagramKind::Malformed;
  if (rd16(p) == 0) {  // a meta frame: trunk (V bit clear, command 1) or video
    return p[2] == kMetaTrunk ? DatagramKind::Trunk : DatagramKind::Other;
  }
  return DatagramKind::Mini;
}

std::optional<FullFrame> parseFull(const std::uint8_t* p, std::size_t n) {
  if (n < kFullHeader || n > kMaxDatagram || !(p[0] & 0x80)) return std::nullopt;
  FullFrame f;
  f.srcCall = rd16(p) & 0x7fff;
  std::uint16_t d = rd16(p + 2);
  f.retransmit = (d & 0x8000) != 0;
  f.dstCall = d & 0x7fff;
  f.timestamp = rd32(p + 4);
  f.oseq = p[8];
  f.iseq = p[9];
  std::uint8_t type = p[10];
  if (type < 1 || type > 12) return std::nullopt;
  f.type = static_cast<FrameType>(type);
  std::uint8_t sc = p[11];
  if (sc & 0x80) {
    std::uint8_t shift = sc & 0x7f;
    if (shift > 31) return std::nullopt;
    f.subclass = 1u << shift;
  } else {
    f.subclass = sc;
  }
  if (f.srcCall == 0) return std::nullopt;  // call number 0 is never a valid source
  f.payload.assign(p + kFullHeader, p + n);
  return f;
}

std::optional<MiniFrame> parseMini(const std::uint8_t* p, std::size_t n) {
  if (n < kMiniHeader || n > kMaxDatagram || (p[0] & 0x80)) return std::nullopt;
  MiniFrame m;
  m.srcCall = rd16(p) & 0x7fff;
  if (m.srcCall == 0) return std::nullopt;
  m.timestamp = rd16(p + 2);
  m.data = p + kMiniHeader;
  m.len = n - kMiniHeader;
  return m;
}

bool encodeSubclass(std::uint32_t subclass, std::uint8_t& out) {
  if (subclass < 0x80) {
    out = static_cast<std::uint8_t>(subclass);
    return true;
  }
  if ((subclass & (subclass - 1)) != 0) return false;
  std::uint8_t shift = 0;
  while ((1u << shift) != subclass) ++shift;
  out = static_cast<std::uint8_t>(0x80 | shift);
  return true;
}

std::vector<std::uint8_t> serializeFull(const FullFrame& f) {
  std::uint8_t sc = 0;
  if (!encodeSubclass(f.subclass, sc)) return {};
  if (kFullHeader + f.payload.size() > kMaxDatagram) return {};
  std::vector<std::uint8_t> out(kFullHeader + f.payload.size());
  wr16(out.data(), static_cast<std::uint16_t>(0x8000 | (f.srcCall & 0x7fff)));
  wr16(out.data() + 2,
       static_cast<std::uint16_t>((f.retransmit ? 0x8000 : 0) | (f.dstCall & 0x7fff)));
  wr32(out.data() + 4, f.timestamp);
  out[8] = f.oseq;
  out[9] = f.iseq;
  out[10] = static_cast<std::uint8_t>(f.type);
  out[11] = sc;
  if (!f.payload.empty()) std::memcpy(out.data() + kFullHeader, f.payload.data(), f.payload.size());
  return out;
}

std::size_t serializeMini(std::uint16_t srcCall, std::uint16_t ts, const std::uint8_t* data,
                          std::size_t len, std::uint8_t* out) {
  wr16(out, srcCall & 0x7fff);
  wr16(out + 2, ts);
  if (len) std::memcpy(out + kMiniHeader, data, len);
  return kMiniHeader + len;
}

std::optional<TrunkHeader> parseTrunk(const std::uint8_t* p, std::size_t n,
                                      std::vector<TrunkEntry>& entries) {
  entries.clear();
  if (n < kTrunkHeader || n > kMaxDatagram || rd16(p) != 0 || p[2] != kMetaTrunk ||
      (p[3] & ~kTrunkTimestamps) != 0) {
    return std::nullopt;
  }
  TrunkHeader h;
  h.timestamps = (p[3] & kTrunkTimestamps) != 0;
  h.timestamp = rd32(p + 4);
  const std::size_t entryHeader = h.timestamps ? kTrunkEntryHeaderTs : kTrunkEntryHeader;
  std::size_t i = kTrunkHeader;
  while (i < n) {
    if (n - i < entryHeader) {
      entries.clear();
      return std::nullopt;
    }
    TrunkEntry e;
    std::size_t len;
    if (h.timestamps) {
      len = rd16(p + i);
      e.srcCall = rd16(p + i + 2) & 0x7fff;
      e.timestamp = rd16(p + i + 4);
    } else {
      e.srcCall = rd16(p + i) & 0x7fff;
      len = rd16(p + i + 2);
    }
    i += entryHeader;
    if (len > n - i || e.srcCall == 0) {
      entries.clear();
      return std::nullopt;
    }
    e.data = p + i;
    e.len = len;
    i += len;
    entries.push_back(e);
  }
  if (entries.empty()) return std::nullopt;
  return h;
}

void TrunkWriter::begin(std::uint32_t timestamp, bool timestamps) {
  timestamps_ = timestamps;
  wr16(buf_, 0);
  buf_[2] = kMetaTrunk;
  buf_[3] = timestamps ? kTrunkTimestamps : 0;
  wr32(buf_ + 4, timestamp);
  size_ = kTrunkHeader;
  entries_ = 0;
}

bool TrunkWriter::add(std::uint16_t srcCall, std::uint16_t timestamp, const std::uint8_t* data,
                      std::size_t len) {
  if (size_ < kTrunkHeader || !fits(len)) return false;
  std::uint8_t* p = buf_ + size_;
  if (timestamps_) {
    wr16(p, static_cast<std::uint16_t>(len));
    wr16(p + 2, srcCall & 0x7fff);
    wr16(p + 4, timestamp);
    p += kTrunkEntryHeaderTs;
  } else {
    wr16(p, srcCall & 0x7fff);
    wr16(p + 2, static_cast<std::uint16_t>(len));
    p += kTrunkEntryHeader;
  }
  if (len) std::memcpy(p, data, len);
  size_ = static_cast<std::size_t>(p - buf_) + len;
  ++entries_;
  return true;
}

namespace {
const char* cmdName(std::uint32_t c) {
  static const char* const kNames[] = {
      "?",       "NEW",      "PING",    "PONG",   "ACK",     "HANGUP",    "REJECT",
      "ACCEPT",  "AUTHREQ",  "AUTHREP", "INVAL",  "LAGRQ",   "LAGRP",     "REGREQ",
      "REGAUTH", "REGACK",   "REGREJ",  "REGREL", "VNAK",    "DPREQ",     "DPREP",
      "DIAL",    "TXREQ",    "TXCNT",   "TXACC",  "TXREADY", "TXREL",     "TXREJ",
      "QUELCH",  "UNQUELCH", "POKE",    "?",      "MWI",     "UNSUPPORT", "TRANSFER"};
  if (c < sizeof(kNames) / sizeof(kNames[0])) return kNames[c];
  if (c == 40) return "CALLTOKEN";
  return "?";
}
const char* ctrlName(std::uint32_t c) {
  switch (c) {
    case 1:
      return "HANGUP";
    case 2:
      return "RING";
    case 3:
      return "RINGING";
    case 4:
      return "ANSWER";
    case 5:
      return "BUSY";
    case 8:
      return "CONGESTION";
    case 14:
      return "PROGRESS";
    case 15:
      return "PROCEEDING";
    default:
      return "?";
  }
}
}  // namespace

std::string describe(const FullFrame& f) {
  switch (f.type) {
    case FrameType::Iax:
      return std::string("IAX ") + cmdName(f.subclass);
    case FrameType::Control:
      return std::string("CONTROL ") + ctrlName(f.subclass);
    case FrameType::Voice:
      return "VOICE " + std::to_string(f.subclass);
    default:
      return "TYPE " + std::to_string(static_cast<int>(f.type));
  }
}

bool countsInSequence(const FullFrame& f) {
  if (f.type != FrameType::Iax) return true;
  switch (static_cast<Cmd>(f.subclass)) {
    case Cmd::Ack:
    case Cmd::Inval:
    case Cmd::Vnak:
    case Cmd::TxCnt:
    case Cmd::TxAcc:
      return false;
    default:
      return true;
  }
}

}  // namespace vfax::trunks::iax2
