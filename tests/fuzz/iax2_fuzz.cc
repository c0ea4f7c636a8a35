// libFuzzer target for the IAX2 frame parser and the protocol engine behind it. The input is a
// sequence of datagrams (each: one byte of source selector, two bytes of length, the bytes),
// fed to an engine with a peer and a registration (both sending trunk frames), with time moving on
// between datagrams. Nothing may crash, leak, or trip a sanitizer.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "trunks/iax2/engine.h"
#include "trunks/iax2/frame.h"

namespace {

using namespace vfax::trunks::iax2;

struct Sink : Transport, EngineListener {
  void sendTo(const Address&, const std::uint8_t*, std::size_t) override {}
  void onInboundCall(std::uint16_t call, const InboundCallInfo&) override { last = call; }
  void onAnswered(std::uint16_t) override {}
  void onEnded(std::uint16_t, EndKind, int, const std::string&) override {}
  std::uint16_t last = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);  // refusals are logged as warnings: not here
    return true;
  }();
  (void)quiet;
  // The stateless parsers on the whole input.
  if (auto f = parseFull(data, size)) {
    (void)IeList::decode(f->payload.data(), f->payload.size());
    (void)serializeFull(*f);
  }
  (void)parseMini(data, size);
  {
    static std::vector<TrunkEntry> entries;
    if (auto h = parseTrunk(data, size, entries)) {
      // What was parsed builds again, within the MTU.
      TrunkWriter w;
      w.begin(h->timestamp, h->timestamps);
      for (const auto& e : entries) (void)w.add(e.srcCall, e.timestamp, e.data, e.len);
    }
  }

  static const Address kAddrs[2] = {*Address::numeric("127.0.0.1", 4570),
                                    *Address::numeric("127.0.0.2", 4569)};
  EngineConfig cfg;
  // Trunk frames out to both (and, as always, in from anyone).
  // calltoken optional: the fuzzer cannot forge CALLTOKENs, and a peer taken without one keeps
  // the session code reachable (the stateless front door runs on every datagram anyway).
  cfg.peers.push_back(PeerConfig{"modem", "secret", "", 4569, "", true, true, false});
  cfg.registrations.push_back(
      RegistrationConfig{"127.0.0.2", 4569, "vfax", "secret", 60, true, false});
  Sink sink;
  Engine engine(cfg, sink, sink);
  std::int64_t now = 1'000'000;
  engine.poll(now);
  std::size_t i = 0;
  while (i + 3 <= size) {
    const Address& from = kAddrs[data[i] & 1];
    bool act = data[i] & 2;
    std::size_t len = static_cast<std::size_t>(data[i + 1] << 8 | data[i + 2]);
    i += 3;
    if (len > size - i) len = size - i;
    engine.onDatagram(data + i, len, from, now);
    i += len;
    now += 20;
    engine.poll(now);
    if (act && sink.last) {
      engine.answer(sink.last, now);
      std::uint8_t voice[160] = {};
      engine.sendVoice(sink.last, voice, sizeof(voice), now);
      engine.flushTrunks();
      (void)engine.popVoice(sink.last);
    }
  }
  engine.shutdown(now);
  return 0;
}
