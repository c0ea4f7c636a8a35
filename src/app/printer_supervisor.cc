#include "app/printer_supervisor.h"
#include "core/log_safe.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace vfax::app {

void logPrinterLine(const std::string& raw) {
  std::string line = raw;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.empty()) return;
  if (line.size() > 2000) line = line.substr(0, 2000) + "...";  // one log line stays readable
  // PAPPL: "X [2026-12-02T06:31:03.491Z] text"; the time is vfaxd's log's own.
  char level = 0;
  if (line.size() > 4 && line[1] == ' ' && line[2] == '[') {
    const auto close = line.find("] ");
    if (close != std::string::npos) {
      level = line[0];
      line = line.substr(close + 2);
    }
  }
  switch (level) {
    case 'D':
      spdlog::debug("printer: {}", core::logSafe(line, 1000));
      break;
    case 'I':
      spdlog::info("printer: {}", core::logSafe(line, 1000));
      break;
    case 'W':
      spdlog::warn("printer: {}", core::logSafe(line, 1000));
      break;
    case 'E':
    case 'F':
      spdlog::error("printer: {}", core::logSafe(line, 1000));
      break;
    default:
      // Our own lines before PAPPL's log runs ("vfax-printer: cannot listen ..."), sanitizer
      // reports: worth seeing.
      spdlog::warn("printer: {}", core::logSafe(line, 1000));
  }
}

namespace {

std::string describeExit(int status) {
  return WIFEXITED(status)
             ? "vfax-printer exited with status " + std::to_string(WEXITSTATUS(status))
             : "vfax-printer was killed by signal " + std::to_string(WTERMSIG(status));
}

}  // namespace

PrinterSupervisor::PrinterSupervisor(PrinterChildOptions options) : options_(std::move(options)) {}

PrinterSupervisor::~PrinterSupervisor() { stop(); }

bool PrinterSupervisor::spawn() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    why_ = std::string("cannot create a pipe: ") + std::strerror(errno);
    return false;
  }
  // Everything the child needs is built before fork: vfaxd has threads, so the child may only
  // make async-signal-safe calls until exec.
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, "VFAX_PRINTER_SECRET=", 20) != 0) env.emplace_back(*e);
  }
  env.push_back("VFAX_PRINTER_SECRET=" + options_.secret);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = options_.args;
  args.insert(args.begin(), options_.program);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) {
    why_ = std::string("cannot fork: ") + std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return false;
  }
  if (pid == 0) {
    // vfaxd gone (even by SIGKILL): the printer goes too, it cannot hand over jobs anyway.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    // Signals vfaxd blocks in its threads must not stay blocked in the printer.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 1);
    }
    dup2(fds[1], 2);
    execve(argv[0], argv.data(), envp.data());
    const char msg[] = "vfax-printer: cannot execute the program\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(127);
  }
  close(fds[1]);
  pid_ = pid;
  stderrFd_ = fds[0];
  ++starts_;
  why_.clear();
  startedAt_ = std::chrono::steady_clock::now();
  spdlog::info("printer: started vfax-printer (pid {})", pid);
  return true;
}

bool PrinterSupervisor::start() {
  if (::access(options_.program.c_str(), X_OK) != 0) {
    why_ = options_.program + " is missing or not executable";
    return false;
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
    watcherDone_ = false;
    why_ = "starting";
  }
  // Children are forked by the watching thread only: PR_SET_PDEATHSIG fires when the thread
  // that forked ends, and this one lives exactly as long as the supervision.
  thread_ = std::thread([this] { watch(); });
  return true;
}

bool PrinterSupervisor::readLines(int fd, std::string& partial) {
  char buf[4096];
  const ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;  // end of file: every writer is gone
  partial.append(buf, static_cast<std::size_t>(n));
  std::size_t start = 0;
  for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n', start)) {
    logPrinterLine(partial.substr(start, nl - start));
    start = nl + 1;
  }
  partial.erase(0, start);
  if (partial.size() > 8192) {  // a line without end: log what there is
    logPrinterLine(partial);
    partial.clear();
  }
  return true;
}

void PrinterSupervisor::watch() {
  struct Done {
    PrinterSupervisor* self;
    ~Done() {
      std::lock_guard lock(self->mu_);
      self->watcherDone_ = true;
    }
  } done{this};
  auto backoff = options_.firstBackoff;
  std::string partial;
  for (;;) {
    int fd, pid;
    {
      std::unique_lock lock(mu_);
      while (!spawn()) {
        spdlog::error("printer: cannot start vfax-printer: {}; trying again in {} ms", why_,
                      backoff.count());
        if (cv_.wait_for(lock, backoff, [this] { return stopping_; })) return;
        backoff = std::min(backoff * 2, options_.maxBackoff);
      }
      if (stopping_) kill(pid_, SIGTERM);  // stop() came while it was being started
      fd = stderrFd_;
      pid = pid_;
    }
    // Log lines until the pipe closes (the child and anything it started are gone).
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      const int r = poll(&p, 1, 200);
      if (r > 0 && (p.revents & POLLIN)) {
        if (readLines(fd, partial)) continue;
        break;
      }
      if (r > 0 && (p.revents & (POLLHUP | POLLERR))) break;
      // The child may be gone while a grandchild holds the pipe: check the child itself too.
      int status = 0;
      std::lock_guard lock(mu_);
      if (pid_ == pid && waitpid(pid, &status, WNOHANG) == pid) {
        pid_ = -1;
        why_ = describeExit(status);
        break;
      }
    }
    if (!partial.empty()) logPrinterLine(partial);
    partial.clear();
    std::unique_lock lock(mu_);
    close(stderrFd_);
    stderrFd_ = -1;
    if (pid_ == pid) {
      int status = 0;
      waitpid(pid, &status, 0);  // the pipe closed: it has exited or is about to
      pid_ = -1;
      why_ = describeExit(status);
    }
    if (stopping_) return;
    if (std::chrono::steady_clock::now() - startedAt_ >= options_.stableAfter) {
      backoff = options_.firstBackoff;
    }
    spdlog::error("printer: {}; restarting it in {} ms", why_, backoff.count());
    if (cv_.wait_for(lock, backoff, [this] { return stopping_; })) return;
    backoff = std::min(backoff * 2, options_.maxBackoff);
  }
}

void PrinterSupervisor::stop(std::chrono::milliseconds killAfter) {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_all();
  }
  // Signals go only to a pid the watcher has not reaped yet (never to a reused one); a child
  // forked while the stop began gets its SIGTERM from the watcher itself.
  const auto deadline = std::chrono::steady_clock::now() + killAfter;
  bool termSent = false, killSent = false;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (watcherDone_) break;
      if (pid_ > 0 && !termSent) {
        kill(pid_, SIGTERM);
        termSent = true;
      }
      if (pid_ > 0 && !killSent && std::chrono::steady_clock::now() >= deadline) {
        spdlog::warn("printer: vfax-printer did not stop within {} ms; killing it",
                     killAfter.count());
        kill(pid_, SIGKILL);
        killSent = true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  thread_.join();
}

bool PrinterSupervisor::running() const {
  std::lock_guard lock(mu_);
  return pid_ > 0;
}

std::string PrinterSupervisor::why() const {
  std::lock_guard lock(mu_);
  return why_;
}

int PrinterSupervisor::starts() const {
  std::lock_guard lock(mu_);
  return starts_;
}

}  // namespace vfax::app
