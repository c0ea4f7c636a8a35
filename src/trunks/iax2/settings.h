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

/// "ADDR:PORT" ("[::1]:4569" for IPv6) with a numeric or resolvable address and a port 0-65535
/// (0: any free port) into `host` and `port`. Empty when fine, else what is wrong ("must be
/// ADDR:PORT", ...), to follow the key's name.
std::string parseBind(const std::string& bind, std::string& host, int& port);

/// Empty when fine, else a sentence: the outbound route names no peer or registration of
/// `config`, so the engine would refuse every outbound call (the matching is Engine's).
std::string validateOutboundRoute(const EngineConfig& config);

}  // namespace vfax::trunks::iax2
