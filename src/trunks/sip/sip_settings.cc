#include "trunks/sip/sip_settings.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/address_match.h"
#include "reactor/sock_addr.h"
#include "trunks/settings_text.h"

namespace vfax::trunks::sip {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Digits only, no sign, at most five: a port 0-65535 into `out`.
bool parsePort(const std::string& digits, int& out) {
  if (digits.empty() || digits.size() > 5) return false;
  int v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc{} || end != digits.data() + digits.size() || v > 65535) return false;
  out = v;
  return true;
}

// "host", "host:port", "[v6]:port", "[v6]" or a bare IPv6 address; the port stays when none is
// given.
bool splitHostPort(const std::string& text, std::string& host, int& port) {
  if (text.empty()) return false;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    if (close + 1 == text.size()) return true;
    if (text[close + 1] != ':') return false;
    return parsePort(text.substr(close + 2), port);
  }
  const auto colon = text.find(':');
  if (colon == std::string::npos) {
    host = text;
    return true;
  }
  if (text.find(':', colon + 1) != std::string::npos) {  // bare IPv6, no port
    host = text;
    return true;
  }
  host = text.substr(0, colon);
  return parsePort(text.substr(colon + 1), port);
}

// A registrar: a host (name or address) with an optional port 1-65535.
bool validRegistrar(const std::string& text) {
  std::string host;
  int port = 5060;
  return splitHostPort(text, host, port) && port > 0 && reactor::validHost(host);
}

// RFC 3261 user part characters (unreserved and user-unreserved); no '@', ':', spaces or
// control characters, which would change the URI or the header.
bool validSipUser(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) ||
                    std::string_view("-_.!~*'()&=+$,;?/%").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// Printable ASCII only: a secret goes into digest hashes, and a header value must not carry a
// line break.
bool printable(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::string checkSecret(const std::string& secret) {
  if (secret.size() < 8 || secret.size() > 128) return "secret must be 8 to 128 characters";
  if (!printable(secret)) return "secret must be printable ASCII characters";
  return {};
}

std::string checkDomain(const std::string& domain) {
  if (!domain.empty() && !reactor::validHost(domain)) {
    return "domain '" + domain + "' is not a host name or address";
  }
  return {};
}

std::string readable(const char* key, const std::string& file) {
  if (!file.empty() && ::access(file.c_str(), R_OK) != 0) {
    return std::string(key) + " cannot read '" + file + "'";
  }
  return {};
}

// "12" into `out`; false for anything but a plain decimal number.
bool parseInt(const std::string& text, int& out) {
  if (text.empty() || text.size() > 9) return false;
  const char* begin = text.data() + (text.front() == '-' ? 1 : 0);
  int v = 0;
  auto [end, ec] = std::from_chars(begin, text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || begin == text.data() + text.size()) {
    return false;
  }
  out = text.front() == '-' ? -v : v;
  return true;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = std::min(text.find('\n', pos), text.size());
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

std::string joinLines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : "\n") + i;
  return out;
}

std::string boolText(bool b) { return b ? "true" : "false"; }

// Typed reads of one field; each returns "" or the sentence naming the key.
std::string intField(const std::string& key, const std::string& text, int& out) {
  return parseInt(text, out) ? std::string() : key + " must be a whole number";
}
std::string boolField(const std::string& key, const std::string& text, bool& out) {
  if (text != "true" && text != "false") return key + " must be true or false";
  out = text == "true";
  return {};
}
template <typename T, typename Parse>
std::string enumField(const std::string& key, const std::string& text, Parse parse,
                      const char* want, T& out) {
  auto v = parse(text);
  if (!v) return key + " must be " + want;
  out = *v;
  return {};
}
}  // namespace

// ---- enumerations -----------------------------------------------------------------------------

std::optional<SipTransport> parseTransport(const std::string& text) {
  const auto t = lower(text);
  if (t == "udp") return SipTransport::Udp;
  if (t == "tcp") return SipTransport::Tcp;
  if (t == "tls") return SipTransport::Tls;
  return std::nullopt;
}

std::string callerIdName(CallerIdMode m) {
  switch (m) {
    case CallerIdMode::From:
      return "from";
    case CallerIdMode::Pai:
      return "pai";
    case CallerIdMode::Both:
      return "both";
  }
  return "from";
}

std::optional<CallerIdMode> parseCallerId(const std::string& text) {
  const auto t = lower(text);
  if (t == "from") return CallerIdMode::From;
  if (t == "pai") return CallerIdMode::Pai;
  if (t == "both") return CallerIdMode::Both;
  return std::nullopt;
}

