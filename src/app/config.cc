#include "app/config.h"

#include <netdb.h>
#include <toml++/toml.h>
#include <unistd.h>
#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/address_match.h"
#include "print/options.h"
#include "trunks/iax2/settings.h"
#include "trunks/sip/sip_settings.h"

namespace vfax::app {

namespace {

template <typename T>
std::string rangeText() {
  return "a whole number from " + std::to_string(std::numeric_limits<T>::min()) + " to " +
         std::to_string(std::numeric_limits<T>::max());
}

// Seconds become milliseconds and MiB bytes, and both are added to the clock or to sizes: bounded
// so that nothing overflows (100 years, 1 TiB).
constexpr long long kMaxSeconds = 100LL * 366 * 24 * 3600;
constexpr long long kMaxMegabytes = 1024LL * 1024;

void atMost(long long v, long long max, const char* what) {
  if (v > max) {
    throw std::runtime_error(std::string("config: ") + what + " must be at most " +
                             std::to_string(max) + ", got " + std::to_string(v));
  }
}

// A typed view of the TOML tree that refuses unknown keys, so that a typo in the file is an error
// at start-up and not a silently ignored setting.
class Reader {
 public:
  explicit Reader(const toml::table& root) : root_(root) {}

  /// Marks a top-level key that the caller reads itself ([[route]]).
  void knownRoot(const std::string& name) { known_.insert(name); }
  const toml::node* root(const std::string& name) const { return root_.get(name); }

  const toml::table* section(const std::string& name) {
    known_.insert(name);
    const auto* node = root_.get(name);
    if (!node) return nullptr;
    const auto* t = node->as_table();
    if (!t) throw std::runtime_error("config: [" + name + "] must be a table");
    return t;
  }

  template <typename T>
  void get(const toml::table* t, const std::string& section, const std::string& key, T& out) {
    knownKeys_.insert(section + "." + key);
    if (!t) return;
    const auto* node = t->get(key);
    if (!node) return;
    if constexpr (std::is_same_v<T, bool>) {
      if (!node->is_boolean()) fail(section, key, "true or false");
      out = node->as_boolean()->get();
    } else if constexpr (std::is_integral_v<T>) {
      if (!node->is_integer()) fail(section, key, "a whole number");
      const std::int64_t v = node->as_integer()->get();
      // Cast blindly, 4294967297 would be 1: a value that passes every later check.
      if (!std::in_range<T>(v)) fail(section, key, rangeText<T>().c_str());
      out = static_cast<T>(v);
    } else {
      if (!node->is_string()) fail(section, key, "a string");
      out = node->as_string()->get();
    }
  }

  /// Marks a key that the caller reads itself (arrays of tables).
  void known(const std::string& section, const std::string& key) {
    knownKeys_.insert(section + "." + key);
  }

  void checkUnknown() {
    for (const auto& [k, v] : root_) {
      const std::string name(k.str());
      if (!known_.contains(name))
        throw std::runtime_error("config: unknown section [" + name + "]");
      if (const auto* t = v.as_table()) {
        for (const auto& [key, value] : *t) {
          if (!knownKeys_.contains(name + "." + std::string(key.str()))) {
            throw std::runtime_error("config: unknown key '" + std::string(key.str()) + "' in [" +
                                     name + "]");
          }
        }
      }
    }
  }

 private:
  [[noreturn]] static void fail(const std::string& section, const std::string& key,
                                const char* want) {
    throw std::runtime_error("config: [" + section + "] " + key + " must be " + want);
  }

