#include "core/settings.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include "core/cron.h"

#include <nlohmann/json.hpp>

namespace vfax::core {
namespace {

constexpr int kMaxLines = 1000;

bool allDigits(std::string_view v) {
  for (char c : v) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Error invalid(std::string_view key, std::string_view allowed, std::string_view value) {
  std::string msg(key);
  msg += " must be ";
  msg += allowed;
  msg += ", got '";
  msg += value;
  msg += "'";
  return makeError("invalid_setting", std::move(msg));
}

// Strict on purpose: "+5", " 5", "5.0" and "1e3" are all rejected, so a typo never becomes a
// surprising number.
Result<void> parseInt(int& out, std::string_view key, std::string_view value, int lo, int hi) {
  const std::string allowed =
      "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (value.empty() || !allDigits(value) || value.size() > 9) return invalid(key, allowed, value);
  int n = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || ptr != value.data() + value.size() || n < lo || n > hi) {
    return invalid(key, allowed, value);
  }
  out = n;
  return {};
}

Result<void> parseDigits(std::string& out, std::string_view key, std::string_view value,
                         bool mayBeEmpty, std::size_t maxLen, std::string_view allowed) {
  if ((!mayBeEmpty && value.empty()) || value.size() > maxLen || !allDigits(value)) {
    return invalid(key, allowed, value);
  }
  out = std::string(value);
  return {};
}

Result<void> parseBool(bool& out, std::string_view key, std::string_view value) {
  if (value == "true") {
    out = true;
  } else if (value == "false") {
    out = false;
  } else {
    return invalid(key, "true or false", value);
  }
  return {};
}

constexpr std::size_t kMaxListItems = 200;

std::string trim(std::string_view v) {
  const auto b = v.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = v.find_last_not_of(" \t");
  return std::string(v.substr(b, e - b + 1));
}

// "a, b,,c" -> {"a", "b", "c"}: the CLI's and the store's form of a list.
std::vector<std::string> splitList(std::string_view v) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= v.size()) {
    const auto comma = v.find(',', start);
    const auto end = comma == std::string_view::npos ? v.size() : comma;
    std::string item = trim(v.substr(start, end - start));
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string joinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ',';
    out += i;
  }
  return out;
}

// E.164 prefixes: "+" and up to 15 digits, the first not 0; spaces and '-' inside are dropped
// ("+49 900" is "+49900"). `anyAllowed`: "+" alone (every number) is a valid item.
Result<std::vector<std::string>> parsePrefixes(std::string_view key, std::string_view value,
                                               bool anyAllowed) {
  std::vector<std::string> out;
  const auto items = splitList(value);
  if (items.size() > kMaxListItems) {
    return makeError("invalid_setting", std::string(key) + " may hold at most " +
                                            std::to_string(kMaxListItems) + " prefixes, got " +
                                            std::to_string(items.size()));
  }
  for (const auto& item : items) {
    std::string p;
    for (char c : item) {
      if (c != ' ' && c != '-') p += c;
    }
    const std::string allowed =
        std::string(
            "a list of E.164 prefixes such as +49 or +49900 (a '+', then up to 15 digits, "
            "the first not 0)") +
        (anyAllowed ? ", or + alone for every number" : "");
    const std::string digits = p.size() > 1 ? p.substr(1) : "";
    const bool ok = !p.empty() && p[0] == '+' && digits.size() <= 15 && allDigits(digits) &&
                    (digits.empty() ? anyAllowed : digits[0] != '0');
    if (!ok) {
      if (p == "+") {
        return makeError(
            "invalid_setting",
            std::string(key) + ": '+' alone would match every number; list the prefixes to block");
      }
      return makeError("invalid_setting",
                       std::string(key) + " must be " + allowed + ", got '" + item + "'");
    }
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(std::move(p));
  }
  return out;
}

// print_field_patterns: a JSON array of strings (a regex may hold commas, so the comma-separated
// form of the other lists cannot carry it); "" is the empty list. Only the shape is checked here:
// the pattern compiler of documents/ checks each pattern when the settings change.
Result<void> parseFieldPatterns(Settings& s, std::string_view v) {
  constexpr std::string_view kKey = "print_field_patterns";
  if (trim(v).empty()) {
    s.printFieldPatterns.clear();
    return {};
  }
  const auto parsed = nlohmann::json::parse(v, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_array()) {
    return invalid(kKey, "a JSON array of strings such as [\"FAXTO=(?<number>[0-9+]+)\"]", v);
  }
  if (parsed.size() > kMaxFieldPatterns) {
    return makeError("invalid_setting", std::string(kKey) + " may hold at most " +
                                            std::to_string(kMaxFieldPatterns) + " patterns, got " +
                                            std::to_string(parsed.size()));
  }
  std::vector<std::string> out;
  for (const auto& item : parsed) {
    if (!item.is_string()) return invalid(kKey, "a JSON array of strings", v);
    std::string p = item.get<std::string>();
    if (p.empty() || p.size() > kMaxFieldPatternLength) {
      return makeError("invalid_setting", std::string(kKey) + ": pattern " +
                                              std::to_string(out.size() + 1) + " must have 1 to " +
                                              std::to_string(kMaxFieldPatternLength) +
                                              " characters");
    }
    out.push_back(std::move(p));
  }
  s.printFieldPatterns = std::move(out);
  return {};
}

