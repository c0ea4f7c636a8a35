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
  auto* mail =
      app.add_subcommand("mail", "Mail gateway: settings, outbox, mailbox check, test mail");
  mail->require_subcommand(1);
  addSettingsCommand(*mail, "settings", "Show mail settings, or change them with KEY=VALUE",
                     "KEY=VALUE (e.g. smtp_host=mail.example.com)", "/api/v1/mail/settings",
                     printSettings, action);
  addGetCommand(*mail, "outbox", "Queued and sent mails, with delivery errors",
                "/api/v1/mail/outbox", printOutbox, action);
  {
    auto* cmd =
        mail->add_subcommand("check", "Poll the Mail-to-Fax mailbox now and show the result");
    cmd->callback([&action] {
      action = [](Client& c) -> Result<void> {
        auto r = c.post("/api/v1/mail/check", Json::object());
        if (!r) return r.error();
        const auto& check = (*r)["check"];
        if (check.value("ok", false)) {
          std::cout << "mailbox ok: " << check.value("mails_fetched", 0) << " mail(s) fetched\n";
          return {};
        }
        return core::makeError("mailbox_error", "the mailbox poll failed: " + text(check["error"]));
      };
    });
  }
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