  const toml::table& root_;
  std::set<std::string> known_;
  std::set<std::string> knownKeys_;
};

void positive(long long v, const char* what) {
  if (v <= 0) throw std::runtime_error(std::string("config: ") + what + " must be positive");
}

// One table of an array of tables ([[iax2.peer]], [[sip.register]], ...): typed reads that name
// the table and the key in their errors, and no key besides the known ones.
class Entry {
 public:
  Entry(const toml::node& n, std::string where) : where_(std::move(where)) {
    if (!n.is_table()) throw std::runtime_error("config: " + where_ + " must be tables");
    table_ = n.as_table();
  }
  const std::string& where() const { return where_; }
  void onlyKeys(const std::set<std::string>& keys) const {
    for (const auto& [k, v] : *table_) {
      if (!keys.contains(std::string(k.str())))
        throw std::runtime_error("config: unknown key '" + std::string(k.str()) + "' in " + where_);
    }
  }
  void str(const char* key, std::string& out) const {
    if (const auto* n = table_->get(key)) {
      if (!n->is_string()) fail(key, "a string");
      out = n->as_string()->get();
    }
  }
  void flag(const char* key, bool& out) const {
    if (const auto* n = table_->get(key)) {
      if (!n->is_boolean()) fail(key, "true or false");
      out = n->as_boolean()->get();
    }
  }
  void num(const char* key, int& out) const {
    if (const auto* n = table_->get(key)) {
      if (!n->is_integer()) fail(key, "a whole number");
      const std::int64_t v = n->as_integer()->get();
      if (!std::in_range<int>(v)) fail(key, rangeText<int>().c_str());
      out = static_cast<int>(v);
    }
  }
  void strings(const char* key, std::vector<std::string>& out) const {
    if (const auto* n = table_->get(key)) {
      const auto* list = n->as_array();
      if (!list) fail(key, "a list of strings");
      out.clear();
      for (const auto& item : *list) {
        if (!item.is_string()) fail(key, "a list of strings");
        out.push_back(item.as_string()->get());
      }
    }
  }

