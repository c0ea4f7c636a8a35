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

/// A peer's secret is what stands between the Internet and our fax lines (MD5 challenges can be
/// brute-forced offline from one captured exchange): new ones need at least this many characters.
inline constexpr std::size_t kMinPeerSecret = 12;

/// Empty when fine, else a sentence naming the problem. Accepts the short secrets stored before
/// kMinPeerSecret (see weakSecret); validateNewPeer is the check for new settings.
std::string validatePeer(const PeerConfig& p);
/// validatePeer, and a secret of at least kMinPeerSecret characters (config file, API, CLI).
std::string validateNewPeer(const PeerConfig& p);
/// True when the peer's secret is shorter than kMinPeerSecret (it loads, with a warning).
bool weakSecret(const PeerConfig& p);

/// `calltoken`: "required" -> true, "optional" -> false, anything else nullopt.
std::optional<bool> parseCallToken(const std::string& text);
inline const char* callTokenName(bool required) { return required ? "required" : "optional"; }
std::string validateRegistration(const RegistrationConfig& r);

/// "ADDR:PORT" ("[::1]:4569" for IPv6) with a numeric or resolvable address and a port 0-65535
/// (0: any free port) into `host` and `port`. Empty when fine, else what is wrong ("must be
/// ADDR:PORT", ...), to follow the key's name.
std::string parseBind(const std::string& bind, std::string& host, int& port);

/// Empty when fine, else a sentence: the outbound route names no peer or registration of
/// `config`, so the engine would refuse every outbound call (the matching is Engine's).
std::string validateOutboundRoute(const EngineConfig& config);

}  // namespace vfax::trunks::iax2
