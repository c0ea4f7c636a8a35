#include "documents/convert/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace vfax::documents {
namespace {

bool sanitizerBuild() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

bool writeFile(const char* path, const std::string& text) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// A network namespace of our own (its loopback is down: nothing to reach), and with `pidns` a PID
// namespace for our children. Root does it directly; anyone else inside a new user namespace
// that maps only their own uid and gid.
void isolateNamespaces(const SandboxPolicy& policy, SandboxState* state) {
  if (std::getenv("VFAX_CONVERT_NO_NAMESPACES") != nullptr) return;  // tests of the fallback
  const bool program = !policy.workDir.empty();
  const int flags = CLONE_NEWNET | (program && policy.pidNamespace ? CLONE_NEWPID : 0) |
                    (program ? CLONE_NEWNS : 0);
  bool done = ::geteuid() == 0 && ::unshare(flags) == 0;
  if (!done) {
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | flags) != 0) return;
    // Only what was ours before: no way to become anyone else.
    if (!writeFile("/proc/self/setgroups", "deny") ||
        !writeFile("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1") ||
        !writeFile("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1")) {
      return;
    }
    state->userns = true;
  }
  state->netns = true;
  state->pidns = (flags & CLONE_NEWPID) != 0;
  // A private /tmp: the work folder's tmp/. LibreOffice makes its IPC socket in /tmp whatever
  // TMPDIR says; so it lands in the work folder and goes with it.
  // (Not when the work folder itself is in /tmp: it would be hidden.)
  if (program && policy.workDir.rfind("/tmp/", 0) != 0) {
    const std::string tmp = policy.workDir + "/tmp";
    state->privateTmp = ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
                        (::mkdir(tmp.c_str(), 0700) == 0 || errno == EEXIST) &&
                        ::mount(tmp.c_str(), "/tmp", nullptr, MS_BIND, nullptr) == 0;
  }
}

// Without namespaces: socket() may create AF_UNIX sockets only (LibreOffice talks to itself over
// them); io_uring, which could open sockets beside socket(), is refused.
bool denyNetworkSockets() {
#if defined(__x86_64__)
  constexpr std::uint32_t kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
  constexpr std::uint32_t kArch = AUDIT_ARCH_AARCH64;
#else
  return false;
#endif
#if defined(__x86_64__) || defined(__aarch64__)
  constexpr std::uint32_t kDeny = SECCOMP_RET_ERRNO | (EAFNOSUPPORT & SECCOMP_RET_DATA);
  sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
#if defined(__x86_64__)
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),  // the x32 ABI
    BPF_STMT(BPF_RET | BPF_K, kDeny),
#endif
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, kDeny),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, kDeny),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0;
#endif
}

struct RulesetAttr {  // landlock_ruleset_attr of ABI 6 (the installed header may be older)
  std::uint64_t handledAccessFs;
  std::uint64_t handledAccessNet;
  std::uint64_t scoped;
};

constexpr std::uint64_t kReadOnly =
    LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
constexpr std::uint64_t kFileRights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                      LANDLOCK_ACCESS_FS_READ_FILE | (1ULL << 14);  // TRUNCATE

bool addRule(int ruleset, const std::string& path, std::uint64_t access, std::uint64_t handled) {
  const int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT;  // not on this system: nothing to allow
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0;
  if (ok) {
    if (!S_ISDIR(st.st_mode)) access &= kFileRights;
    landlock_path_beneath_attr rule{};
    rule.allowed_access = access & handled;
    rule.parent_fd = fd;
    ok = ::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) == 0;
  }
  ::close(fd);
  return ok;
}

