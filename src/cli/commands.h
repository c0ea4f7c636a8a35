#pragma once
// Subcommand registration. Each subcommand's parse callback stores the action to run; main()
// runs it with a Client once parsing succeeded.
#include <functional>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/client.h"

namespace vfax::cli {

using Action = std::function<Result<void>(Client&)>;

/// A read-only command: GET `path` and print it with `print`, or as the API's JSON with --json.
void addGetCommand(CLI::App& parent, const std::string& name, const std::string& help,
                   const std::string& path, std::function<void(const Json&)> print, Action& action);

/// Shows settings (GET `path`), or changes them from KEY=VALUE arguments (PUT `path`).
void addSettingsCommand(CLI::App& parent, const std::string& name, const std::string& help,
                        const std::string& example, const std::string& path,
                        std::function<void(const Json&)> print, Action& action);

/// A secret from the terminal without echo (after `prompt` on stderr), or the first line of
/// stdin when it is not a terminal. Error kUsage when none is given.
Result<std::string> readPassword(const std::string& prompt);
/// The first line of the file `path` (a secret kept in a file of mode 600). Error kUsage.
Result<std::string> readSecretFile(const std::string& path);

void addFaxCommands(CLI::App& app, Action& action);    // send, list, show, get, cancel
void addAdminCommands(CLI::App& app, Action& action);  // settings, device, cleanup, token, lines
void addTrunkCommands(CLI::App& app, Action& action);  // trunk (IAX2), trunk sip
/// vfax trunk sip show|set|peer add|peer rm|register add|register rm (commands_trunk_sip.cc).
void addSipTrunkCommands(CLI::App& trunk, Action& action);
void addMailCommands(CLI::App& app, Action& action);     // mail settings, outbox, test
void addAccountCommands(CLI::App& app, Action& action);  // login, logout, user, audit, whoami
/// What `vfax login` kept (url, token, id, username), if anything.
std::optional<Json> savedCredentials();
void addNumberCommands(CLI::App& app, Action& action);  // number

}  // namespace vfax::cli
