// libFuzzer target over the API's JSON request bodies (src/api/json.cc): any bytes as a body are
// read as a JSON object or refused with invalid_json; an object is read as PUT /settings changes
// (applied to the default settings, all or nothing) and as a device for POST and PUT /devices.
// Nothing may crash or throw, and what was accepted must show as JSON and read back: a GET result
// can be PUT back unchanged. The first byte holds flags (bit 0: an empty body is `{}`).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/json.h"
#include "core/pin.h"
#include "core/settings.h"

namespace {

using vfax::api::Json;

void settings(const Json& body) {
  auto changes = vfax::api::settingsChanges(body);
  if (!changes) {
    const auto& code = changes.error().code;
    if (code != "invalid_setting" && code != "invalid_json") std::abort();
    return;
  }
  vfax::core::Settings s;
  const auto before = vfax::core::toMap(s);
  if (auto r = vfax::core::applyChanges(s, *changes); !r) {
    if (vfax::core::toMap(s) != before) std::abort();  // all or nothing
    return;
  }
  // GET /settings shows it; sent back with PUT, it changes nothing.
  const Json shown = vfax::api::toJson(s);
  (void)shown.dump();
  auto back = vfax::api::settingsChanges(shown);
  if (!back) std::abort();
  vfax::core::Settings again = s;
  if (!vfax::core::applyChanges(again, *back)) std::abort();
  if (vfax::core::toMap(again) != vfax::core::toMap(s)) std::abort();
}

void device(vfax::core::Device d, Json body) {
  // A valid PIN is hashed with argon2id (tens of milliseconds): check it, then leave it out so
  // that the fuzzer keeps its pace on the parsing.
  if (body.is_object() && body.contains("pin") && body["pin"].is_string() &&
      vfax::core::validatePin(body["pin"].get_ref<const std::string&>())) {
    body.erase("pin");
  }
  if (auto r = vfax::api::mergeDevice(d, body); !r) {
    const auto& code = r.error().code;
    if (code != "invalid_device" && code != "unknown_field" && code != "invalid_json" &&
        code != "invalid_pin") {
      std::abort();
    }
    (void)Json{{"error", r.error().message}}.dump();
    return;
  }
  const Json shown = vfax::api::toJson(d, d.tsi.empty() ? std::string("+49 89 1234567") : d.tsi);
  (void)shown.dump();
  if (d.id != 0) {
    vfax::core::Device again = d;
    if (!vfax::api::mergeDevice(again, shown)) std::abort();
    if (again.name != d.name || again.tsi != d.tsi || again.members != d.members ||
        again.owner != d.owner || again.kind != d.kind) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool emptyOk = (data[0] & 1) != 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto j = vfax::api::parseObject(body, emptyOk);
  if (!j) {
    if (j.error().code != "invalid_json" || j.error().message.empty()) std::abort();
    return 0;
  }
  if (!j->is_object()) std::abort();
  settings(*j);
  device(vfax::core::Device{}, *j);  // POST /devices
  vfax::core::Device stored;         // PUT /devices/7
  stored.id = 7;
  stored.name = "Sales";
  stored.extension = "20";
  stored.owner = 3;
  device(stored, *j);
  return 0;
}
