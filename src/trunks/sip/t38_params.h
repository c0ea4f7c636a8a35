#pragma once
// The T.38 session parameters of SDP (ITU-T T.38 Annex D, D.2.3; registered by RFC 3362 and
// RFC 4612): parsing the a=T38... attributes of an `m=image ... udptl t38` line, writing ours,
// and the offer/answer rules. Pure data and rules: the SIP trunk moves them in and out of SDP.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "trunks/sip/sip_config.h"
#include "trunks/sip/udptl.h"

namespace vfax::trunks::sip {

/// T38FaxRateManagement: TCF (the training check) generated at each gateway (localTCF) or sent
/// across the IP network (transferredTCF, the method required for UDPTL).
enum class T38RateManagement { LocalTcf, TransferredTcf };

/// One side's T.38 attributes. Absent attributes get the defaults T.38 D.2.3 implies.
struct T38Params {
  int version = 0;         // T38FaxVersion (absent: 0)
  int maxBitRate = 14400;  // T38MaxBitRate, bit/s (absent: 14400, the V.17 maximum)
  T38RateManagement rateManagement = T38RateManagement::TransferredTcf;
  std::optional<int> maxBuffer;    // T38FaxMaxBuffer, octets
  std::optional<int> maxDatagram;  // T38FaxMaxDatagram, octets of one UDPTL datagram
  UdptlEc ec = UdptlEc::None;      // T38FaxUdpEC (absent: none)
  bool fillBitRemoval = false;     // T38FaxFillBitRemoval
  bool transcodingMmr = false;     // T38FaxTranscodingMMR
  bool transcodingJbig = false;    // T38FaxTranscodingJBIG

  bool operator==(const T38Params&) const = default;
};

/// The highest T38FaxVersion we answer with: spandsp 0.0.6's t38_core encodes and decodes IFPs
/// of versions 0 to 3.
inline constexpr int kT38MaxVersion = 3;
/// The version we offer: 0, what Asterisk, FreeSWITCH and most gateways offer and expect.
/// Versions 2 and 3 add V.34/V.33 signalling that spandsp 0.0.6's terminal cannot use, so
/// offering more gains nothing and only invites mis-negotiation.
inline constexpr int kT38OfferVersion = 0;
/// T38FaxMaxBuffer we announce (the receive buffer FreeSWITCH and spandsp-based peers announce).
inline constexpr int kT38MaxBuffer = 2000;
/// The far end's T38FaxMaxDatagram when it announced none, and the bounds we apply to what it
/// announced (below 64 no useful IFP fits; above 1400 IP fragmentation starts).
inline constexpr int kT38DefaultFarDatagram = 400;
inline constexpr int kT38MinFarDatagram = 64;
inline constexpr int kT38MaxFarDatagram = 1400;

/// Reads the T.38 attributes from SDP name/value pairs (a=T38FaxVersion:0 -> {"T38FaxVersion",
/// "0"}). Names and keyword values are case-insensitive; the boolean attributes stand alone or
/// carry 0/1; attributes that are not T.38's are ignored. A bad value is an error
/// ("bad_t38_attribute") whose message names the attribute.
core::Result<T38Params> parseT38Attributes(
    const std::vector<std::pair<std::string, std::string>>& attributes);

/// Our attributes in the usual order (version, bit rate, booleans, rate management, buffer,
/// datagram, EC); booleans only when true (value ""), EC only when not none.
std::vector<std::pair<std::string, std::string>> formatT38Attributes(const T38Params& params);

/// What we offer (initial INVITE or re-INVITE to T.38).
T38Params offerT38(const SipT38Config& ours);

/// Our answer to the far end's offer (T.38 D.2.3 / RFC 3362 offer/answer rules, see the .cc).
T38Params answerT38(const T38Params& offer, const SipT38Config& ours);

/// What we send with once both sides spoke: `far` is the far end's SDP (its answer when we
/// offered, its offer when we answered), `ours` what we sent. The far end's T38FaxMaxDatagram
/// (bounded, default 400) limits our datagrams; version, bit rate and EC are the lower of the
/// two; rate management is the far end's.
T38Params effectiveT38(const T38Params& ourOffer, const T38Params& answer);

/// The UDPTL sender's options for negotiated parameters (redundancy depth from our config,
/// FEC 3 x 3 as in the field, datagrams bounded by the far end's maximum).
UdptlOptions udptlOptionsFor(const T38Params& effective, const SipT38Config& ours);

const char* t38EcName(UdptlEc ec);
const char* t38RateManagementName(T38RateManagement rm);

}  // namespace vfax::trunks::sip
