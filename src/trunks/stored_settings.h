#pragma once
// A trunk's settings stored through the API (Store::meta, one JSON object): read and checked in
// one place for every trunk kind's admin (iax2_admin, sip_admin).
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "core/result.h"
#include "core/store.h"

namespace vfax::trunks {

/// The stored object under `key`, nothing when none was stored, or `storage_error` naming
/// `what` ("SIP", "IAX2") when it is not a JSON object.
inline core::Result<std::optional<nlohmann::json>> loadStoredSettings(core::Store& store,
                                                                      const std::string& key,
                                                                      const std::string& what) {
  auto text = store.meta(key);
  if (!text) return text.error();
  if (!*text) return std::optional<nlohmann::json>{};
  auto j = nlohmann::json::parse(**text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return core::makeError("storage_error", "The stored " + what + " settings are damaged.");
  }
  return std::optional<nlohmann::json>{std::move(j)};
}

}  // namespace vfax::trunks
