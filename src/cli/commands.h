#pragma once
// Subcommand registration. Each subcommand's parse callback stores the action to run; main()
// runs it with a Client once parsing succeeded.
#include <functional>

#include <CLI/CLI.hpp>

#include "cli/client.h"

namespace vfax::cli {

using Action = std::function<Result<void>(Client&)>;

void addFaxCommands(CLI::App& app, Action& action);    // send, list, show, get, cancel
void addAdminCommands(CLI::App& app, Action& action);  // settings, device, cleanup, token, lines

}  // namespace vfax::cli