// Every filesystem right the running kernel knows; granted back: with a work folder, the system
// folders read-only and the work folder in full, else nothing (sanitizer builds: reading /proc,
// which LeakSanitizer needs at exit). TCP denied and the domain scoped where the kernel can.
bool landlock(const SandboxPolicy& policy, bool privateTmp) {
  if (std::getenv("VFAX_CONVERT_NO_LANDLOCK") != nullptr) return false;  // tests of the fallback
  const long abi =
      ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 1) return false;
  RulesetAttr attr{};
  attr.handledAccessFs = (1ULL << 13) - 1;           // ABI 1: EXECUTE .. MAKE_SYM
  if (abi >= 2) attr.handledAccessFs |= 1ULL << 13;  // REFER
  if (abi >= 3) attr.handledAccessFs |= 1ULL << 14;  // TRUNCATE
  std::size_t size = sizeof attr.handledAccessFs;
  if (abi >= 4) {
    attr.handledAccessNet = 1 | 2;  // BIND_TCP, CONNECT_TCP: no rule grants them
    size += sizeof attr.handledAccessNet;
  }
  if (abi >= 6) {
    attr.scoped = 1 | 2;  // abstract Unix sockets and signals stay inside the domain
    size += sizeof attr.scoped;
  }
  const long fd = ::syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (fd < 0) return false;
  const int ruleset = static_cast<int>(fd);
  const std::uint64_t handled = attr.handledAccessFs;
  bool ok = true;
  if (sanitizerBuild()) {
    ok = addRule(ruleset, "/proc", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR,
                 handled);
  }
  if (!policy.workDir.empty()) {
    for (const std::string& dir : systemReadOnlyDirs()) {
      ok = ok && addRule(ruleset, dir, kReadOnly, handled);
    }
    ok = ok && addRule(ruleset, "/dev/null",
                       LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE, handled);
    ok = ok && addRule(ruleset, "/dev/urandom", LANDLOCK_ACCESS_FS_READ_FILE, handled);
    ok = ok && addRule(ruleset, "/dev/random", LANDLOCK_ACCESS_FS_READ_FILE, handled);
    ok = ok && addRule(ruleset, policy.workDir, handled, handled);
    // /tmp: the work folder's own when the mount namespace worked (the rule on its inode, which
    // a path through the bind mount meets); else sockets may be made in the real one (left
    // behind: no right to remove them), LibreOffice cannot start without.
    ok = ok &&
         addRule(ruleset, "/tmp", privateTmp ? handled : LANDLOCK_ACCESS_FS_MAKE_SOCK, handled);
  }
  ok = ok && ::syscall(SYS_landlock_restrict_self, ruleset, 0) == 0;
  ::close(ruleset);
  return ok;
}

// The work folder (made by the daemon, as root) goes to the sandbox user, contents included.
bool giveWorkDir(const std::string& dir, uid_t uid, gid_t gid) {
  std::error_code ec;
  if (::lchown(dir.c_str(), uid, gid) != 0) return false;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (::lchown(it->path().c_str(), uid, gid) != 0) return false;
  }
  return !ec;
}

std::string dropUser(const SandboxPolicy& policy, SandboxState* state) {
  if (::geteuid() != 0 || state->userns || policy.user.empty()) return {};
  passwd pw{};
  passwd* found = nullptr;
  char buf[4096];
  if (::getpwnam_r(policy.user.c_str(), &pw, buf, sizeof buf, &found) != 0 || found == nullptr) {
    return "the sandbox user " + policy.user + " does not exist ([documents] sandbox_user)";
  }
  if (pw.pw_uid == 0 || pw.pw_gid == 0) {
    return "the sandbox user " + policy.user + " must not be root ([documents] sandbox_user)";
  }
  if (!policy.workDir.empty() && !giveWorkDir(policy.workDir, pw.pw_uid, pw.pw_gid)) {
    return "cannot give the work folder to the sandbox user " + policy.user;
  }
  if (::setgroups(0, nullptr) != 0 || ::setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) != 0 ||
      ::setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) != 0) {
    return "cannot change to the sandbox user " + policy.user + ": " + std::strerror(errno);
  }
  if (::setuid(0) == 0) return "the uid change to " + policy.user + " can be undone";
  state->uidChanged = true;
  // LeakSanitizer's exit check attaches to this process with ptrace, which a uid change forbids.
  if (sanitizerBuild()) ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  return {};
}

}  // namespace

std::string SandboxState::describe() const {
  if (unsandboxed) return "unsandboxed (allowed by config)";
  std::string out = landlocked ? "landlock" : "no-landlock";
  if (userns) out += "+userns";
  if (netns) out += "+netns";
  if (seccompNet) out += "+seccomp";
  if (uidChanged) out += "+uid";
  return out;
}

std::vector<std::string> systemReadOnlyDirs() {
  // Not /etc as a whole (passwd, the daemon's own configuration), not /var, /home, /root, /tmp.
  static const char* const kDirs[] = {
      "/usr",
      "/lib",
      "/lib64",
      "/lib32",
      "/bin",
      "/sbin",
      "/opt/libreoffice",
      "/etc/fonts",
      "/etc/ld.so.cache",
      "/etc/ld.so.conf",
      "/etc/ld.so.conf.d",
      "/etc/libreoffice",
      "/etc/ghostscript",
      "/etc/papersize",
      "/etc/localtime",
      "/etc/locale.alias",
      "/etc/alternatives",
      "/var/cache/fontconfig",
      "/var/lib/libreoffice",    // share/basis links
      "/var/spool/libreoffice",  // share/uno_packages/cache links here (bundled extensions)
      "/var/lib/ghostscript",
  };
  std::vector<std::string> out;
  for (const char* d : kDirs) {
    if (::access(d, F_OK) == 0) out.emplace_back(d);
  }
  return out;
}

