// Secrets (passwords, trunk secrets) are never required on the command line, where other users
// see them in the process list and the shell keeps them in its history: they are asked for on the
// terminal without echo, or read from stdin or a file.
#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"

namespace vfax::cli {

Result<std::string> readPassword(const std::string& prompt) {
  std::string line;
  if (isatty(STDIN_FILENO) != 0) {
    std::cerr << prompt << std::flush;
    termios old{};
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::getline(std::cin, line);
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << '\n';
  } else {
    std::getline(std::cin, line);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return core::makeError(kUsage, "no password given");
  return line;
}

Result<std::string> readSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::makeError(kUsage, "cannot read the secret file " + path);
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return core::makeError(kUsage, "the secret file " + path + " is empty");
  return line;
}

}  // namespace vfax::cli