std::string t38ModeName(T38Mode m) {
  switch (m) {
    case T38Mode::Off:
      return "off";
    case T38Mode::Accept:
      return "accept";
    case T38Mode::Detect:
      return "detect";
    case T38Mode::Immediate:
      return "immediate";
  }
  return "detect";
}

std::optional<T38Mode> parseT38Mode(const std::string& text) {
  const auto t = lower(text);
  if (t == "off") return T38Mode::Off;
  if (t == "accept") return T38Mode::Accept;
  if (t == "detect") return T38Mode::Detect;
  if (t == "immediate") return T38Mode::Immediate;
  return std::nullopt;
}

std::string udptlEcName(UdptlEc e) {
  switch (e) {
    case UdptlEc::None:
      return "none";
    case UdptlEc::Redundancy:
      return "redundancy";
    case UdptlEc::Fec:
      return "fec";
  }
  return "redundancy";
}

std::optional<UdptlEc> parseUdptlEc(const std::string& text) {
  const auto t = lower(text);
  if (t == "none") return UdptlEc::None;
  if (t == "redundancy") return UdptlEc::Redundancy;
  if (t == "fec") return UdptlEc::Fec;
  return std::nullopt;
}

// ---- values with a text form --------------------------------------------------------------------

std::string parseListen(const std::string& text, SipListen& out) {
  const std::string bad = "listen '" + text +
                          "' must be TRANSPORT:ADDR:PORT with transport udp, tcp or tls and a "
                          "numeric address (\"udp:127.0.0.1:5060\", \"tls:[::1]:5061\")";
  const auto colon = text.find(':');
  if (colon == std::string::npos) return bad;
  const auto transport = parseTransport(text.substr(0, colon));
  if (!transport) return bad;
  const std::string rest = text.substr(colon + 1);
  std::string host;
  int port = -1;
  // The port is required here: "udp:::1" would be ambiguous.
  if (!splitHostPort(rest, host, port) || port < 0) return bad;
  if (rest.front() != '[' && host.find(':') != std::string::npos) return bad;
  if (!reactor::SockAddr::numeric(host, port)) return bad;
  out = SipListen{*transport, host, port};
  return {};
}

std::string formatListen(const SipListen& l) {
  const bool v6 = l.address.find(':') != std::string::npos;
  return transportName(l.transport) + ":" + (v6 ? "[" + l.address + "]" : l.address) + ":" +
         std::to_string(l.port);
}

std::string parseCodecs(const std::string& text, std::vector<std::string>& out) {
  std::vector<std::string> list;
  std::string item;
  for (std::size_t pos = 0; pos <= text.size();) {
    const auto comma = std::min(text.find(',', pos), text.size());
    item = trim(text.substr(pos, comma - pos));
    std::string name = item;
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (name != "PCMA" && name != "PCMU") {
      return "codecs must list PCMA and/or PCMU (comma-separated), not '" + item + "'";
    }
    if (std::find(list.begin(), list.end(), name) != list.end()) {
      return "codecs names " + name + " twice";
    }
    list.push_back(name);
    pos = comma + 1;
  }
  out = std::move(list);
  return {};
}

std::string formatCodecs(const std::vector<std::string>& codecs) {
  std::string out;
  for (const auto& c : codecs) out += (out.empty() ? "" : ",") + c;
  return out;
}

std::string parseRtpPorts(const std::string& text, int& min, int& max) {
  const auto dash = text.find('-');
  int lo = 0;
  int hi = 0;
  if (dash == std::string::npos || !parsePort(trim(text.substr(0, dash)), lo) ||
      !parsePort(trim(text.substr(dash + 1)), hi)) {
    return "rtp_ports must be FIRST-LAST, e.g. \"10000-20000\", not '" + text + "'";
  }
  if (lo < 1024 || hi < 1024) return "rtp_ports must lie within 1024-65535";
  if (lo % 2 != 0) return "rtp_ports must start at an even port (RTP uses even ports)";
  if (hi <= lo) return "rtp_ports must end above its first port (at least 2 ports)";
  min = lo;
  max = hi;
  return {};
}

std::string formatRtpPorts(int min, int max) {
  return std::to_string(min) + "-" + std::to_string(max);
}

bool validMatch(const std::string& entry) { return core::validAddressEntry(entry); }

// ---- whole objects ------------------------------------------------------------------------------

