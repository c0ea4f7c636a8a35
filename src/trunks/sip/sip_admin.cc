#include "trunks/sip/sip_admin.h"
#include "trunks/stored_settings.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "trunks/settings_text.h"
#include "trunks/sip/sip_settings.h"

namespace vfax::trunks::sip {
namespace {

using Json = nlohmann::json;
constexpr const char* kMetaKey = "sip.settings";

// The stored document is written by saveAndApply in the config file's text forms; a field of the
// wrong type means damage: it is left at its default (and the entry then fails its checks and is
// skipped) rather than failing the start.
std::string storedString(const Json& j, const char* key, std::string fallback = {}) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : fallback;
}

template <typename T>
void setIf(std::optional<T>& into, const std::optional<T>& from) {
  if (from) into = from;
}

void merge(SipGeneralUpdate& into, const SipGeneralUpdate& u) {
  setIf(into.listen, u.listen);
  setIf(into.outbound, u.outbound);
  setIf(into.codecs, u.codecs);
  setIf(into.t38, u.t38);
  setIf(into.t38MaxBitRate, u.t38MaxBitRate);
  setIf(into.t38MaxDatagram, u.t38MaxDatagram);
  setIf(into.t38Ec, u.t38Ec);
  setIf(into.t38Redundancy, u.t38Redundancy);
  setIf(into.sessionExpires, u.sessionExpires);
  setIf(into.minSessionExpires, u.minSessionExpires);
  setIf(into.rtpPorts, u.rtpPorts);
  setIf(into.mediaAddress, u.mediaAddress);
  setIf(into.tlsVerify, u.tlsVerify);
  setIf(into.tlsCaFile, u.tlsCaFile);
  setIf(into.tlsCert, u.tlsCert);
  setIf(into.tlsKey, u.tlsKey);
  setIf(into.userAgent, u.userAgent);
}

void apply(const SipGeneralUpdate& u, SipConfig& c) {
  if (u.listen) c.listen = *u.listen;
  if (u.outbound) c.outbound = *u.outbound;
  if (u.codecs) c.codecs = *u.codecs;
  if (u.t38) c.t38.mode = *u.t38;
  if (u.t38MaxBitRate) c.t38.maxBitRate = *u.t38MaxBitRate;
  if (u.t38MaxDatagram) c.t38.maxDatagram = *u.t38MaxDatagram;
  if (u.t38Ec) c.t38.ec = *u.t38Ec;
  if (u.t38Redundancy) c.t38.redundancyDepth = *u.t38Redundancy;
  if (u.sessionExpires) c.sessionExpires = *u.sessionExpires;
  if (u.minSessionExpires) c.minSessionExpires = *u.minSessionExpires;
  if (u.rtpPorts) std::tie(c.rtpPortMin, c.rtpPortMax) = *u.rtpPorts;
  if (u.mediaAddress) c.mediaAddress = *u.mediaAddress;
  if (u.tlsVerify) c.tlsVerify = *u.tlsVerify;
  if (u.tlsCaFile) c.tlsCaFile = *u.tlsCaFile;
  if (u.tlsCert) c.tlsCert = *u.tlsCert;
  if (u.tlsKey) c.tlsKey = *u.tlsKey;
  if (u.userAgent) c.userAgent = *u.userAgent;
}

Json generalJson(const SipGeneralUpdate& u) {
  Json j = Json::object();
  if (u.listen) {
    j["listen"] = Json::array();
    for (const auto& l : *u.listen) j["listen"].push_back(formatListen(l));
  }
  if (u.outbound) j["outbound"] = *u.outbound;
  if (u.codecs) j["codecs"] = formatCodecs(*u.codecs);
  if (u.t38) j["t38"] = t38ModeName(*u.t38);
  if (u.t38MaxBitRate) j["t38_max_bitrate"] = *u.t38MaxBitRate;
  if (u.t38MaxDatagram) j["t38_max_datagram"] = *u.t38MaxDatagram;
  if (u.t38Ec) j["t38_ec"] = udptlEcName(*u.t38Ec);
  if (u.t38Redundancy) j["t38_redundancy"] = *u.t38Redundancy;
  if (u.sessionExpires) j["session_expires"] = *u.sessionExpires;
  if (u.minSessionExpires) j["min_session_expires"] = *u.minSessionExpires;
  if (u.rtpPorts) j["rtp_ports"] = formatRtpPorts(u.rtpPorts->first, u.rtpPorts->second);
  if (u.mediaAddress) j["media_address"] = *u.mediaAddress;
  if (u.tlsVerify) j["tls_verify"] = *u.tlsVerify;
  if (u.tlsCaFile) j["tls_ca_file"] = *u.tlsCaFile;
  if (u.tlsCert) j["tls_cert"] = *u.tlsCert;
  if (u.tlsKey) j["tls_key"] = *u.tlsKey;
  if (u.userAgent) j["user_agent"] = *u.userAgent;
  return j;
}

// The stored general settings; a value that does not parse any more is dropped (the file's
// applies).
SipGeneralUpdate generalFromJson(const Json& j) {
  SipGeneralUpdate u;
  if (j.contains("listen") && j["listen"].is_array()) {
    std::vector<SipListen> list;
    for (const auto& e : j["listen"]) {
      SipListen l;
      if (e.is_string() && parseListen(e.get<std::string>(), l).empty()) list.push_back(l);
    }
    if (!list.empty()) u.listen = list;
  }
  if (j.contains("outbound") && j["outbound"].is_string()) u.outbound = storedString(j, "outbound");
  if (std::vector<std::string> codecs; parseCodecs(storedString(j, "codecs"), codecs).empty()) {
    u.codecs = codecs;
  }
  u.t38 = parseT38Mode(storedString(j, "t38"));
  u.t38Ec = parseUdptlEc(storedString(j, "t38_ec"));
  for (auto [key, field] : {std::pair{"t38_max_bitrate", &u.t38MaxBitRate},
                            std::pair{"t38_max_datagram", &u.t38MaxDatagram},
                            std::pair{"t38_redundancy", &u.t38Redundancy},
                            std::pair{"session_expires", &u.sessionExpires},
                            std::pair{"min_session_expires", &u.minSessionExpires}}) {
    if (j.contains(key) && j[key].is_number_integer()) *field = j[key].get<int>();
  }
  if (int lo = 0, hi = 0; parseRtpPorts(storedString(j, "rtp_ports"), lo, hi).empty()) {
    u.rtpPorts = std::pair{lo, hi};
  }
  for (auto [key, field] :
       {std::pair{"media_address", &u.mediaAddress}, std::pair{"tls_ca_file", &u.tlsCaFile},
        std::pair{"tls_cert", &u.tlsCert}, std::pair{"tls_key", &u.tlsKey},
        std::pair{"user_agent", &u.userAgent}}) {
    if (j.contains(key) && j[key].is_string()) *field = j[key].get<std::string>();
  }
  if (j.contains("tls_verify") && j["tls_verify"].is_boolean())
    u.tlsVerify = j["tls_verify"].get<bool>();
  return u;
}

// A peer or registration in the document: its text fields, the secret sealed.
Json entryJson(SipFields fields, const core::SecretBox& box) {
  fields["secret"] = box.seal(fields["secret"]);
  return Json(fields);
}

// The text fields of a stored entry (values of another type are left out: the entry then fails
// its checks, or keeps the default).
SipFields storedFields(const Json& e) {
  SipFields f;
  for (const auto& [k, v] : e.items()) {
    if (v.is_string() && k != "secret") f[k] = v.get<std::string>();
  }
  return f;
}

// A removal that would leave the settings invalid (the outbound route names it) is a conflict
// with the rest of the settings, not a bad value in the request.
core::Error removalRefused(core::Error e) {
  if (e.code == "invalid_setting") e.code = "conflict";
  return e;
}

template <typename T>
bool hasName(const std::vector<T>& list, const std::string& name) {
  return std::any_of(list.begin(), list.end(), [&](const T& x) { return x.name == name; });
}

// Replaces the entry of e's name, or adds e.
template <typename T>
void upsert(std::vector<T>& list, const T& e) {
  auto at = std::find_if(list.begin(), list.end(), [&](const T& x) { return x.name == e.name; });
  if (at != list.end()) {
    *at = e;
  } else {
    list.push_back(e);
  }
}

// Removes the API's entry `name`: not_found, or conflict when the config file has it.
template <typename T>
core::Result<void> removeNamed(std::vector<T>& api, const std::vector<T>& file,
                               const std::string& name, const std::string& what) {
  if (std::erase_if(api, [&](const T& x) { return x.name == name; }) > 0) return {};
  if (hasName(file, name)) {
    return core::makeError("conflict", "The SIP " + what + " '" + name +
                                           "' comes from the config file; remove it there.");
  }
  return core::makeError("not_found", "There is no SIP " + what + " '" + name + "'.");
}

}  // namespace