std::string typeNames() {
  std::string out;
  for (const auto& n : kNumberTypeNames) {
    if (!out.empty()) out += ", ";
    out += n.name;
  }
  return out;
}

struct Field {
  std::string_view key;
  std::function<std::string(const Settings&)> get;
  std::function<Result<void>(Settings&, std::string_view)> set;
};

const std::vector<Field>& fields() {
  static const std::vector<Field> kFields = {
      {"total_lines", [](const Settings& s) { return std::to_string(s.totalLines); },
       [](Settings& s, std::string_view v) {
         return parseInt(s.totalLines, "total_lines", v, 1, kMaxLines);
       }},
      // The upper bound against total_lines is a rule across keys: validate() checks it, so that
      // both keys can be changed in one request in any order.
      {"reserved_inbound_lines",
       [](const Settings& s) { return std::to_string(s.reservedInboundLines); },
       [](Settings& s, std::string_view v) {
         return parseInt(s.reservedInboundLines, "reserved_inbound_lines", v, 0, kMaxLines - 1);
       }},
      {"country_code", [](const Settings& s) { return s.countryCode; },
       [](Settings& s, std::string_view v) -> Result<void> {
         constexpr std::string_view kAllowed = "1 to 3 digits without leading zeros, e.g. 49";
         if (v.empty() || v.size() > 3 || !allDigits(v) || v[0] == '0') {
           return invalid("country_code", kAllowed, v);
         }
         s.countryCode = std::string(v);
         return {};
       }},
      {"area_code", [](const Settings& s) { return s.areaCode; },
       [](Settings& s, std::string_view v) {
         return parseDigits(s.areaCode, "area_code", v, true, 6,
                            "up to 6 digits without the national prefix (e.g. 89, not 089), "
                            "or empty where there are no area codes");
       }},
      {"base_number", [](const Settings& s) { return s.baseNumber; },
       [](Settings& s, std::string_view v) {
         return parseDigits(s.baseNumber, "base_number", v, false, 13,
                            "1 to 13 digits, the main number without area code, e.g. 123456");
       }},
      {"outside_line_prefix", [](const Settings& s) { return s.outsideLinePrefix; },
       [](Settings& s, std::string_view v) {
         return parseDigits(s.outsideLinePrefix, "outside_line_prefix", v, true, 4,
                            "up to 4 digits (e.g. 0), or empty if the PBX needs none");
       }},
      {"international_prefix", [](const Settings& s) { return s.internationalPrefix; },
       [](Settings& s, std::string_view v) {
         return parseDigits(s.internationalPrefix, "international_prefix", v, true, 4,
                            "up to 4 digits (e.g. 00, or 011 in North America)");
       }},
      {"national_prefix", [](const Settings& s) { return s.nationalPrefix; },
       [](Settings& s, std::string_view v) {
         return parseDigits(s.nationalPrefix, "national_prefix", v, true, 4,
                            "up to 4 digits (e.g. 0, or 1 in North America), or empty");
       }},
      {"mail_to_fax_mode", [](const Settings& s) { return std::string(toString(s.mailToFaxMode)); },
       [](Settings& s, std::string_view v) -> Result<void> {
         if (v == "attachments") {
           s.mailToFaxMode = MailToFaxMode::Attachments;
         } else if (v == "body_and_attachments") {
           s.mailToFaxMode = MailToFaxMode::BodyAndAttachments;
         } else {
           return invalid("mail_to_fax_mode", "'attachments' or 'body_and_attachments'", v);
         }
         return {};
       }},
      {"retention_days", [](const Settings& s) { return std::to_string(s.retentionDays); },
       [](Settings& s, std::string_view v) {
         return parseInt(s.retentionDays, "retention_days", v, 1, 36500);
       }},
      {"send_attempts", [](const Settings& s) { return std::to_string(s.sendAttempts); },
       [](Settings& s, std::string_view v) {
         return parseInt(s.sendAttempts, "send_attempts", v, 1, 20);
       }},
      {"cleanup_schedule", [](const Settings& s) { return s.cleanupSchedule; },
       [](Settings& s, std::string_view v) -> Result<void> {
         if (!v.empty()) {
           auto cron = CronSchedule::parse(v);
           if (!cron) {
             return makeError("invalid_setting",
                              "cleanup_schedule must be empty or a cron expression such as "
                              "'0 3 * * *': " +
                                  cron.error().message);
           }
         }
         s.cleanupSchedule = std::string(v);
         return {};
       }},
      {"cover_page_default",
       [](const Settings& s) { return std::string(s.coverPageDefault ? "true" : "false"); },
       [](Settings& s, std::string_view v) {
         return parseBool(s.coverPageDefault, "cover_page_default", v);
       }},
      {"ocr_received",
       [](const Settings& s) { return std::string(s.ocrReceived ? "true" : "false"); },
       [](Settings& s, std::string_view v) { return parseBool(s.ocrReceived, "ocr_received", v); }},
      {"cover_language", [](const Settings& s) { return s.coverLanguage; },
       [](Settings& s, std::string_view v) -> Result<void> {
         if (v != "de+en" && v != "de" && v != "en") {
           return invalid("cover_language", "'de+en', 'de' or 'en'", v);
         }
         s.coverLanguage = std::string(v);
         return {};
       }},
      // Empty is "unset": the own country, following country_code.
      {"allowed_destinations",
       [](const Settings& s) {
         return s.allowedDestinations ? joinList(*s.allowedDestinations) : std::string();
       },
       [](Settings& s, std::string_view v) -> Result<void> {
         auto list = parsePrefixes("allowed_destinations", v, true);
         if (!list) return list.error();
         if (list->empty()) {
           s.allowedDestinations.reset();
         } else {
           s.allowedDestinations = std::move(*list);
         }
         return {};
       }},
      {"blocked_number_types",
       [](const Settings& s) {
         std::vector<std::string> names;
         for (auto t : s.blockedNumberTypes) names.emplace_back(toString(t));
         return joinList(names);
       },
       [](Settings& s, std::string_view v) -> Result<void> {
         std::vector<NumberType> types;
         for (const auto& name : splitList(v)) {
           auto t = numberTypeFromString(name);
           if (!t) {
             return makeError("invalid_setting", "blocked_number_types: unknown number type '" +
                                                     name + "'; known types are " + typeNames());
           }
           if (std::find(types.begin(), types.end(), *t) == types.end()) types.push_back(*t);
         }
         s.blockedNumberTypes = std::move(types);
         return {};
       }},
      {"blocked_prefixes", [](const Settings& s) { return joinList(s.blockedPrefixes); },
       [](Settings& s, std::string_view v) -> Result<void> {
         auto list = parsePrefixes("blocked_prefixes", v, false);
         if (!list) return list.error();
         s.blockedPrefixes = std::move(*list);
         return {};
       }},
      {"daily_page_limit", [](const Settings& s) { return std::to_string(s.dailyPageLimit); },
       [](Settings& s, std::string_view v) {
         return parseInt(s.dailyPageLimit, "daily_page_limit", v, 0, 1'000'000);
       }},
      {"print_to_fax_mode",
       [](const Settings& s) { return std::string(toString(s.printToFaxMode)); },
       [](Settings& s, std::string_view v) -> Result<void> {
         if (v == "client") {
           s.printToFaxMode = PrintToFaxMode::Client;
         } else if (v == "fields") {
           s.printToFaxMode = PrintToFaxMode::Fields;
         } else if (v == "fields_then_client") {
           s.printToFaxMode = PrintToFaxMode::FieldsThenClient;
         } else {
           return invalid("print_to_fax_mode", "'client', 'fields' or 'fields_then_client'", v);
         }
         return {};
       }},
      {"print_hold_hours", [](const Settings& s) { return std::to_string(s.printHoldHours); },
       [](Settings& s, std::string_view v) {
         return parseInt(s.printHoldHours, "print_hold_hours", v, 1, 24 * 90);
       }},
      {"print_field_patterns",
       [](const Settings& s) { return nlohmann::json(s.printFieldPatterns).dump(); },
       [](Settings& s, std::string_view v) { return parseFieldPatterns(s, v); }},
  };
  return kFields;
}

