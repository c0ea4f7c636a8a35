#pragma once
// Checks and text forms of IAX2 trunk settings, shared by the config file, the API and the CLI.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trunks/iax2/engine.h"

namespace vfax::trunks::iax2 {

/// "alaw,ulaw,slinear" (most preferred first) to format bits; nullopt on an unknown name.
std::optional<std::vector<std::uint32_t>> parseCodecList(const std::string& text);
std::string codecListToString(const std::vector<std::uint32_t>& codecs);
std::string codecName(std::uint32_t format);

/// Empty when fine, else a sentence naming the problem.
std::string validatePeer(const PeerConfig& p);
std::string validateRegistration(const RegistrationConfig& r);

/// A secret for display: its first character, then stars ("p*******"); "" stays "".
std::string maskSecret(const std::string& secret);

}  // namespace vfax::trunks::iax2
