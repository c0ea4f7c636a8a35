#pragma once
// Iax2Trunk: the IAX2 engine (engine.h) as a trunks::Trunk. One UDP socket, read on every 20 ms
// tick of the telephony loop; received voice leaves each call's jitter buffer one frame per
// tick, and the frame the fax side sends each tick goes out at once on the call's exact 20 ms
// timestamp grid. Everything runs on the loop thread; only reconfigure() and status() may be
// called from other threads (they post to the loop).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "reactor/event_loop.h"
#include "trunks/iax2/engine.h"
#include "trunks/iax2/settings.h"
#include "trunks/trunk.h"

namespace vfax::trunks::iax2 {

struct Iax2TrunkOptions {
  /// "127.0.0.1" by default: listening on every interface is the admin's explicit choice.
  std::string bindAddress = "127.0.0.1";
  int port = 4569;  // 0: any free port (tests)
  EngineConfig engine;
};

/// Thread-safe snapshot for the API and metrics.
struct Iax2Status {
  bool running = false;
  std::string bound;  // "127.0.0.1:4569"
  std::vector<RegistrationStatus> registrations;
  EngineStats stats;
  int calls = 0;
};

class Iax2Call;

class Iax2Trunk final : public Trunk,
                        public TickListener,
                        private EngineListener,
                        private Transport {
 public:
  Iax2Trunk(EventLoop& loop, Iax2TrunkOptions options);
  ~Iax2Trunk() override;

  std::string name() const override { return "iax2"; }
  core::Result<void> start(TrunkEvents& events) override;
  void stop() override;
  core::Result<std::shared_ptr<Call>> dial(const DialRequest& request,
                                           CallHandler& handler) override;

  void onTick() override;
  bool busy() const override;

  /// Any thread: applies new peers/registrations/route without a restart.
  void reconfigure(EngineConfig config);
  /// Any thread: listens on another address/port from now on (calls in progress are cut).
  void rebind(std::string address, int port);
  /// Any thread (waits for the loop).
  Iax2Status status();
  /// The UDP port actually bound (after start()).
  int boundPort() const { return boundPort_; }

  // For Iax2Call (loop thread).
  Engine& engine() { return *engine_; }
  EventLoop& loop() { return loop_; }
  std::int64_t nowMs() const;

 private:
  // EngineListener
  void onInboundCall(std::uint16_t call, const InboundCallInfo& info) override;
  void onAnswered(std::uint16_t call) override;
  void onEnded(std::uint16_t call, EndKind kind, int causeCode, const std::string& text) override;
  // Transport
  void sendTo(const Address& to, const std::uint8_t* data, std::size_t len) override;

  core::Result<void> openSocket();
  void drainSocket();
  void deliverMedia();

  EventLoop& loop_;
  Iax2TrunkOptions options_;
  std::unique_ptr<Engine> engine_;
  TrunkEvents* events_ = nullptr;
  int fd_ = -1;
  int boundPort_ = 0;
  bool registered_ = false;
  std::map<std::uint16_t, std::shared_ptr<Iax2Call>> calls_;
};

/// Q.850 cause and engine end kind to the core's hangup reasons (busy, no answer, ...).
HangupCause hangupCauseFor(EndKind kind, int causeCode, const std::string& text, bool answered);

}  // namespace vfax::trunks::iax2
