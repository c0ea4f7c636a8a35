#pragma once
// Runs a helper program (vfax-convert) with posix_spawn and a wall-clock limit. posix_spawn, not
// fork: the daemon is multi-threaded, and a forked copy of it could deadlock on a lock some other
// thread held at the moment of the fork.
#include <chrono>
#include <string>
#include <vector>

namespace vfax::documents {

struct ChildResult {
  bool started = false;   // false: the program could not be run at all
  bool timedOut = false;  // killed by us after the deadline
  bool stopped = false;   // killed by killAllChildren() or killChildren()
  bool exited = false;
  int exitCode = -1;
  int signal = 0;   // the signal that ended it, when !exited
  std::string out;  // stdout (bounded)
  std::string err;  // stderr (bounded)
};

/// Runs argv[0] with argv, stdin from /dev/null, stdout and stderr captured (each kept to
/// `maxCapture` bytes), and kills it with SIGKILL once `timeout` has passed.
/// `tag` names the work the child does for killChildren() ("" for none).
ChildResult runChild(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                     std::size_t maxCapture = 64 * 1024, const std::string& tag = {});

/// Kills (SIGKILL) the process groups of the children running now with this `tag`.
void killChildren(const std::string& tag);

/// Kills (SIGKILL) the process group of every child runChild() is running now, and of every one
/// it starts from now on (the daemon stops: nothing it started may outlive it). Their
/// ChildResult says `stopped`.
void killAllChildren();

}  // namespace vfax::documents
