// /api/v1/trunks/sip over api::SipTrunkAdmin (the SIP trunk's administration, plugged in by app/),
// admin only:
//   GET    /trunks/sip                       the effective settings and, while it runs, its state
//   PUT    /trunks/sip                       any general key; peers, registrations (whole lists)
//   POST   /trunks/sip/peers                 adds or replaces one peer
//   DELETE /trunks/sip/peers/{name}          removes one API peer
//   POST   /trunks/sip/registrations         adds or replaces one registration
//   DELETE /trunks/sip/registrations/{name}  removes one API registration
// This file checks the JSON (known keys, their types) and turns it into the component's text
// fields and back; the values are the component's to check. GET /lines shows the registrations
// too (sipLines, used by routes_events.cc).
#include <algorithm>

#include "api/admin.h"
#include "api/routes.h"

namespace vfax::api::detail {

namespace {

enum class Kind { Text, Number, Flag, List };
struct Key {
  const char* name;
  Kind kind;
};

// The config file's keys ([sip], [[sip.peer]], [[sip.register]]) and their JSON types.
constexpr Key kGeneral[] = {
    {"listen", Kind::List},
    {"outbound", Kind::Text},
    {"codecs", Kind::Text},
    {"t38", Kind::Text},
    {"t38_max_bitrate", Kind::Number},
    {"t38_max_datagram", Kind::Number},
    {"t38_ec", Kind::Text},
    {"t38_redundancy", Kind::Number},
    {"session_expires", Kind::Number},
    {"min_session_expires", Kind::Number},
    {"rtp_ports", Kind::Text},
    {"media_address", Kind::Text},
    {"tls_verify", Kind::Flag},
    {"tls_ca_file", Kind::Text},
    {"tls_cert", Kind::Text},
    {"tls_key", Kind::Text},
    {"user_agent", Kind::Text},
};
constexpr Key kPeer[] = {
    {"name", Kind::Text},   {"match", Kind::List},       {"host", Kind::Text},
    {"port", Kind::Number}, {"transport", Kind::Text},   {"username", Kind::Text},
    {"secret", Kind::Text}, {"domain", Kind::Text},      {"caller_id", Kind::Text},
    {"t38", Kind::Flag},    {"keepalive", Kind::Number},
};
constexpr Key kRegistration[] = {
    {"name", Kind::Text},      {"registrar", Kind::Text}, {"backup_registrar", Kind::Text},
    {"transport", Kind::Text}, {"username", Kind::Text},  {"auth_username", Kind::Text},
    {"secret", Kind::Text},    {"domain", Kind::Text},    {"expires", Kind::Number},
    {"caller_id", Kind::Text}, {"t38", Kind::Flag},
};

template <std::size_t N>
const Key* findKey(const Key (&keys)[N], const std::string& name) {
  for (const auto& k : keys) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

core::Error bad(const std::string& message) { return core::makeError("invalid_setting", message); }

// One JSON value of a known key into its text form.
core::Result<std::string> fieldText(const Key& key, const Json& v) {
  const std::string name = key.name;
  switch (key.kind) {
    case Kind::Text:
      if (!v.is_string()) return bad(name + " must be a string.");
      return v.get<std::string>();
    case Kind::Number:
      if (!v.is_number_integer() || v.get<long long>() < -1'000'000'000LL ||
          v.get<long long>() > 1'000'000'000LL) {
        return bad(name + " must be a whole number.");
      }
      return std::to_string(v.get<long long>());
    case Kind::Flag:
      if (!v.is_boolean()) return bad(name + " must be true or false.");
      return std::string(v.get<bool>() ? "true" : "false");
    case Kind::List: {
      if (!v.is_array()) return bad(name + " must be a list of strings.");
      std::string out;
      for (const auto& item : v) {
        // One item a line in the text form: an item may not hold a line break itself.
        if (!item.is_string() || item.get<std::string>().find('\n') != std::string::npos) {
          return bad(name + " must be a list of strings.");
        }
        out += (out.empty() ? "" : "\n") + item.get<std::string>();
      }
      return out;
    }
  }
  return bad(name + " is not known.");
}

// The keys of `j` (an object) that `keys` knows; null values are left out (they keep what is
// there). `what` names the object in the unknown-key error.
template <std::size_t N>
core::Result<SipFields> fieldsOf(const Json& j, const Key (&keys)[N], const std::string& what,
                                 const std::vector<std::string>& skip = {}) {
  if (!j.is_object()) return bad("A " + what + " must be an object.");
  SipFields out;
  for (const auto& [k, v] : j.items()) {
    if (std::find(skip.begin(), skip.end(), k) != skip.end()) continue;
    const Key* key = findKey(keys, k);
    if (!key) {
      return core::makeError("unknown_setting", "Unknown SIP " + what + " key '" + k + "'.");
    }
    if (v.is_null()) continue;
    auto text = fieldText(*key, v);
    if (!text) return text.error();
    out[k] = *text;
  }
  return out;
}

// Text fields back into JSON of their key's type.
template <std::size_t N>
void putFields(Json& out, const SipFields& fields, const Key (&keys)[N]) {
  for (const auto& [k, text] : fields) {
    const Key* key = findKey(keys, k);
    if (!key) continue;
    switch (key->kind) {
      case Kind::Text:
        out[k] = text;
        break;
      case Kind::Number:
        try {
          out[k] = std::stoll(text);
        } catch (const std::exception&) {
          out[k] = nullptr;
        }
        break;
      case Kind::Flag:
        out[k] = text == "true";
        break;
      case Kind::List: {
        Json list = Json::array();
        for (std::size_t pos = 0; pos < text.size();) {
          const auto nl = std::min(text.find('\n', pos), text.size());
          list.push_back(text.substr(pos, nl - pos));
          pos = nl + 1;
        }
        out[k] = std::move(list);
        break;
      }
    }
  }
}

core::Result<Json> sipBody(const std::string& body) {
  auto j = Json::parse(body.empty() ? "{}" : body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return core::makeError("invalid_json", "The body must be a JSON object.");
  }
  return j;
}

template <std::size_t N>
core::Result<std::vector<SipFields>> listOf(const Json& j, const char* key, const Key (&keys)[N],
                                            const std::string& what) {
  if (!j[key].is_array()) return bad(std::string(key) + " must be an array.");
  std::vector<SipFields> out;
  for (const auto& e : j[key]) {
    auto f = fieldsOf(e, keys, what);
    if (!f) return f.error();
    out.push_back(std::move(*f));
  }
  return out;
}

core::Result<SipUpdate> updateOf(const Json& j) {
  SipUpdate u;
  auto general = fieldsOf(j, kGeneral, "setting", {"peers", "registrations"});
  if (!general) return general.error();
  u.settings = std::move(*general);
  if (j.contains("peers")) {
    auto list = listOf(j, "peers", kPeer, "peer");
    if (!list) return list.error();
    u.peers = std::move(*list);
  }
  if (j.contains("registrations")) {
    auto list = listOf(j, "registrations", kRegistration, "registration");
    if (!list) return list.error();
    u.registrations = std::move(*list);
  }
  return u;
}

Json entryJson(const SipEntryState& e, bool registration) {
  Json out = Json::object();
  if (registration) {
    putFields(out, e.fields, kRegistration);
  } else {
    putFields(out, e.fields, kPeer);
  }
  out["source"] = e.fromApi ? "api" : "config";
  const auto get = [&e](const char* k) {
    auto it = e.status.find(k);
    return it == e.status.end() ? std::optional<std::string>() : it->second;
  };
  if (registration) {
    out["registered"] = get("registered").value_or("false") == "true";
    if (auto r = get("registrar")) out["registrar_in_use"] = *r;
    if (auto err = get("last_error")) out["last_error"] = *err;
    if (auto at = get("expires_at")) {
      core::Millis ms = 0;
      try {
        ms = std::stoll(*at);
      } catch (const std::exception&) {
      }
      out["expires_at"] = isoTimeOrNull(ms);
    }
  } else {
    if (auto r = get("reachable")) out["reachable"] = *r == "true";
    if (auto err = get("last_error")) out["last_error"] = *err;
  }
  return out;
}

Json stateJson(const SipState& s) {
  Json out = Json::object();
  out["running"] = s.running;
  putFields(out, s.settings, kGeneral);
  if (s.runtime) {
    out["listening"] = s.runtime->listening;
    out["error"] = s.runtime->error;
    out["calls"] = s.runtime->calls;
    out["stats"] = Json::object();
    for (const auto& [k, v] : s.runtime->stats) out["stats"][k] = v;
  }
  out["peers"] = Json::array();
  for (const auto& p : s.peers) out["peers"].push_back(entryJson(p, false));
  out["registrations"] = Json::array();
  for (const auto& r : s.registrations) {
    out["registrations"].push_back(entryJson(r, true));
  }
  return out;
}

void reply(httplib::Response& res, const core::Result<SipState>& s) {
  if (!s) return replyError(res, s.error());
  replyJson(res, 200, stateJson(*s));
}

}  // namespace

void addSipTrunkRoutes(httplib::Server& server, Context& ctx, SipTrunkAdmin& sip) {
  const auto admin = Access::Admin;
  const std::string base = "/api/v1/trunks/sip";
  server.Get(base, guarded(ctx, admin, [&sip](const auto&, auto& res) {
               replyJson(res, 200, stateJson(sip.state()));
             }));
  server.Put(base, guardedAs(ctx, admin, [&ctx, &sip](const auto& req, auto& res, const auto& c) {
               auto body = sipBody(req.body);
               if (!body) return replyError(res, body.error());
               auto u = updateOf(*body);
               if (!u) return replyError(res, u.error());
               reply(res, sip.update(*u));
               if (res.status < 300) audit(ctx, c, "trunk.update", "sip");
             }));
  // POST .../peers and .../registrations: one entry; DELETE .../{name}: names are
  // [A-Za-z0-9._-], anything else is no route.
  server.Post(base + "/peers",
              guardedAs(ctx, admin, [&ctx, &sip](const auto& req, auto& res, const auto& c) {
                auto body = sipBody(req.body);
                if (!body) return replyError(res, body.error());
                auto f = fieldsOf(*body, kPeer, "peer");
                if (!f) return replyError(res, f.error());
                reply(res, sip.addPeer(*f));
                if (res.status < 300)
                  audit(ctx, c, "trunk.peer_add", "sip", "peer " + (*f)["name"]);
              }));
  server.Delete(base + R"(/peers/([A-Za-z0-9._-]{1,64}))",
                guardedAs(ctx, admin, [&ctx, &sip](const auto& req, auto& res, const auto& c) {
                  const std::string name = req.matches[1].str();
                  reply(res, sip.removePeer(name));
                  if (res.status < 300) audit(ctx, c, "trunk.peer_remove", "sip", "peer " + name);
                }));
  server.Post(base + "/registrations",
              guardedAs(ctx, admin, [&ctx, &sip](const auto& req, auto& res, const auto& c) {
                auto body = sipBody(req.body);
                if (!body) return replyError(res, body.error());
                auto f = fieldsOf(*body, kRegistration, "registration");
                if (!f) return replyError(res, f.error());
                reply(res, sip.addRegistration(*f));
                if (res.status < 300) {
                  audit(ctx, c, "trunk.registration_add", "sip", "registration " + (*f)["name"]);
                }
              }));
  server.Delete(base + R"(/registrations/([A-Za-z0-9._-]{1,64}))",
                guardedAs(ctx, admin, [&ctx, &sip](const auto& req, auto& res, const auto& c) {
                  const std::string name = req.matches[1].str();
                  reply(res, sip.removeRegistration(name));
                  if (res.status < 300) {
                    audit(ctx, c, "trunk.registration_remove", "sip", "registration " + name);
                  }
                }));
}

void putSipLines(Json& lines, const SipLineState& state, bool details) {
  Json list = Json::array();
  for (const auto& r : state.registrations) {
    Json e = {{"name", r.name}, {"registered", r.registered}};
    // Where vfax registers and why it failed are the admin's business.
    if (details) {
      e["registrar"] = r.registrar;
      e["last_error"] = r.lastError;
    }
    list.push_back(std::move(e));
  }
  auto& trunks = lines["trunks"];
  if (!trunks.is_array()) trunks = Json::array();
  for (auto& t : trunks) {
    if (t.value("name", "") == "sip") {
      t["registrations"] = std::move(list);
      return;
    }
  }
  // The trunk has not reported to telephony (yet): listed with its own view.
  trunks.push_back({{"name", "sip"},
                    {"up", state.up},
                    {"reason", state.up ? std::string() : state.reason},
                    {"calls", state.calls},
                    {"registrations", std::move(list)}});
}

void addSipLines(Json& lines, const Context& ctx, bool details) {
  if (!ctx.options.sip) return;
  if (const auto state = ctx.options.sip->lineState()) putSipLines(lines, *state, details);
}

}  // namespace vfax::api::detail