 private:
  [[noreturn]] void fail(const char* key, const char* want) const {
    throw std::runtime_error("config: " + where_ + " " + key + " must be " + want);
  }
  std::string where_;
  const toml::table* table_ = nullptr;
};

// The tables of an array of tables `key` of section `t`, read by `each`.
template <typename F>
void forEachTable(const toml::table* t, const char* key, const std::string& where, F each) {
  const auto* node = t->get(key);
  if (!node) return;
  if (!node->is_array())
    throw std::runtime_error("config: " + where + " must be an array of tables");
  for (const auto& n : *node->as_array()) each(Entry(n, where));
}

// [[route]]: outbound routes across the trunks ("iax2", "sip", "sip:NAME"); the names of SIP
// peers and registrations are checked once the API's are known (checkRoutes).
void readRoutes(Reader& r, Config& c) {
  r.knownRoot("route");
  const auto* node = r.root("route");
  if (!node) return;
  if (!node->is_array()) throw std::runtime_error("config: [[route]] must be an array of tables");
  for (const auto& n : *node->as_array()) {
    Entry e(n, "[[route]]");
    e.onlyKeys({"prefix", "trunk"});
    RouteConfig route;
    e.str("prefix", route.prefix);
    e.str("trunk", route.trunk);
    if (route.prefix.find_first_not_of("0123456789+*#") != std::string::npos) {
      throw std::runtime_error("config: [[route]] prefix must be digits (with + * #), got '" +
                               route.prefix + "'");
    }
    const bool sipNamed = route.trunk.rfind("sip:", 0) == 0 && route.trunk.size() > 4;
    if (route.trunk != "iax2" && route.trunk != "sip" && !sipNamed) {
      throw std::runtime_error(
          "config: [[route]] trunk must be \"iax2\", \"sip\" or \"sip:NAME\" (a [[sip.peer]] "
          "or [[sip.register]]), got '" +
          route.trunk + "'");
    }
    for (const auto& other : c.routes) {
      if (other.prefix == route.prefix) {
        throw std::runtime_error("config: [[route]] prefix '" + route.prefix + "' appears twice");
      }
    }
    c.routes.push_back(route);
  }
}

// [iax2] with [[iax2.peer]] and [[iax2.register]] arrays of tables.
void readIax2(Reader& r, Config& c) {
  const auto* t = r.section("iax2");
  if (!t) return;
  auto& o = c.iax2;
  c.iax2Section = true;
  c.iax2Enabled = true;
  std::string bind, codecs;
  r.get(t, "iax2", "enabled", c.iax2Enabled);
  r.get(t, "iax2", "bind", bind);
  r.get(t, "iax2", "codecs", codecs);
  r.get(t, "iax2", "outbound", o.engine.outboundRoute);
  r.get(t, "iax2", "log_frames", o.engine.logFrames);
  r.get(t, "iax2", "jitter_frames", o.engine.jitterPrefillFrames);
  if (!bind.empty()) {
    // The trunk's own parser: what passes here binds, or fails only for the port being taken.
    if (auto err = trunks::iax2::parseBind(bind, o.bindAddress, o.port); !err.empty()) {
      throw std::runtime_error("config: [iax2] bind " + err);
    }
  }
  if (!codecs.empty()) {
    auto list = trunks::iax2::parseCodecList(codecs);
    if (!list) throw std::runtime_error("config: [iax2] codecs must list ulaw, alaw, slinear");
    o.engine.codecs = *list;
  }
  r.known("iax2", "peer");
  r.known("iax2", "register");
  forEachTable(t, "peer", "[[iax2.peer]]", [&](const Entry& e) {
    e.onlyKeys(
        {"name", "secret", "host", "port", "username", "trunk", "trunk_timestamps", "calltoken"});
    trunks::iax2::PeerConfig p;
    std::string calltoken = "required";
    e.str("name", p.name);
    e.str("secret", p.secret);
    e.str("host", p.host);
    e.str("username", p.username);
    e.num("port", p.port);
    e.flag("trunk", p.trunk);
    e.flag("trunk_timestamps", p.trunkTimestamps);
    e.str("calltoken", calltoken);
    if (auto req = trunks::iax2::parseCallToken(calltoken)) {
      p.callTokenRequired = *req;
    } else {
      throw std::runtime_error(
          "config: [[iax2.peer]] calltoken must be \"required\" or \"optional\"");
    }
    if (auto err = trunks::iax2::validateNewPeer(p); !err.empty())
      throw std::runtime_error("config: [[iax2.peer]] " + err);
    // Peers are found by name: a second one of the same name would never be used.
    for (const auto& other : o.engine.peers) {
      if (other.name == p.name) {
        throw std::runtime_error("config: [[iax2.peer]] name '" + p.name + "' is given twice");
      }
    }
    o.engine.peers.push_back(p);
  });
  forEachTable(t, "register", "[[iax2.register]]", [&](const Entry& e) {
    e.onlyKeys(
        {"server", "port", "username", "secret", "refresh_seconds", "trunk", "trunk_timestamps"});
    trunks::iax2::RegistrationConfig g;
    e.str("server", g.server);
    e.str("username", g.username);
    e.str("secret", g.secret);
    e.num("port", g.port);
    e.num("refresh_seconds", g.refreshSeconds);
    e.flag("trunk", g.trunk);
    e.flag("trunk_timestamps", g.trunkTimestamps);
    if (auto err = trunks::iax2::validateRegistration(g); !err.empty())
      throw std::runtime_error("config: [[iax2.register]] " + err);
    for (const auto& other : o.engine.registrations) {
      if (other.username == g.username && other.server == g.server) {
        throw std::runtime_error("config: [[iax2.register]] username '" + g.username +
                                 "' at server '" + g.server + "' is given twice");
      }
    }
    o.engine.registrations.push_back(g);
  });
}

// [sip] with [[sip.peer]] and [[sip.register]] (the SIP trunk; keys as in the issue 12
// contract). Each value is checked by the trunk's own checks (sip_settings.h); what depends on
// the API's stored peers (the outbound route) is checked once those are known
// (checkSipOutbound).
void readSip(Reader& r, Config& c) {
  const auto* t = r.section("sip");
  if (!t) return;
  namespace sip = trunks::sip;
  auto& o = c.sip;
  c.sipSection = true;
  c.sipEnabled = true;
  auto fail = [](const std::string& err) { throw std::runtime_error("config: [sip] " + err); };
  r.get(t, "sip", "enabled", c.sipEnabled);
  r.known("sip", "listen");
  if (const auto* n = t->get("listen")) {
    const auto* list = n->as_array();
    if (!list) fail("listen must be a list, e.g. [\"udp:127.0.0.1:5060\"]");
    o.listen.clear();
    for (const auto& item : *list) {
      if (!item.is_string()) fail("listen must list strings");
      sip::SipListen l;
      if (auto err = sip::parseListen(item.as_string()->get(), l); !err.empty()) fail(err);
      o.listen.push_back(l);
    }
  }
  std::string codecs, t38, t38Ec, rtpPorts;
  r.get(t, "sip", "outbound", o.outbound);
  r.get(t, "sip", "codecs", codecs);
  r.get(t, "sip", "t38", t38);
  r.get(t, "sip", "t38_max_bitrate", o.t38.maxBitRate);
  r.get(t, "sip", "t38_max_datagram", o.t38.maxDatagram);
  r.get(t, "sip", "t38_ec", t38Ec);
  r.get(t, "sip", "t38_redundancy", o.t38.redundancyDepth);
  r.get(t, "sip", "session_expires", o.sessionExpires);
  r.get(t, "sip", "min_session_expires", o.minSessionExpires);
  r.get(t, "sip", "rtp_ports", rtpPorts);
  r.get(t, "sip", "media_address", o.mediaAddress);
  r.get(t, "sip", "tls_verify", o.tlsVerify);
  r.get(t, "sip", "tls_ca_file", o.tlsCaFile);
  r.get(t, "sip", "tls_cert", o.tlsCert);
  r.get(t, "sip", "tls_key", o.tlsKey);
  r.get(t, "sip", "user_agent", o.userAgent);
  if (t->get("codecs")) {
    if (auto err = sip::parseCodecs(codecs, o.codecs); !err.empty()) fail(err);
  }
  if (t->get("t38")) {
    auto mode = sip::parseT38Mode(t38);
    if (!mode) fail("t38 must be off, accept, detect or immediate");
    o.t38.mode = *mode;
  }
  if (t->get("t38_ec")) {
    auto ec = sip::parseUdptlEc(t38Ec);
    if (!ec) fail("t38_ec must be none, redundancy or fec");
    o.t38.ec = *ec;
  }
  if (t->get("rtp_ports")) {
    if (auto err = sip::parseRtpPorts(rtpPorts, o.rtpPortMin, o.rtpPortMax); !err.empty()) {
      fail(err);
    }
  }
  if (auto err = sip::validateGeneral(o); !err.empty()) fail(err);

  auto enumValue = [](const Entry& e, const char* key, auto parse, const char* want, auto& out) {
    std::string text;
    e.str(key, text);
    if (text.empty()) return;
    auto v = parse(text);
    if (!v) throw std::runtime_error("config: " + e.where() + " " + key + " must be " + want);
    out = *v;
  };
  std::set<std::string> names;
  auto unique = [&names](const Entry& e, const std::string& name) {
    if (!names.insert(name).second) {
      throw std::runtime_error("config: " + e.where() + " name '" + name +
                               "' is given twice (names are unique across [[sip.peer]] and "
                               "[[sip.register]])");
    }
  };
  r.known("sip", "peer");
  r.known("sip", "register");
  forEachTable(t, "peer", "[[sip.peer]]", [&](const Entry& e) {
    e.onlyKeys({"name", "match", "host", "port", "transport", "username", "secret", "domain",
                "caller_id", "t38", "keepalive"});
    sip::SipPeerConfig p;
    e.str("name", p.name);
    e.strings("match", p.match);
    e.str("host", p.host);
    e.num("port", p.port);
    enumValue(e, "transport", sip::parseTransport, "udp, tcp or tls", p.transport);
    e.str("username", p.username);
    e.str("secret", p.secret);
    e.str("domain", p.domain);
    enumValue(e, "caller_id", sip::parseCallerId, "from, pai or both", p.callerId);
    e.flag("t38", p.t38);
    e.num("keepalive", p.keepaliveSeconds);
    if (auto err = sip::validatePeer(p); !err.empty()) {
      throw std::runtime_error("config: [[sip.peer]] " + err +
                               (p.name.empty() ? "" : " (peer '" + p.name + "')"));
    }
    unique(e, p.name);
    o.peers.push_back(p);
  });
  forEachTable(t, "register", "[[sip.register]]", [&](const Entry& e) {
    e.onlyKeys({"name", "registrar", "backup_registrar", "transport", "username", "auth_username",
                "secret", "domain", "expires", "caller_id", "t38"});
    sip::SipRegistrationConfig g;
    e.str("name", g.name);
    e.str("registrar", g.registrar);
    e.str("backup_registrar", g.backupRegistrar);
    enumValue(e, "transport", sip::parseTransport, "udp, tcp or tls", g.transport);
    e.str("username", g.username);
    e.str("auth_username", g.authUsername);
    e.str("secret", g.secret);
    e.str("domain", g.domain);
    e.num("expires", g.expires);
    enumValue(e, "caller_id", sip::parseCallerId, "from, pai or both", g.callerId);
    e.flag("t38", g.t38);
    if (auto err = sip::validateRegistration(g); !err.empty()) {
      throw std::runtime_error("config: [[sip.register]] " + err +
                               (g.name.empty() ? "" : " (registration '" + g.name + "')"));
    }
    unique(e, g.name);
    o.registrations.push_back(g);
  });
}

// [smtp] host -> smtp_host, [mailbox] server -> mailbox_server, [mail] language -> language.
// Values are kept as strings; the mail gateway checks them (and refuses to start on a bad one).
void readMail(Reader& r, Config& c) {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> kSections = {
      {"smtp", {"host", "port", "tls", "user", "password", "from", "ignore_invalid_certificates"}},
      {"mailbox",
       {"server", "port", "protocol", "tls", "user", "password", "folder", "poll_seconds", "delete",
        "ignore_invalid_certificates", "idle"}},
      {"mail",
       {"language", "status_mails", "status_format", "allowed_senders", "templates_dir",
        "retry_initial_seconds", "retry_max_seconds", "max_mail_mb", "sender_auth",
        "trusted_authserv_ids", "max_numbers_per_mail", "replies_per_sender_per_hour"}},
  };
  for (const auto& [section, keys] : kSections) {
    const auto* t = r.section(section);
    for (const auto& key : keys) {
      r.known(section, key);
      const toml::node* n = t ? t->get(key) : nullptr;
      if (!n) continue;
      const std::string name = section == "mail" ? key : section + "_" + key;
      if (n->is_string()) {
        c.mail[name] = n->as_string()->get();
      } else if (n->is_integer()) {
        c.mail[name] = std::to_string(n->as_integer()->get());
      } else if (n->is_boolean()) {
        c.mail[name] = n->as_boolean()->get() ? "true" : "false";
      } else if (n->is_array()) {
        std::string list;
        for (const auto& item : *n->as_array()) {
          if (!item.is_string())
            throw std::runtime_error("config: [" + section + "] " + key + " must list strings");
          list += (list.empty() ? "" : ",") + item.as_string()->get();
        }
        c.mail[name] = list;
      } else {
        throw std::runtime_error("config: [" + section + "] " + key +
                                 " must be a string, number or boolean");
      }
    }
  }
}

// [print]: vfax-printer's settings, checked here so that a mistake stops vfaxd at start rather
// than making the child fail again and again.
void readPrint(Reader& r, Config& c) {
  const auto* t = r.section("print");
  auto& p = c.print;
  r.get(t, "print", "enabled", p.enabled);
  r.get(t, "print", "listen", p.listen);
  r.get(t, "print", "tls_cert", p.tlsCert);
  r.get(t, "print", "tls_key", p.tlsKey);
  r.get(t, "print", "anonymous_device", p.anonymousDevice);
  r.get(t, "print", "log_level", p.logLevel);
  r.known("print", "anonymous_allow");
  if (t) {
    if (const auto* n = t->get("anonymous_allow")) {
      const auto* list = n->as_array();
      if (!list) {
        throw std::runtime_error(
            "config: [print] anonymous_allow must be a list of addresses, e.g. [\"127.0.0.1\"]");
      }
      p.anonymousAllow.clear();
      for (const auto& item : *list) {
        const auto* s = item.as_string();
        if (!s) throw std::runtime_error("config: [print] anonymous_allow must list strings");
        const std::string a = s->get();
        // An address, or a network as ADDRESS/PREFIX (10.0.0.0/8, fd00::/8).
        const bool ok = core::validAddressEntry(a);
        if (!ok) {
          throw std::runtime_error("config: [print] anonymous_allow: '" + a +
                                   "' is not a numeric IPv4 or IPv6 address or network "
                                   "(ADDRESS/PREFIX)");
        }
        p.anonymousAllow.push_back(a);
      }
    }
  }
  std::string address;
  int port = 0;
  if (auto err = print::parseListen(p.listen, address, port); !err.empty()) {
    throw std::runtime_error("config: [print] listen " + err);
  }
  if (p.tlsCert.empty() != p.tlsKey.empty()) {
    throw std::runtime_error("config: [print] tls_cert and tls_key go together");
  }
  for (const auto* f : {&p.tlsCert, &p.tlsKey}) {
    if (!f->empty() && ::access(f->c_str(), R_OK) != 0) {
      throw std::runtime_error("config: [print] cannot read " + *f);
    }
  }
  const auto& ext = p.anonymousDevice;
  if (!ext.empty() &&
      (ext.size() > 15 || ext.find_first_not_of("0123456789") != std::string::npos)) {
    throw std::runtime_error(
        "config: [print] anonymous_device must be a device's extension (1 to 15 digits), got '" +
        ext + "'");
  }
  if (p.logLevel != "debug" && p.logLevel != "info" && p.logLevel != "warn" &&
      p.logLevel != "error") {
    throw std::runtime_error("config: [print] log_level must be debug, info, warn or error");
  }
}

}  // namespace

void parseHttpAddress(const std::string& text, Config& config, const std::string& what) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) {
    throw std::runtime_error(what + " must be ADDR:PORT, got '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string port = text.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoi(port) > 65535) {
    throw std::runtime_error(what + " port must be 0 to 65535, got '" + port + "'");
  }
  // The address as the HTTP server will resolve it: refused here, it names the key; refused at
  // bind time, it would only say that listening failed.
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
    throw std::runtime_error(what + " address '" + host + "' is not an address of this host");
  }
  freeaddrinfo(found);
  config.httpAddress = host;
  config.httpPort = std::stoi(port);
}

