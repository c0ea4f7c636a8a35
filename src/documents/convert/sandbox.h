#pragma once
// The filesystem sandbox of vfax-convert. MuPDF's HTML engine reads whatever <img src>,
// stylesheets and fonts name, relative to the working directory and absolute paths alike, so a
// document could pull the server's files into a fax. After the child has opened its inputs and
// its output it calls enterSandbox(): the working directory becomes an empty one, and where the
// kernel has Landlock (Linux 5.13+), every path lookup is denied from then on; descriptors
// already open keep working.
#include <string>

namespace vfax::documents {

struct SandboxState {
  bool landlocked = false;
  std::string emptyDir;  // to remove at exit when it could not be removed at once
};

/// Returns false when not even the empty working directory could be set up.
bool enterSandbox(SandboxState* state);
void leaveSandbox(const SandboxState& state);

}  // namespace vfax::documents
