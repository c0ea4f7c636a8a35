#pragma once
// The IPP Everywhere printer of vfax-printer: one PAPPL system with one queue (/ipp/print) whose
// jobs are handed to vfaxd instead of a print engine. See README.md for the flow.
#include <string>

#include "print/options.h"

namespace vfax::print {

/// Sets up PAPPL, runs it on a thread of its own and waits for SIGTERM/SIGINT. The caller must
/// have blocked SIGTERM, SIGINT and SIGHUP in every thread (PAPPL installs its own handlers that
/// never reset) and ignored SIGPIPE. Returns the process exit status: 0 after a stop signal,
/// 1 when the printer could not start or its loop ended by itself.
int runPrinter(const PrinterOptions& options);

}  // namespace vfax::print
