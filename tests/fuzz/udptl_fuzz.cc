// libFuzzer target for UDPTL (T.38 Annex D). The whole input is parsed as one datagram; then it is
// read as a stream of records (a selector byte, a length byte, that many bytes) that
//  - go as raw datagrams into a receiver (hostile input: anything may be refused, nothing may
//    crash, read out of bounds, or come out of order), and
//  - go as IFPs through a sender (its error correction and datagram limit chosen by the input's
//    first bytes) into a second receiver over a lossy, duplicating, reordering link, which must
//    accept every datagram the sender made and hand on the IFPs in order and unchanged (FEC
//    repairs: the sent IFP is a prefix of the repaired one).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "trunks/sip/udptl.h"

namespace {

using vfax::trunks::sip::parseUdptl;
using vfax::trunks::sip::UdptlEc;
using vfax::trunks::sip::udptlIfpBudget;
using vfax::trunks::sip::udptlMaxIfp;
using vfax::trunks::sip::UdptlOptions;
using vfax::trunks::sip::UdptlReceiver;
using vfax::trunks::sip::UdptlSender;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Order {
  bool any = false;
  std::uint16_t last = 0;
};

void rawDeliver(void* ctx, const std::uint8_t* ifp, std::size_t len, std::uint16_t seq) {
  auto* o = static_cast<Order*>(ctx);
  check(ifp != nullptr && len > 0);
  // In order within one stream (a resync may start anywhere).
  (void)seq;
  o->any = true;
  o->last = seq;
}

struct Sent {
  std::vector<std::vector<std::uint8_t>> bySeq = std::vector<std::vector<std::uint8_t>>(65536);
  bool fec = false;
  Order order;
};

void linkDeliver(void* ctx, const std::uint8_t* ifp, std::size_t len, std::uint16_t seq) {
  auto* s = static_cast<Sent*>(ctx);
  if (s->order.any) {
    check(static_cast<std::int16_t>(static_cast<std::uint16_t>(seq - s->order.last)) > 0);
  }
  s->order.any = true;
  s->order.last = seq;
  const auto& want = s->bySeq[seq];
  check(!want.empty());
  if (s->fec) {
    check(len >= want.size() && std::memcmp(ifp, want.data(), want.size()) == 0);
  } else {
    check(len == want.size() && std::memcmp(ifp, want.data(), len) == 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)parseUdptl(data, size);
  if (size < 3) return 0;

  UdptlOptions o;
  o.ec = static_cast<UdptlEc>(data[0] % 3);
  o.redundancyDepth = (data[0] >> 2) % 8;
  o.fecSpan = 1 + (data[1] & 7);
  o.fecEntries = 1 + ((data[1] >> 3) & 7);
  o.maxDatagram = 16 + static_cast<std::size_t>(data[2]) * 4;
  UdptlSender tx(o);
  check(udptlIfpBudget(tx.options()) <= udptlMaxIfp(o.maxDatagram));
  tx.setNextSeq(static_cast<std::uint16_t>(data[1] << 8 | data[2]));

  static Sent sent;
  static std::vector<std::uint16_t> used;  // clear only what the last input set
  for (std::uint16_t u : used) sent.bySeq[u].clear();
  used.clear();
  sent.fec = o.ec == UdptlEc::Fec;
  sent.order = {};
  UdptlReceiver raw;
  UdptlReceiver link;
  Order rawOrder;
  std::vector<std::uint8_t> held;  // one datagram kept back to arrive late (reordering)
  std::uint8_t out[4096];

  std::size_t pos = 3;
  while (pos + 2 <= size) {
    const std::uint8_t sel = data[pos];
    std::size_t len = data[pos + 1];
    pos += 2;
    if (len > size - pos) len = size - pos;
    const std::uint8_t* rec = data + pos;
    pos += len;

    raw.receive(rec, len, &rawDeliver, &rawOrder);
    if (sel & 0x80) raw.flush(&rawDeliver, &rawOrder);

    const std::uint16_t seq = tx.nextSeq();
    const std::size_t n = tx.encode(rec, len, out, sizeof out);
    if (n == 0) continue;
    check(n <= o.maxDatagram);
    sent.bySeq[seq].assign(rec, rec + len);
    used.push_back(seq);
    switch (sel & 3) {
      case 0:  // delivered
        check(link.receive(out, n, &linkDeliver, &sent));
        break;
      case 1:  // lost
        break;
      case 2:  // duplicated
        check(link.receive(out, n, &linkDeliver, &sent));
        check(link.receive(out, n, &linkDeliver, &sent));
        break;
      case 3:  // held back, then arrives after the next one
        if (!held.empty()) check(link.receive(held.data(), held.size(), &linkDeliver, &sent));
        held.assign(out, out + n);
        continue;
    }
    if (!held.empty()) {
      check(link.receive(held.data(), held.size(), &linkDeliver, &sent));
      held.clear();
    }
    if (sel & 0x40) link.flush(&linkDeliver, &sent);
  }
  link.flush(&linkDeliver, &sent);
  check(link.stats().malformed == 0);
  return 0;
}
