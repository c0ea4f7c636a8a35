// Signalling's session descriptions: our audio (G.711) and image (T.38 over UDPTL) media, the
// T.38 attributes, and what the far end's SDP says.
#include <spdlog/spdlog.h>

#include "core/log_safe.h"
#include "trunks/sip/sip_signalling_impl.h"

namespace vfax::trunks::sip {

/// A session description with our audio (codecs of the settings) and image (T.38) media.
bool Signalling::Impl::makeSdp(Call& c, const sa* laddr) {
  sa addr = *laddr;
  if (!config.mediaAddress.empty()) (void)sa_set_str(&addr, config.mediaAddress.c_str(), 0);
  if (sdp_session_alloc(&c.sdp, &addr) != 0) return false;
  if (sdp_media_add(&c.audio, c.sdp, sdp_media_audio, 0, sdp_proto_rtpavp) != 0) return false;
  for (const auto& codec : config.codecs) {
    if (codec == "PCMA") {
      (void)sdp_format_add(nullptr, c.audio, false, "8", "PCMA", 8000, 1, nullptr, nullptr, nullptr,
                           false, nullptr);
    } else if (codec == "PCMU") {
      (void)sdp_format_add(nullptr, c.audio, false, "0", "PCMU", 8000, 1, nullptr, nullptr, nullptr,
                           false, nullptr);
    }
  }
  sdp_media_set_lattr(c.audio, true, "ptime", "20");
  if (sdp_media_add(&c.image, c.sdp, "image", 0, "udptl") != 0) return false;
  (void)sdp_format_add(nullptr, c.image, false, "t38", nullptr, 0, 0, nullptr, nullptr, nullptr,
                       false, nullptr);
  sdp_media_set_disabled(c.image, true);
  return true;
}

void Signalling::Impl::setLocalPorts(Call& c) {
  sdp_media_set_lport(c.audio, static_cast<std::uint16_t>(c.local.rtpPort));
  sdp_media_set_lport(c.image, static_cast<std::uint16_t>(c.local.udptlPort));
}

void Signalling::Impl::setT38Attributes(Call& c, const T38Params& p) {
  for (const char* name :
       {"T38FaxVersion", "T38MaxBitRate", "T38FaxRateManagement", "T38FaxMaxBuffer",
        "T38FaxMaxDatagram", "T38FaxUdpEC", "T38FaxFillBitRemoval", "T38FaxTranscodingMMR",
        "T38FaxTranscodingJBIG"}) {
    sdp_media_del_lattr(c.image, name);
  }
  for (const auto& [name, value] : formatT38Attributes(p)) {
    if (value.empty()) {
      (void)sdp_media_set_lattr(c.image, true, name.c_str(), nullptr);
    } else {
      (void)sdp_media_set_lattr(c.image, true, name.c_str(), "%s", value.c_str());
    }
  }
}

std::vector<std::pair<std::string, std::string>> Signalling::Impl::remoteAttributes(
    const sdp_media* m) {
  std::vector<std::pair<std::string, std::string>> out;
  (void)sdp_media_rattr_apply(
      m, nullptr,
      [](const char* name, const char* value, void* arg) -> bool {
        static_cast<std::vector<std::pair<std::string, std::string>>*>(arg)->emplace_back(
            name ? name : "", value ? value : "");
        return false;
      },
      &out);
  return out;
}

Signalling::Impl::Remote Signalling::Impl::readRemote(Call& c) {
  Remote r;
  if (const sdp_format* f = sdp_media_rformat(c.audio, nullptr)) {
    if (auto a = toSockAddr(sdp_media_raddr(c.audio)); a && sdp_media_rport(c.audio) != 0) {
      r.audio = true;
      r.media.audio = *a;
      r.media.payloadType = f->pt;
      r.codec = f->pt == kPtPcmu ? "PCMU" : "PCMA";
    }
  }
  if (sdp_media_rport(c.image) != 0) {
    if (auto a = toSockAddr(sdp_media_raddr(c.image))) {
      auto params = parseT38Attributes(remoteAttributes(c.image));
      if (params) {
        r.image = true;
        r.media.image = *a;
        r.t38 = *params;
      } else {
        spdlog::warn("sip: call {}: T.38 offer ignored: {}", core::logSafe(c.callId),
                     core::logSafe(params.error().message, 400));
      }
    }
  }
  return r;
}

std::unique_ptr<mbuf, void (*)(mbuf*)> Signalling::Impl::encode(Call& c, bool offer) {
  mbuf* mb = nullptr;
  if (sdp_encode(&mb, c.sdp, offer) != 0) mb = nullptr;
  return {mb, [](mbuf* m) { mem_deref(m); }};
}

}  // namespace vfax::trunks::sip
