#pragma once
// Checks and text forms of the SIP trunk's settings (sip_config.h), shared by the config file
// ([sip]), the API (sip_admin.h) and, through the API, the CLI and the web console.
//
// Every check returns "" when fine, else a sentence that starts with the key it is about
// ("expires must be 60 to 3600", "listen 'udp:x' must be ..."), so that the config file can put
// its section in front and the web console can show it next to the field of that name.
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "trunks/sip/sip_config.h"

namespace vfax::trunks::sip {

// ---- enumerations: names as in the config file and the API (parsed case-insensitively) ----

std::optional<SipTransport> parseTransport(const std::string& text);
std::string callerIdName(CallerIdMode m);  // from | pai | both
std::optional<CallerIdMode> parseCallerId(const std::string& text);
std::string t38ModeName(T38Mode m);  // off | accept | detect | immediate
std::optional<T38Mode> parseT38Mode(const std::string& text);
std::string udptlEcName(UdptlEc e);  // none | redundancy | fec
std::optional<UdptlEc> parseUdptlEc(const std::string& text);

// ---- values with a text form ----------------------------------------------------------------

/// "udp:127.0.0.1:5060", "tcp:0.0.0.0:5060", "tls:[::1]:5061" (numeric address; port 0 = any
/// free port). Error: "listen '...' must be TRANSPORT:ADDR:PORT ...".
std::string parseListen(const std::string& text, SipListen& out);
std::string formatListen(const SipListen& l);

/// "PCMA,PCMU" (case-insensitive, spaces allowed, no duplicates, at least one) into
/// {"PCMA","PCMU"}. Error: "codecs must ...".
std::string parseCodecs(const std::string& text, std::vector<std::string>& out);
std::string formatCodecs(const std::vector<std::string>& codecs);

/// "10000-20000": an even first port, a last port above it, both in 1024-65535.
/// Error: "rtp_ports must ...".
std::string parseRtpPorts(const std::string& text, int& min, int& max);
std::string formatRtpPorts(int min, int max);

/// A [[sip.peer]] match entry: a numeric address or a network ADDRESS/PREFIX.
bool validMatch(const std::string& entry);

// ---- whole objects ----------------------------------------------------------------------------

/// A peer on its own: name ([A-Za-z0-9._-], 1-64), host or match required, match entries,
/// host, port, username and secret together (digest), secret 8-128 characters, domain,
/// keepalive (0 or 10-3600).
std::string validatePeer(const SipPeerConfig& p);
/// A registration on its own: name, registrar and backup_registrar (host or host:port),
/// username and secret required, auth_username, domain, expires 60-3600.
std::string validateRegistration(const SipRegistrationConfig& r);
/// The general settings alone (listen, codecs, t38, session timers, rtp ports, media address,
/// TLS files, user agent), without the peers and registrations.
std::string validateGeneral(const SipConfig& c);
/// Everything: validateGeneral, each peer and registration (their errors end with
/// " (peer 'NAME')" / " (registration 'NAME')"), names unique across peers and registrations,
/// and `outbound` naming one that can place calls (a registration, or a peer with a host).
std::string validateConfig(const SipConfig& c);

/// True when a peer or registration `name` of `c` can carry outbound calls.
bool canDial(const SipConfig& c, const std::string& name);

/// The general settings an admin may override; what is unset stays (the config file's, or the
/// default).
struct SipGeneralUpdate {
  std::optional<std::vector<SipListen>> listen;
  std::optional<std::string> outbound;  // "" = automatic
  std::optional<std::vector<std::string>> codecs;
  std::optional<T38Mode> t38;
  std::optional<int> t38MaxBitRate;
  std::optional<int> t38MaxDatagram;
  std::optional<UdptlEc> t38Ec;
  std::optional<int> t38Redundancy;
  std::optional<int> sessionExpires;
  std::optional<int> minSessionExpires;
  std::optional<std::pair<int, int>> rtpPorts;
  std::optional<std::string> mediaAddress;
  std::optional<bool> tlsVerify;
  std::optional<std::string> tlsCaFile;
  std::optional<std::string> tlsCert;
  std::optional<std::string> tlsKey;
  std::optional<std::string> userAgent;
};

// ---- key/value text forms (the API's JSON through api/admin.h, see app/admin_adapters.cc) ----

/// Settings by the config file's keys, values in text: numbers in decimal, booleans "true" /
/// "false", lists (listen, match) one item a line.
using SipFields = std::map<std::string, std::string>;

/// The general settings ([sip] keys but `enabled`).
SipFields formatGeneral(const SipConfig& c);
/// Parses each field into `out`. Error: the first bad field's sentence ("t38 must be ...",
/// "unknown key 'x'").
std::string parseGeneral(const SipFields& fields, SipGeneralUpdate& out);
/// A peer / registration ([[sip.peer]] / [[sip.register]] keys). Parsing starts from `out` as
/// given (the defaults, or a stored entry), so that absent keys keep their value. The values'
/// own checks are validatePeer / validateRegistration.
SipFields formatPeer(const SipPeerConfig& p);
std::string parsePeer(const SipFields& fields, SipPeerConfig& out);
SipFields formatRegistration(const SipRegistrationConfig& r);
std::string parseRegistration(const SipFields& fields, SipRegistrationConfig& out);

}  // namespace vfax::trunks::sip