std::string enterSandbox(const SandboxPolicy& policy, SandboxState* state) {
  *state = SandboxState{};
  state->workDir = policy.workDir;
  // 1. The working directory: the work folder, or a fresh empty one that is removed at once
  //    (under Landlock it could not be removed later).
  char dir[] = "/tmp/vfax-convert-XXXXXX";
  if (!policy.workDir.empty()) {
    if (::chdir(policy.workDir.c_str()) != 0) return "cannot enter the work folder";
  } else {
    // Searchable by all: MuPDF's HTML engine looks at "." even when it may open nothing, and
    // after the uid change it is another user's folder.
    if (::mkdtemp(dir) == nullptr || ::chmod(dir, 0711) != 0 || ::chdir(dir) != 0) {
      return "cannot make an empty folder";
    }
    ::rmdir(dir);
  }
  // 2. No network. Needs root (or a user namespace): before the uid change.
  isolateNamespaces(policy, state);
  // 3. Another user.
  if (std::string why = dropUser(policy, state); !why.empty()) return why;
  // 4. Die with the parent: after the uid change, which clears the setting.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (policy.parentPid > 0 && ::getppid() != policy.parentPid) return "the parent has gone";
  // 5. No way back to privileges, then Landlock (which needs no_new_privs) and seccomp.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return "cannot set no_new_privs";
  state->landlocked = landlock(policy, state->privateTmp);
  if (!state->netns) {
    state->seccompNet = denyNetworkSockets();
    if (!state->seccompNet && !policy.allowUnsandboxed) {
      return "no network namespace and no seccomp filter could be set up";
    }
  }
  if (!state->landlocked) {
    if (!policy.allowUnsandboxed) {
      return "the kernel has no Landlock (Linux 5.13+ with lsm=landlock); set [documents] "
             "allow_unsandboxed = true to convert documents without it";
    }
    state->unsandboxed = true;
    // An empty working directory that exists at least keeps plain relative names from finding
    // anything (names with ".." still climb out of it).
    if (policy.workDir.empty()) {
      if (::mkdir(dir, 0700) != 0 || ::chdir(dir) != 0) return "cannot make an empty folder";
      state->emptyDir = dir;
    }
  }
  return {};
}

void leaveSandbox(const SandboxState& state) {
  if (!state.emptyDir.empty()) ::rmdir(state.emptyDir.c_str());
}

std::vector<std::string> sandboxEnvironment(const std::string& workDir) {
  return {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + workDir,
          "TMPDIR=" + workDir + "/tmp", "SAL_USE_VCLPLUGIN=svp"};
}

int runSandboxed(char** argv, const SandboxState& state) {
  std::vector<std::string> envText = sandboxEnvironment(state.workDir);
  std::vector<char*> env;
  for (std::string& e : envText) env.push_back(e.data());
  env.push_back(nullptr);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return -1;
  const pid_t self = ::getpid();
  // The init: PID 1 of the new namespace (when there is one). When it ends, the kernel kills
  // whatever the program left behind (LibreOffice's soffice.bin under oosplash) and when we end,
  // it ends (PDEATHSIG).
  const pid_t init = ::fork();
  if (init < 0) return -1;
  if (init == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (!state.pidns && ::getppid() != self) ::_exit(127);
    ::close(report[0]);
    const pid_t initPid = ::getpid();
    const pid_t worker = ::fork();
    if (worker == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      if (::getppid() != initPid) ::_exit(127);
      ::execvpe(argv[0], argv, env.data());
      ::_exit(127);
    }
    int status = -1;
    if (worker > 0) {
      for (;;) {
        int st = 0;
        const pid_t done = ::wait(&st);
        if (done == worker) {
          status = st;
          break;
        }
        if (done < 0 && errno != EINTR) break;
      }
    }
    [[maybe_unused]] const ssize_t n = ::write(report[1], &status, sizeof status);
    ::_exit(0);
  }
  ::close(report[1]);
  int status = -1;
  if (::read(report[0], &status, sizeof status) != sizeof status) status = -1;
  ::close(report[0]);
  int initStatus = 0;
  while (::waitpid(init, &initStatus, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace vfax::documents
