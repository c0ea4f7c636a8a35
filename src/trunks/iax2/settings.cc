#include "trunks/iax2/settings.h"

#include <sstream>

#include "trunks/settings_text.h"

namespace vfax::trunks::iax2 {
std::optional<std::vector<std::uint32_t>> parseCodecList(const std::string& text) {
  std::vector<std::uint32_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    std::uint32_t f = 0;
    if (item == "ulaw")
      f = kFormatUlaw;
    else if (item == "alaw")
      f = kFormatAlaw;
    else if (item == "slinear")
      f = kFormatSlinear;
    else
      return std::nullopt;
    bool dup = false;
    for (auto x : out) dup = dup || x == f;
    if (!dup) out.push_back(f);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string codecName(std::uint32_t f) {
  switch (f) {
    case kFormatUlaw:
      return "ulaw";
    case kFormatAlaw:
      return "alaw";
    case kFormatSlinear:
      return "slinear";
    default:
      return "?";
  }
}

std::string codecListToString(const std::vector<std::uint32_t>& codecs) {
  std::string out;
  for (auto f : codecs) {
    if (!out.empty()) out += ",";
    out += codecName(f);
  }
  return out;
}

std::string validatePeer(const PeerConfig& p) {
  if (!validName(p.name)) return "name must be 1-64 letters, digits, '-', '_' or '.'";
  // Every peer authenticates: a peer without a secret would let anyone place calls.
  if (p.secret.empty() || p.secret.size() > 128) return "secret is required (1-128 characters)";
  if (p.port <= 0 || p.port > 65535) return "port must be 1 to 65535";
  if (!p.host.empty() && !reactor::validHost(p.host)) {
    return "host '" + p.host + "' is not an address or host name";
  }
  if (p.username.size() > 64) return "username is too long";
  return {};
}

std::string validateNewPeer(const PeerConfig& p) {
  if (auto err = validatePeer(p); !err.empty()) return err;
  if (weakSecret(p)) {
    return "secret must be at least " + std::to_string(kMinPeerSecret) + " characters";
  }
  return {};
}

bool weakSecret(const PeerConfig& p) { return p.secret.size() < kMinPeerSecret; }

std::optional<bool> parseCallToken(const std::string& text) {
  if (text == "required") return true;
  if (text == "optional") return false;
  return std::nullopt;
}

std::string validateRegistration(const RegistrationConfig& r) {
  if (r.server.empty()) return "server is required";
  if (!reactor::validHost(r.server))
    return "server '" + r.server + "' is not an address or host name";
  if (!validName(r.username)) return "username must be 1-64 letters, digits, '-', '_' or '.'";
  if (r.secret.size() > 128) return "secret is too long";
  if (r.port <= 0 || r.port > 65535) return "port must be 1 to 65535";
  if (r.refreshSeconds < 10 || r.refreshSeconds > 3600) return "refresh_seconds must be 10 to 3600";
  return {};
}

std::string parseBind(const std::string& bind, std::string& host, int& port) {
  const auto colon = bind.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= bind.size()) {
    return "must be ADDR:PORT";
  }
  std::string h = bind.substr(0, colon);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string digits = bind.substr(colon + 1);
  if (digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos) {
    return "must be ADDR:PORT";
  }
  const int p = std::stoi(digits);
  if (p > 65535 || !Address::numeric(h, p)) {
    return "'" + bind + "' is not an address and port";
  }
  host = h;
  port = p;
  return {};
}

std::string validateOutboundRoute(const EngineConfig& config) {
  const std::string& route = config.outboundRoute;
  if (route.empty()) return {};
  // The same names Engine accepts when it places a call.
  for (const auto& p : config.peers) {
    if (p.name == route) return {};
  }
  for (const auto& r : config.registrations) {
    if (route == r.username || route == "reg:" + r.username + "@" + r.server ||
        route == r.username + "@" + r.server) {
      return {};
    }
  }
  return "'" + route + "' names no peer or registration";
}

}  // namespace vfax::trunks::iax2
