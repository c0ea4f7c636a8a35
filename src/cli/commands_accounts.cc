// vfax user add|list|update|rm|passwd, vfax whoami, vfax audit
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/format.h"

namespace vfax::cli {

std::optional<Json> readCredentials(const std::string& path);

namespace {

void printUsers(const Json& users) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& u : users) {
    rows.push_back({cell(u["id"]), cell(u["username"]), cell(u["name"]), cell(u["email"]),
                    cell(u["role"]), u.value("enabled", false) ? "yes" : "no",
                    u.value("has_password", false) ? "yes" : "no"});
  }
  printTable(std::cout, {"ID", "USERNAME", "NAME", "EMAIL", "ROLE", "ENABLED", "PASSWORD"}, rows);
}

// The user id for a name or id given on the command line.
Result<long long> resolveUser(Client& c, const std::string& who) {
  if (!who.empty() && who.find_first_not_of("0123456789") == std::string::npos) {
    return std::stoll(who);
  }
  if (who.empty()) {
    auto me = c.get("/api/v1/session");
    if (!me) return me.error();
    return (*me)["user"]["id"].get<long long>();
  }
  auto all = c.get("/api/v1/users");
  if (!all) return all.error();
  for (const auto& u : (*all)["users"]) {
    if (u["username"] == who) return u["id"].get<long long>();
  }
  return core::makeError(kUsage, "there is no user '" + who + "'");
}

struct UserOptions {
  std::string who;
  std::string username, name, email, role;
  std::string enabled;  // yes | no
  bool passwordStdin = false;
  bool json = false;
  std::vector<CLI::Option*> given;
};

void addUserFields(CLI::App* cmd, UserOptions& o) {
  o.given = {
      cmd->add_option("--name", o.name, "Display name"),
      cmd->add_option("--email", o.email, "E-mail address (status mails, default notify)"),
      cmd->add_option("--role", o.role, "admin or user")->check(CLI::IsMember({"admin", "user"})),
      cmd->add_option("--enabled", o.enabled, "yes or no")->check(CLI::IsMember({"yes", "no"}))};
  cmd->add_flag("--json", o.json, "Print the user's JSON");
}

Json userBody(const UserOptions& o) {
  Json b = Json::object();
  if (o.given[0]->count() > 0) b["name"] = o.name;
  if (o.given[1]->count() > 0) b["email"] = o.email;
  if (o.given[2]->count() > 0) b["role"] = o.role;
  if (o.given[3]->count() > 0) b["enabled"] = o.enabled == "yes";
  return b;
}

void printOne(const UserOptions& o, const Json& u) {
  if (o.json) {
    std::cout << u.dump(2) << '\n';
  } else {
    printUsers(Json::array({u}));
  }
}

