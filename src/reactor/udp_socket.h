#pragma once
// A non-blocking UDP socket on the reactor with batched I/O: readiness drains the socket with
// recvmmsg (up to 32 datagrams per system call), and send() queues datagrams that go out with
// one sendmmsg at the end of the loop iteration (or when the batch is full). Media timers of
// many calls fire in the same iteration, so their frames share system calls. sendNow() is for
// sockets that carry one datagram at a time (a call's own RTP/UDPTL port): no batch at all.
// No allocation per datagram. Memory: the receive batch is borrowed per read from a pool of the
// loop thread, and the send batch is allocated on the first send(), so a socket that only uses
// sendNow() costs a few hundred bytes, not two 48 KB batches (hundreds of calls, two sockets each).
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/result.h"
#include "reactor/event_loop.h"
#include "reactor/sock_addr.h"

namespace vfax::reactor {

struct UdpStats {
  std::uint64_t received = 0;
  std::uint64_t sent = 0;
  std::uint64_t recvCalls = 0;  // recvmmsg system calls
  std::uint64_t sendCalls = 0;  // sendmmsg system calls
  std::uint64_t sendErrors = 0;
};

class UdpSocket final : private EventLoop::Flushable {
 public:
  static constexpr std::size_t kMaxDatagram = 1500;
  static constexpr std::size_t kBatch = 32;
  static constexpr std::size_t kFirstRead = 4;
  struct Batch;  // kBatch datagrams with their addresses and headers (about 48 KB)
  using Receive =
      std::function<void(const std::uint8_t* data, std::size_t len, const SockAddr& from)>;

  explicit UdpSocket(EventLoop& loop);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  /// Loop thread: opens, binds (port 0: any free port) and starts delivering datagrams.
  /// Returns the address actually bound. `bufferBytes`: the kernel's receive and send buffers
  /// (a trunk's shared socket needs room for a burst of hundreds of calls; a call's own socket
  /// far less, and a small one bounds what a flood can park in the kernel).
  static constexpr int kSharedBuffer = 8 << 20;
  core::Result<SockAddr> open(const SockAddr& bindTo, Receive onReceive,
                              int bufferBytes = kSharedBuffer);
  void close();
  bool isOpen() const { return fd_ >= 0; }
  /// Queues one datagram (dropped, like the network would, when larger than kMaxDatagram).
  void send(const SockAddr& to, const std::uint8_t* data, std::size_t len);
  /// Sends one datagram at once (one system call), without queueing.
  void sendNow(const SockAddr& to, const std::uint8_t* data, std::size_t len);
  /// Sends what is queued now.
  void flush();
  /// Stops (false) or resumes (true) reading on readiness; while stopped the owner reads with
  /// drain(), e.g. once per media tick, so a busy socket wakes the loop once a tick instead of
  /// once per datagram.
  void setWatching(bool on);
  bool watching() const { return watching_; }
  /// Reads everything queued now.
  void drain() { onReadable(); }
  /// For a socket that is not watched: puts it in the loop's read hints (EventLoop::
  /// addReadHint), so that drainIfReadable() reads only when something arrived since. A call's
  /// UDPTL socket gets a datagram in one tick of three or so: the other ticks cost nothing.
  void useReadHint();
  /// drain(), when the read hint says something arrived (always, without a hint).
  void drainIfReadable();
  /// The receive buffer the kernel granted, in bytes.
  int receiveBuffer() const { return receiveBuffer_; }
  const UdpStats& stats() const { return stats_; }

 private:
  void flushAtEnd() override;  // the loop's flush list: flushAsked_ is true until here
  void onReadable();
  /// False once the socket is empty (EAGAIN); true when it stopped at its bound with more left.
  bool readBatches(Batch& rx);

  EventLoop& loop_;
  int fd_ = -1;
  Receive onReceive_;
  std::unique_ptr<Batch> tx_;  // allocated on the first send()
  std::size_t txCount_ = 0;
  bool flushAsked_ = false;
  bool watching_ = false;
  bool hinted_ = false;   // in the loop's read hints
  bool readable_ = true;  // set by the loop's hint poll; true until the first drain
  int receiveBuffer_ = 0;
  UdpStats stats_;
};

}  // namespace vfax::reactor