SipAdmin::SipAdmin(core::Store& store, core::SecretBox box, SipConfig fromFile)
    : store_(store), box_(std::move(box)), file_(std::move(fromFile)) {}

core::Result<void> SipAdmin::load() {
  auto stored = loadStoredSettings(store_, kMetaKey, "SIP");
  if (!stored) return stored.error();
  if (!*stored) return {};
  Json j = std::move(**stored);
  Stored s;
  s.general = generalFromJson(j);
  auto unseal = [&](const Json& e) -> core::Result<std::string> {
    const std::string sealed = storedString(e, "secret");
    if (sealed.empty()) return sealed;
    return box_.open(sealed);
  };
  for (const auto& e : j.value("peers", Json::array())) {
    if (!e.is_object()) continue;
    auto secret = unseal(e);
    if (!secret) return secret.error();
    SipPeerConfig p;
    p.secret = *secret;
    if (parsePeer(storedFields(e), p).empty() && validatePeer(p).empty() &&
        !hasName(s.peers, p.name)) {
      s.peers.push_back(std::move(p));
    }
  }
  for (const auto& e : j.value("registrations", Json::array())) {
    if (!e.is_object()) continue;
    auto secret = unseal(e);
    if (!secret) return secret.error();
    SipRegistrationConfig r;
    r.secret = *secret;
    if (parseRegistration(storedFields(e), r).empty() && validateRegistration(r).empty() &&
        !hasName(s.registrations, r.name)) {
      s.registrations.push_back(std::move(r));
    }
  }
  std::lock_guard lock(mutex_);
  stored_ = std::move(s);
  return {};
}

