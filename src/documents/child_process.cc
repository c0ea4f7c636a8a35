#include "documents/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <set>

extern char** environ;

namespace vfax::documents {
namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  bool open() { return ::pipe2(fd, O_CLOEXEC) == 0; }
  void closeEnd(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
  ~Pipe() {
    closeEnd(0);
    closeEnd(1);
  }
};

// Reads what is available; false at end of file.
bool drain(int fd, std::string* into, std::size_t max) {
  char buf[4096];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n > 0) {
    const std::size_t room = max - std::min(max, into->size());
    into->append(buf, std::min(room, static_cast<std::size_t>(n)));
    return true;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

// Reads once; false when nothing more is there now.
bool drainOnce(int fd, std::string* into, std::size_t max) {
  const std::size_t before = into->size();
  char buf[4096];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n <= 0) return false;
  into->append(buf, std::min(max - std::min(max, before), static_cast<std::size_t>(n)));
  return true;
}

// The children running now, by pid (each leads its own process group), with their tags; those
// killed by killChildren().
std::mutex gChildrenMutex;
std::map<pid_t, std::string> gChildren;
std::set<pid_t> gKilled;
bool gStopping = false;

}  // namespace

void killAllChildren() {
  std::lock_guard lock(gChildrenMutex);
  gStopping = true;
  for (const auto& [pid, tag] : gChildren) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
}

void killChildren(const std::string& tag) {
  if (tag.empty()) return;
  std::lock_guard lock(gChildrenMutex);
  for (const auto& [pid, childTag] : gChildren) {
    if (childTag != tag) continue;
    gKilled.insert(pid);
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
}

ChildResult runChild(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                     std::size_t maxCapture, const std::string& tag) {
  ChildResult r;
  Pipe out, err;
  if (argv.empty() || !out.open() || !err.open()) return r;
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err.fd[1], 2);
  // Descriptors other threads opened without O_CLOEXEC (sockets, the database) stay ours.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // A fresh process group, so a timeout kills the converter and anything it started.
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  out.closeEnd(1);
  err.closeEnd(1);
  if (rc != 0) return r;
  r.started = true;
  {
    std::lock_guard lock(gChildrenMutex);
    if (gStopping) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
    gChildren.emplace(pid, tag);
  }
  ::fcntl(out.fd[0], F_SETFL, O_NONBLOCK);
  ::fcntl(err.fd[0], F_SETFL, O_NONBLOCK);

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool outOpen = true, errOpen = true;
  int status = 0;
  bool reaped = false;
  while (!reaped) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      r.timedOut = true;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      reaped = true;
      break;
    }
    if (outOpen || errOpen) {
      pollfd fds[2] = {{outOpen ? out.fd[0] : -1, POLLIN, 0},
                       {errOpen ? err.fd[0] : -1, POLLIN, 0}};
      // Short slices: a child can close its pipes and keep running.
      const int ms = static_cast<int>(std::min<long long>(left.count(), 50));
      if (::poll(fds, 2, ms) > 0) {
        if (outOpen && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
          outOpen = drain(out.fd[0], &r.out, maxCapture);
        }
        if (errOpen && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
          errOpen = drain(err.fd[0], &r.err, maxCapture);
        }
      }
    } else {
      ::usleep(2000);
    }
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      // Collect what is still buffered (non-blocking: a stray holder of the pipe can't stall us).
      for (int i = 0; i < 64 && outOpen && drainOnce(out.fd[0], &r.out, maxCapture); ++i) {
      }
      for (int i = 0; i < 64 && errOpen && drainOnce(err.fd[0], &r.err, maxCapture); ++i) {
      }
      reaped = true;
    }
  }
  {
    std::lock_guard lock(gChildrenMutex);
    gChildren.erase(pid);
    const bool killed = gKilled.erase(pid) > 0;
    r.stopped = (gStopping || killed) && !r.timedOut;
  }
  if (WIFEXITED(status)) {
    r.exited = true;
    r.exitCode = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  return r;
}

}  // namespace vfax::documents