std::string validatePeer(const SipPeerConfig& p) {
  if (!validName(p.name)) return "name must be 1-64 letters, digits, '-', '_' or '.'";
  for (const auto& m : p.match) {
    if (!validMatch(m)) {
      return "match '" + m + "' is not a numeric address or network (ADDRESS/PREFIX)";
    }
  }
  if (!p.host.empty() && !reactor::validHost(p.host)) {
    return "host '" + p.host + "' is not a host name or address";
  }
  if (p.host.empty() && p.match.empty()) {
    return "host or match is required (where calls go, where calls come from)";
  }
  if (p.port <= 0 || p.port > 65535) return "port must be 1 to 65535";
  if (p.username.empty() != p.secret.empty()) {
    return p.username.empty() ? "username is required with a secret (digest authentication)"
                              : "secret is required with a username (digest authentication)";
  }
  if (!p.username.empty() && !validSipUser(p.username)) {
    return "username must be 1-64 letters, digits or -_.!~*'()&=+$,;?/%";
  }
  if (!p.secret.empty()) {
    if (auto err = checkSecret(p.secret); !err.empty()) return err;
  }
  if (auto err = checkDomain(p.domain); !err.empty()) return err;
  if (p.keepaliveSeconds != 0 && (p.keepaliveSeconds < 10 || p.keepaliveSeconds > 3600)) {
    return "keepalive must be 0 (off) or 10 to 3600 seconds";
  }
  return {};
}

std::string validateRegistration(const SipRegistrationConfig& r) {
  if (!validName(r.name)) return "name must be 1-64 letters, digits, '-', '_' or '.'";
  if (r.registrar.empty()) return "registrar is required (host or host:port)";
  if (!validRegistrar(r.registrar)) {
    return "registrar '" + r.registrar + "' must be a host or host:port";
  }
  if (!r.backupRegistrar.empty() && !validRegistrar(r.backupRegistrar)) {
    return "backup_registrar '" + r.backupRegistrar + "' must be a host or host:port";
  }
  if (r.username.empty()) return "username is required";
  if (!validSipUser(r.username)) {
    return "username must be 1-64 letters, digits or -_.!~*'()&=+$,;?/%";
  }
  if (!r.authUsername.empty() && !validSipUser(r.authUsername)) {
    return "auth_username must be 1-64 letters, digits or -_.!~*'()&=+$,;?/%";
  }
  if (r.secret.empty()) return "secret is required";
  if (auto err = checkSecret(r.secret); !err.empty()) return err;
  if (auto err = checkDomain(r.domain); !err.empty()) return err;
  if (r.expires < 60 || r.expires > 3600) return "expires must be 60 to 3600 seconds";
  return {};
}

std::string validateGeneral(const SipConfig& c) {
  if (c.listen.empty()) return "listen must name at least one address";
  bool tls = false;
  for (std::size_t i = 0; i < c.listen.size(); ++i) {
    const auto& l = c.listen[i];
    if (!reactor::SockAddr::numeric(l.address, l.port)) {
      return "listen '" + formatListen(l) + "' must have a numeric address and a port 0-65535";
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (c.listen[j].transport == l.transport && c.listen[j].address == l.address &&
          c.listen[j].port == l.port && l.port != 0) {
        return "listen names '" + formatListen(l) + "' twice";
      }
    }
    tls = tls || l.transport == SipTransport::Tls;
  }
  if (c.codecs.empty()) return "codecs must list PCMA and/or PCMU";
  std::vector<std::string> checked;
  if (auto err = parseCodecs(formatCodecs(c.codecs), checked); !err.empty()) return err;
  static constexpr int kRates[] = {2400, 4800, 7200, 9600, 12000, 14400};
  if (std::find(std::begin(kRates), std::end(kRates), c.t38.maxBitRate) == std::end(kRates)) {
    return "t38_max_bitrate must be 2400, 4800, 7200, 9600, 12000 or 14400";
  }
  if (c.t38.maxDatagram < 100 || c.t38.maxDatagram > 1400) {
    return "t38_max_datagram must be 100 to 1400 bytes";
  }
  if (c.t38.redundancyDepth < 1 || c.t38.redundancyDepth > 7) {
    return "t38_redundancy must be 1 to 7";
  }
  if (c.minSessionExpires < 90) return "min_session_expires must be at least 90 seconds";
  if (c.sessionExpires < c.minSessionExpires || c.sessionExpires > 86400) {
    return "session_expires must be min_session_expires (" + std::to_string(c.minSessionExpires) +
           ") to 86400 seconds";
  }
  int lo = 0;
  int hi = 0;
  if (auto err = parseRtpPorts(formatRtpPorts(c.rtpPortMin, c.rtpPortMax), lo, hi); !err.empty()) {
    return err;
  }
  if (!c.mediaAddress.empty() && !reactor::SockAddr::numeric(c.mediaAddress, 0)) {
    return "media_address '" + c.mediaAddress + "' must be a numeric address";
  }
  if (c.tlsCert.empty() != c.tlsKey.empty()) return "tls_cert and tls_key go together";
  if (tls && c.tlsCert.empty()) {
    return "tls_cert and tls_key are required for a tls listen address";
  }
  for (auto [key, file] : {std::pair{"tls_ca_file", &c.tlsCaFile},
                           std::pair{"tls_cert", &c.tlsCert}, std::pair{"tls_key", &c.tlsKey}}) {
    if (auto err = readable(key, *file); !err.empty()) return err;
  }
  if (c.userAgent.empty() || c.userAgent.size() > 64 || !printable(c.userAgent)) {
    return "user_agent must be 1 to 64 printable ASCII characters";
  }
  return {};
}

