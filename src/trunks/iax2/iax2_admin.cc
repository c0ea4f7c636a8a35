#include "trunks/iax2/iax2_admin.h"

#include <nlohmann/json.hpp>

namespace vfax::trunks::iax2 {
namespace {

using Json = nlohmann::json;
constexpr const char* kMetaKey = "iax2.settings";

core::Result<Json> parseObject(const std::string& body) {
  auto j = Json::parse(body.empty() ? "{}" : body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return core::makeError("invalid_json", "The body must be a JSON object.");
  }
  return j;
}

core::Result<std::string> str(const Json& j, const char* key, std::string fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_string()) return core::makeError("invalid_setting", std::string(key) + " must be a string.");
  return j[key].get<std::string>();
}

core::Result<int> num(const Json& j, const char* key, int fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number_integer()) {
    return core::makeError("invalid_setting", std::string(key) + " must be a whole number.");
  }
  return j[key].get<int>();
}

// A peer from JSON; `old` supplies the secret when the JSON has none.
core::Result<PeerConfig> peerFrom(const Json& j, const std::vector<PeerConfig>& old) {
  if (!j.is_object()) return core::makeError("invalid_setting", "A peer must be an object.");
  PeerConfig p;
  auto name = str(j, "name", "");
  auto secret = str(j, "secret", "");
  auto host = str(j, "host", "");
  auto user = str(j, "username", "");
  auto port = num(j, "port", 4569);
  for (auto* r : {&name, &secret, &host, &user}) {
    if (!*r) return r->error();
  }
  if (!port) return port.error();
  p.name = *name;
  p.secret = *secret;
  p.host = *host;
  p.username = *user;
  p.port = *port;
  if (!j.contains("secret")) {
    for (const auto& o : old) {
      if (o.name == p.name) p.secret = o.secret;
    }
  }
  if (auto err = validatePeer(p); !err.empty()) {
    return core::makeError("invalid_setting", "Peer '" + p.name + "': " + err + ".");
  }
  return p;
}

core::Result<RegistrationConfig> registrationFrom(const Json& j,
                                                  const std::vector<RegistrationConfig>& old) {
  if (!j.is_object()) return core::makeError("invalid_setting", "A registration must be an object.");
  RegistrationConfig r;
  auto server = str(j, "server", "");
  auto user = str(j, "username", "");
  auto secret = str(j, "secret", "");
  auto port = num(j, "port", 4569);
  auto refresh = num(j, "refresh_seconds", 60);
  for (auto* x : {&server, &user, &secret}) {
    if (!*x) return x->error();
  }
  if (!port) return port.error();
  if (!refresh) return refresh.error();
  r.server = *server;
  r.username = *user;
  r.secret = *secret;
  r.port = *port;
  r.refreshSeconds = *refresh;
  if (!j.contains("secret")) {
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
  auto colon = bind.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return core::makeError("invalid_setting", "bind must be ADDR:PORT.");
  }
  host = bind.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    port = std::stoi(bind.substr(colon + 1));
  } catch (...) {
    return core::makeError("invalid_setting", "bind must be ADDR:PORT.");
  }
  if (port < 0 || port > 65535 || !Address::numeric(host, port)) {
    return core::makeError("invalid_setting", "bind '" + bind + "' is not an address and port.");
  }
  return {};
}

}  // namespace

Iax2Admin::Iax2Admin(core::Store& store, core::SecretBox box, Iax2TrunkOptions fromFile)
    : store_(store), box_(std::move(box)), file_(std::move(fromFile)) {}

core::Result<void> Iax2Admin::load() {
  auto text = store_.meta(kMetaKey);
  if (!text) return text.error();
  if (!*text) return {};
  auto j = Json::parse(**text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return core::makeError("storage_error", "The stored IAX2 settings are damaged.");
  }
  Stored s;
  if (j.contains("bind") && j["bind"].is_string()) s.bind = j["bind"].get<std::string>();
  if (j.contains("outbound") && j["outbound"].is_string()) s.outbound = j["outbound"].get<std::string>();
  if (j.contains("codecs") && j["codecs"].is_string()) s.codecs = j["codecs"].get<std::string>();
  auto unseal = [&](Json& e) -> core::Result<void> {
    if (e.contains("secret") && e["secret"].is_string()) {
      auto plain = box_.open(e["secret"].get<std::string>());
      if (!plain) return plain.error();
      e["secret"] = *plain;
    }
    return {};
  };
  for (auto e : j.value("peers", Json::array())) {
    if (auto r = unseal(e); !r) return r;
    auto p = peerFrom(e, {});
    if (p) s.peers.push_back(*p);
  }
  for (auto e : j.value("registrations", Json::array())) {
    if (auto r = unseal(e); !r) return r;
    auto g = registrationFrom(e, {});
    if (g) s.registrations.push_back(*g);
  }
  std::lock_guard lock(mutex_);
  stored_ = std::move(s);
  return {};
}