std::string checkIax2Route(const Config& config, const trunks::iax2::EngineConfig& effective,
                           bool routeFromApi) {
  // A route set through the API is the API's to fix (it is shown by GET /trunks/iax2); the
  // file's route is refused at start, where the admin who wrote it sees why.
  if (routeFromApi || config.iax2.engine.outboundRoute.empty()) return {};
  if (auto err = trunks::iax2::validateOutboundRoute(effective); !err.empty()) {
    return "config: [iax2] outbound " + err +
           ": it must be the name of an [[iax2.peer]] or the username of an [[iax2.register]] "
           "(or of one added through the API)";
  }
  return {};
}

std::string checkSipOutbound(const Config& config, const trunks::sip::SipConfig& effective) {
  // Like checkIax2Route: the file's outbound may name a peer or registration added through the
  // API, so it is checked once those are known.
  if (config.sip.outbound.empty() || effective.outbound != config.sip.outbound) return {};
  if (!trunks::sip::canDial(effective, effective.outbound)) {
    return "config: [sip] outbound '" + effective.outbound +
           "' must name a [[sip.register]] or a [[sip.peer]] with a host (or one added through "
           "the API)";
  }
  return {};
}

namespace {

[[noreturn]] void parseFailed(const std::string& name, const toml::parse_error& e) {
  const auto& where = e.source().begin;
  throw std::runtime_error("config " + name + ":" + std::to_string(where.line) + ":" +
                           std::to_string(where.column) + ": " + std::string(e.description()));
}

Config fromTable(const toml::table& root) {
  Config c;
  Reader r(root);
  std::string http;
  const auto* server = r.section("server");
  r.get(server, "server", "data_dir", c.dataDir);
  r.get(server, "server", "http", http);
  r.get(server, "server", "log_level", c.logLevel);
  r.get(server, "server", "database", c.databasePath);
  if (!http.empty()) parseHttpAddress(http, c, "config: [server] http");
  r.get(server, "server", "tls_cert", c.tlsCert);
  r.get(server, "server", "tls_key", c.tlsKey);
  if (c.tlsCert.empty() != c.tlsKey.empty()) {
    throw std::runtime_error(
        "config: [server] tls_cert and tls_key go together (the API's TLS certificate chain and "
        "its private key, PEM files); only one is set");
  }
  const std::pair<const char*, int*> httpLimits[] = {
      {"http_max_connections", &c.httpMaxConnections},
      {"http_max_connections_per_source", &c.httpMaxConnectionsPerSource},
      {"http_max_queued", &c.httpMaxQueued},
      {"http_workers", &c.httpWorkers},
      {"http_max_workers_per_source", &c.httpMaxWorkersPerSource},
      {"http_header_timeout_seconds", &c.httpHeaderTimeoutSeconds},
      {"http_idle_timeout_seconds", &c.httpIdleTimeoutSeconds},
      {"http_request_timeout_seconds", &c.httpRequestTimeoutSeconds},
      {"http_transfer_timeout_seconds", &c.httpTransferTimeoutSeconds}};
  for (const auto& [key, value] : httpLimits) {
    r.get(server, "server", key, *value);
    positive(*value, (std::string("[server] ") + key).c_str());
  }
  if (c.httpMaxWorkersPerSource > c.httpWorkers) {
    throw std::runtime_error("config: [server] http_max_workers_per_source (" +
                             std::to_string(c.httpMaxWorkersPerSource) +
                             ") must not be larger than http_workers (" +
                             std::to_string(c.httpWorkers) + ")");
  }
  if (c.httpMaxConnections > 65536 || c.httpWorkers > 1024) {
    throw std::runtime_error(
        "config: [server] http_max_connections is at most 65536 and http_workers at most 1024");
  }

  const auto* loopback = r.section("loopback");
  r.get(loopback, "loopback", "realtime", c.loopbackRealtime);
  r.get(loopback, "loopback", "media", c.loopbackMedia);
  r.get(loopback, "loopback", "law", c.loopbackLaw);
  if (c.loopbackMedia != "audio" && c.loopbackMedia != "t38" && c.loopbackMedia != "switch") {
    throw std::runtime_error("config: [loopback] media must be \"audio\", \"t38\" or \"switch\"");
  }
  if (c.loopbackLaw != "alaw" && c.loopbackLaw != "ulaw") {
    throw std::runtime_error("config: [loopback] law must be \"alaw\" or \"ulaw\"");
  }

  const auto* fax = r.section("fax");
  r.get(fax, "fax", "idle_timeout_seconds", c.faxIdleTimeoutSeconds);
  r.get(fax, "fax", "max_call_seconds", c.faxMaxCallSeconds);
  positive(c.faxIdleTimeoutSeconds, "[fax] idle_timeout_seconds");
  positive(c.faxMaxCallSeconds, "[fax] max_call_seconds");

  const auto* api = r.section("api");
  long long maxUploadMb = c.maxUploadBytes / (1024 * 1024);
  r.get(api, "api", "max_upload_mb", maxUploadMb);
  r.get(api, "api", "max_files", c.maxFilesPerFax);
  positive(maxUploadMb, "[api] max_upload_mb");
  atMost(maxUploadMb, kMaxMegabytes, "[api] max_upload_mb");
  positive(c.maxFilesPerFax, "[api] max_files");
  r.get(api, "api", "max_event_streams", c.maxEventStreams);
  if (c.maxEventStreams < 1 || c.maxEventStreams > 1024) {
    throw std::runtime_error("config: [api] max_event_streams must be between 1 and 1024, got " +
                             std::to_string(c.maxEventStreams));
  }
  r.get(api, "api", "metrics_public", c.metricsPublic);
  r.get(api, "api", "secure_cookies", c.secureCookies);
  r.get(api, "api", "public_url", c.publicUrl);
  if (!c.publicUrl.empty()) {
    while (!c.publicUrl.empty() && c.publicUrl.back() == '/') c.publicUrl.pop_back();
    const auto scheme = c.publicUrl.find("://");
    if ((c.publicUrl.rfind("http://", 0) != 0 && c.publicUrl.rfind("https://", 0) != 0) ||
        c.publicUrl.find('/', scheme + 3) != std::string::npos ||
        c.publicUrl.size() <= scheme + 3) {
      throw std::runtime_error(
          "config: [api] public_url must be like https://fax.example.com (scheme and host, no "
          "path), got '" +
          c.publicUrl + "'");
    }
  }
  r.get(api, "api", "session_idle_minutes", c.sessionIdleMinutes);
  r.get(api, "api", "session_max_hours", c.sessionMaxHours);
  positive(c.sessionIdleMinutes, "[api] session_idle_minutes");
  positive(c.sessionMaxHours, "[api] session_max_hours");
  long long previewSeconds = c.service.previewTtl / 1000;
  r.get(api, "api", "preview_ttl_seconds", previewSeconds);
  r.get(api, "api", "previews_per_user", c.service.previewsPerUser);
  positive(previewSeconds, "[api] preview_ttl_seconds");
  atMost(previewSeconds, kMaxSeconds, "[api] preview_ttl_seconds");
  positive(c.service.previewsPerUser, "[api] previews_per_user");
  c.service.previewTtl = previewSeconds * 1000;
  c.service.accounts.sessionIdle = static_cast<core::Millis>(c.sessionIdleMinutes) * 60'000;
  c.service.accounts.sessionMax = static_cast<core::Millis>(c.sessionMaxHours) * 3'600'000;
  c.maxUploadBytes = maxUploadMb * 1024 * 1024;

  const auto* docs = r.section("documents");
  r.get(docs, "documents", "timeout_seconds", c.conversionTimeoutSeconds);
  r.get(docs, "documents", "memory_mb", c.conversionMemoryMb);
  r.get(docs, "documents", "max_pages", c.maxPages);
  r.get(docs, "documents", "sandbox_user", c.sandboxUser);
  r.get(docs, "documents", "allow_unsandboxed", c.allowUnsandboxed);
  positive(c.conversionTimeoutSeconds, "[documents] timeout_seconds");
  positive(c.conversionMemoryMb, "[documents] memory_mb");
  positive(c.maxPages, "[documents] max_pages");

  const auto* sched = r.section("scheduler");
  auto& s = c.service;
  long long busy = s.retryBusy / 1000, noAnswer = s.retryNoAnswer / 1000,
            dropped = s.retryDropped / 1000, other = s.retryOther / 1000,
            unavailable = s.retryUnavailable / 1000, unavailableMax = s.retryUnavailableMax / 1000;
  r.get(sched, "scheduler", "retry_busy_seconds", busy);
  r.get(sched, "scheduler", "retry_no_answer_seconds", noAnswer);
  r.get(sched, "scheduler", "retry_dropped_seconds", dropped);
  r.get(sched, "scheduler", "retry_other_seconds", other);
  r.get(sched, "scheduler", "retry_unavailable_seconds", unavailable);
  r.get(sched, "scheduler", "retry_unavailable_max_seconds", unavailableMax);
  r.get(sched, "scheduler", "max_calls_per_destination", s.maxCallsPerDestination);
  r.get(sched, "scheduler", "conversion_workers", s.conversionWorkers);
  r.get(sched, "scheduler", "header_name", s.headerName);
  for (auto v : {busy, noAnswer, dropped, other}) {
    if (v < 0) throw std::runtime_error("config: [scheduler] retry delays must not be negative");
  }
  for (auto v : {busy, noAnswer, dropped, other, unavailable, unavailableMax}) {
    atMost(v, kMaxSeconds, "[scheduler] retry delays (seconds)");
  }
  if (unavailable < 1 || unavailableMax < unavailable) {
    throw std::runtime_error(
        "config: [scheduler] retry_unavailable_seconds must be at least 1 and "
        "retry_unavailable_max_seconds at least retry_unavailable_seconds");
  }
  positive(s.maxCallsPerDestination, "[scheduler] max_calls_per_destination");
  positive(s.conversionWorkers, "[scheduler] conversion_workers");
  s.retryBusy = busy * 1000;
  s.retryNoAnswer = noAnswer * 1000;
  s.retryDropped = dropped * 1000;
  s.retryOther = other * 1000;
  s.retryUnavailable = unavailable * 1000;
  s.retryUnavailableMax = unavailableMax * 1000;

  const auto* inbound = r.section("inbound");
  r.get(inbound, "inbound", "default_extension", s.defaultInboundExtension);
  // Device extensions are digits: anything else would never find its device.
  const auto& ext = s.defaultInboundExtension;
  if (!ext.empty() &&
      (ext.size() > 15 || ext.find_first_not_of("0123456789") != std::string::npos)) {
    throw std::runtime_error(
        "config: [inbound] default_extension must be 1 to 15 digits (a device's extension), got '" +
        ext + "'");
  }

  readIax2(r, c);
  readSip(r, c);
  readRoutes(r, c);
  readMail(r, c);
  readPrint(r, c);
  if (c.print.enabled && !c.tlsCert.empty()) {
    // vfax-printer reaches the API over loopback in plain HTTP.
    throw std::runtime_error(
        "config: [print] enabled = true does not work with the API over TLS ([server] tls_cert) "
        "yet; put a TLS proxy in front of vfaxd instead, or turn the printer off");
  }

  r.checkUnknown();
  return c;
}

}  // namespace

Config loadConfig(const std::string& file) {
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    parseFailed(file, e);
  }
  return fromTable(root);
}

Config parseConfig(std::string_view text, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    parseFailed(name, e);
  }
  return fromTable(root);
}

}  // namespace vfax::app