bool SipAdmin::hasStoredPeers() const {
  std::lock_guard lock(mutex_);
  return !stored_.peers.empty() || !stored_.registrations.empty();
}

void SipAdmin::setTrunk(SipTrunkControl* trunk) {
  std::lock_guard lock(mutex_);
  trunk_ = trunk;
}

std::optional<SipStatus> SipAdmin::status() const {
  std::lock_guard lock(mutex_);
  if (!trunk_) return std::nullopt;
  return trunk_->status();
}

SipConfig SipAdmin::effective() const {
  std::lock_guard lock(mutex_);
  return effectiveOf(stored_);
}

SipConfig SipAdmin::effectiveOf(const Stored& s) const {
  SipConfig c = file_;
  apply(s.general, c);
  // Names are unique across the file's and the API's entries (resolve() refuses a clash), so
  // the API's are simply added.
  c.peers.insert(c.peers.end(), s.peers.begin(), s.peers.end());
  c.registrations.insert(c.registrations.end(), s.registrations.begin(), s.registrations.end());
  return c;
}

core::Result<SipPeerConfig> SipAdmin::resolve(const SipPeerInput& in) const {
  SipPeerConfig p = in.peer;
  const std::string context = " (peer '" + p.name + "')";
  if (hasName(file_.peers, p.name) || hasName(file_.registrations, p.name)) {
    return core::makeError("invalid_setting", "name '" + p.name +
                                                  "' belongs to the config file's [sip]; change "
                                                  "it there or choose another name");
  }
  if (in.keepSecret) {
    for (const auto& o : stored_.peers) {
      if (o.name == p.name) p.secret = o.secret;
    }
  }
  if (auto err = validatePeer(p); !err.empty()) {
    return core::makeError("invalid_setting", err + context);
  }
  return p;
}

core::Result<SipRegistrationConfig> SipAdmin::resolve(const SipRegistrationInput& in) const {
  SipRegistrationConfig r = in.registration;
  const std::string context = " (registration '" + r.name + "')";
  if (hasName(file_.peers, r.name) || hasName(file_.registrations, r.name)) {
    return core::makeError("invalid_setting", "name '" + r.name +
                                                  "' belongs to the config file's [sip]; change "
                                                  "it there or choose another name");
  }
  if (in.keepSecret) {
    for (const auto& o : stored_.registrations) {
      if (o.name == r.name) r.secret = o.secret;
    }
  }
  if (auto err = validateRegistration(r); !err.empty()) {
    return core::makeError("invalid_setting", err + context);
  }
  return r;
}

