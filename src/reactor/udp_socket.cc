#include "reactor/udp_socket.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace vfax::reactor {

struct UdpSocket::Batch {
  std::array<std::array<std::uint8_t, kMaxDatagram + 1>, kBatch> data{};
  std::array<SockAddr, kBatch> addr{};
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> msgs{};
};

namespace {

// Receive batches of this thread, lent for one read. A receive handler may read another socket
// (or this one, through drain()) before the first read is done: each nested read takes its own.
class RxPool {
 public:
  std::unique_ptr<UdpSocket::Batch> take() {
    if (free_.empty()) return std::make_unique<UdpSocket::Batch>();
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void give(std::unique_ptr<UdpSocket::Batch> b) {
    if (free_.size() < 4) free_.push_back(std::move(b));
  }

 private:
  std::vector<std::unique_ptr<UdpSocket::Batch>> free_;
};

thread_local RxPool rxPool;

}  // namespace

UdpSocket::UdpSocket(EventLoop& loop) : loop_(loop) {}

UdpSocket::~UdpSocket() { close(); }

core::Result<SockAddr> UdpSocket::open(const SockAddr& bindTo, Receive onReceive, int bufferBytes) {
  close();
  int fd = ::socket(bindTo.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return core::makeError("socket_failed", std::string("socket: ") + std::strerror(errno));
  // Room for a burst: a late iteration must not overflow the kernel's default buffer (about 270
  // small datagrams) and lose voice frames of hundreds of calls.
  int size = bufferBytes;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&bindTo.ss), bindTo.len) != 0) {
    int err = errno;
    ::close(fd);
    return core::makeError("bind_failed",
                           "cannot listen on " + bindTo.toString() + ": " + std::strerror(err));
  }
  SockAddr bound;
  bound.len = sizeof(bound.ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound.ss), &bound.len);
  if (auto r = loop_.watch(fd, EPOLLIN, [this](std::uint32_t) { onReadable(); }); !r) {
    ::close(fd);
    return r.error();
  }
  fd_ = fd;
  watching_ = true;
  socklen_t optLen = sizeof(receiveBuffer_);
  ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer_, &optLen);
  onReceive_ = std::move(onReceive);
  return bound;
}

void UdpSocket::setWatching(bool on) {
  if (fd_ < 0 || on == watching_) return;
  watching_ = on;
  if (on) {
    if (auto r = loop_.watch(fd_, EPOLLIN, [this](std::uint32_t) { onReadable(); }); !r) {
      watching_ = false;
    }
  } else {
    loop_.unwatch(fd_);
  }
}

void UdpSocket::close() {
  if (fd_ < 0) return;
  flush();
  if (flushAsked_) loop_.cancelFlush(this);
  flushAsked_ = false;
  loop_.unwatch(fd_);
  watching_ = false;
  if (hinted_) loop_.removeReadHint(fd_);
  hinted_ = false;
  ::close(fd_);
  fd_ = -1;
  txCount_ = 0;
}

void UdpSocket::send(const SockAddr& to, const std::uint8_t* data, std::size_t len) {
  if (fd_ < 0 || len > kMaxDatagram) return;
  if (!tx_) tx_ = std::make_unique<Batch>();
  if (txCount_ == kBatch) flush();
  if (!flushAsked_) {
    flushAsked_ = true;
    loop_.flushAtIterationEnd(this);
  }
  std::memcpy(tx_->data[txCount_].data(), data, len);
  tx_->addr[txCount_] = to;
  tx_->iov[txCount_] = iovec{tx_->data[txCount_].data(), len};
  ++txCount_;
}

void UdpSocket::sendNow(const SockAddr& to, const std::uint8_t* data, std::size_t len) {
  if (fd_ < 0 || len > kMaxDatagram) return;
  ++stats_.sendCalls;
  if (::sendto(fd_, data, len, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to.ss), to.len) <
      0) {
    ++stats_.sendErrors;  // lost, as on the network
    return;
  }
  ++stats_.sent;
}

