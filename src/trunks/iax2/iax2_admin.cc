#include "trunks/iax2/iax2_admin.h"
#include "trunks/stored_settings.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "trunks/iax2/settings.h"
#include "trunks/settings_text.h"

namespace vfax::trunks::iax2 {
namespace {

using Json = nlohmann::json;
constexpr const char* kMetaKey = "iax2.settings";

// The stored document: written by saveAndApply, so a field of the wrong type means damage; such
// entries are skipped rather than failing the start.
std::string storedString(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}
int storedInt(const Json& j, const char* key, int fallback) {
  return j.contains(key) && j[key].is_number_integer() ? j[key].get<int>() : fallback;
}

// Checks a peer and fills in the secret it keeps. A new secret must be long enough; one that is
// kept (or loaded from the store, `stored`) may be shorter, from before the minimum.
core::Result<PeerConfig> resolvePeer(const PeerInput& in, const std::vector<PeerConfig>& old,
                                     bool stored = false) {
  PeerConfig p = in.peer;
  for (const auto& o : old) {
    if (o.name != p.name) continue;
    if (in.keepSecret) p.secret = o.secret;
    if (in.keepCallToken) p.callTokenRequired = o.callTokenRequired;
  }
  const bool newSecret = !stored && !in.keepSecret;
  if (auto err = newSecret ? validateNewPeer(p) : validatePeer(p); !err.empty()) {
    return core::makeError("invalid_setting", "Peer '" + p.name + "': " + err + ".");
  }
  return p;
}

core::Result<RegistrationConfig> resolveRegistration(const RegistrationInput& in,
                                                     const std::vector<RegistrationConfig>& old) {
  RegistrationConfig r = in.registration;
  if (in.keepSecret) {
    for (const auto& o : old) {
      if (o.username == r.username && o.server == r.server) r.secret = o.secret;
    }
  }
  if (auto err = validateRegistration(r); !err.empty()) {
    return core::makeError("invalid_setting", "Registration '" + r.username + "': " + err + ".");
  }
  return r;
}

core::Result<void> checkBind(const std::string& bind, std::string& host, int& port) {
  if (auto err = parseBind(bind, host, port); !err.empty()) {
    return core::makeError("invalid_setting", "bind " + err + ".");
  }
  return {};
}

}  // namespace

Iax2Admin::Iax2Admin(core::Store& store, core::SecretBox box, Iax2TrunkOptions fromFile)
    : store_(store), box_(std::move(box)), file_(std::move(fromFile)) {}

core::Result<void> Iax2Admin::load() {
  auto stored = loadStoredSettings(store_, kMetaKey, "IAX2");
  if (!stored) return stored.error();
  if (!*stored) return {};
  Json j = std::move(**stored);
  Stored s;
  if (j.contains("bind") && j["bind"].is_string()) s.bind = j["bind"].get<std::string>();
  if (j.contains("outbound") && j["outbound"].is_string()) {
    s.outbound = j["outbound"].get<std::string>();
  }
  if (j.contains("codecs") && j["codecs"].is_string()) s.codecs = j["codecs"].get<std::string>();
  auto unseal = [&](const Json& e) -> core::Result<std::string> {
    const std::string sealed = storedString(e, "secret");
    if (sealed.empty()) return sealed;
    return box_.open(sealed);
  };
  for (const auto& e : j.value("peers", Json::array())) {
    if (!e.is_object()) continue;
    auto secret = unseal(e);
    if (!secret) return secret.error();
    PeerInput in;
    in.peer.name = storedString(e, "name");
    in.peer.secret = *secret;
    in.peer.host = storedString(e, "host");
    in.peer.username = storedString(e, "username");
    in.peer.port = storedInt(e, "port", 4569);
    in.peer.trunk = e.value("trunk", false);
    in.peer.trunkTimestamps = e.value("trunk_timestamps", true);
    in.peer.callTokenRequired = storedString(e, "calltoken") != "optional";
    if (auto p = resolvePeer(in, {}, true)) {
      if (weakSecret(*p)) {
        spdlog::warn(
            "iax2: the secret of peer '{}' is shorter than {} characters: set a longer one "
            "(PUT /api/v1/trunks/iax2 or vfax trunk peer-add)",
            p->name, kMinPeerSecret);
      }
      s.peers.push_back(*p);
    }
  }
  for (const auto& e : j.value("registrations", Json::array())) {
    if (!e.is_object()) continue;
    auto secret = unseal(e);
    if (!secret) return secret.error();
    RegistrationInput in;
    in.registration.server = storedString(e, "server");
    in.registration.username = storedString(e, "username");
    in.registration.secret = *secret;
    in.registration.port = storedInt(e, "port", 4569);
    in.registration.refreshSeconds = storedInt(e, "refresh_seconds", 60);
    in.registration.trunk = e.value("trunk", false);
    in.registration.trunkTimestamps = e.value("trunk_timestamps", true);
    if (auto g = resolveRegistration(in, {})) s.registrations.push_back(*g);
  }
  std::lock_guard lock(mutex_);
  stored_ = std::move(s);
  return {};
}

bool Iax2Admin::hasStoredPeers() const {
  std::lock_guard lock(mutex_);
  return !stored_.peers.empty() || !stored_.registrations.empty();
}

bool Iax2Admin::hasStoredOutbound() const {
  std::lock_guard lock(mutex_);
  return stored_.outbound.has_value();
}

void Iax2Admin::setTrunk(Iax2Trunk* trunk) {
  std::lock_guard lock(mutex_);
  trunk_ = trunk;
}

Iax2TrunkOptions Iax2Admin::effective() const {
  std::lock_guard lock(mutex_);
  return effectiveLocked();
}

Iax2TrunkOptions Iax2Admin::effectiveLocked() const {
  Iax2TrunkOptions o = file_;
  if (stored_.bind) {
    std::string host;
    int port = 0;
    if (checkBind(*stored_.bind, host, port)) {
      o.bindAddress = host;
      o.port = port;
    }
  }
  if (stored_.outbound) o.engine.outboundRoute = *stored_.outbound;
  if (stored_.codecs) {
    if (auto list = parseCodecList(*stored_.codecs)) o.engine.codecs = *list;
  }
  for (const auto& p : stored_.peers) {
    std::erase_if(o.engine.peers, [&](const PeerConfig& x) { return x.name == p.name; });
    o.engine.peers.push_back(p);
  }
  for (const auto& r : stored_.registrations) {
    std::erase_if(o.engine.registrations, [&](const RegistrationConfig& x) {
      return x.username == r.username && x.server == r.server;
    });
    o.engine.registrations.push_back(r);
  }
  return o;
}

core::Result<void> Iax2Admin::saveAndApply(Stored next) {
  Json j = Json::object();
  if (next.bind) j["bind"] = *next.bind;
  if (next.outbound) j["outbound"] = *next.outbound;
  if (next.codecs) j["codecs"] = *next.codecs;
  j["peers"] = Json::array();
  for (const auto& p : next.peers) {
    j["peers"].push_back({{"name", p.name},
                          {"secret", box_.seal(p.secret)},
                          {"host", p.host},
                          {"port", p.port},
                          {"username", p.username},
                          {"trunk", p.trunk},
                          {"trunk_timestamps", p.trunkTimestamps},
                          {"calltoken", callTokenName(p.callTokenRequired)}});
  }
  j["registrations"] = Json::array();
  for (const auto& r : next.registrations) {
    j["registrations"].push_back({{"server", r.server},
                                  {"port", r.port},
                                  {"username", r.username},
                                  {"secret", box_.seal(r.secret)},
                                  {"refresh_seconds", r.refreshSeconds},
                                  {"trunk", r.trunk},
                                  {"trunk_timestamps", r.trunkTimestamps}});
  }
  if (auto r = store_.setMeta(kMetaKey, j.dump()); !r) return r;
  stored_ = std::move(next);
  if (trunk_) {
    auto eff = effectiveLocked();
    trunk_->rebind(eff.bindAddress, eff.port);
    trunk_->reconfigure(eff.engine);
  }
  return {};
}

Iax2View Iax2Admin::viewLocked() const {
  const auto eff = effectiveLocked();
  Iax2View v;
  v.running = trunk_ != nullptr;
  v.bind = eff.bindAddress + ":" + std::to_string(eff.port);
  v.outbound = eff.engine.outboundRoute;
  v.codecs = codecListToString(eff.engine.codecs);
  if (trunk_) v.status = trunk_->status();
  const std::vector<RegistrationStatus> none;
  const auto& status = v.status ? v.status->registrations : none;
  for (const auto& p : eff.engine.peers) {
    PeerView e;
    e.peer = p;
    e.peer.secret = maskSecret(p.secret);
    e.weakSecret = weakSecret(p);
    for (const auto& s : stored_.peers) e.fromApi = e.fromApi || s.name == p.name;
    for (const auto& s : status) {
      if (!s.ours && s.name == p.name) {
        e.registered = s.registered;
        e.address = s.address;
      }
    }
    v.peers.push_back(std::move(e));
  }
  for (const auto& r : eff.engine.registrations) {
    RegistrationView e;
    e.registration = r;
    e.registration.secret = maskSecret(r.secret);
    const std::string key = r.username + "@" + r.server + ":" + std::to_string(r.port);
    for (const auto& s : status) {
      if (s.ours && s.name == key) {
        e.registered = s.registered;
        e.lastError = s.lastError;
      }
    }
    v.registrations.push_back(std::move(e));
  }
  return v;
}

Iax2View Iax2Admin::view() const {
  std::lock_guard lock(mutex_);
  return viewLocked();
}

core::Result<Iax2View> Iax2Admin::update(const Iax2Update& change) {
  std::lock_guard lock(mutex_);
  Stored next = stored_;
  if (change.bind) {
    std::string host;
    int port = 0;
    if (auto r = checkBind(*change.bind, host, port); !r) return r.error();
    next.bind = *change.bind;
  }
  if (change.outbound) next.outbound = *change.outbound;
  if (change.codecs) {
    if (!parseCodecList(*change.codecs)) {
      return core::makeError("invalid_setting", "codecs must list ulaw, alaw, slinear.");
    }
    next.codecs = *change.codecs;
  }
  if (change.peers) {
    next.peers.clear();
    for (const auto& in : *change.peers) {
      auto p = resolvePeer(in, stored_.peers);
      if (!p) return p.error();
      next.peers.push_back(*p);
    }
  }
  if (change.registrations) {
    next.registrations.clear();
    for (const auto& in : *change.registrations) {
      auto r = resolveRegistration(in, stored_.registrations);
      if (!r) return r.error();
      next.registrations.push_back(*r);
    }
  }
  if (auto r = saveAndApply(std::move(next)); !r) return r.error();
  return viewLocked();
}

core::Result<Iax2View> Iax2Admin::addPeer(const PeerInput& in) {
  std::lock_guard lock(mutex_);
  auto p = resolvePeer(in, stored_.peers);
  if (!p) return p.error();
  Stored next = stored_;
  std::erase_if(next.peers, [&](const PeerConfig& x) { return x.name == p->name; });
  next.peers.push_back(*p);
  if (auto r = saveAndApply(std::move(next)); !r) return r.error();
  return viewLocked();
}

core::Result<Iax2View> Iax2Admin::removePeer(const std::string& name) {
  std::lock_guard lock(mutex_);
  Stored next = stored_;
  auto n = std::erase_if(next.peers, [&](const PeerConfig& x) { return x.name == name; });
  if (n == 0) {
    for (const auto& p : file_.engine.peers) {
      if (p.name == name) {
        return core::makeError(
            "conflict", "The peer '" + name + "' comes from the config file; remove it there.");
      }
    }
    return core::makeError("not_found", "There is no IAX2 peer '" + name + "'.");
  }
  if (auto r = saveAndApply(std::move(next)); !r) return r.error();
  return viewLocked();
}

}  // namespace vfax::trunks::iax2