bool Iax2Admin::hasStoredPeers() const {
  std::lock_guard lock(mutex_);
  return !stored_.peers.empty() || !stored_.registrations.empty();
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
    j["peers"].push_back({{"name", p.name}, {"secret", box_.seal(p.secret)}, {"host", p.host},
                          {"port", p.port}, {"username", p.username}});
  }
  j["registrations"] = Json::array();
  for (const auto& r : next.registrations) {
    j["registrations"].push_back({{"server", r.server}, {"port", r.port}, {"username", r.username},
                                  {"secret", box_.seal(r.secret)},
                                  {"refresh_seconds", r.refreshSeconds}});
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

std::string Iax2Admin::render() const {
  auto eff = effectiveLocked();
  Json out = Json::object();
  out["running"] = trunk_ != nullptr;
  out["bind"] = eff.bindAddress + ":" + std::to_string(eff.port);
  out["outbound"] = eff.engine.outboundRoute;
  out["codecs"] = codecListToString(eff.engine.codecs);
  std::vector<RegistrationStatus> status;
  if (trunk_) {
    auto st = trunk_->status();
    status = st.registrations;
    out["bound"] = st.bound;
    out["calls"] = st.calls;
    out["stats"] = {{"frames_in", st.stats.framesIn},       {"frames_out", st.stats.framesOut},
                    {"dropped", st.stats.dropped},          {"retransmits", st.stats.retransmits},
                    {"auth_failures", st.stats.authFailures}};
  }
  auto isApi = [&](const std::string& name) {
    for (const auto& p : stored_.peers) {
      if (p.name == name) return true;
    }
    return false;
  };
  out["peers"] = Json::array();
  for (const auto& p : eff.engine.peers) {
    Json e = {{"name", p.name},         {"secret", maskSecret(p.secret)},
              {"host", p.host},         {"port", p.port},
              {"username", p.username}, {"source", isApi(p.name) ? "api" : "config"},
              {"registered", false}};
    for (const auto& s : status) {
      if (!s.ours && s.name == p.name) {
        e["registered"] = s.registered;
        e["address"] = s.address;
      }
    }
    out["peers"].push_back(e);
  }
  out["registrations"] = Json::array();
  for (const auto& r : eff.engine.registrations) {
    Json e = {{"server", r.server},     {"port", r.port},
              {"username", r.username}, {"secret", maskSecret(r.secret)},
              {"refresh_seconds", r.refreshSeconds}, {"registered", false}};
    std::string key = r.username + "@" + r.server + ":" + std::to_string(r.port);
    for (const auto& s : status) {
      if (s.ours && s.name == key) {
        e["registered"] = s.registered;
        e["last_error"] = s.lastError;
      }
    }
    out["registrations"].push_back(e);
  }
  return out.dump();
}

core::Result<std::string> Iax2Admin::get() const {
  std::lock_guard lock(mutex_);
  return render();
}

core::Result<std::string> Iax2Admin::put(const std::string& body) {
  auto j = parseObject(body);
  if (!j) return j.error();
  std::lock_guard lock(mutex_);
  Stored next = stored_;
  for (const auto& [k, v] : j->items()) {
    if (k != "bind" && k != "outbound" && k != "codecs" && k != "peers" && k != "registrations") {
      return core::makeError("unknown_setting", "Unknown IAX2 setting '" + k + "'.");
    }
  }
  if (j->contains("bind")) {
    auto b = str(*j, "bind", "");
    if (!b) return b.error();
    std::string host;
    int port = 0;
    if (auto r = checkBind(*b, host, port); !r) return r.error();
    next.bind = *b;
  }
  if (j->contains("outbound")) {
    auto o = str(*j, "outbound", "");
    if (!o) return o.error();
    next.outbound = *o;
  }
  if (j->contains("codecs")) {
    auto c = str(*j, "codecs", "");
    if (!c) return c.error();
    if (!parseCodecList(*c)) return core::makeError("invalid_setting", "codecs must list ulaw, alaw, slinear.");
    next.codecs = *c;
  }
  if (j->contains("peers")) {
    if (!(*j)["peers"].is_array()) return core::makeError("invalid_setting", "peers must be an array.");
    next.peers.clear();
    for (const auto& e : (*j)["peers"]) {
      auto p = peerFrom(e, stored_.peers);
      if (!p) return p.error();
      next.peers.push_back(*p);
    }
  }
  if (j->contains("registrations")) {
    if (!(*j)["registrations"].is_array()) {
      return core::makeError("invalid_setting", "registrations must be an array.");
    }
    next.registrations.clear();
    for (const auto& e : (*j)["registrations"]) {
      auto r = registrationFrom(e, stored_.registrations);
      if (!r) return r.error();
      next.registrations.push_back(*r);
    }
  }
  if (auto r = saveAndApply(std::move(next)); !r) return r.error();
  return render();
}

core::Result<std::string> Iax2Admin::addPeer(const std::string& body) {
  auto j = parseObject(body);
  if (!j) return j.error();
  std::lock_guard lock(mutex_);
  auto p = peerFrom(*j, stored_.peers);
  if (!p) return p.error();
  Stored next = stored_;
  std::erase_if(next.peers, [&](const PeerConfig& x) { return x.name == p->name; });
  next.peers.push_back(*p);
  if (auto r = saveAndApply(std::move(next)); !r) return r.error();
  return render();
}

core::Result<std::string> Iax2Admin::removePeer(const std::string& body) {
  auto j = parseObject(body);
  if (!j) return j.error();
  auto name = str(*j, "name", "");
  if (!name) return name.error();
  std::lock_guard lock(mutex_);
  Stored next = stored_;
  auto n = std::erase_if(next.peers, [&](const PeerConfig& x) { return x.name == *name; });
  if (n == 0) {
    for (const auto& p : file_.engine.peers) {
      if (p.name == *name) {
        return core::makeError("conflict", "The peer '" + *name +
                                                     "' comes from the config file; remove it there.");
      }
    }
    return core::makeError("not_found", "There is no IAX2 peer '" + *name + "'.");
  }
  if (auto r = saveAndApply(std::move(next)); !r) return r.error();
  return render();
}

}  // namespace vfax::trunks::iax2
