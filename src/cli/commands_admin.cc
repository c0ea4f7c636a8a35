// vfax settings | device ... | cleanup | token ... | lines
#include <iostream>

#include "cli/commands.h"
#include "cli/format.h"

namespace vfax::cli {

namespace {

// Lists print comma-separated: the form KEY=VALUE takes them back.
void printSettings(const Json& s) {
  for (const auto& [key, value] : s.items()) {
    std::string shown;
    if (value.is_array()) {
      for (const auto& item : value) {
        if (!shown.empty()) shown += ',';
        shown += item.is_string() ? item.get<std::string>() : item.dump();
      }
    } else {
      shown = value.is_string() ? value.get<std::string>() : value.dump();
    }
    std::cout << key << " = " << shown << '\n';
  }
}

void printDevices(const Json& devices) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : devices) {
    rows.push_back({cell(d["id"]), cell(d["kind"]), cell(d["name"]), cell(d["extension"]),
                    cell(d["email"]),
                    cell(d["tsi"]) + (d.value("tsi_custom", false) ? "" : " (default)"),
                    cell(d["inbound_format"]), cell(d.value("owner", Json())),
                    d.value("members", Json::array()).empty() ? "-" : d["members"].dump(),
                    d.value("has_pin", false) ? "yes" : "no"});
  }
  printTable(std::cout,
             {"ID", "KIND", "NAME", "EXT", "EMAIL", "TSI", "FORMAT", "OWNER", "MEMBERS", "PIN"},
             rows);
}

struct DeviceOptions {
  long long id = 0;
  std::string kind, name, email, extension, tsi, format, pin;
  std::string owner;               // user id, or "" / "none" to unset
  std::vector<long long> members;  // user ids
  CLI::Option* ownerOpt = nullptr;
  CLI::Option* membersOpt = nullptr;
  bool json = false;
  CLI::Option* pinOption = nullptr;
  std::vector<CLI::Option*> given;  // options set on the command line
};

void addDeviceFields(CLI::App* cmd, DeviceOptions& o, bool required) {
  auto* kind =
      cmd->add_option("--kind", o.kind, "user or team")->check(CLI::IsMember({"user", "team"}));
  auto* name = cmd->add_option("--name", o.name, "Name of the person or team");
  auto* email = cmd->add_option("--email", o.email, "Where received faxes go");
  auto* ext = cmd->add_option("--extension", o.extension, "Fax extension (DID digits)");
  auto* tsi =
      cmd->add_option("--tsi", o.tsi, "Own fax identifier ('' = the default from the number plan)");
  auto* format = cmd->add_option("--format", o.format, "Inbound e-mail format")
                     ->check(CLI::IsMember({"pdf", "tiff", "inline"}));
  if (required) {
    name->required();
    email->required();
    ext->required();
  }
  o.given = {kind, name, email, ext, tsi, format};
  o.ownerOpt =
      cmd->add_option("--owner", o.owner, "User id the user device belongs to (none: unset)");
  o.membersOpt = cmd->add_option("--member", o.members, "User id of a team member (repeat)");
  o.pinOption = cmd->add_option("--pin", o.pin,
                                "Mail-to-Fax PIN, 4 to 12 digits, stored hashed ('' removes it, "
                                "'-' reads it from standard input)");
  cmd->add_flag("--json", o.json, "Print the device's JSON");
}

Result<Json> deviceBody(const DeviceOptions& o) {
  Json b = Json::object();
  const char* keys[] = {"kind", "name", "email", "extension", "tsi", "inbound_format"};
  const std::string* values[] = {&o.kind, &o.name, &o.email, &o.extension, &o.tsi, &o.format};
  for (std::size_t i = 0; i < o.given.size(); ++i) {
    if (o.given[i]->count() > 0) b[keys[i]] = *values[i];
  }
  if (o.given[4]->count() > 0 && o.tsi.empty()) {
    b.erase("tsi");
    b["tsi_custom"] = false;
  }
  if (o.ownerOpt->count() > 0) {
    if (o.owner.empty() || o.owner == "none") {
      b["owner"] = nullptr;
    } else {
      try {
        b["owner"] = std::stoll(o.owner);
      } catch (const std::exception&) {
        b["owner"] = o.owner;  // the server names the mistake
      }
    }
  }
  if (o.membersOpt->count() > 0) b["members"] = o.members;
  if (o.pinOption->count() > 0) {
    std::string pin = o.pin;
    if (pin == "-") {
      // Keeps the PIN out of the shell history and the process list.
      if (!std::getline(std::cin, pin)) pin.clear();
      while (!pin.empty() && (pin.back() == '\r' || pin.back() == ' ')) pin.pop_back();
      if (pin.empty()) return core::makeError(kUsage, "--pin -: no PIN on standard input");
    }
    b["pin"] = pin.empty() ? Json(nullptr) : Json(pin);
  }
  return b;
}

