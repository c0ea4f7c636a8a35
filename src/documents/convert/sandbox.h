#pragma once
// The sandbox of vfax-convert and of every program it runs (Ghostscript, LibreOffice). Untrusted
// documents are opened only inside it. Once the child has opened its inputs and its output it
// calls enterSandbox(), which, in this order:
//  - isolates the network: a new network namespace with only a loopback that is down (as root
//    directly; otherwise inside a new unprivileged user namespace); where namespaces are not
//    available, a seccomp filter lets socket() create AF_UNIX sockets only;
//  - runs as an unprivileged user (`SandboxPolicy::user`, when started as root);
//  - dies with its parent (PR_SET_PDEATHSIG, set after the uid change, which clears it);
//  - sets no_new_privs and restricts itself with Landlock: no path at all (MuPDF), or, to run a
//    program, the read-only system folders it needs plus its work folder read-write; TCP bind and
//    connect denied (Landlock ABI 4+), no abstract Unix sockets or signals outside (ABI 6+).
// Without Landlock it refuses, unless `allowUnsandboxed`: then an empty working directory is all
// that is left (names with ".." climb out of it).
#include <string>
#include <vector>

namespace vfax::documents {

struct SandboxPolicy {
  /// Run as this user when started as root ("" keeps root: not recommended).
  std::string user = "nobody";
  /// Go on without Landlock (an admin's explicit choice, `[documents] allow_unsandboxed`).
  bool allowUnsandboxed = false;
  /// To run a program: its work folder (read-write, made the working directory and given to
  /// `user`). Empty: MuPDF in this process, no path may be opened at all.
  std::string workDir;
  /// With workDir: also a new PID namespace for the children (see runSandboxed()).
  bool pidNamespace = true;
  /// Our parent's pid: if it has gone before PR_SET_PDEATHSIG took hold, we stop at once.
  long parentPid = 0;
};

struct SandboxState {
  bool landlocked = false;
  bool netns = false;        // a network namespace of our own
  bool userns = false;       // ... inside an unprivileged user namespace
  bool pidns = false;        // children start in a PID namespace of their own
  bool privateTmp = false;   // /tmp is the work folder's tmp/ (a mount namespace of our own)
  bool seccompNet = false;   // no namespace: socket() limited to AF_UNIX by seccomp
  bool uidChanged = false;   // now runs as SandboxPolicy::user
  bool unsandboxed = false;  // no Landlock, allowed by the policy
  std::string workDir;       // SandboxPolicy::workDir
  std::string emptyDir;      // to remove at exit when it could not be removed at once
  /// "landlock+netns+uid", "landlock+userns+netns", "unsandboxed (allowed by config)".
  std::string describe() const;
};

/// The read-only folders a program run by `exec` may read (and execute from): system folders,
/// fonts, Ghostscript's and LibreOffice's resources. Those that do not exist are left out.
std::vector<std::string> systemReadOnlyDirs();

/// Returns "" once inside the sandbox, else why it could not be entered (the caller must then
/// not open any untrusted input).
std::string enterSandbox(const SandboxPolicy& policy, SandboxState* state);
void leaveSandbox(const SandboxState& state);

/// Runs argv (searched in PATH) inside the sandbox already entered: in a new PID namespace when
/// the state has one, as the only child of a small init that reaps everything, so that when this
/// process dies (it dies with its parent) every process of the program dies with it. Returns the
/// program's wait status (as from waitpid), or -1 if it could not be started.
int runSandboxed(char** argv, const SandboxState& state);

/// The environment a sandboxed program gets: PATH, LANG, HOME and TMPDIR inside its work folder.
std::vector<std::string> sandboxEnvironment(const std::string& workDir);

}  // namespace vfax::documents
