// The converter sandbox (src/documents/convert/sandbox.cc) entered for real in a forked child:
// what it can still open, reach and become. The child reports back through a pipe.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "documents/convert/sandbox.h"
#include "documents/document_converter.h"

namespace vfax::documents {
namespace {

bool kernelHasLandlock() {
  return ::syscall(SYS_landlock_create_ruleset, nullptr, 0, 1u /* VERSION */) >= 1;
}

// Runs `body` in a forked child after enterSandbox(policy); returns what it reported, or
// "ERR: why" when the sandbox could not be entered. `env` is set in the child first.
std::string inSandbox(const SandboxPolicy& policy, const std::function<std::string()>& body,
                      const char* env = nullptr) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (env != nullptr) ::setenv(env, "1", 1);
    SandboxState state;
    const std::string why = enterSandbox(policy, &state);
    const std::string out = why.empty() ? state.describe() + "|" + body() : "ERR: " + why;
    [[maybe_unused]] const ssize_t n = ::write(fds[1], out.data(), out.size());
    ::_exit(0);  // no exit handlers (LeakSanitizer) in the sandbox
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return out;
}

bool canOpen(const std::string& path, int flags = O_RDONLY) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
  return fd >= 0;
}

// A listener of the test on 127.0.0.1; the sandbox must not reach it.
struct Listener {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int port = 0;
  Listener() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, 4) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
  }
  ~Listener() { ::close(fd); }
};

std::string tryConnect(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return "no-socket";
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok ? "connected" : "refused";
}

// A work folder as DocumentConverter makes them (outside /tmp) and a secret beside it.
struct Folders {
  std::string work, secret;
  Folders() {
    char w[] = "/var/tmp/vfax-sandbox-test-XXXXXX";
    work = ::mkdtemp(w);
    std::filesystem::create_directories(work + "/tmp");
    char s[] = "/var/tmp/vfax-sandbox-secret-XXXXXX";
    secret = std::string(::mkdtemp(s)) + "/secret.key";
    std::ofstream(secret) << "secret";
    ::chmod(secret.c_str(), 0644);
  }
  ~Folders() {
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
    std::filesystem::remove_all(std::filesystem::path(secret).parent_path(), ec);
  }
};

TEST(Sandbox, MupdfModeOpensNoPathAndReachesNoNetwork) {
  if (!kernelHasLandlock()) GTEST_SKIP() << "no Landlock in this kernel";
  Listener listener;
  ASSERT_GT(listener.port, 0);
  SandboxPolicy policy;
  const std::string out = inSandbox(policy, [&] {
    return std::string(canOpen("/etc/passwd") ? "passwd " : "") +
           (canOpen("/usr/lib/os-release") ? "usr " : "") +
           (canOpen("x", O_WRONLY | O_CREAT) ? "write " : "") +
           "nnp=" + std::to_string(::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) +
           " uid=" + std::to_string(::getuid()) + " " + tryConnect(listener.port);
  });
  const std::string mode = ::geteuid() == 0 ? "landlock+netns+uid" : "landlock+userns+netns";
  EXPECT_EQ(out, mode + "|nnp=1 uid=" + (::geteuid() == 0 ? "65534" : std::to_string(::getuid())) +
                     " refused");
}

TEST(Sandbox, ProgramModeReadsSystemFoldersAndWritesItsWorkFolderOnly) {
  if (!kernelHasLandlock()) GTEST_SKIP() << "no Landlock in this kernel";
  Folders f;
  SandboxPolicy policy;
  policy.workDir = f.work;
  const std::string out = inSandbox(policy, [&] {
    std::string r;
    r += canOpen("/usr/lib/os-release") ? "usr " : "";
    r += canOpen(f.work + "/out.pdf", O_WRONLY | O_CREAT) ? "work " : "";
    r += canOpen("/tmp/x", O_WRONLY | O_CREAT) ? "tmp " : "";  // the work folder's own tmp/
    r += canOpen(f.secret) ? "SECRET " : "";
    r += canOpen("/etc/passwd") ? "PASSWD " : "";
    r += canOpen("/var/tmp/elsewhere", O_WRONLY | O_CREAT) ? "VARTMP " : "";
    return r;
  });
  const std::string mode = ::geteuid() == 0 ? "landlock+netns+uid" : "landlock+userns+netns";
  EXPECT_EQ(out, mode + "|usr work tmp ");
  EXPECT_TRUE(std::filesystem::exists(f.work + "/tmp/x"));
  EXPECT_FALSE(std::filesystem::exists("/var/tmp/elsewhere"));
  if (::geteuid() == 0) {  // the work folder was given to the sandbox user
    struct stat st {};
    ASSERT_EQ(::stat(f.work.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 65534u);
  }
}

// One program per sandbox: once the init of a PID namespace has ended, no process can start in
// it any more (vfax-convert runs one program).
std::string runInSandbox(const Folders& f, std::vector<std::string> argv) {
  SandboxPolicy policy;
  policy.workDir = f.work;
  const std::string out = inSandbox(policy, [&] {
    SandboxState state;
    state.workDir = f.work;
    state.pidns = true;
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int status = runSandboxed(args.data(), state);
    if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
    return std::string("none");
  });
  return out.substr(out.find('|') + 1);
}

TEST(Sandbox, ProgramsRunInsideAndTheirEndIsPassedOn) {
  if (!kernelHasLandlock()) GTEST_SKIP() << "no Landlock in this kernel";
  Folders f;
  // In its own PID namespace the program is PID 2 (the init is 1); it cannot read the secret;
  // its exit code and a signal come back.
  EXPECT_EQ(runInSandbox(f, {"/bin/sh", "-c",
                             "test $$ = 2 && ! cat " + f.secret + " 2>/dev/null && exit 3"}),
            "exit 3");
  EXPECT_EQ(runInSandbox(f, {"/bin/sh", "-c", "kill -XCPU $$"}),
            "signal " + std::to_string(SIGXCPU));
  EXPECT_EQ(runInSandbox(f, {"/nonexistent/program"}), "exit 127");
}

// A -dSAFER bypass is what the sandbox is for: Ghostscript without SAFER still reads nothing.
TEST(Sandbox, GhostscriptWithoutSaferReadsNoServerFile) {
  if (!kernelHasLandlock()) GTEST_SKIP() << "no Landlock in this kernel";
  if (::access("/usr/bin/gs", X_OK) != 0) GTEST_SKIP() << "Ghostscript missing";
  Folders f;
  const std::string read = "(" + f.secret + ") (r) file 6 string readstring pop print";
  const std::string outside =
      "/usr/bin/gs -q -dNODISPLAY -dNOSAFER -dBATCH -c '" + read + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(outside.c_str()), 0);  // the read works without the sandbox
  EXPECT_EQ(
      runInSandbox(f, {"/usr/bin/gs", "-q", "-dNODISPLAY", "-dNOSAFER", "-dBATCH", "-c", read}),
      "exit 1");
}

