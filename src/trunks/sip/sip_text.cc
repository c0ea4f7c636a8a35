#include "trunks/sip/sip_text.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>

namespace vfax::trunks::sip {

std::string plStr(const pl& p) { return p.p ? std::string(p.p, p.l) : std::string(); }

std::int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
std::int64_t monoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

sip_transp toLibre(SipTransport t) {
  switch (t) {
    case SipTransport::Tcp:
      return SIP_TRANSP_TCP;
    case SipTransport::Tls:
      return SIP_TRANSP_TLS;
    case SipTransport::Udp:
      break;
  }
  return SIP_TRANSP_UDP;
}

std::string transportParam(SipTransport t) {
  return t == SipTransport::Udp ? std::string() : ";transport=" + transportName(t);
}

std::string errText(int err) {
  char buf[128];
  return str_error(err, buf, sizeof buf);
}

void splitHostPort(const std::string& text, std::string& host, int& port, int defPort) {
  host = text;
  port = defPort;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close != std::string::npos) {
      host = text.substr(1, close - 1);
      if (close + 2 < text.size() && text[close + 1] == ':') {
        port = boundedInt(text.c_str() + close + 2, 65535);
      }
    }
    return;
  }
  auto colon = text.find(':');
  if (colon != std::string::npos && text.find(':', colon + 1) == std::string::npos) {
    host = text.substr(0, colon);
    port = boundedInt(text.c_str() + colon + 1, 65535);
  }
}

std::string hostForUri(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::optional<reactor::SockAddr> toSockAddr(const sa* a) {
  if (!a || !sa_isset(a, SA_ADDR)) return std::nullopt;
  reactor::SockAddr out;
  std::memcpy(&out.ss, &a->u, std::min(sizeof(out.ss), sizeof(a->u)));
  out.len = a->len;
  return out;
}

std::string saHost(const sa* a) {
  char buf[64] = {};
  if (sa_ntop(a, buf, sizeof buf) != 0) return {};
  return buf;
}

HangupCause causeForStatus(int scode, const std::string& reason) {
  HangupCause c;
  c.text = std::to_string(scode) + " " + reason;
  switch (scode) {
    case 486:
    case 600:
      c.reason = HangupReason::Busy;
      c.code = 17;
      break;
    case 480:
    case 408:
    case 487:
      c.reason = HangupReason::NoAnswer;
      c.code = scode == 487 ? 16 : 19;
      break;
    case 404:
    case 484:
    case 604:
      c.reason = HangupReason::Rejected;
      c.code = scode == 484 ? 28 : 1;
      break;
    case 403:
    case 603:
    case 401:
    case 407:
      c.reason = HangupReason::Rejected;
      c.code = 21;
      break;
    case 500:
    case 502:
    case 503:
    case 504:
      // The far side's server trouble: no call was placed, try again later.
      c.reason = HangupReason::Unavailable;
      c.code = scode == 503 ? 34 : 38;
      break;
    default:
      c.reason = scode >= 400 ? HangupReason::Failure : HangupReason::Normal;
      c.code = scode >= 400 ? 31 : 16;
      break;
  }
  return c;
}

std::string uriUser(const std::string& in) {
  std::string out;
  for (char ch : in) {
    if (std::isalnum(static_cast<unsigned char>(ch)) || std::strchr("+*#-_.!~", ch) != nullptr) {
      out += ch;
    }
    if (out.size() >= 64) break;
  }
  return out;
}

std::string displayName(const std::string& in) {
  std::string out;
  for (char ch : in) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f || ch == '"' || ch == '\\') continue;
    out += ch;
    if (out.size() >= 48) break;
  }
  return out;
}

int boundedInt(const char* text, int max) {
  long long v = 0;
  while (*text == ' ') ++text;
  for (; *text >= '0' && *text <= '9'; ++text) {
    v = v * 10 + (*text - '0');
    if (v > max) return max;
  }
  return static_cast<int>(v);
}

std::optional<SessionExpires> parseSessionExpires(const sip_msg* msg) {
  const sip_hdr* h = sip_msg_hdr(msg, SIP_HDR_SESSION_EXPIRES);
  if (!h) h = sip_msg_xhdr(msg, "x");  // compact form "x"
  if (!h) return std::nullopt;
  std::string v = plStr(h->val);
  SessionExpires se;
  se.seconds = boundedInt(v.c_str(), 86'400);
  auto pos = v.find("refresher=");
  if (pos != std::string::npos) {
    se.refresher = v.substr(pos + 10, 3);
    std::transform(se.refresher.begin(), se.refresher.end(), se.refresher.begin(), ::tolower);
  }
  if (se.seconds <= 0) return std::nullopt;
  return se;
}

}  // namespace vfax::trunks::sip
