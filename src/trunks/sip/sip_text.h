#pragma once
// Small free helpers of the SIP signalling half (sip_signalling_impl.h): libre's strings,
// addresses and transports as ours, clocks, and the text rules for what goes into our headers
// (every number and name from outside is reduced to characters that need no escaping).
#include <cstdint>
#include <optional>
#include <string>

#include "reactor/sock_addr.h"
#include "trunks/sip/libre.h"
#include "trunks/sip/sip_config.h"
#include "trunks/trunk.h"

namespace vfax::trunks::sip {

std::string plStr(const pl& p);
std::int64_t wallMs();
std::int64_t monoMs();

sip_transp toLibre(SipTransport t);
/// ";transport=tcp" / ";transport=tls" for URIs ("" for UDP).
std::string transportParam(SipTransport t);
/// libre's text for an errno value.
std::string errText(int err);

/// "host", "host:port", "[v6]:port" into host and port (default `defPort`).
void splitHostPort(const std::string& text, std::string& host, int& port, int defPort);
/// A host as it stands in a URI (IPv6 in brackets).
std::string hostForUri(const std::string& host);
std::optional<reactor::SockAddr> toSockAddr(const sa* a);
/// The numeric host of an address ("" when unset).
std::string saHost(const sa* a);

/// The Q.850-based cause for a final SIP status (RFC 3398 mapping).
HangupCause causeForStatus(int scode, const std::string& reason);
/// A URI user part from a dial string or caller number: only characters that need no escaping
/// (RFC 3261 "unreserved" and the telephone-subscriber ones we use); anything else is dropped,
/// so nothing from a document, mail or device setting can inject into our headers.
std::string uriUser(const std::string& in);
/// A display name for From: printable, no quotes or backslashes, at most 48 characters.
std::string displayName(const std::string& in);
/// A decimal number at the start of `text`, clamped to 0..max (never undefined behaviour).
int boundedInt(const char* text, int max);

/// RFC 4028 Session-Expires: "1800;refresher=uac".
struct SessionExpires {
  int seconds = 0;
  std::string refresher;  // "uac", "uas" or empty
};
std::optional<SessionExpires> parseSessionExpires(const sip_msg* msg);

}  // namespace vfax::trunks::sip
