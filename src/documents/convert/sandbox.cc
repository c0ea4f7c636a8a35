#include "documents/convert/sandbox.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

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

#if defined(SYS_landlock_create_ruleset) && defined(SYS_landlock_restrict_self) && \
    defined(SYS_landlock_add_rule)
// Every filesystem right the running kernel knows, with no rule granting any of them back
// (sanitizer builds: reading /proc, which LeakSanitizer needs at exit).
bool landlockEverything() {
  const long abi =
      ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 1) return false;
  std::uint64_t handled = (1ULL << 13) - 1;  // ABI 1: EXECUTE .. MAKE_SYM
  if (abi >= 2) handled |= 1ULL << 13;       // REFER
  if (abi >= 3) handled |= 1ULL << 14;       // TRUNCATE
  landlock_ruleset_attr attr{};
  attr.handled_access_fs = handled;
  const long fd = ::syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (fd < 0) return false;
  bool ok = true;
  if (sanitizerBuild()) {
    landlock_path_beneath_attr proc{};
    proc.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
    proc.parent_fd = ::open("/proc", O_PATH | O_CLOEXEC);
    ok = proc.parent_fd >= 0 &&
         ::syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &proc, 0) == 0;
    if (proc.parent_fd >= 0) ::close(proc.parent_fd);
  }
  ok = ok && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
       ::syscall(SYS_landlock_restrict_self, fd, 0) == 0;
  ::close(static_cast<int>(fd));
  return ok;
}
#else
bool landlockEverything() { return false; }
#endif

}  // namespace

bool enterSandbox(SandboxState* state) {
  char dir[] = "/tmp/vfax-convert-XXXXXX";
  if (::mkdtemp(dir) == nullptr || ::chdir(dir) != 0) return false;
  // Removed first: under Landlock it could not be removed later.
  ::rmdir(dir);
  if (std::getenv("VFAX_CONVERT_NO_LANDLOCK") == nullptr && landlockEverything()) {
    state->landlocked = true;
    return true;
  }
  // No Landlock: an empty working directory that exists at least keeps plain relative names
  // from finding anything (names with ".." still climb out of it: see README).
  if (::mkdir(dir, 0700) != 0 || ::chdir(dir) != 0) return false;
  state->emptyDir = dir;
  return true;
}

void leaveSandbox(const SandboxState& state) {
  if (!state.emptyDir.empty()) ::rmdir(state.emptyDir.c_str());
}

}  // namespace vfax::documents
