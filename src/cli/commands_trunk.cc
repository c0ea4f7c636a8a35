// vfax trunk ...: the IAX2 trunk's peers, registration and routing (admin), through
// /api/v1/trunks/iax2. Secrets go in, and only masked ones come back.
#include <iostream>
#include <memory>

#include "cli/commands.h"

namespace vfax::cli {
namespace {

constexpr const char* kPath = "/api/v1/trunks/iax2";

void printTrunk(const Json& t) {
  std::cout << "IAX2 trunk: " << (t.value("running", false) ? "running" : "not running")
            << ", bind " << t.value("bind", "") << ", codecs " << t.value("codecs", "")
            << ", outbound route "
            << (t.value("outbound", "").empty() ? "(default)" : t.value("outbound", "")) << '\n';
  for (const auto& p : t.value("peers", Json::array())) {
    std::cout << "  peer " << p.value("name", "") << "  secret " << p.value("secret", "") << "  "
              << (p.value("host", "").empty()
                      ? "dynamic"
                      : p.value("host", "") + ":" + std::to_string(p.value("port", 4569)))
              << "  "
              << (p.value("registered", false) ? "registered from " + p.value("address", "")
                                               : "not registered")
              << (p.value("trunk", false)
                      ? std::string("  trunk") +
                            (p.value("trunk_timestamps", true) ? "" : " (no timestamps)")
                      : "")
              << (p.value("calltoken", "required") == "optional" ? "  calltoken optional" : "")
              << (p.value("weak_secret", false) ? "  WEAK SECRET (shorter than 12 characters)" : "")
              << "  (" << p.value("source", "") << ")\n";
  }
  for (const auto& r : t.value("registrations", Json::array())) {
    std::cout << "  register " << r.value("username", "") << "@" << r.value("server", "") << ":"
              << r.value("port", 4569) << "  secret " << r.value("secret", "") << "  "
              << (r.value("registered", false) ? "registered"
                                               : "not registered " + r.value("last_error", ""))
              << (r.value("trunk", false)
                      ? std::string("  trunk") +
                            (r.value("trunk_timestamps", true) ? "" : " (no timestamps)")
                      : "")
              << '\n';
  }
}

Result<void> show(Result<Json> r, bool json) {
  if (!r) return r.error();
  if (json) {
    std::cout << r->dump(2) << '\n';
  } else {
    printTrunk(*r);
  }
  return {};
}

}  // namespace

void addTrunkCommands(CLI::App& app, Action& action) {
  auto* trunk = app.add_subcommand(
      "trunk", "The trunks: IAX2 (show, set, peer-add, ...) and SIP (trunk sip ...) (admin)");
  trunk->require_subcommand(1);
  addSipTrunkCommands(*trunk, action);
  addGetCommand(*trunk, "show", "Show the trunk's settings and registrations", kPath, printTrunk,
                action);
  {
    struct PeerOptions {
      std::string name, secret, host, username;
      int port = 4569;
      bool trunk = false;
      bool noTrunkTimestamps = false;
      std::string calltoken = "required";
      bool json = false;
    };
    auto o = std::make_shared<PeerOptions>();
    auto* cmd = trunk->add_subcommand("peer-add", "Add or change a peer (an iaxmodem or a PBX)");
    cmd->add_option("name", o->name, "Peer name (iaxmodem's peername)")->required();
    cmd->add_option("--secret", o->secret, "The peer's secret (at least 12 characters)")
        ->required();
    cmd->add_option("--host", o->host, "Static address (default: the peer registers)");
    cmd->add_option("--port", o->port, "Static port (default 4569)");
    cmd->add_option("--username", o->username, "Username we present when calling the peer");
    cmd->add_flag("--trunk", o->trunk,
                  "Send voice to this peer in IAX2 trunk frames (Asterisk: trunk=yes)");
    cmd->add_flag("--no-trunk-timestamps", o->noTrunkTimestamps,
                  "Trunk frames without a timestamp per call");
    cmd->add_option("--calltoken", o->calltoken,
                    "required (default) or optional: optional lets a peer that cannot do "
                    "CALLTOKEN (stock iaxmodem) in without one");
    cmd->add_flag("--json", o->json, "Print the API's JSON");
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        Json body{{"name", o->name},     {"calltoken", o->calltoken},
                  {"secret", o->secret}, {"host", o->host},
                  {"port", o->port},     {"username", o->username},
                  {"trunk", o->trunk},   {"trunk_timestamps", !o->noTrunkTimestamps}};
        return show(c.post(std::string(kPath) + "/peers", body), o->json);
      };
    });
  }
  {
    auto name = std::make_shared<std::string>();
    auto* cmd = trunk->add_subcommand("peer-rm", "Remove a peer added through the API");
    cmd->add_option("name", *name, "Peer name")->required();
    cmd->callback([name, &action] {
      action = [name](Client& c) -> Result<void> {
        return show(c.post(std::string(kPath) + "/peers/remove", Json{{"name", *name}}), false);
      };
    });
  }
  {
    struct SetOptions {
      std::string outbound, codecs, bind;
      bool json = false;
    };
    auto o = std::make_shared<SetOptions>();
    auto* cmd = trunk->add_subcommand("set", "Change the outbound route, codecs or bind address");
    auto* out = cmd->add_option("--outbound", o->outbound,
                                "Peer name or registration username for outbound calls");
    auto* codecs =
        cmd->add_option("--codecs", o->codecs, "Preference list, e.g. alaw,ulaw,slinear");
    auto* bind = cmd->add_option("--bind", o->bind, "ADDR:PORT to listen on");
    cmd->add_flag("--json", o->json, "Print the API's JSON");
    cmd->callback([o, out, codecs, bind, &action] {
      Json body = Json::object();
      if (*out) body["outbound"] = o->outbound;
      if (*codecs) body["codecs"] = o->codecs;
      if (*bind) body["bind"] = o->bind;
      action = [o, body](Client& c) -> Result<void> {
        if (body.empty()) return core::makeError(kUsage, "give at least one setting (see --help)");
        return show(c.put(kPath, body), o->json);
      };
    });
  }
  {
    struct RegOptions {
      std::string server, username, secret;
      int port = 4569;
      int refresh = 60;
      bool trunk = false;
      bool noTrunkTimestamps = false;
      bool json = false;
    };
    auto o = std::make_shared<RegOptions>();
    auto* cmd = trunk->add_subcommand("register",
                                      "Register vfax to a PBX (replaces the API's registration)");
    cmd->add_option("--server", o->server, "PBX address")->required();
    cmd->add_option("--port", o->port, "PBX port (default 4569)");
    cmd->add_option("--username", o->username, "Our peer name at the PBX")->required();
    cmd->add_option("--secret", o->secret, "Our secret at the PBX")->required();
    cmd->add_option("--refresh", o->refresh, "Seconds between registrations (default 60)");
    cmd->add_flag("--trunk", o->trunk,
                  "Send voice to the PBX in IAX2 trunk frames (its peer has trunk=yes)");
    cmd->add_flag("--no-trunk-timestamps", o->noTrunkTimestamps,
                  "Trunk frames without a timestamp per call");
    cmd->add_flag("--json", o->json, "Print the API's JSON");
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        Json reg{{"server", o->server},
                 {"port", o->port},
                 {"username", o->username},
                 {"secret", o->secret},
                 {"refresh_seconds", o->refresh},
                 {"trunk", o->trunk},
                 {"trunk_timestamps", !o->noTrunkTimestamps}};
        return show(c.put(kPath, Json{{"registrations", Json::array({reg})}}), o->json);
      };
    });
  }
}

}  // namespace vfax::cli
