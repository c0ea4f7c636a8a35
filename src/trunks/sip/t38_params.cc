#include "trunks/sip/t38_params.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace vfax::trunks::sip {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Shown in errors: at most 40 characters of what the far end sent, unprintables as '?'.
std::string quoted(std::string_view v) {
  std::string out = "'";
  for (std::size_t i = 0; i < v.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (v.size() > 40) out += "...";
  return out + "'";
}

core::Error bad(std::string_view name, std::string what) {
  return core::makeError("bad_t38_attribute", "SDP attribute " + std::string(name) + ": " + what);
}

// A decimal integer in [min, max]; an error naming the attribute otherwise.
std::optional<core::Error> parseInt(std::string_view name, std::string_view value, int min, int max,
                                    int& out) {
  if (value.empty()) return bad(name, "a number is required");
  long long v = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return bad(name, quoted(value) + " is not a whole number");
    v = v * 10 + (c - '0');
    if (v > max) break;
  }
  if (v < min || v > max) {
    return bad(name, quoted(value) + " is out of range (" + std::to_string(min) + " to " +
                         std::to_string(max) + ")");
  }
  out = static_cast<int>(v);
  return std::nullopt;
}

// T.38 D.2.3: the original form of the boolean attributes is presence alone (true); later
// versions of T.38 (and RFC 4612) allow an explicit value 0 or 1.
std::optional<core::Error> parseBool(std::string_view name, std::string_view value, bool& out) {
  if (value.empty() || value == "1") {
    out = true;
  } else if (value == "0") {
    out = false;
  } else {
    return bad(name, quoted(value) + " is not a boolean (no value, 0 or 1)");
  }
  return std::nullopt;
}

int ecRank(UdptlEc ec) {
  switch (ec) {
    case UdptlEc::None:
      return 0;
    case UdptlEc::Redundancy:
      return 1;
    case UdptlEc::Fec:
      return 2;
  }
  return 0;
}

UdptlEc weaker(UdptlEc a, UdptlEc b) { return ecRank(a) <= ecRank(b) ? a : b; }

}  // namespace

const char* t38EcName(UdptlEc ec) {
  switch (ec) {
    case UdptlEc::None:
      return "t38UDPNoEC";
    case UdptlEc::Redundancy:
      return "t38UDPRedundancy";
    case UdptlEc::Fec:
      return "t38UDPFEC";
  }
  return "t38UDPNoEC";
}

const char* t38RateManagementName(T38RateManagement rm) {
  return rm == T38RateManagement::LocalTcf ? "localTCF" : "transferredTCF";
}

core::Result<T38Params> parseT38Attributes(
    const std::vector<std::pair<std::string, std::string>>& attributes) {
  T38Params p;
  for (const auto& [rawName, rawValue] : attributes) {
    const std::string_view name = trim(rawName);
    const std::string_view value = trim(rawValue);
    std::optional<core::Error> err;
    if (iequals(name, "T38FaxVersion")) {
      err = parseInt(name, value, 0, 255, p.version);
    } else if (iequals(name, "T38MaxBitRate")) {
      err = parseInt(name, value, 300, 1000000, p.maxBitRate);
    } else if (iequals(name, "T38FaxRateManagement")) {
      if (iequals(value, "localTCF")) {
        p.rateManagement = T38RateManagement::LocalTcf;
      } else if (iequals(value, "transferredTCF")) {
        p.rateManagement = T38RateManagement::TransferredTcf;
      } else {
        err = bad(name, quoted(value) + " is neither localTCF nor transferredTCF");
      }
    } else if (iequals(name, "T38FaxMaxBuffer") || iequals(name, "T38FaxMaxDatagram")) {
      int v = 0;
      err = parseInt(name, value, 1, 1000000000, v);
      (iequals(name, "T38FaxMaxBuffer") ? p.maxBuffer : p.maxDatagram) = v;
    } else if (iequals(name, "T38FaxUdpEC")) {
      if (iequals(value, "t38UDPRedundancy")) {
        p.ec = UdptlEc::Redundancy;
      } else if (iequals(value, "t38UDPFEC")) {
        p.ec = UdptlEc::Fec;
      } else if (iequals(value, "t38UDPNoEC")) {
        p.ec = UdptlEc::None;
      } else {
        err = bad(name, quoted(value) + " is not t38UDPRedundancy, t38UDPFEC or t38UDPNoEC");
      }
    } else if (iequals(name, "T38FaxFillBitRemoval")) {
      err = parseBool(name, value, p.fillBitRemoval);
    } else if (iequals(name, "T38FaxTranscodingMMR")) {
      err = parseBool(name, value, p.transcodingMmr);
    } else if (iequals(name, "T38FaxTranscodingJBIG")) {
      err = parseBool(name, value, p.transcodingJbig);
    }
    // Anything else (T38VendorInfo, T38ModemType, sdp attributes of other kinds) is ignored.
    if (err) return *err;
  }
  return p;
}

