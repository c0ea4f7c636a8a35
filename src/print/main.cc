// vfax-printer: the Print-to-Fax printer process, started and watched by vfaxd ([print] enabled).
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "print/options.h"
#include "print/printer_app.h"

int main(int argc, char** argv) {
  // Before any thread exists (PAPPL starts Avahi's in papplSystemCreate): stop signals are taken
  // by sigwait in runPrinter, never by the handlers PAPPL installs; a client that hangs up
  // mid-answer must not kill the process.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = vfax::print::parseArgs(args);
  if (parsed.help) {
    std::fputs(vfax::print::usage().c_str(), stdout);
    return 0;
  }
  if (!parsed.options) {
    std::fprintf(stderr, "vfax-printer: %s\n%s", parsed.error.c_str(),
                 vfax::print::usage().c_str());
    return 2;
  }
  const char* secret = std::getenv("VFAX_PRINTER_SECRET");
  if (secret == nullptr || std::strlen(secret) < 16) {
    std::fprintf(stderr,
                 "vfax-printer: VFAX_PRINTER_SECRET must hold the printer secret vfaxd gave "
                 "(vfaxd starts this program itself when [print] enabled = true)\n");
    return 2;
  }
  parsed.options->secret = secret;
  unsetenv("VFAX_PRINTER_SECRET");  // no child process inherits it
  return vfax::print::runPrinter(*parsed.options);
}

// Sanitizer builds: PAPPL and libcups keep process-lifetime allocations (the system object is
// never deleted while its detached threads may run; DNS-SD statics), which are not our leaks.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libpappl.so\nleak:libcups.so\nleak:libavahi\nleak:libgnutls\n";
}
extern "C" const char* __lsan_default_options() { return "print_suppressions=0"; }