void addUserCommands(CLI::App& app, Action& action) {
  auto* user = app.add_subcommand("user", "Users: who may log in, send and see which faxes");
  user->require_subcommand(1);
  {
    auto o = std::make_shared<UserOptions>();
    auto* cmd = user->add_subcommand("add", "Add a user (admin)");
    cmd->add_option("username", o->username, "Login name")->required();
    addUserFields(cmd, *o);
    cmd->add_flag("--password-stdin", o->passwordStdin,
                  "Read the password from stdin (else it is asked for on a terminal)");
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        Json body = userBody(*o);
        body["username"] = o->username;
        if (o->passwordStdin || isatty(STDIN_FILENO) != 0) {
          auto pw = readPassword("Password for " + o->username + ": ");
          if (!pw) return pw.error();
          body["password"] = *pw;
        }
        auto r = c.post("/api/v1/users", body);
        if (!r) return r.error();
        printOne(*o, *r);
        return {};
      };
    });
  }
  addGetCommand(
      *user, "list", "List users (admin)", "/api/v1/users",
      [](const Json& r) { printUsers(r["users"]); }, action);
  {
    auto o = std::make_shared<UserOptions>();
    auto* cmd = user->add_subcommand("update", "Change some fields of a user");
    cmd->add_option("user", o->who, "User id or username")->required();
    cmd->add_option("--username", o->username, "New login name");
    addUserFields(cmd, *o);
    cmd->callback([o, cmd, &action] {
      const bool rename = cmd->get_option("--username")->count() > 0;
      action = [o, rename](Client& c) -> Result<void> {
        Json body = userBody(*o);
        if (rename) body["username"] = o->username;
        if (body.empty())
          return core::makeError(kUsage, "give at least one field to change (see --help)");
        auto id = resolveUser(c, o->who);
        if (!id) return id.error();
        auto r = c.put("/api/v1/users/" + std::to_string(*id), body);
        if (!r) return r.error();
        printOne(*o, *r);
        return {};
      };
    });
  }
  {
    auto who = std::make_shared<std::string>();
    auto* cmd = user->add_subcommand("rm", "Delete a user with their tokens (admin)");
    cmd->add_option("user", *who, "User id or username")->required();
    cmd->callback([who, &action] {
      action = [who](Client& c) -> Result<void> {
        auto id = resolveUser(c, *who);
        if (!id) return id.error();
        auto r = c.del("/api/v1/users/" + std::to_string(*id));
        if (!r) return r.error();
        std::cout << "user " << *id << " deleted\n";
        return {};
      };
    });
  }
  {
    struct PasswdOptions {
      std::string who;
      bool stdinOnly = false;
    };
    auto o = std::make_shared<PasswdOptions>();
    auto* cmd = user->add_subcommand(
        "passwd", "Set a password (yours, with the current one; admins: anyone's)");
    cmd->add_option("user", o->who, "User id or username (default: you)");
    cmd->add_flag("--password-stdin", o->stdinOnly,
                  "Read the new password (and, for your own, first the current one) from stdin");
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        auto me = c.get("/api/v1/session");
        if (!me) return me.error();
        const bool admin = (*me)["user"]["role"] == "admin";
        auto id = resolveUser(c, o->who);
        if (!id) return id.error();
        const bool own = *id == (*me)["user"]["id"].get<long long>();
        Json body = Json::object();
        if (!admin || (own && (*me)["user"].value("has_password", false))) {
          auto current = readPassword("Current password: ");
          if (!current) return current.error();
          body["current_password"] = *current;
        }
        auto pw = readPassword("New password: ");
        if (!pw) return pw.error();
        body["password"] = *pw;
        auto r = c.put("/api/v1/users/" + std::to_string(*id), body);
        if (!r) return r.error();
        std::cout << "password of " << (*r)["username"].get<std::string>() << " set\n";
        return {};
      };
    });
  }
}

void addAuditCommand(CLI::App& app, Action& action) {
  struct AuditOptions {
    std::string user, actionFilter;
    int limit = 50;
    bool json = false;
  };
  auto o = std::make_shared<AuditOptions>();
  auto* cmd = app.add_subcommand("audit", "Who did what and when (admin)");
  cmd->add_option("--user", o->user, "Only this user (id or username)");
  cmd->add_option("--action", o->actionFilter, "Only this action (e.g. login_failed, or fax.)");
  cmd->add_option("--limit", o->limit, "Newest N entries")->check(CLI::Range(1, 1000));
  cmd->add_flag("--json", o->json, "Print the API's JSON");
  cmd->callback([o, &action] {
    action = [o](Client& c) -> Result<void> {
      std::multimap<std::string, std::string> params{{"limit", std::to_string(o->limit)}};
      if (!o->user.empty()) {
        auto id = resolveUser(c, o->user);
        if (!id) return id.error();
        params.emplace("user", std::to_string(*id));
      }
      if (!o->actionFilter.empty()) params.emplace("action", o->actionFilter);
      auto r = c.get("/api/v1/audit", params);
      if (!r) return r.error();
      if (o->json) {
        std::cout << r->dump(2) << '\n';
        return {};
      }
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : (*r)["entries"]) {
        rows.push_back({shortTime(e["at"]), cell(e["username"]), cell(e["source"]),
                        cell(e["action"]), cell(e["target"]), cell(e["detail"])});
      }
      printTable(std::cout, {"AT", "USER", "FROM", "ACTION", "TARGET", "DETAIL"}, rows);
      return {};
    };
  });
}

std::string credentialsPath() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  std::string dir = xdg != nullptr && *xdg != '\0'     ? std::string(xdg)
                    : home != nullptr && *home != '\0' ? std::string(home) + "/.config"
                                                       : std::string();
  if (dir.empty()) return {};  // no home: nowhere safe to keep a token
  return dir + "/vfax/credentials";
}

