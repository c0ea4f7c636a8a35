// /api/v1/trunks/iax2 over api::Iax2TrunkAdmin (the IAX2 trunk's administration, plugged in by
// app/), admin only:
//   GET  /trunks/iax2               the effective settings and, while it runs, the trunk's state
//   PUT  /trunks/iax2               any of bind, outbound, codecs, peers, registrations
//   POST /trunks/iax2/peers         adds or replaces one peer
//   POST /trunks/iax2/peers/remove  {"name"} removes one API peer
// This file checks the JSON (types, known keys); the values are the component's to check.
#include "api/admin.h"
#include "api/routes.h"

namespace vfax::api::detail {

namespace {

core::Result<Json> trunkBody(const std::string& body) {
  auto j = Json::parse(body.empty() ? "{}" : body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return core::makeError("invalid_json", "The body must be a JSON object.");
  }
  return j;
}

// A missing or null field keeps `fallback`.
core::Result<std::string> str(const Json& j, const char* key, std::string fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_string()) {
    return core::makeError("invalid_setting", std::string(key) + " must be a string.");
  }
  return j[key].get<std::string>();
}

core::Result<int> num(const Json& j, const char* key, int fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number_integer()) {
    return core::makeError("invalid_setting", std::string(key) + " must be a whole number.");
  }
  return j[key].get<int>();
}

core::Result<bool> flag(const Json& j, const char* key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) {
    return core::makeError("invalid_setting", std::string(key) + " must be true or false.");
  }
  return j[key].get<bool>();
}

core::Result<Iax2PeerInput> peerInput(const Json& j) {
  if (!j.is_object()) return core::makeError("invalid_setting", "A peer must be an object.");
  auto name = str(j, "name", "");
  auto secret = str(j, "secret", "");
  auto host = str(j, "host", "");
  auto user = str(j, "username", "");
  auto port = num(j, "port", 4569);
  auto trunk = flag(j, "trunk", false);
  auto trunkTs = flag(j, "trunk_timestamps", true);
  auto calltoken = str(j, "calltoken", "required");
  for (auto* r : {&name, &secret, &host, &user, &calltoken}) {
    if (!*r) return r->error();
  }
  if (!port) return port.error();
  if (!trunk) return trunk.error();
  if (!trunkTs) return trunkTs.error();
  if (*calltoken != "required" && *calltoken != "optional") {
    return core::makeError("invalid_setting", "calltoken must be \"required\" or \"optional\".");
  }
  Iax2PeerInput in;
  in.peer = {*name, *secret, *host, *port, *user, *trunk, *trunkTs, *calltoken == "required"};
  in.keepSecret = !j.contains("secret");
  in.keepCallToken = !j.contains("calltoken") || j["calltoken"].is_null();
  return in;
}

core::Result<Iax2RegistrationInput> registrationInput(const Json& j) {
  if (!j.is_object()) {
    return core::makeError("invalid_setting", "A registration must be an object.");
  }
  auto server = str(j, "server", "");
  auto user = str(j, "username", "");
  auto secret = str(j, "secret", "");
  auto port = num(j, "port", 4569);
  auto refresh = num(j, "refresh_seconds", 60);
  auto trunk = flag(j, "trunk", false);
  auto trunkTs = flag(j, "trunk_timestamps", true);
  for (auto* x : {&server, &user, &secret}) {
    if (!*x) return x->error();
  }
  if (!port) return port.error();
  if (!refresh) return refresh.error();
  if (!trunk) return trunk.error();
  if (!trunkTs) return trunkTs.error();
  Iax2RegistrationInput in;
  in.registration = {*server, *port, *user, *secret, *refresh, *trunk, *trunkTs};
  in.keepSecret = !j.contains("secret");
  return in;
}

core::Result<Iax2Update> update(const Json& j) {
  for (const auto& [k, v] : j.items()) {
    if (k != "bind" && k != "outbound" && k != "codecs" && k != "peers" && k != "registrations") {
      return core::makeError("unknown_setting", "Unknown IAX2 setting '" + k + "'.");
    }
  }
  Iax2Update u;
  for (auto [key, field] : {std::pair{"bind", &u.bind}, std::pair{"outbound", &u.outbound},
                            std::pair{"codecs", &u.codecs}}) {
    if (!j.contains(key)) continue;
    auto v = str(j, key, "");
    if (!v) return v.error();
    *field = *v;
  }
  if (j.contains("peers")) {
    if (!j["peers"].is_array())
      return core::makeError("invalid_setting", "peers must be an array.");
    u.peers.emplace();
    for (const auto& e : j["peers"]) {
      auto p = peerInput(e);
      if (!p) return p.error();
      u.peers->push_back(*p);
    }
  }
  if (j.contains("registrations")) {
    if (!j["registrations"].is_array()) {
      return core::makeError("invalid_setting", "registrations must be an array.");
    }
    u.registrations.emplace();
    for (const auto& e : j["registrations"]) {
      auto r = registrationInput(e);
      if (!r) return r.error();
      u.registrations->push_back(*r);
    }
  }
  return u;
}

