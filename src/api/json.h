#pragma once
// The JSON shapes of the API (ARCHITECTURE.md, docs/openapi.yaml): faxes, devices, settings,
// tokens, lines. Pure functions, so the mapping is tested without a server.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/model.h"
#include "core/result.h"
#include "core/service.h"
#include "core/settings.h"
#include "core/telephony.h"

namespace vfax::api {

using Json = nlohmann::json;

/// Unix milliseconds as ISO 8601 UTC with milliseconds ("2026-11-03T09:15:02.120Z").
std::string isoTime(core::Millis ms);
/// isoTime, or null for 0 ("not yet").
Json isoTimeOrNull(core::Millis ms);

Json toJson(const core::Attempt& a);
Json toJson(const core::Fax& f);
/// `effectiveTsi` is Service::effectiveTsi(d); `tsi_custom` tells whether the device set its own.
Json toJson(const core::Device& d, const std::string& effectiveTsi);
/// Integer settings as JSON numbers, lists (allowed_destinations as in force, blocked_number_types,
/// blocked_prefixes) as arrays of strings, the rest as strings.
Json toJson(const core::Settings& s);
/// GET /numbers/parse: {input, valid, e164, dial_string, national, international, as_you_type,
/// type, internal, allowed, reason, reason_code}; what is not known is null.
Json toJson(const core::NumberCheck& c);
Json toJson(const core::ApiToken& t);
Json toJson(const core::User& u);
Json toJson(const core::AuditEntry& a);
Json toJson(const core::LineStatus& l);
/// GET /lines: the line counts plus `trunks: [{name, up, reason, calls}]`.
Json toJson(const core::LineStatus& l, const std::vector<core::TrunkStatus>& trunks);
Json toJson(const core::TrunkStatus& t);
/// GET /healthz: `{"status": "ok"}`, or `{"status": "degraded", "reasons": [...]}` with one
/// sentence per trunk that is not up. Degraded is still HTTP 200: vfaxd lives and keeps every
/// job (they wait for the trunk), so a liveness probe must not restart it.
/// `extra`: further reasons to be degraded ("printer: ..."), from ApiOptions::healthReasons.
Json healthJson(const std::vector<core::TrunkStatus>& trunks,
                const std::vector<std::string>& extra = {});

/// PUT /settings body -> the string map Service::updateSettings takes. Numbers become decimal
/// strings, lists (arrays of strings, or null) comma-separated strings; anything else is
/// `invalid_setting`.
core::Result<std::map<std::string, std::string>> settingsChanges(const Json& body);

/// Merges a device JSON object (POST: onto a default Device, PUT: onto the stored one) into `d`.
/// Unknown fields are `unknown_field`; wrong types or values are `invalid_device`.
/// `tsi_custom: false` resets the TSI to the derived default (so a GET result can be PUT back).
core::Result<void> mergeDevice(core::Device& d, const Json& body);

/// Parses a request body as a JSON object; an empty body is `{}` when `emptyOk`.
core::Result<Json> parseObject(std::string_view body, bool emptyOk);

}  // namespace vfax::api