void addLoginCommands(CLI::App& app, Action& action) {
  struct LoginOptions {
    std::string username;
    std::string name;
    double expiresDays = 0;
    bool passwordStdin = false;
  };
  auto o = std::make_shared<LoginOptions>();
  auto* cmd = app.add_subcommand(
      "login", "Log in with your password and keep a personal token for this CLI");
  cmd->add_option("username", o->username, "Your username")->required();
  cmd->add_option("--token-name", o->name, "Name of the token (default: vfax CLI on HOST)");
  cmd->add_option("--expires-days", o->expiresDays,
                  "Days until the token expires (default: never)");
  cmd->add_flag("--password-stdin", o->passwordStdin, "Read the password from stdin");
  cmd->callback([o, &action] {
    action = [o](Client& c) -> Result<void> {
      if (credentialsPath().empty()) {
        return core::makeError(kUsage,
                               "set HOME (or XDG_CONFIG_HOME): vfax login keeps its token there");
      }
      auto pw = readPassword("Password for " + o->username + ": ");
      if (!pw) return pw.error();
      std::string name = o->name;
      if (name.empty()) {
        char host[256] = {};
        gethostname(host, sizeof host - 1);
        name = std::string("vfax CLI on ") + host;
      }
      auto t = c.loginForToken(o->username, *pw, name, o->expiresDays);
      if (!t) return t.error();
      const std::string path = credentialsPath();
      // A token kept by an earlier login to the same server is revoked: one per login.
      if (auto old = readCredentials(path);
          old && old->value("url", "") == c.url() && (*old)["id"].is_number_integer()) {
        auto again = Client::create(c.url(), (*old)["token"].get<std::string>(), c.caFile());
        if (again)
          (void)(*again)->del("/api/v1/tokens/" + std::to_string((*old)["id"].get<long long>()));
      }
      const std::string dir = path.substr(0, path.rfind('/'));
      std::string mk = dir.substr(0, dir.rfind('/'));
      ::mkdir(mk.c_str(), 0700);
      ::mkdir(dir.c_str(), 0700);
      const Json saved{{"url", c.url()},
                       {"token", (*t)["token"]},
                       {"id", (*t)["id"]},
                       {"username", o->username}};
      // Written to a new file of mode 600 and renamed over the old one: never readable by others,
      // never through a symbolic link someone placed there.
      const std::string tmp = path + ".tmp";
      ::unlink(tmp.c_str());
      const int fd =
          ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0) return core::makeError(kUsage, "cannot write " + tmp);
      const std::string text = saved.dump(2) + "\n";
      const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                      ::fsync(fd) == 0;
      ::close(fd);
      if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        return core::makeError(kUsage, "cannot write " + path);
      }
      std::cout << "logged in as " << o->username << "; token " << (*t)["id"] << " kept in " << path
                << " (VFAX_TOKEN and --token-file still take precedence)\n";
      return {};
    };
  });
  auto* out = app.add_subcommand("logout", "Revoke the token kept by vfax login and forget it");
  out->callback([&action] {
    action = [](Client& c) -> Result<void> {
      const std::string path = credentialsPath();
      auto saved = readCredentials(path);
      if (!saved) return core::makeError(kUsage, "not logged in (no " + path + ")");
      if (saved->value("url", "") != c.url()) {
        return core::makeError(kUsage, "the kept token is for " + saved->value("url", "?") +
                                           ", not " + c.url() + "; run vfax logout with that URL");
      }
      if ((*saved)["id"].is_number_integer()) {
        auto r = c.del("/api/v1/tokens/" + std::to_string((*saved)["id"].get<long long>()));
        if (!r && r.error().code != "not_found" && r.error().code != "unauthorized")
          return r.error();
      }
      std::remove(path.c_str());
      std::cout << "logged out; " << path << " removed\n";
      return {};
    };
  });
}

}  // namespace

std::optional<Json> readCredentials(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  Json j = Json::parse(in, nullptr, false);
  if (!j.is_object() || !j.contains("token") || !j["token"].is_string()) return std::nullopt;
  return j;
}

std::optional<Json> savedCredentials() { return readCredentials(credentialsPath()); }

void addAccountCommands(CLI::App& app, Action& action) {
  addLoginCommands(app, action);
  addUserCommands(app, action);
  addAuditCommand(app, action);
  addGetCommand(
      app, "whoami", "Who the token belongs to, and their devices", "/api/v1/session",
      [](const Json& r) {
        std::cout << r["user"]["username"].get<std::string>() << " ("
                  << r["user"]["role"].get<std::string>() << "), " << cell(r["credential"]) << '\n';
        for (const auto& d : r["devices"]) {
          std::cout << "  device " << cell(d["id"]) << ": " << cell(d["name"]) << " ext "
                    << cell(d["extension"]) << '\n';
        }
      },
      action);
}

}  // namespace vfax::cli
