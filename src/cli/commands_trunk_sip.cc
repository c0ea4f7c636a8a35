// vfax trunk sip ...: the SIP trunk's settings, peers and registrations (admin), through
// /api/v1/trunks/sip. Secrets are read from a prompt, stdin or a file, never from the command
// line; only masked ones come back.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/commands.h"

namespace vfax::cli {
namespace {

constexpr const char* kPath = "/api/v1/trunks/sip";

std::string str(const Json& j, const char* key) {
  if (!j.contains(key)) return "";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

std::string joined(const Json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& x : list) out += (out.empty() ? "" : ", ") + x.get<std::string>();
  return out;
}

void printSip(const Json& t) {
  std::cout << "SIP trunk: " << (t.value("running", false) ? "running" : "not running");
  if (!str(t, "error").empty()) std::cout << " (" << str(t, "error") << ")";
  std::cout << "\n  listen " << joined(t.value("listen", Json::array()));
  if (t.contains("listening")) std::cout << " (listening on " << joined(t["listening"]) << ")";
  std::cout << "\n  outbound " << (str(t, "outbound").empty() ? "(default)" : str(t, "outbound"))
            << ", codecs " << str(t, "codecs") << ", calls " << t.value("calls", 0) << '\n'
            << "  t38 " << str(t, "t38") << " (max " << str(t, "t38_max_bitrate") << " bit/s, "
            << str(t, "t38_ec") << ", datagram " << str(t, "t38_max_datagram") << ")"
            << ", session timers " << str(t, "session_expires") << "/"
            << str(t, "min_session_expires") << " s, rtp ports " << str(t, "rtp_ports") << '\n';
  for (const auto& p : t.value("peers", Json::array())) {
    std::cout << "  peer " << str(p, "name") << "  "
              << (str(p, "host").empty()
                      ? std::string("inbound only")
                      : str(p, "transport") + ":" + str(p, "host") + ":" + str(p, "port"))
              << "  match " << (p.value("match", Json::array()).empty() ? "-" : joined(p["match"]));
    if (!str(p, "username").empty()) {
      std::cout << "  digest " << str(p, "username") << "/" << str(p, "secret");
    }
    if (p.contains("reachable")) {
      std::cout << "  " << (p.value("reachable", false) ? "reachable" : "NOT reachable");
    }
    if (!str(p, "last_error").empty()) std::cout << " (" << str(p, "last_error") << ")";
    std::cout << "  (" << str(p, "source") << ")\n";
  }
  for (const auto& r : t.value("registrations", Json::array())) {
    std::cout << "  register " << str(r, "name") << "  " << str(r, "username") << "@"
              << str(r, "registrar") << " (" << str(r, "transport") << ")  secret "
              << str(r, "secret") << "  "
              << (r.value("registered", false) ? "registered" : "NOT registered");
    if (r.value("registered", false) && !str(r, "registrar_in_use").empty()) {
      std::cout << " at " << str(r, "registrar_in_use");
    }
    if (!str(r, "last_error").empty()) std::cout << " (" << str(r, "last_error") << ")";
    std::cout << "  (" << str(r, "source") << ")\n";
  }
}

Result<void> show(Result<Json> r, bool json) {
  if (!r) return r.error();
  if (json) {
    std::cout << r->dump(2) << '\n';
  } else {
    printSip(*r);
  }
  return {};
}

// Where a peer's or registration's secret comes from: --secret-file, --secret-stdin, a prompt
// (--ask-secret, or by default for a registration on a terminal), or nowhere: the stored one of
// that name stays.
struct SecretSource {
  std::string file;
  bool fromStdin = false;
  bool ask = false;
  bool keep = false;

  void addOptions(CLI::App& cmd) {
    auto* f = cmd.add_option("--secret-file", file, "Read the secret from the first line of FILE");
    auto* s = cmd.add_flag("--secret-stdin", fromStdin, "Read the secret from stdin");
    auto* a = cmd.add_flag("--ask-secret", ask, "Ask for the secret (without echo)");
    auto* k = cmd.add_flag("--keep-secret", keep, "Keep the stored secret (when changing one)");
    f->excludes(s)->excludes(a)->excludes(k);
    s->excludes(a)->excludes(k);
    a->excludes(k);
  }

