// vfax: command-line client of vfaxd's REST API. Exit codes: 0 ok, 1 API error (the server's
// message is printed), 2 usage error or unreadable local file, 3 server unreachable.
#include <cstdlib>
#include <iostream>

#include "cli/client.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace vfax::cli;
  const char* envUrl = std::getenv("VFAX_URL");
  const char* envToken = std::getenv("VFAX_TOKEN");
  const char* envCa = std::getenv("VFAX_CA_FILE");
  std::string caFile = envCa != nullptr ? envCa : "";
  std::string url = envUrl != nullptr && *envUrl != '\0' ? envUrl : "http://127.0.0.1:8080";
  std::string token = envToken != nullptr ? envToken : "";

  CLI::App app{"vfax: send and manage faxes on a vfax server"};
  app.add_option("--url", url, "Server URL (env VFAX_URL; default http://127.0.0.1:8080)");
  app.add_option("--token", token, "API token (env VFAX_TOKEN)");
  app.add_option("--ca-file", caFile,
                 "https: PEM file of the CA (or self-signed certificate) to trust for the server "
                 "(env VFAX_CA_FILE; default: the system's trusted CAs)");
  app.require_subcommand(1);
  Action action;
  addFaxCommands(app, action);
  addAdminCommands(app, action);
  addTrunkCommands(app, action);
  addMailCommands(app, action);
  addAccountCommands(app, action);
  addNumberCommands(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (!action) {
    std::cerr << "vfax: nothing to do (see vfax --help)\n";
    return 2;
  }
  // No token given: the one `vfax login` kept (and its server, unless one was given).
  // It goes only to the server it came from: with another URL, no token is sent.
  if (token.empty()) {
    if (auto saved = savedCredentials();
        saved && saved->contains("url") && (*saved)["url"].is_string()) {
      const std::string savedUrl = (*saved)["url"].get<std::string>();
      const bool urlGiven =
          (envUrl != nullptr && *envUrl != '\0') || app.get_option("--url")->count() > 0;
      if (!urlGiven) url = savedUrl;
      if (url == savedUrl) token = (*saved)["token"].get<std::string>();
    }
  }
  auto client = Client::create(url, token, caFile);
  if (!client) {
    std::cerr << "vfax: " << client.error().message << '\n';
    return exitCode(client.error());
  }
  auto result = action(**client);
  if (!result) {
    std::cerr << "vfax: " << result.error().message << '\n';
    return exitCode(result.error());
  }
  return 0;
}
