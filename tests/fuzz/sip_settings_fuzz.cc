// libFuzzer target over the SIP trunk's settings in text form (what PUT /api/v1/trunks/sip and
// the config file's [sip] hand to trunks/sip/sip_settings.h): the input is split at newlines into
// KEY=VALUE fields ('\x01' stands for a line break inside a value, as lists carry one item a
// line), read as general settings, a peer and a registration, then checked as a whole. Any input
// gives an answer, never a crash; what passes the checks formats and parses back to the same.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <tuple>

#include "trunks/sip/sip_settings.h"

using namespace vfax::trunks::sip;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  SipFields fields;
  std::size_t pos = 0;
  while (pos < in.size()) {
    const auto nl = std::min(in.find('\n', pos), in.size());
    std::string line(in.substr(pos, nl - pos));
    pos = nl + 1;
    for (auto& c : line) {
      if (c == '\x01') c = '\n';
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    fields[line.substr(0, eq)] = line.substr(eq + 1);
  }
  SipGeneralUpdate general;
  (void)parseGeneral(fields, general);
  SipConfig config;
  if (general.listen) config.listen = *general.listen;
  if (general.codecs) config.codecs = *general.codecs;
  if (general.rtpPorts) std::tie(config.rtpPortMin, config.rtpPortMax) = *general.rtpPorts;
  SipPeerConfig peer;
  if (parsePeer(fields, peer).empty() && validatePeer(peer).empty()) {
    SipPeerConfig back;
    if (!parsePeer(formatPeer(peer), back).empty() || formatPeer(back) != formatPeer(peer)) {
      std::abort();
    }
    config.peers.push_back(peer);
  }
  SipRegistrationConfig reg;
  if (parseRegistration(fields, reg).empty() && validateRegistration(reg).empty()) {
    config.registrations.push_back(reg);
  }
  if (validateConfig(config).empty()) {
    SipGeneralUpdate again;
    if (!parseGeneral(formatGeneral(config), again).empty()) std::abort();
  }
  return 0;
}
