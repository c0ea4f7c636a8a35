// vfax: command-line client of vfaxd's REST API. Exit codes: 0 ok, 1 API error (the server's
// message is printed), 2 usage error or unreadable local file, 3 server unreachable.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string_view>

#include "cli/client.h"
#include "cli/commands.h"

namespace {

// A token in argv is readable by every local user (ps, /proc/PID/cmdline) and lands in shell
// history, so --token is refused by name rather than with CLI11's generic "not expected".
bool tokenInArgv(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--") break;
    if (a == "--token" || a.starts_with("--token=")) return true;
  }
  return false;
}

// The token is the first line of the file (DATA/admin-token holds just the token).
vfax::core::Result<std::string> readTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return vfax::core::makeError(vfax::cli::kUsage, "cannot read the token file " + path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.empty()) {
    return vfax::core::makeError(vfax::cli::kUsage, "the token file " + path + " is empty");
  }
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vfax::cli;
  if (tokenInArgv(argc, argv)) {
    std::cerr << "vfax: --token is not accepted (a token on the command line is visible to other "
                 "users); set VFAX_TOKEN, pass --token-file PATH (or VFAX_TOKEN_FILE), or run "
                 "vfax login\n";
    return 2;
  }
  const char* envUrl = std::getenv("VFAX_URL");
  const char* envToken = std::getenv("VFAX_TOKEN");
  const char* envTokenFile = std::getenv("VFAX_TOKEN_FILE");
  const char* envCa = std::getenv("VFAX_CA_FILE");
  std::string caFile = envCa != nullptr ? envCa : "";
  std::string url = envUrl != nullptr && *envUrl != '\0' ? envUrl : "http://127.0.0.1:8080";
  std::string token = envToken != nullptr ? envToken : "";
  std::string tokenFile = envTokenFile != nullptr ? envTokenFile : "";

  CLI::App app{"vfax: send and manage faxes on a vfax server"};
  app.add_option("--url", url, "Server URL (env VFAX_URL; default http://127.0.0.1:8080)");
  app.add_option("--token-file", tokenFile,
                 "File whose first line is the API token (env VFAX_TOKEN_FILE; the token itself "
                 "from env VFAX_TOKEN)");
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
  // A token file given on the command line wins over VFAX_TOKEN; one from VFAX_TOKEN_FILE only
  // when VFAX_TOKEN is not set.
  if (!tokenFile.empty() && (app.get_option("--token-file")->count() > 0 || token.empty())) {
    auto t = readTokenFile(tokenFile);
    if (!t) {
      std::cerr << "vfax: " << t.error().message << '\n';
      return 2;
    }
    token = std::move(*t);
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
