// libFuzzer target for the SDP T.38 attributes. The input is an SDP body, decoded as an offer by
// libre's sdp module against a session with one `m=image 0 udptl t38` medium (as the SIP trunk
// does); the medium's a=T38... attributes go to parseT38Attributes. What parses must format and
// parse back to the same parameters, and the offer/answer rules must hold for it.
// libre's headers expect the fixed-width types and varargs to be declared before them, and
// HAVE_STDBOOL_H (set by CMake for this target): without it re_types.h defines bool, true and
// false as macros, which breaks every C++ header included after it.
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
// (separate block: clang-format must keep this order)
#include <re/re.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "trunks/sip/t38_params.h"

namespace {

using namespace vfax::trunks::sip;
using Attrs = std::vector<std::pair<std::string, std::string>>;

void check(bool ok) {
  if (!ok) std::abort();
}

bool collect(const char* name, const char* value, void* arg) {
  if (name == nullptr) return false;
  const std::string n(name);
  if (n.size() >= 3 && (n[0] == 'T' || n[0] == 't') && n[1] == '3' && n[2] == '8') {
    static_cast<Attrs*>(arg)->emplace_back(n, value ? value : "");
  }
  return false;  // keep going
}

void exercise(const Attrs& attrs) {
  auto p = parseT38Attributes(attrs);
  if (!p.ok()) {
    check(p.error().code == "bad_t38_attribute" && !p.error().message.empty());
    return;
  }
  auto back = parseT38Attributes(formatT38Attributes(*p));
  check(back.ok() && *back == *p);
  for (UdptlEc ec : {UdptlEc::None, UdptlEc::Redundancy, UdptlEc::Fec}) {
    SipT38Config ours;
    ours.ec = ec;
    const T38Params a = answerT38(*p, ours);
    check(a.version <= p->version && a.version <= kT38MaxVersion);
    check(a.maxBitRate <= p->maxBitRate && a.rateManagement == p->rateManagement);
    const T38Params e = effectiveT38(offerT38(ours), *p);
    check(*e.maxDatagram >= kT38MinFarDatagram && *e.maxDatagram <= kT38MaxFarDatagram);
    const UdptlOptions o = udptlOptionsFor(e, ours);
    check(udptlMaxIfp(o.maxDatagram) > 0);
    check(udptlIfpBudget(o) > 0 && udptlIfpBudget(o) <= udptlMaxIfp(o.maxDatagram));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool init = [] {
    check(libre_init() == 0);
    return true;
  }();
  (void)init;

  sa laddr;
  sa_set_str(&laddr, "127.0.0.1", 5060);
  sdp_session* sess = nullptr;
  if (sdp_session_alloc(&sess, &laddr) != 0) return 0;
  sdp_media* media = nullptr;
  mbuf* mb = nullptr;
  if (sdp_media_add(&media, sess, "image", 4000, "udptl") == 0 &&
      sdp_format_add(nullptr, media, false, "t38", nullptr, 0, 0, nullptr, nullptr, nullptr, false,
                     nullptr) == 0 &&
      (mb = mbuf_alloc(size + 1)) != nullptr && mbuf_write_mem(mb, data, size) == 0) {
    mb->pos = 0;
    if (sdp_decode(sess, mb, true) == 0) {
      Attrs attrs;
      (void)sdp_media_rattr_apply(media, nullptr, &collect, &attrs);
      exercise(attrs);
      // The single-attribute look-up the trunk may use as well.
      if (const char* v = sdp_media_rattr(media, "T38FaxVersion")) (void)std::string(v);
    }
  }
  mem_deref(mb);
  mem_deref(sess);
  // The same bytes as name:value lines straight into the parser (no SDP framing needed).
  Attrs direct;
  std::string line;
  for (std::size_t i = 0; i <= size; ++i) {
    if (i == size || data[i] == '\n') {
      const auto colon = line.find(':');
      direct.emplace_back(line.substr(0, colon),
                          colon == std::string::npos ? "" : line.substr(colon + 1));
      line.clear();
    } else {
      line += static_cast<char>(data[i]);
    }
  }
  exercise(direct);
  return 0;
}