Json stateJson(const Iax2State& s) {
  Json out = Json::object();
  out["running"] = s.running;
  out["bind"] = s.bind;
  out["outbound"] = s.outbound;
  out["codecs"] = s.codecs;
  if (s.runtime) {
    const auto& r = *s.runtime;
    out["bound"] = r.bound;
    out["calls"] = r.calls;
    out["stats"] = {{"frames_in", r.framesIn},
                    {"frames_out", r.framesOut},
                    {"dropped", r.dropped},
                    {"retransmits", r.retransmits},
                    {"auth_failures", r.authFailures},
                    {"trunk_frames_in", r.trunkFramesIn},
                    {"trunk_frames_out", r.trunkFramesOut},
                    {"trunk_dropped", r.trunkDropped},
                    {"calltokens_sent", r.callTokensSent},
                    {"pongs_sent", r.pongsSent},
                    {"unproven_dropped", r.unprovenDropped}};
  }
  out["peers"] = Json::array();
  for (const auto& p : s.peers) {
    Json e = {{"name", p.peer.name},
              {"secret", p.peer.secret},
              {"host", p.peer.host},
              {"port", p.peer.port},
              {"username", p.peer.username},
              {"source", p.fromApi ? "api" : "config"},
              {"trunk", p.peer.trunk},
              {"trunk_timestamps", p.peer.trunkTimestamps},
              {"calltoken", p.peer.callTokenRequired ? "required" : "optional"},
              {"weak_secret", p.weakSecret},
              {"registered", p.registered}};
    if (p.address) e["address"] = *p.address;
    out["peers"].push_back(std::move(e));
  }
  out["registrations"] = Json::array();
  for (const auto& r : s.registrations) {
    Json e = {{"server", r.registration.server},
              {"port", r.registration.port},
              {"username", r.registration.username},
              {"secret", r.registration.secret},
              {"refresh_seconds", r.registration.refreshSeconds},
              {"trunk", r.registration.trunk},
              {"trunk_timestamps", r.registration.trunkTimestamps},
              {"registered", r.registered}};
    if (r.lastError) e["last_error"] = *r.lastError;
    out["registrations"].push_back(std::move(e));
  }
  return out;
}

void reply(httplib::Response& res, const core::Result<Iax2State>& s) {
  if (!s) return replyError(res, s.error());
  replyJson(res, 200, stateJson(*s));
}

}  // namespace

void addTrunkRoutes(httplib::Server& server, Context& ctx, Iax2TrunkAdmin& iax2) {
  const auto admin = Access::Admin;
  server.Get("/api/v1/trunks/iax2", guarded(ctx, admin, [&iax2](const auto&, auto& res) {
               replyJson(res, 200, stateJson(iax2.state()));
             }));
  server.Put("/api/v1/trunks/iax2",
             guardedAs(ctx, admin, [&ctx, &iax2](const auto& req, auto& res, const auto& c) {
               auto body = trunkBody(req.body);
               if (!body) return replyError(res, body.error());
               auto u = update(*body);
               if (!u) return replyError(res, u.error());
               reply(res, iax2.update(*u));
               if (res.status < 300) audit(ctx, c, "trunk.update", "iax2");
             }));
  server.Post("/api/v1/trunks/iax2/peers",
              guardedAs(ctx, admin, [&ctx, &iax2](const auto& req, auto& res, const auto& c) {
                auto body = trunkBody(req.body);
                if (!body) return replyError(res, body.error());
                auto p = peerInput(*body);
                if (!p) return replyError(res, p.error());
                reply(res, iax2.addPeer(*p));
                if (res.status < 300)
                  audit(ctx, c, "trunk.peer_add", "iax2", "peer " + p->peer.name);
              }));
  server.Post("/api/v1/trunks/iax2/peers/remove",
              guardedAs(ctx, admin, [&ctx, &iax2](const auto& req, auto& res, const auto& c) {
                auto body = trunkBody(req.body);
                if (!body) return replyError(res, body.error());
                auto name = str(*body, "name", "");
                if (!name) return replyError(res, name.error());
                reply(res, iax2.removePeer(*name));
                if (res.status < 300) audit(ctx, c, "trunk.peer_remove", "iax2", "peer " + *name);
              }));
}

}  // namespace vfax::api::detail