void addDeviceCommands(CLI::App& app, Action& action) {
  auto* device = app.add_subcommand("device", "Virtual fax devices (users and teams)");
  device->require_subcommand(1);
  {
    auto o = std::make_shared<DeviceOptions>();
    auto* cmd = device->add_subcommand("add", "Add a device");
    addDeviceFields(cmd, *o, true);
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        auto parsed = deviceBody(*o);
        if (!parsed) return parsed.error();
        Json body = std::move(*parsed);
        if (!body.contains("kind")) body["kind"] = "user";
        auto r = c.post("/api/v1/devices", body);
        if (!r) return r.error();
        if (o->json) {
          std::cout << r->dump(2) << '\n';
        } else {
          printDevices(Json::array({*r}));
        }
        return {};
      };
    });
  }
  addGetCommand(
      *device, "list", "List devices", "/api/v1/devices",
      [](const Json& r) { printDevices(r["devices"]); }, action);
  {
    auto o = std::make_shared<DeviceOptions>();
    auto* cmd = device->add_subcommand("update", "Change some fields of a device");
    cmd->add_option("id", o->id, "Device id")->required();
    addDeviceFields(cmd, *o, false);
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        auto parsed = deviceBody(*o);
        if (!parsed) return parsed.error();
        Json body = std::move(*parsed);
        if (body.empty())
          return core::makeError(kUsage, "give at least one field to change (see --help)");
        auto r = c.put("/api/v1/devices/" + std::to_string(o->id), body);
        if (!r) return r.error();
        if (o->json) {
          std::cout << r->dump(2) << '\n';
        } else {
          printDevices(Json::array({*r}));
        }
        return {};
      };
    });
  }
  {
    auto id = std::make_shared<long long>(0);
    auto* cmd = device->add_subcommand("rm", "Remove a device (its faxes stay)");
    cmd->add_option("id", *id, "Device id")->required();
    cmd->callback([id, &action] {
      action = [id](Client& c) -> Result<void> {
        auto r = c.del("/api/v1/devices/" + std::to_string(*id));
        if (!r) return r.error();
        std::cout << "device " << *id << " removed\n";
        return {};
      };
    });
  }
}

void addTokenCommands(CLI::App& app, Action& action) {
  auto* token = app.add_subcommand("token", "Personal API tokens (yours; admins: anyone's)");
  token->require_subcommand(1);
  {
    struct CreateOptions {
      std::string name;
      long long user = 0;
      double expiresDays = 0;
      bool json = false;
    };
    auto o = std::make_shared<CreateOptions>();
    auto* cmd = token->add_subcommand(
        "create", "Create a token with its user's rights; its secret is shown once");
    cmd->add_option("name", o->name, "What the token is for")->required();
    cmd->add_option("--user", o->user, "User id it belongs to (admins; default: you)");
    cmd->add_option("--expires-days", o->expiresDays, "Days until it expires (default: never)");
    cmd->add_flag("--json", o->json, "Print the token's JSON, secret included");
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        Json body{{"name", o->name}};
        if (o->user > 0) body["user"] = o->user;
        if (o->expiresDays > 0) body["expires_in_days"] = o->expiresDays;
        auto r = c.post("/api/v1/tokens", body);
        if (!r) return r.error();
        if (o->json) {
          std::cout << r->dump(2) << '\n';
          return {};
        }
        std::cout << (*r)["token"].get<std::string>() << '\n';
        std::cerr << "token " << (*r)["id"] << " '" << o->name << "' of user " << (*r)["user"]
                  << " created; the secret above is shown only this once\n";
        return {};
      };
    });
  }
  addGetCommand(
      *token, "list", "List tokens (never their secrets)", "/api/v1/tokens",
      [](const Json& r) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& t : r["tokens"]) {
          rows.push_back({cell(t["id"]), cell(t["user"]), cell(t["name"]),
                          cell(t["prefix"]) + "...", shortTime(t["created_at"]),
                          shortTime(t["last_used_at"]), shortTime(t["expires_at"])});
        }
        printTable(std::cout, {"ID", "USER", "NAME", "PREFIX", "CREATED", "LAST USED", "EXPIRES"},
                   rows);
      },
      action);
  {
    auto id = std::make_shared<long long>(0);
    auto* cmd = token->add_subcommand("revoke", "Revoke a token");
    cmd->add_option("id", *id, "Token id")->required();
    cmd->callback([id, &action] {
      action = [id](Client& c) -> Result<void> {
        auto r = c.del("/api/v1/tokens/" + std::to_string(*id));
        if (!r) return r.error();
        std::cout << "token " << *id << " revoked\n";
        return {};
      };
    });
  }
}

}  // namespace

void addGetCommand(CLI::App& parent, const std::string& name, const std::string& help,
                   const std::string& path, std::function<void(const Json&)> print,
                   Action& action) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = parent.add_subcommand(name, help);
  cmd->add_flag("--json", *json, "Print the API's JSON");
  cmd->callback([json, path, print = std::move(print), &action] {
    action = [json, path, print](Client& c) -> Result<void> {
      auto r = c.get(path);
      if (!r) return r.error();
      if (*json) {
        std::cout << r->dump(2) << '\n';
      } else {
        print(*r);
      }
      return {};
    };
  });
}