void UdpSocket::flushAtEnd() {
  flushAsked_ = false;
  flush();
}

void UdpSocket::flush() {
  std::size_t done = 0;
  while (fd_ >= 0 && done < txCount_) {
    const std::size_t n = txCount_ - done;
    for (std::size_t i = 0; i < n; ++i) {
      mmsghdr& m = tx_->msgs[i];
      m = mmsghdr{};
      m.msg_hdr.msg_name = &tx_->addr[done + i].ss;
      m.msg_hdr.msg_namelen = tx_->addr[done + i].len;
      m.msg_hdr.msg_iov = &tx_->iov[done + i];
      m.msg_hdr.msg_iovlen = 1;
    }
    ++stats_.sendCalls;
    int sent = ::sendmmsg(fd_, tx_->msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
    if (sent <= 0) {
      // A full buffer or an ICMP error for one peer: that datagram is lost, as on the network.
      ++stats_.sendErrors;
      ++done;
      continue;
    }
    stats_.sent += static_cast<std::uint64_t>(sent);
    done += static_cast<std::size_t>(sent);
  }
  txCount_ = 0;
}

void UdpSocket::onReadable() {
  if (fd_ < 0) return;
  auto rx = rxPool.take();
  readBatches(*rx);
  rxPool.give(std::move(rx));
}

void UdpSocket::useReadHint() {
  if (fd_ < 0 || hinted_) return;
  hinted_ = static_cast<bool>(loop_.addReadHint(fd_, &readable_));
  readable_ = true;  // whatever came before the hint was set up is read at the next drain
}

void UdpSocket::drainIfReadable() {
  if (fd_ < 0) return;
  if (hinted_ && !readable_) return;
  readable_ = false;
  auto rx = rxPool.take();
  // Edge-triggered: a socket left non-empty (stopped at its bound) is read again next time.
  if (readBatches(*rx)) readable_ = true;
  rxPool.give(std::move(rx));
}

bool UdpSocket::readBatches(Batch& rx) {
  // Bounded per readiness event so one busy socket cannot starve timers; level-triggered epoll
  // calls again for the rest.
  // A call's socket, drained every 20 ms, holds one or two datagrams: the first read asks for
  // a few (fewer headers to set up), later reads for a whole batch.
  std::size_t want = kFirstRead;
  for (int round = 0; round < 64 && fd_ >= 0; ++round, want = kBatch) {
    for (std::size_t i = 0; i < want; ++i) {
      rx.iov[i] = iovec{rx.data[i].data(), rx.data[i].size()};
      mmsghdr& m = rx.msgs[i];
      m = mmsghdr{};
      m.msg_hdr.msg_name = &rx.addr[i].ss;
      m.msg_hdr.msg_namelen = sizeof(rx.addr[i].ss);
      m.msg_hdr.msg_iov = &rx.iov[i];
      m.msg_hdr.msg_iovlen = 1;
    }
    ++stats_.recvCalls;
    int n = ::recvmmsg(fd_, rx.msgs.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    // EAGAIN: drained. Another error (a pending ICMP refusal, ENOMEM) leaves what is queued:
    // "maybe more", so that a hinted socket is read again at its next tick.
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return true;
    if (n <= 0) return false;
    stats_.received += static_cast<std::uint64_t>(n);
    for (int i = 0; i < n && fd_ >= 0; ++i) {
      const mmsghdr& m = rx.msgs[i];
      if (m.msg_len > kMaxDatagram || (m.msg_hdr.msg_flags & MSG_TRUNC)) continue;
      rx.addr[i].len = m.msg_hdr.msg_namelen;
      onReceive_(rx.data[i].data(), m.msg_len, rx.addr[i]);
    }
    if (static_cast<std::size_t>(n) < want) return false;
  }
  return fd_ >= 0;
}

}  // namespace vfax::reactor
