#include "api/json.h"

#include <ctime>
#include <set>

#include <fmt/format.h>

#include "core/pin.h"

namespace vfax::api {

namespace {

// Keys whose values are integers (JSON numbers on output); the rest of settingKeys() are strings.
const std::set<std::string, std::less<>>& intSettingKeys() {
  static const std::set<std::string, std::less<>> keys{"total_lines",      "reserved_inbound_lines",
                                                       "retention_days",   "send_attempts",
                                                       "daily_page_limit", "print_hold_hours"};
  return keys;
}

// Keys whose values are booleans (JSON true/false on output; "true"/"false" also accepted).
const std::set<std::string, std::less<>>& boolSettingKeys() {
  static const std::set<std::string, std::less<>> keys{"cover_page_default", "ocr_received"};
  return keys;
}

Json stringOrNull(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

}  // namespace

std::string isoTime(core::Millis ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {  // before 1970: keep the fraction positive
    millis += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

Json isoTimeOrNull(core::Millis ms) { return ms == 0 ? Json(nullptr) : Json(isoTime(ms)); }

Json toJson(const core::Attempt& a) {
  Json j = {
      {"started_at", isoTimeOrNull(a.startedAt)},
      {"ended_at", a.finished ? isoTimeOrNull(a.endedAt) : Json(nullptr)},
      {"outcome", a.finished ? Json(std::string(core::toString(a.outcome))) : Json(nullptr)},
      {"code", a.code},
      {"reason", a.reason},
      {"bit_rate", a.bitRate},
      {"ecm", a.ecm},
      {"compression", stringOrNull(a.compression)},
      {"pages", a.pages},
      {"remote_id", stringOrNull(a.remoteId)},
      // Known once the call ended: it may switch from audio to T.38 on the way.
      {"media", a.finished ? Json(std::string(core::toString(a.media))) : Json(nullptr)},
  };
  if (!a.codec.empty()) j["codec"] = a.codec;
  return j;
}

Json toJson(const core::Fax& f) {
  Json attempts = Json::array();
  for (const auto& a : f.attempts) attempts.push_back(toJson(a));
  return {
      {"id", f.id},
      {"direction", std::string(core::toString(f.direction))},
      {"state", std::string(core::toString(f.state))},
      {"number", stringOrNull(f.number)},
      {"device", f.deviceId ? Json(*f.deviceId) : Json(nullptr)},
      {"pages", f.pages},
      {"pages_total", f.pagesTotal},
      {"remote_id", stringOrNull(f.remoteId)},
      {"created_at", isoTimeOrNull(f.createdAt)},
      {"updated_at", isoTimeOrNull(f.updatedAt)},
      {"attempts", std::move(attempts)},
      {"error", stringOrNull(f.error)},
      {"tag", f.tag},
      {"priority", f.priority},
      {"notify", stringOrNull(f.notify)},
      {"attempt_count", f.attemptCount},
      {"next_attempt_at", core::isFinal(f.state) ? Json(nullptr) : isoTimeOrNull(f.nextAttemptAt)},
      {"tsi", stringOrNull(f.tsi)},
      {"resolution", f.fine ? "fine" : "normal"},
      {"extension", stringOrNull(f.extension)},
      {"caller_id", stringOrNull(f.callerId)},
      {"cover", f.coverPage},
      {"subject", stringOrNull(f.subject)},
      {"comment", stringOrNull(f.comment)},
      {"origin", stringOrNull(f.origin)},
  };
}

Json toJson(const core::Device& d, const std::string& effectiveTsi) {
  return {
      {"id", d.id},
      {"kind", std::string(core::toString(d.kind))},
      {"name", d.name},
      {"email", d.email},
      {"extension", d.extension},
      {"tsi", effectiveTsi},
      {"tsi_custom", !d.tsi.empty()},
      {"inbound_format", std::string(core::toString(d.inboundFormat))},
      {"owner", d.owner ? Json(*d.owner) : Json(nullptr)},
      {"members", d.members},
      {"has_pin", !d.pinHash.empty()},
  };
}

Json toJson(const core::User& u) {
  return {
      {"id", u.id},
      {"username", u.username},
      {"name", u.name},
      {"email", u.email},
      {"role", std::string(core::toString(u.role))},
      {"enabled", u.enabled},
      {"builtin", u.builtin},
      {"has_password", !u.passwordHash.empty()},
      {"created_at", isoTimeOrNull(u.createdAt)},
      {"updated_at", isoTimeOrNull(u.updatedAt)},
  };
}

Json toJson(const core::AuditEntry& a) {
  return {
      {"id", a.id},
      {"at", isoTimeOrNull(a.at)},
      {"user", a.userId ? Json(*a.userId) : Json(nullptr)},
      {"username", a.username},
      {"credential", a.credential},
      {"source", a.source},
      {"action", a.action},
      {"target", a.target},
      {"detail", a.detail},
  };
}

Json toJson(const core::Settings& s) {
  Json out = Json::object();
  for (const auto& [key, value] : core::toMap(s)) {
    if (key == "print_field_patterns") {
      out[key] = s.printFieldPatterns;  // an array; its string form is JSON text
    } else if (core::isListSetting(key)) {
      out[key] = core::settingList(s, key);
    } else if (boolSettingKeys().contains(key)) {
      out[key] = value == "true";
    } else if (intSettingKeys().contains(key)) {
      try {
        out[key] = std::stoll(value);
      } catch (const std::exception&) {  // toMap writes decimal ints; keep whatever it wrote
        out[key] = value;
      }
    } else {
      out[key] = value;
    }
  }
  return out;
}

Json toJson(const core::NumberCheck& c) {
  const auto& n = c.number;
  auto known = [&c](const std::string& v) { return c.valid ? stringOrNull(v) : Json(nullptr); };
  return {
      {"input", c.input},
      {"valid", c.valid},
      {"e164", known(n.e164)},
      {"dial_string", known(n.dialString)},
      {"national", known(n.national)},
      {"international", known(n.international)},
      {"as_you_type", c.asYouType},
      {"type", c.valid && !n.internal ? Json(std::string(core::toString(n.type))) : Json(nullptr)},
      {"internal", c.valid && n.internal},
      {"allowed", c.allowed},
      {"reason", stringOrNull(c.reason)},
      {"reason_code", stringOrNull(c.reasonCode)},
  };
}

Json toJson(const core::ApiToken& t) {
  return {
      {"id", t.id},
      {"name", t.name},
      {"user", t.userId},
      {"prefix", t.prefix},
      {"created_at", isoTimeOrNull(t.createdAt)},
      {"last_used_at", isoTimeOrNull(t.lastUsedAt)},
      {"expires_at", isoTimeOrNull(t.expiresAt)},
  };
}

Json toJson(const core::LineStatus& l) {
  return {
      {"total", l.total},       {"reserved_inbound", l.reservedInbound},
      {"in_use", l.inUse},      {"inbound", l.inbound},
      {"outbound", l.outbound}, {"queued", l.queued},
  };
}

Json toJson(const core::TrunkStatus& t) {
  return {{"name", t.name}, {"up", t.up}, {"reason", t.reason}, {"calls", t.calls}};
}

Json toJson(const core::LineStatus& l, const std::vector<core::TrunkStatus>& trunks) {
  Json out = toJson(l);
  out["trunks"] = Json::array();
  for (const auto& t : trunks) out["trunks"].push_back(toJson(t));
  return out;
}

Json healthJson(const std::vector<core::TrunkStatus>& trunks,
                const std::vector<std::string>& extra) {
  Json reasons = Json::array();
  for (const auto& t : trunks) {
    if (t.up) continue;
    reasons.push_back("trunk " + t.name + ": " + (t.reason.empty() ? "not up" : t.reason));
  }
  for (const auto& r : extra) reasons.push_back(r);
  if (reasons.empty()) return {{"status", "ok"}};
  return {{"status", "degraded"}, {"reasons", std::move(reasons)}};
}

core::Result<std::map<std::string, std::string>> settingsChanges(const Json& body) {
  if (!body.is_object()) {
    return core::makeError("invalid_json", "the settings must be a JSON object of key: value");
  }
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : body.items()) {
    if (key == "print_field_patterns" && (value.is_array() || value.is_null())) {
      // Regexes may hold commas: the setting's string form is the array as JSON text.
      out[key] = value.is_null() ? std::string() : value.dump();
    } else if (core::isListSetting(key) && (value.is_array() || value.is_null())) {
      // A list is an array of strings (the CLI's comma-separated string is taken as well); null
      // or [] returns allowed_destinations to its default.
      std::string joined;
      for (const auto& item : value.is_array() ? value : Json::array()) {
        if (!item.is_string()) {
          return core::makeError("invalid_setting",
                                 key + " must be an array of strings, got " + value.dump());
        }
        const std::string text = item.get<std::string>();
        if (text.find(',') != std::string::npos) {
          return core::makeError("invalid_setting",
                                 key + ": an item may not contain a comma, got '" + text + "'");
        }
        joined += (joined.empty() ? "" : ",") + text;
      }
      out[key] = std::move(joined);
    } else if (value.is_string()) {
      out[key] = value.get<std::string>();
    } else if (value.is_number_integer() ||
               (value.is_boolean() && boolSettingKeys().contains(key))) {
      out[key] = value.dump();
    } else {
      return core::makeError("invalid_setting",
                             "the value of " + key +
                                 " must be a string, a whole number, true/false or (for lists) "
                                 "an array of strings, got " +
                                 value.dump());
    }
  }
  return out;
}

namespace {

core::Result<std::string> stringField(const Json& body, const char* name) {
  const Json& v = body.at(name);
  if (!v.is_string()) {
    return core::makeError("invalid_device",
                           std::string(name) + " must be a string, got " + v.dump());
  }
  return v.get<std::string>();
}

}  // namespace

core::Result<void> mergeDevice(core::Device& d, const Json& body) {
  if (!body.is_object()) return core::makeError("invalid_json", "a device must be a JSON object");
  static const std::set<std::string, std::less<>> known{
      "id",         "kind",           "name",  "email",   "extension", "tsi",
      "tsi_custom", "inbound_format", "owner", "members", "has_pin",   "pin"};
  for (const auto& [key, value] : body.items()) {
    if (!known.contains(key)) {
      return core::makeError("unknown_field", "a device has no field '" + key + "'");
    }
  }
  if (body.contains("id")) {
    const Json& id = body["id"];
    // Accepted so that a GET result can be sent back, but it cannot change the id.
    if (!id.is_number_integer() || (d.id != 0 && id.get<std::int64_t>() != d.id) || d.id == 0) {
      return core::makeError("invalid_device", "the id of a device cannot be set or changed");
    }
  }
  if (body.contains("kind")) {
    auto s = stringField(body, "kind");
    if (!s) return s.error();
    auto k = core::deviceKindFromString(*s);
    if (!k) return core::makeError("invalid_device", "kind must be user or team, got '" + *s + "'");
    d.kind = *k;
  }
  if (body.contains("inbound_format")) {
    auto s = stringField(body, "inbound_format");
    if (!s) return s.error();
    auto f = core::inboundFormatFromString(*s);
    if (!f) {
      return core::makeError("invalid_device",
                             "inbound_format must be pdf, tiff or inline, got '" + *s + "'");
    }
    d.inboundFormat = *f;
  }
  for (auto [name, field] : {std::pair{"name", &d.name}, std::pair{"email", &d.email},
                             std::pair{"extension", &d.extension}, std::pair{"tsi", &d.tsi}}) {
    if (!body.contains(name)) continue;
    auto s = stringField(body, name);
    if (!s) return s.error();
    *field = *s;
  }
  if (body.contains("owner")) {
    const Json& o = body["owner"];
    if (o.is_null()) {
      d.owner.reset();
    } else if (o.is_number_integer() && o.get<std::int64_t>() > 0) {
      d.owner = o.get<std::int64_t>();
    } else {
      return core::makeError("invalid_device", "owner must be a user id or null");
    }
  }
  if (body.contains("members")) {
    const Json& m = body["members"];
    if (!m.is_array())
      return core::makeError("invalid_device", "members must be a list of user ids");
    d.members.clear();
    for (const auto& v : m) {
      if (!v.is_number_integer() || v.get<std::int64_t>() <= 0)
        return core::makeError("invalid_device", "members must be a list of user ids");
      d.members.push_back(v.get<std::int64_t>());
    }
  }
  if (body.contains("pin")) {
    // Write-only: hashed here (argon2id), never stored or returned in clear.
    const Json& p = body["pin"];
    if (p.is_null() || (p.is_string() && p.get_ref<const std::string&>().empty())) {
      d.pinHash.clear();
    } else if (!p.is_string()) {
      return core::makeError("invalid_device",
                             "pin must be a string of 4 to 12 digits (or null to remove it)");
    } else {
      auto hash = core::hashPin(p.get_ref<const std::string&>());
      if (!hash) return hash.error();
      d.pinHash = std::move(*hash);
    }
  }
  if (body.contains("has_pin")) {
    // Accepted so that a GET result can be sent back; only "pin" sets or removes the PIN.
    const Json& h = body["has_pin"];
    if (!h.is_boolean() || h.get<bool>() != !d.pinHash.empty()) {
      return core::makeError("invalid_device",
                             "has_pin cannot be changed; send \"pin\" to set (or null to remove) "
                             "the PIN");
    }
  }
  if (body.contains("tsi_custom")) {
    const Json& c = body["tsi_custom"];
    if (!c.is_boolean())
      return core::makeError("invalid_device", "tsi_custom must be true or false");
    if (!c.get<bool>()) {
      d.tsi.clear();
    } else if (d.tsi.empty()) {
      return core::makeError("invalid_device", "tsi_custom is true but no tsi was given");
    }
  }
  return {};
}

core::Result<Json> parseObject(std::string_view body, bool emptyOk) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    if (emptyOk) return Json::object();
    return core::makeError("invalid_json", "the request needs a JSON object as its body");
  }
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return core::makeError("invalid_json", "the request body is not valid JSON");
  if (!j.is_object())
    return core::makeError("invalid_json", "the request body must be a JSON object");
  return j;
}

}  // namespace vfax::api