  // The secret, or nullopt to leave it out of the request.
  Result<std::optional<std::string>> read(bool askOnTerminal) const {
    if (!file.empty()) {
      auto s = readSecretFile(file);
      if (!s) return s.error();
      return std::optional<std::string>(*s);
    }
    if (fromStdin || ask || (askOnTerminal && !keep && isatty(STDIN_FILENO) != 0)) {
      auto s = readPassword("Secret: ");
      if (!s) return s.error();
      return std::optional<std::string>(*s);
    }
    return std::optional<std::string>();
  }
};

}  // namespace

void addSipTrunkCommands(CLI::App& trunk, Action& action) {
  auto* sip = trunk.add_subcommand("sip", "The SIP trunk: settings, peers, registrations");
  sip->require_subcommand(1);
  addGetCommand(*sip, "show", "Show the SIP trunk's settings, peers and registrations", kPath,
                printSip, action);
  {
    struct SetOptions {
      std::vector<std::string> assignments;
      bool json = false;
    };
    auto o = std::make_shared<SetOptions>();
    auto* cmd = sip->add_subcommand("set", "Change general settings with KEY=VALUE");
    cmd->add_option("changes", o->assignments,
                    "KEY=VALUE, keys as in [sip] of the config file (t38=detect, "
                    "codecs=PCMA,PCMU, listen=udp:0.0.0.0:5060,tls:0.0.0.0:5061, "
                    "session_expires=1800, tls_verify=false, ...)")
        ->required();
    cmd->add_flag("--json", o->json, "Print the API's JSON");
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        static const std::vector<std::string> kNumbers = {"t38_max_bitrate", "t38_max_datagram",
                                                          "t38_redundancy", "session_expires",
                                                          "min_session_expires"};
        Json body = Json::object();
        for (const auto& a : o->assignments) {
          const auto eq = a.find('=');
          if (eq == std::string::npos || eq == 0) {
            return core::makeError(kUsage, "'" + a + "' is not KEY=VALUE");
          }
          const std::string key = a.substr(0, eq);
          const std::string value = a.substr(eq + 1);
          if (key == "listen") {
            Json list = Json::array();
            for (std::size_t pos = 0; pos <= value.size();) {
              const auto comma = std::min(value.find(',', pos), value.size());
              if (comma > pos) list.push_back(value.substr(pos, comma - pos));
              pos = comma + 1;
            }
            body[key] = list;
          } else if (std::find(kNumbers.begin(), kNumbers.end(), key) != kNumbers.end()) {
            if (value.empty() || value.size() > 9 ||
                value.find_first_not_of("0123456789") != std::string::npos) {
              return core::makeError(kUsage, key + " must be a whole number");
            }
            body[key] = std::stoi(value);
          } else if (key == "tls_verify") {
            if (value != "true" && value != "false") {
              return core::makeError(kUsage, "tls_verify must be true or false");
            }
            body[key] = value == "true";
          } else {
            body[key] = value;
          }
        }
        return show(c.put(kPath, body), o->json);
      };
    });
  }

  auto* peer = sip->add_subcommand("peer", "Add, change or remove a peer (a PBX or gateway)");
  peer->require_subcommand(1);
  {
    struct PeerOptions {
      std::string name, host, transport = "udp", username, domain, callerId = "from";
      std::vector<std::string> match;
      int port = 5060;
      int keepalive = 60;
      bool noT38 = false;
      bool json = false;
      SecretSource secret;
    };
    auto o = std::make_shared<PeerOptions>();
    auto* cmd = peer->add_subcommand(
        "add", "Add a peer, or replace the API's peer of that name (what is not given resets)");
    cmd->add_option("name", o->name, "Peer name (letters, digits, . _ -)")->required();
    cmd->add_option("--host", o->host, "Where calls to the peer go (default: inbound only)");
    cmd->add_option("--port", o->port, "Its port (default 5060)");
    cmd->add_option("--match", o->match,
                    "Address or network inbound calls come from (repeat for more)");
    cmd->add_option("--transport", o->transport, "udp, tcp or tls (default udp)");
    cmd->add_option("--username", o->username,
                    "Digest user name (with a secret: inbound calls must authenticate)");
    cmd->add_option("--domain", o->domain, "Domain of our From/To URIs (default: the host)");
    cmd->add_option("--caller-id", o->callerId, "from, pai or both (default from)");
    cmd->add_flag("--no-t38", o->noT38, "Audio only with this peer");
    cmd->add_option("--keepalive", o->keepalive, "OPTIONS every N seconds, 0 = off (default 60)");
    o->secret.addOptions(*cmd);
    cmd->add_flag("--json", o->json, "Print the API's JSON");
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        Json body{{"name", o->name},           {"host", o->host},
                  {"port", o->port},           {"match", o->match},
                  {"transport", o->transport}, {"username", o->username},
                  {"domain", o->domain},       {"caller_id", o->callerId},
                  {"t38", !o->noT38},          {"keepalive", o->keepalive}};
        auto secret = o->secret.read(!o->username.empty());
        if (!secret) return secret.error();
        if (*secret) body["secret"] = **secret;
        return show(c.post(std::string(kPath) + "/peers", body), o->json);
      };
    });
  }
  {
    auto name = std::make_shared<std::string>();
    auto* cmd = peer->add_subcommand("rm", "Remove a peer added through the API");
    cmd->add_option("name", *name, "Peer name")->required();
    cmd->callback([name, &action] {
      action = [name](Client& c) -> Result<void> {
        return show(c.del(std::string(kPath) + "/peers/" + *name), false);
      };
    });
  }

  auto* reg = sip->add_subcommand("register", "Add, change or remove a registration");
  reg->require_subcommand(1);
  {
    struct RegOptions {
      std::string name, registrar, backup, transport = "udp", username, authUsername, domain,
                                           callerId = "from";
      int expires = 300;
      bool noT38 = false;
      bool json = false;
      SecretSource secret;
    };
    auto o = std::make_shared<RegOptions>();
    auto* cmd = reg->add_subcommand(
        "add", "Register to a PBX or provider, or replace the API's registration of that name");
    cmd->add_option("name", o->name, "Registration name (letters, digits, . _ -)")->required();
    cmd->add_option("--registrar", o->registrar, "host or host:port")->required();
    cmd->add_option("--backup-registrar", o->backup, "Used while the registrar does not answer");
    cmd->add_option("--transport", o->transport, "udp, tcp or tls (default udp)");
    cmd->add_option("--username", o->username, "User of the address of record")->required();
    cmd->add_option("--auth-username", o->authUsername, "Digest user (default: --username)");
    cmd->add_option("--domain", o->domain, "Domain of the address of record");
    cmd->add_option("--expires", o->expires, "Seconds asked for, 60-3600 (default 300)");
    cmd->add_option("--caller-id", o->callerId, "from, pai or both (default from)");
    cmd->add_flag("--no-t38", o->noT38, "Audio only through this registration");
    o->secret.addOptions(*cmd);
    cmd->add_flag("--json", o->json, "Print the API's JSON");
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        Json body{{"name", o->name},
                  {"registrar", o->registrar},
                  {"backup_registrar", o->backup},
                  {"transport", o->transport},
                  {"username", o->username},
                  {"auth_username", o->authUsername},
                  {"domain", o->domain},
                  {"expires", o->expires},
                  {"caller_id", o->callerId},
                  {"t38", !o->noT38}};
        auto secret = o->secret.read(true);
        if (!secret) return secret.error();
        if (*secret) body["secret"] = **secret;
        return show(c.post(std::string(kPath) + "/registrations", body), o->json);
      };
    });
  }
  {
    auto name = std::make_shared<std::string>();
    auto* cmd = reg->add_subcommand("rm", "Remove a registration added through the API");
    cmd->add_option("name", *name, "Registration name")->required();
    cmd->callback([name, &action] {
      action = [name](Client& c) -> Result<void> {
        return show(c.del(std::string(kPath) + "/registrations/" + *name), false);
      };
    });
  }
}

}  // namespace vfax::cli
