// vfax mail ...: the mail gateway's settings (SMTP, Mail-to-Fax mailbox, language, status mails),
// its outbox with delivery errors, and a test mail, through /api/v1/mail.
#include <iostream>
#include <memory>

#include "cli/commands.h"

namespace vfax::cli {
namespace {

std::string text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

void printSettings(const Json& s) {
  for (const auto& [k, v] : s.items()) {
    if (k == "mailbox_status") continue;
    std::cout << k << " = " << text(v) << '\n';
  }
  if (s.contains("mailbox_status")) {
    const auto& st = s["mailbox_status"];
    std::cout << "mailbox: " << st.value("mails_taken", 0) << " mail(s) taken"
              << (st.value("idle", false) ? ", IMAP IDLE up" : "")
              << (st.value("last_error", "").empty()
                      ? ""
                      : ", last error: " + st.value("last_error", ""))
              << '\n';
  }
}

void printOutbox(const Json& o) {
  for (const auto& m : o.value("mails", Json::array())) {
    std::cout << m.value("id", 0) << "  " << m.value("state", "") << "  " << m.value("kind", "")
              << "  to " << m.value("recipient", "") << "  attempts " << m.value("attempts", 0);
    if (!m.value("last_error", "").empty()) std::cout << "  error: " << m.value("last_error", "");
    std::cout << '\n';
  }
}

}  // namespace

void addMailCommands(CLI::App& app, Action& action) {
  auto* mail = app.add_subcommand("mail", "Mail gateway: settings, outbox, test mail");
  mail->require_subcommand(1);
  {
    struct Options {
      std::vector<std::string> assignments;
      bool json = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd =
        mail->add_subcommand("settings", "Show mail settings, or change them with KEY=VALUE");
    cmd->add_option("changes", o->assignments, "KEY=VALUE (e.g. smtp_host=mail.example.com)");
    cmd->add_flag("--json", o->json, "Print the API's JSON");
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        Json changes = Json::object();
        for (const auto& a : o->assignments) {
          const auto eq = a.find('=');
          if (eq == std::string::npos || eq == 0)
            return core::makeError(kUsage, "'" + a + "' is not KEY=VALUE");
          changes[a.substr(0, eq)] = a.substr(eq + 1);
        }
        auto r = changes.empty() ? c.get("/api/v1/mail/settings")
                                 : c.put("/api/v1/mail/settings", changes);
        if (!r) return r.error();
        if (o->json) {
          std::cout << r->dump(2) << '\n';
        } else {
          printSettings(*r);
        }
        return {};
      };
    });
  }
  addGetCommand(*mail, "outbox", "Queued and sent mails, with delivery errors",
                "/api/v1/mail/outbox", printOutbox, action);
  {
    auto to = std::make_shared<std::string>();
    auto* cmd = mail->add_subcommand("test", "Queue a test mail to ADDRESS");
    cmd->add_option("address", *to, "Recipient")->required();
    cmd->callback([to, &action] {
      action = [to](Client& c) -> Result<void> {
        auto r = c.post("/api/v1/mail/test", Json{{"to", *to}});
        if (!r) return r.error();
        std::cout << "test mail " << (*r)["id"] << " queued; see `vfax mail outbox`\n";
        return {};
      };
    });
  }
}

}  // namespace vfax::cli