void addSettingsCommand(CLI::App& parent, const std::string& name, const std::string& help,
                        const std::string& example, const std::string& path,
                        std::function<void(const Json&)> print, Action& action) {
  struct Options {
    std::vector<std::string> assignments;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = parent.add_subcommand(name, help);
  cmd->add_option("changes", o->assignments, example);
  cmd->add_flag("--json", o->json, "Print the API's JSON");
  cmd->callback([o, path, print = std::move(print), &action] {
    action = [o, path, print](Client& c) -> Result<void> {
      Json changes = Json::object();
      for (const auto& a : o->assignments) {
        const auto eq = a.find('=');
        if (eq == std::string::npos || eq == 0) {
          return core::makeError(kUsage, "'" + a + "' is not KEY=VALUE");
        }
        changes[a.substr(0, eq)] = a.substr(eq + 1);
      }
      auto r = changes.empty() ? c.get(path) : c.put(path, changes);
      if (!r) return r.error();
      if (o->json) {
        std::cout << r->dump(2) << '\n';
      } else {
        print(*r);
      }
      return {};
    };
  });
}

void addAdminCommands(CLI::App& app, Action& action) {
  addSettingsCommand(app, "settings", "Show settings, or change them with KEY=VALUE",
                     "KEY=VALUE (e.g. total_lines=8)", "/api/v1/settings", printSettings, action);
  addDeviceCommands(app, action);
  {
    auto days = std::make_shared<int>(-1);
    auto* cmd = app.add_subcommand("cleanup", "Delete faxes older than the retention days now");
    cmd->add_option("--older-than", *days, "Days instead of the retention setting")
        ->check(CLI::NonNegativeNumber);
    cmd->callback([days, &action] {
      action = [days](Client& c) -> Result<void> {
        Json body = Json::object();
        if (*days >= 0) body["older_than_days"] = *days;
        auto r = c.post("/api/v1/maintenance/cleanup", body);
        if (!r) return r.error();
        std::cout << "deleted " << (*r)["deleted"] << " faxes\n";
        return {};
      };
    });
  }
  addTokenCommands(app, action);
  addGetCommand(
      app, "lines", "Fax lines in use, the queue, the trunks and the calls in progress",
      "/api/v1/lines",
      [](const Json& l) {
        std::cout << "lines      " << l["in_use"] << " of " << l["total"] << " in use ("
                  << l["inbound"] << " in, " << l["outbound"] << " out; " << l["reserved_inbound"]
                  << " reserved for inbound)\n"
                  << "queued     " << l["queued"] << '\n';
        // Older servers have no trunk list.
        for (const auto& t : l.value("trunks", Json::array())) {
          std::cout << "trunk      " << t.value("name", "?") << ": "
                    << (t.value("up", false) ? "up" : "DOWN") << ", " << t.value("calls", 0)
                    << " call(s)";
          const std::string reason = t.value("reason", "");
          if (!reason.empty()) std::cout << " (" << reason << ")";
          std::cout << '\n';
          // SIP: "register   provider: registered at 127.0.0.1:5070"
          for (const auto& r : t.value("registrations", Json::array())) {
            std::cout << "register   " << t.value("name", "?") << ':' << r.value("name", "?")
                      << ": " << (r.value("registered", false) ? "registered" : "NOT registered");
            if (!r.value("registrar", "").empty()) std::cout << " at " << r.value("registrar", "");
            if (!r.value("last_error", "").empty())
              std::cout << " (" << r.value("last_error", "") << ")";
            std::cout << '\n';
          }
        }
        // "call       17 out 0301234567 via loopback: sending page 2 of 3, 14400 bit/s, ECM, T.38"
        for (const auto& c : l.value("calls", Json::array())) {
          std::cout << "call       " << c.value("fax", 0) << ' ' << c.value("direction", "?") << ' '
                    << c.value("number", "") << " via " << c.value("trunk", "?") << ": "
                    << c.value("phase", "?");
          const std::string phase = c.value("phase", "");
          if (phase != "dialing") {
            std::cout << " page " << c.value("page", 0);
            if (c.contains("pages_total") && c["pages_total"].is_number()) {
              std::cout << " of " << c["pages_total"].get<int>();
            }
          }
          if (c.contains("bit_rate") && c["bit_rate"].is_number()) {
            std::cout << ", " << c["bit_rate"].get<int>() << " bit/s";
          }
          if (c.value("ecm", false)) std::cout << ", ECM";
          if (c.contains("media") && c["media"].is_string()) {
            std::cout << ", " << (c["media"] == "t38" ? "T.38" : "audio");
            if (c["media"] == "audio" && c.contains("codec")) std::cout << ' ' << cell(c["codec"]);
          }
          std::cout << '\n';
        }
      },
      action);
}

}  // namespace vfax::cli