TEST(Sandbox, WithoutLandlockItRefusesUnlessAllowed) {
  SandboxPolicy policy;
  const std::string refused = inSandbox(
      policy, [] { return std::string("ran"); }, "VFAX_CONVERT_NO_LANDLOCK");
  EXPECT_EQ(refused.rfind("ERR: the kernel has no Landlock", 0), 0u) << refused;
  EXPECT_NE(refused.find("allow_unsandboxed"), std::string::npos);
  policy.allowUnsandboxed = true;
  const std::string allowed = inSandbox(
      policy, [] { return std::string("ran"); }, "VFAX_CONVERT_NO_LANDLOCK");
  EXPECT_EQ(allowed, "unsandboxed (allowed by config)|ran");
}

TEST(Sandbox, WithoutNamespacesSeccompAllowsUnixSocketsOnly) {
  if (!kernelHasLandlock()) GTEST_SKIP() << "no Landlock in this kernel";
  SandboxPolicy policy;
  const std::string out = inSandbox(
      policy,
      [] {
        const int inet = ::socket(AF_INET, SOCK_STREAM, 0);
        const int inet6 = ::socket(AF_INET6, SOCK_DGRAM, 0);
        const int unix = ::socket(AF_UNIX, SOCK_STREAM, 0);
        return std::string(inet < 0 && errno == EAFNOSUPPORT ? "no-inet " : "INET ") +
               (inet6 < 0 ? "no-inet6 " : "INET6 ") + (unix >= 0 ? "unix" : "NO-UNIX");
      },
      "VFAX_CONVERT_NO_NAMESPACES");
  EXPECT_EQ(out.substr(out.find('|') + 1), "no-inet no-inet6 unix") << out;
  EXPECT_NE(out.find("+seccomp"), std::string::npos) << out;
}

TEST(Sandbox, AnUnknownOrRootSandboxUserIsAnError) {
  if (::geteuid() != 0) GTEST_SKIP() << "the sandbox user applies to root only";
  SandboxPolicy policy;
  policy.user = "no-such-user-vfax";
  EXPECT_EQ(inSandbox(policy, [] { return std::string("ran"); }),
            "ERR: the sandbox user no-such-user-vfax does not exist ([documents] sandbox_user)");
  policy.user = "root";
  EXPECT_EQ(inSandbox(policy, [] { return std::string("ran"); }),
            "ERR: the sandbox user root must not be root ([documents] sandbox_user)");
}

TEST(Sandbox, OfficeProfileTurnsMacrosAndLinksOff) {
  const std::string xcu = DocumentConverter::officeRegistryModifications();
  for (const char* item : {
           "<item oor:path=\"/org.openoffice.Office.Common/Security/Scripting\"><prop "
           "oor:name=\"DisableMacrosExecution\" oor:op=\"fuse\"><value>true</value>",
           "<prop oor:name=\"MacroSecurityLevel\" oor:op=\"fuse\"><value>3</value>",
           "<prop oor:name=\"BlockUntrustedRefererLinks\" oor:op=\"fuse\"><value>true</value>",
           "<item oor:path=\"/org.openoffice.Office.Writer/Content/Update\"><prop "
           "oor:name=\"Link\" oor:op=\"fuse\"><value>0</value>",
           "<item oor:path=\"/org.openoffice.Office.Calc/Content/Update\"><prop "
           "oor:name=\"Link\" oor:op=\"fuse\"><value>1</value>",
       }) {
    EXPECT_NE(xcu.find(item), std::string::npos) << item;
  }
}

}  // namespace
}  // namespace vfax::documents