bool canDial(const SipConfig& c, const std::string& name) {
  for (const auto& r : c.registrations) {
    if (r.name == name) return true;
  }
  for (const auto& p : c.peers) {
    if (p.name == name) return !p.host.empty();
  }
  return false;
}

std::string validateConfig(const SipConfig& c) {
  if (auto err = validateGeneral(c); !err.empty()) return err;
  std::vector<std::string> names;
  auto unique = [&names](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return "name '" + name + "' is given twice (names are unique across peers and registrations)";
    }
    names.push_back(name);
    return std::string();
  };
  for (const auto& p : c.peers) {
    if (auto err = validatePeer(p); !err.empty()) return err + " (peer '" + p.name + "')";
    if (auto err = unique(p.name); !err.empty()) return err;
  }
  for (const auto& r : c.registrations) {
    if (auto err = validateRegistration(r); !err.empty()) {
      return err + " (registration '" + r.name + "')";
    }
    if (auto err = unique(r.name); !err.empty()) return err;
  }
  if (!c.outbound.empty() && !canDial(c, c.outbound)) {
    for (const auto& p : c.peers) {
      if (p.name == c.outbound) {
        return "outbound '" + c.outbound + "' is a peer without a host: it cannot be called";
      }
    }
    return "outbound '" + c.outbound + "' names no peer or registration";
  }
  return {};
}

// ---- key/value text forms ----------------------------------------------------------------------

SipFields formatGeneral(const SipConfig& c) {
  std::vector<std::string> listen;
  for (const auto& l : c.listen) listen.push_back(formatListen(l));
  return {{"listen", joinLines(listen)},
          {"outbound", c.outbound},
          {"codecs", formatCodecs(c.codecs)},
          {"t38", t38ModeName(c.t38.mode)},
          {"t38_max_bitrate", std::to_string(c.t38.maxBitRate)},
          {"t38_max_datagram", std::to_string(c.t38.maxDatagram)},
          {"t38_ec", udptlEcName(c.t38.ec)},
          {"t38_redundancy", std::to_string(c.t38.redundancyDepth)},
          {"session_expires", std::to_string(c.sessionExpires)},
          {"min_session_expires", std::to_string(c.minSessionExpires)},
          {"rtp_ports", formatRtpPorts(c.rtpPortMin, c.rtpPortMax)},
          {"media_address", c.mediaAddress},
          {"tls_verify", boolText(c.tlsVerify)},
          {"tls_ca_file", c.tlsCaFile},
          {"tls_cert", c.tlsCert},
          {"tls_key", c.tlsKey},
          {"user_agent", c.userAgent}};
}