core::Result<void> SipAdmin::saveAndApply(Stored next) {
  const SipConfig eff = effectiveOf(next);
  if (auto err = validateConfig(eff); !err.empty()) return core::makeError("invalid_setting", err);
  Json j = generalJson(next.general);
  j["peers"] = Json::array();
  for (const auto& p : next.peers) j["peers"].push_back(entryJson(formatPeer(p), box_));
  j["registrations"] = Json::array();
  for (const auto& r : next.registrations) {
    j["registrations"].push_back(entryJson(formatRegistration(r), box_));
  }
  if (auto r = store_.setMeta(kMetaKey, j.dump()); !r) return r;
  stored_ = std::move(next);
  if (trunk_) trunk_->reconfigure(eff);
  return {};
}

SipView SipAdmin::viewLocked() const {
  SipView v;
  v.settings = effectiveOf(stored_);
  v.running = trunk_ != nullptr;
  if (trunk_) v.status = trunk_->status();
  for (const auto& p : v.settings.peers) {
    SipPeerView e;
    e.peer = p;
    e.peer.secret = maskSecret(p.secret);
    e.fromApi = hasName(stored_.peers, p.name);
    if (v.status) {
      for (const auto& s : v.status->peers) {
        if (s.name == p.name) e.status = s;
      }
    }
    v.peers.push_back(std::move(e));
  }
  for (const auto& r : v.settings.registrations) {
    SipRegistrationView e;
    e.registration = r;
    e.registration.secret = maskSecret(r.secret);
    e.fromApi = hasName(stored_.registrations, r.name);
    if (v.status) {
      for (const auto& s : v.status->registrations) {
        if (s.name == r.name) e.status = s;
      }
    }
    v.registrations.push_back(std::move(e));
  }
  v.settings.peers.clear();
  v.settings.registrations.clear();
  return v;
}

SipView SipAdmin::view() const {
  std::lock_guard lock(mutex_);
  return viewLocked();
}

core::Result<SipView> SipAdmin::update(const SipUpdate& change) {
  std::lock_guard lock(mutex_);
  Stored next = stored_;
  merge(next.general, change.general);
  if (change.peers) {
    next.peers.clear();
    for (const auto& in : *change.peers) {
      auto p = resolve(in);
      if (!p) return p.error();
      next.peers.push_back(*p);
    }
  }
  if (change.registrations) {
    next.registrations.clear();
    for (const auto& in : *change.registrations) {
      auto r = resolve(in);
      if (!r) return r.error();
      next.registrations.push_back(*r);
    }
  }
  if (auto r = saveAndApply(std::move(next)); !r) return r.error();
  return viewLocked();
}

core::Result<SipView> SipAdmin::addPeer(const SipPeerInput& in) {
  std::lock_guard lock(mutex_);
  auto p = resolve(in);
  if (!p) return p.error();
  Stored next = stored_;
  upsert(next.peers, *p);
  if (auto r = saveAndApply(std::move(next)); !r) return r.error();
  return viewLocked();
}

core::Result<SipView> SipAdmin::addRegistration(const SipRegistrationInput& in) {
  std::lock_guard lock(mutex_);
  auto g = resolve(in);
  if (!g) return g.error();
  Stored next = stored_;
  upsert(next.registrations, *g);
  if (auto r = saveAndApply(std::move(next)); !r) return r.error();
  return viewLocked();
}

core::Result<SipView> SipAdmin::removePeer(const std::string& name) {
  std::lock_guard lock(mutex_);
  Stored next = stored_;
  if (auto missing = removeNamed(next.peers, file_.peers, name, "peer"); !missing) {
    return missing.error();
  }
  if (auto r = saveAndApply(std::move(next)); !r) return removalRefused(r.error());
  return viewLocked();
}

core::Result<SipView> SipAdmin::removeRegistration(const std::string& name) {
  std::lock_guard lock(mutex_);
  Stored next = stored_;
  if (auto missing = removeNamed(next.registrations, file_.registrations, name, "registration");
      !missing) {
    return missing.error();
  }
  if (auto r = saveAndApply(std::move(next)); !r) return removalRefused(r.error());
  return viewLocked();
}

}  // namespace vfax::trunks::sip