std::vector<std::pair<std::string, std::string>> formatT38Attributes(const T38Params& p) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("T38FaxVersion", std::to_string(p.version));
  out.emplace_back("T38MaxBitRate", std::to_string(p.maxBitRate));
  if (p.fillBitRemoval) out.emplace_back("T38FaxFillBitRemoval", "");
  if (p.transcodingMmr) out.emplace_back("T38FaxTranscodingMMR", "");
  if (p.transcodingJbig) out.emplace_back("T38FaxTranscodingJBIG", "");
  out.emplace_back("T38FaxRateManagement", t38RateManagementName(p.rateManagement));
  if (p.maxBuffer) out.emplace_back("T38FaxMaxBuffer", std::to_string(*p.maxBuffer));
  if (p.maxDatagram) out.emplace_back("T38FaxMaxDatagram", std::to_string(*p.maxDatagram));
  // No EC is written by leaving the attribute out: t38UDPNoEC is unknown to older peers.
  if (p.ec != UdptlEc::None) out.emplace_back("T38FaxUdpEC", t38EcName(p.ec));
  return out;
}

T38Params offerT38(const SipT38Config& ours) {
  T38Params p;
  p.version = kT38OfferVersion;
  p.maxBitRate = ours.maxBitRate;
  // T.38 (clause 9 / D.2.3): over UDP, TCF must be transferred; localTCF is for TCP.
  p.rateManagement = T38RateManagement::TransferredTcf;
  p.maxBuffer = kT38MaxBuffer;
  // T38FaxMaxDatagram declares what *we* can receive (the UDPTL receiver takes up to 1400).
  p.maxDatagram = ours.maxDatagram;
  p.ec = ours.ec;
  // Fill-bit removal and MMR/JBIG transcoding are gateway features spandsp's T.38 terminal
  // does not offer.
  return p;
}

T38Params answerT38(const T38Params& offer, const SipT38Config& ours) {
  T38Params a;
  // T.38 D.2.3: the answer's T38FaxVersion is equal to or lower than the offer's; we go as high
  // as spandsp supports.
  a.version = std::min(offer.version, kT38MaxVersion);
  // T.38 D.2.3: T38MaxBitRate in the answer is at most the offered rate.
  a.maxBitRate = std::min(offer.maxBitRate, ours.maxBitRate);
  // T.38 D.2.3 (and RFC 3362): rate management is not negotiated, the answer carries the
  // offered method. spandsp's terminal does both (t38_set_data_rate_management_method), so an
  // offer of localTCF, unusual on UDPTL, is answered as offered rather than refused.
  a.rateManagement = offer.rateManagement;
  // T38FaxMaxBuffer / T38FaxMaxDatagram are declarative: each side states its own receiving
  // limits (T.38 D.2.3), so the answer carries ours whatever the offer said.
  a.maxBuffer = kT38MaxBuffer;
  a.maxDatagram = ours.maxDatagram;
  // T.38 D.2.3: the answerer takes the offered T38FaxUdpEC if it supports it, else a weaker
  // one (FEC > redundancy > none); our config's EC is the strongest we accept.
  a.ec = weaker(offer.ec, ours.ec);
  // T.38 D.2.3: an option may stay in the answer only when offered and supported; spandsp's
  // terminal supports none of fill-bit removal, MMR or JBIG transcoding.
  a.fillBitRemoval = false;
  a.transcodingMmr = false;
  a.transcodingJbig = false;
  return a;
}

T38Params effectiveT38(const T38Params& ourOffer, const T38Params& answer) {
  T38Params e;
  // Both sides use the lower version and bit rate (an answer above the offer is the far end's
  // mistake; the lower value is safe for both).
  e.version = std::min(ourOffer.version, answer.version);
  e.maxBitRate = std::min(ourOffer.maxBitRate, answer.maxBitRate);
  // The far end generates or expects TCF as it declared.
  e.rateManagement = answer.rateManagement;
  // T.38 D.2.3: T38FaxMaxDatagram is the largest datagram the far end receives; it bounds ours.
  // Unannounced: 400, the common default; nonsense values are bounded (see the header).
  e.maxDatagram = std::clamp(answer.maxDatagram.value_or(kT38DefaultFarDatagram),
                             kT38MinFarDatagram, kT38MaxFarDatagram);
  e.maxBuffer = answer.maxBuffer;
  e.ec = weaker(ourOffer.ec, answer.ec);
  e.fillBitRemoval = ourOffer.fillBitRemoval && answer.fillBitRemoval;
  e.transcodingMmr = ourOffer.transcodingMmr && answer.transcodingMmr;
  e.transcodingJbig = ourOffer.transcodingJbig && answer.transcodingJbig;
  return e;
}

UdptlOptions udptlOptionsFor(const T38Params& effective, const SipT38Config& ours) {
  UdptlOptions o;
  o.ec = effective.ec;
  o.redundancyDepth = ours.redundancyDepth;
  o.fecSpan = 3;
  o.fecEntries = 3;
  o.maxDatagram = static_cast<std::size_t>(effective.maxDatagram.value_or(kT38DefaultFarDatagram));
  return o;
}

}  // namespace vfax::trunks::sip