std::string parseGeneral(const SipFields& fields, SipGeneralUpdate& out) {
  for (const auto& [key, text] : fields) {
    std::string err;
    int n = 0;
    bool b = false;
    if (key == "listen") {
      std::vector<SipListen> list;
      for (const auto& item : lines(text)) {
        SipListen l;
        if (err = parseListen(item, l); !err.empty()) return err;
        list.push_back(l);
      }
      if (list.empty()) return "listen must name at least one address";
      out.listen = list;
    } else if (key == "codecs") {
      std::vector<std::string> codecs;
      if (err = parseCodecs(text, codecs); err.empty()) out.codecs = codecs;
    } else if (key == "t38") {
      T38Mode m{};
      err = enumField(key, text, parseT38Mode, "off, accept, detect or immediate", m);
      if (err.empty()) out.t38 = m;
    } else if (key == "t38_ec") {
      UdptlEc e{};
      if (err = enumField(key, text, parseUdptlEc, "none, redundancy or fec", e); err.empty()) {
        out.t38Ec = e;
      }
    } else if (key == "rtp_ports") {
      int lo = 0, hi = 0;
      if (err = parseRtpPorts(text, lo, hi); err.empty()) out.rtpPorts = std::pair{lo, hi};
    } else if (key == "tls_verify") {
      if (err = boolField(key, text, b); err.empty()) out.tlsVerify = b;
    } else if (key == "t38_max_bitrate" || key == "t38_max_datagram" || key == "t38_redundancy" ||
               key == "session_expires" || key == "min_session_expires") {
      if (err = intField(key, text, n); !err.empty()) return err;
      auto& field = key == "t38_max_bitrate"    ? out.t38MaxBitRate
                    : key == "t38_max_datagram" ? out.t38MaxDatagram
                    : key == "t38_redundancy"   ? out.t38Redundancy
                    : key == "session_expires"  ? out.sessionExpires
                                                : out.minSessionExpires;
      field = n;
    } else if (key == "outbound") {
      out.outbound = text;
    } else if (key == "media_address") {
      out.mediaAddress = text;
    } else if (key == "tls_ca_file") {
      out.tlsCaFile = text;
    } else if (key == "tls_cert") {
      out.tlsCert = text;
    } else if (key == "tls_key") {
      out.tlsKey = text;
    } else if (key == "user_agent") {
      out.userAgent = text;
    } else {
      err = "unknown key '" + key + "'";
    }
    if (!err.empty()) return err;
  }
  return {};
}

SipFields formatPeer(const SipPeerConfig& p) {
  return {{"name", p.name},
          {"match", joinLines(p.match)},
          {"host", p.host},
          {"port", std::to_string(p.port)},
          {"transport", transportName(p.transport)},
          {"username", p.username},
          {"secret", p.secret},
          {"domain", p.domain},
          {"caller_id", callerIdName(p.callerId)},
          {"t38", boolText(p.t38)},
          {"keepalive", std::to_string(p.keepaliveSeconds)}};
}

std::string parsePeer(const SipFields& fields, SipPeerConfig& out) {
  for (const auto& [key, text] : fields) {
    std::string err;
    if (key == "name") {
      out.name = text;
    } else if (key == "match") {
      out.match = lines(text);
    } else if (key == "host") {
      out.host = text;
    } else if (key == "port") {
      err = intField(key, text, out.port);
    } else if (key == "transport") {
      err = enumField(key, text, parseTransport, "udp, tcp or tls", out.transport);
    } else if (key == "username") {
      out.username = text;
    } else if (key == "secret") {
      out.secret = text;
    } else if (key == "domain") {
      out.domain = text;
    } else if (key == "caller_id") {
      err = enumField(key, text, parseCallerId, "from, pai or both", out.callerId);
    } else if (key == "t38") {
      err = boolField(key, text, out.t38);
    } else if (key == "keepalive") {
      err = intField(key, text, out.keepaliveSeconds);
    } else {
      err = "unknown key '" + key + "'";
    }
    if (!err.empty()) return err;
  }
  return {};
}

SipFields formatRegistration(const SipRegistrationConfig& r) {
  return {{"name", r.name},
          {"registrar", r.registrar},
          {"backup_registrar", r.backupRegistrar},
          {"transport", transportName(r.transport)},
          {"username", r.username},
          {"auth_username", r.authUsername},
          {"secret", r.secret},
          {"domain", r.domain},
          {"expires", std::to_string(r.expires)},
          {"caller_id", callerIdName(r.callerId)},
          {"t38", boolText(r.t38)}};
}

std::string parseRegistration(const SipFields& fields, SipRegistrationConfig& out) {
  for (const auto& [key, text] : fields) {
    std::string err;
    if (key == "name") {
      out.name = text;
    } else if (key == "registrar") {
      out.registrar = text;
    } else if (key == "backup_registrar") {
      out.backupRegistrar = text;
    } else if (key == "transport") {
      err = enumField(key, text, parseTransport, "udp, tcp or tls", out.transport);
    } else if (key == "username") {
      out.username = text;
    } else if (key == "auth_username") {
      out.authUsername = text;
    } else if (key == "secret") {
      out.secret = text;
    } else if (key == "domain") {
      out.domain = text;
    } else if (key == "expires") {
      err = intField(key, text, out.expires);
    } else if (key == "caller_id") {
      err = enumField(key, text, parseCallerId, "from, pai or both", out.callerId);
    } else if (key == "t38") {
      err = boolField(key, text, out.t38);
    } else {
      err = "unknown key '" + key + "'";
    }
    if (!err.empty()) return err;
  }
  return {};
}

}  // namespace vfax::trunks::sip