const Field* findField(std::string_view key) {
  for (const auto& f : fields()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

Error unknownKey(std::string_view key) {
  std::string msg = "unknown setting '" + std::string(key) + "'; known settings are ";
  bool first = true;
  for (const auto& k : settingKeys()) {
    if (!first) msg += ", ";
    msg += k;
    first = false;
  }
  return makeError("unknown_setting", std::move(msg));
}

}  // namespace

const std::vector<std::string>& settingKeys() {
  static const std::vector<std::string> kKeys = [] {
    std::vector<std::string> keys;
    for (const auto& f : fields()) keys.emplace_back(f.key);
    return keys;
  }();
  return kKeys;
}

Result<std::string> getSetting(const Settings& s, std::string_view key) {
  const Field* f = findField(key);
  if (f == nullptr) return unknownKey(key);
  return f->get(s);
}

Result<void> assignSetting(Settings& s, std::string_view key, std::string_view value) {
  const Field* f = findField(key);
  if (f == nullptr) return unknownKey(key);
  // Assign into a copy so that a rejected value leaves the settings exactly as they were.
  Settings copy = s;
  auto r = f->set(copy, value);
  if (r) s = std::move(copy);
  return r;
}

Result<void> validate(const Settings& s) {
  // Each value alone first, so that settings built in code (not through assignSetting) are held to
  // the same rules; the first bad key is reported.
  for (const auto& f : fields()) {
    Settings scratch;
    if (auto r = f.set(scratch, f.get(s)); !r) return r;
  }
  if (s.reservedInboundLines >= s.totalLines) {
    return makeError("invalid_setting", "reserved_inbound_lines must be less than total_lines (" +
                                            std::to_string(s.totalLines) +
                                            ") so that faxes can be sent, got " +
                                            std::to_string(s.reservedInboundLines));
  }
  if (!s.nationalPrefix.empty() && !s.areaCode.empty() &&
      s.areaCode.starts_with(s.nationalPrefix)) {
    return makeError("invalid_setting", "area_code must be given without the national prefix '" +
                                            s.nationalPrefix + "' (e.g. 89 instead of 089), got '" +
                                            s.areaCode + "'");
  }
  if (!s.internationalPrefix.empty() && !s.nationalPrefix.empty() &&
      s.nationalPrefix.starts_with(s.internationalPrefix)) {
    return makeError("invalid_setting", "national_prefix '" + s.nationalPrefix +
                                            "' must not begin with the international_prefix '" +
                                            s.internationalPrefix +
                                            "', or national numbers look international");
  }
  if (s.countryCode.size() + s.areaCode.size() + s.baseNumber.size() > 15) {
    return makeError("invalid_setting",
                     "base_number is too long: country_code, area_code and base_number together "
                     "must have at most 15 digits (E.164), got '+" +
                         s.countryCode + s.areaCode + s.baseNumber + "'");
  }
  return {};
}

Result<void> applyChanges(Settings& s, const std::map<std::string, std::string>& changes) {
  Settings next = s;
  for (const auto& [key, value] : changes) {
    if (key == "allowed_destinations" && !s.allowedDestinations) {
      Settings probe = next;
      if (auto r = assignSetting(probe, key, value); !r) return r.error();
      if (probe.allowedDestinations &&
          *probe.allowedDestinations == effectiveAllowedDestinations(s)) {
        continue;  // the default as shown: stays unset
      }
    }
    if (auto r = assignSetting(next, key, value); !r) return r.error();
  }
  if (auto r = validate(next); !r) return r.error();
  s = std::move(next);
  return {};
}

bool isListSetting(std::string_view key) {
  return key == "allowed_destinations" || key == "blocked_number_types" ||
         key == "blocked_prefixes";
}

std::vector<std::string> settingList(const Settings& s, std::string_view key) {
  if (key == "allowed_destinations") return effectiveAllowedDestinations(s);
  auto v = getSetting(s, key);
  return v ? splitList(*v) : std::vector<std::string>{};
}

std::vector<std::string> effectiveAllowedDestinations(const Settings& s) {
  if (s.allowedDestinations) return *s.allowedDestinations;
  return {"+" + s.countryCode};
}

std::map<std::string, std::string> toMap(const Settings& s) {
  std::map<std::string, std::string> m;
  for (const auto& f : fields()) m.emplace(std::string(f.key), f.get(s));
  return m;
}

std::string_view toString(PrintToFaxMode m) {
  switch (m) {
    case PrintToFaxMode::Client:
      return "client";
    case PrintToFaxMode::Fields:
      return "fields";
    case PrintToFaxMode::FieldsThenClient:
      break;
  }
  return "fields_then_client";
}

std::string_view toString(MailToFaxMode m) {
  return m == MailToFaxMode::BodyAndAttachments ? "body_and_attachments" : "attachments";
}

}  // namespace vfax::core
