#pragma once
// Iax2Trunk: the IAX2 engine (engine.h) as a trunks::Trunk on the reactor. One UDP socket
// (reactor::UdpSocket: recvmmsg on readiness, sendmmsg at the end of each loop iteration, after
// the engine's trunk frames of the iteration were flushed into it); the
// engine's timers on a 50 ms housekeeping timer; each answered call's media on its own 20 ms
// wall-clock timer (all on one grid, so their frames share system calls): the received frame
// leaves the call's jitter buffer, then the fax side sends the next one at once on the call's
// exact 20 ms timestamp grid. Host names of peers and registrars resolve off the loop
// (reactor::Resolver). A port that cannot be bound is retried with back-off and reported as
// the trunk's state. Everything runs on the loop thread; only reconfigure(), rebind() and
// status() may be called from other threads (they post to the loop).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "reactor/event_loop.h"
#include "reactor/resolver.h"
#include "reactor/udp_socket.h"
#include "trunks/iax2/engine.h"
#include "trunks/iax2/settings.h"
#include "trunks/trunk.h"

namespace vfax::trunks::iax2 {

struct Iax2TrunkOptions {
  /// "127.0.0.1" by default: listening on every interface is the admin's explicit choice.
  std::string bindAddress = "127.0.0.1";
  int port = 4569;  // 0: any free port (tests)
  EngineConfig engine;
  reactor::ResolverOptions resolver;
  int bindRetryMaxMs = 30'000;
};

/// Thread-safe snapshot for the API and metrics.
struct Iax2Status {
  bool running = false;
  std::string bound;  // "127.0.0.1:4569"
  std::string error;  // why it is not running (bind failure)
  std::vector<RegistrationStatus> registrations;
  EngineStats stats;
  reactor::UdpStats udp;
  int calls = 0;
};

class Iax2Call;

class Iax2Trunk final : public Trunk,
                        private EngineListener,
                        private Transport,
                        private HostLookup {
 public:
  Iax2Trunk(reactor::EventLoop& loop, Iax2TrunkOptions options);
  ~Iax2Trunk() override;

  std::string name() const override { return "iax2"; }
  core::Result<void> start(TrunkEvents& events) override;
  void stop(std::function<void()> done) override;
  core::Result<std::shared_ptr<Call>> dial(const DialRequest& request,
                                           CallHandler& handler) override;

  /// Any thread: applies new peers/registrations/route without a restart.
  void reconfigure(EngineConfig config);
  /// Any thread: listens on another address/port from now on (calls in progress are cut).
  void rebind(std::string address, int port);
  /// Any thread (waits for the loop, bounded).
  Iax2Status status();
  /// The UDP port actually bound (after start()).
  int boundPort() const { return boundPort_; }

  // For Iax2Call (loop thread).
  Engine& engine() { return *engine_; }
  reactor::EventLoop& loop() { return loop_; }
  std::int64_t nowMs() const { return loop_.nowMs(); }
  void startMedia(Iax2Call& call);
  void mediaStopped();

 private:
  // EngineListener
  void onInboundCall(std::uint16_t call, const InboundCallInfo& info) override;
  void onAnswered(std::uint16_t call) override;
  void onEnded(std::uint16_t call, EndKind kind, int causeCode, const std::string& text) override;
  // Transport
  void sendTo(const Address& to, const std::uint8_t* data, std::size_t len) override;
  // HostLookup
  std::optional<Address> lookup(const std::string& host, int port) override;
  std::string lookupError(const std::string& host) override;

  core::Result<std::unique_ptr<reactor::UdpSocket>> openSocket(const std::string& address,
                                                               int port);
  void tryBind();
  void setState(bool up, const std::string& reason);
  void housekeeping();
  void prefetchHosts();
  void finishStop();
  void updateReadMode();

  reactor::EventLoop& loop_;
  Iax2TrunkOptions options_;
  std::unique_ptr<reactor::Resolver> resolver_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<reactor::UdpSocket> socket_;
  TrunkEvents* events_ = nullptr;
  int boundPort_ = 0;
  std::string bound_;
  int bindFamily_ = AF_UNSPEC;  // of the socket: names resolve to an address it can reach
  bool up_ = false;
  std::string reason_;
  bool stopping_ = false;
  int bindRetryMs_ = 1000;
  reactor::TimerId housekeepingTimer_ = 0;
  reactor::TimerId bindTimer_ = 0;
  reactor::TimerId stopTimer_ = 0;
  reactor::TimerId drainTimer_ = 0;  // while calls run: the socket is read once per media tick
  int mediaCalls_ = 0;
  std::int64_t stopDeadlineMs_ = 0;
  std::function<void()> stopDone_;
  std::map<std::uint16_t, std::shared_ptr<Iax2Call>> calls_;
};

/// Q.850 cause and engine end kind to the core's hangup reasons (busy, no answer, ...).
HangupCause hangupCauseFor(EndKind kind, int causeCode, const std::string& text, bool answered);

}  // namespace vfax::trunks::iax2
