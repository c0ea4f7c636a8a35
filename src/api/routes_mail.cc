// /api/v1/mail over api::MailAdmin (the mail gateway, plugged in by app/):
//   GET  /mail/settings   admin: the settings, passwords masked, and the mailbox status
//   PUT  /mail/settings   admin: {"key": value, ...} -> the settings
//   GET  /mail/outbox     the latest 100 queued mails with state and last error (users: theirs)
//   POST /mail/test       admin: {"to": "address"} queues a test mail
//   POST /mail/check      admin: polls the mailbox now -> the settings, status and the poll's
//   result
#include "api/admin.h"
#include "api/routes.h"

namespace vfax::api::detail {

namespace {

core::Result<Json> mailBody(const std::string& body) {
  auto j = Json::parse(body.empty() ? "{}" : body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return core::makeError("invalid_json", "the body must be a JSON object");
  }
  return j;
}

Json settingsJson(const MailAdmin& mail) {
  Json out = Json::object();
  for (const auto& [k, v] : mail.settings()) out[k] = v;
  const auto st = mail.mailboxStatus();
  out["mailbox_status"] = {{"last_error", st.lastError},
                           {"last_poll_at", st.lastPollAt},
                           {"mails_taken", st.mailsTaken},
                           {"idle", st.idle}};
  return out;
}

// JSON values to the gateway's text form: booleans as true/false, lists comma separated.
core::Result<std::map<std::string, std::string>> settingChanges(const Json& body) {
  std::map<std::string, std::string> changes;
  for (const auto& [k, v] : body.items()) {
    if (v.is_string()) {
      changes[k] = v.get<std::string>();
    } else if (v.is_boolean()) {
      changes[k] = v.get<bool>() ? "true" : "false";
    } else if (v.is_number_integer()) {
      changes[k] = std::to_string(v.get<long long>());
    } else if (v.is_array()) {
      std::string list;
      for (const auto& item : v) {
        if (item.is_string()) list += (list.empty() ? "" : ",") + item.get<std::string>();
      }
      changes[k] = list;
    } else {
      return core::makeError("invalid_setting", k + " must be a string, number or boolean");
    }
  }
  return changes;
}

Json outboxJson(const std::vector<core::OutboxMail>& mails) {
  Json items = Json::array();
  for (const auto& m : mails) {
    items.push_back({{"id", m.id},
                     {"kind", m.kind},
                     {"fax_id", m.faxId ? Json(*m.faxId) : Json()},
                     {"fax_state", m.faxState},
                     {"recipient", m.recipient},
                     {"subject", m.subject},
                     {"state", std::string(core::toString(m.state))},
                     {"attempts", m.attempts},
                     {"next_attempt_at", m.nextAttemptAt},
                     {"last_error", m.lastError},
                     {"created_at", m.createdAt},
                     {"sent_at", m.sentAt}});
  }
  return {{"mails", std::move(items)}};
}

}  // namespace

void addMailRoutes(httplib::Server& server, Context& ctx, MailAdmin& mail) {
  server.Get("/api/v1/mail/settings", guarded(ctx, Access::Admin, [&mail](const auto&, auto& res) {
               replyJson(res, 200, settingsJson(mail));
             }));
  server.Put(
      "/api/v1/mail/settings",
      guardedAs(ctx, Access::Admin, [&ctx, &mail](const auto& req, auto& res, const auto& c) {
        auto body = mailBody(req.body);
        if (!body) return replyError(res, body.error());
        auto changes = settingChanges(*body);
        if (!changes) return replyError(res, changes.error());
        if (auto r = mail.updateSettings(*changes); !r) return replyError(res, r.error());
        std::string keys;
        for (const auto& [k, v] : *changes) keys += (keys.empty() ? "" : ", ") + k;
        audit(ctx, c, "mail.update", "mail settings", keys);
        replyJson(res, 200, settingsJson(mail));
      }));
  server.Get("/api/v1/mail/outbox",
             guardedAs(ctx, Access::Token, [&ctx, &mail](const auto&, auto& res, const auto& c) {
               auto list = mail.outbox(100);
               if (!list) return replyError(res, list.error());
               if (!c.admin()) {
                 // A user sees the mails about their own faxes (not by address: a user sets
                 // their own e-mail address, and could pick someone else's).
                 std::erase_if(*list, [&](const core::OutboxMail& m) {
                   return !m.faxId || !ctx.service.getFor(c, *m.faxId).ok();
                 });
               }
               replyJson(res, 200, outboxJson(*list));
             }));
  server.Post("/api/v1/mail/check",
              guardedAs(ctx, Access::Admin, [&ctx, &mail](const auto&, auto& res, const auto& c) {
                auto r = mail.checkMailbox();
                if (!r) return replyError(res, r.error());
                audit(ctx, c, "mail.check", "mailbox",
                      r->ok ? std::to_string(r->fetched) + " mail(s)" : r->error);
                Json out = settingsJson(mail);
                out["check"] = {{"ok", r->ok},
                                {"error", r->ok ? Json() : Json(r->error)},
                                {"mails_fetched", r->fetched}};
                replyJson(res, 200, out);
              }));
  server.Post(
      "/api/v1/mail/test",
      guardedAs(ctx, Access::Admin, [&ctx, &mail](const auto& req, auto& res, const auto& c) {
        auto body = mailBody(req.body);
        if (!body) return replyError(res, body.error());
        auto id = mail.sendTest(body->value("to", ""));
        if (!id) return replyError(res, id.error());
        audit(ctx, c, "mail.test", "mail " + std::to_string(*id));
        replyJson(res, 200, {{"id", *id}, {"state", "pending"}});
      }));
}

}  // namespace vfax::api::detail
