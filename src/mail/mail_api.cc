#include "mail/mail_api.h"

#include <nlohmann/json.hpp>

namespace vfax::mail {
namespace {

using Json = nlohmann::json;

core::Result<Json> parseBody(const std::string& body) {
  auto j = Json::parse(body.empty() ? "{}" : body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return core::makeError("invalid_json", "the body must be a JSON object");
  return j;
}

Json settingsJson(MailGateway& g) {
  Json out = Json::object();
  for (const auto& [k, v] : g.settingsMap()) out[k] = v;
  const auto st = g.mailboxStatus();
  out["mailbox_status"] = {{"last_error", st.lastError},
                           {"last_poll_at", st.lastPollAt},
                           {"mails_taken", st.mailsTaken},
                           {"idle", st.idle}};
  return out;
}

}  // namespace

std::vector<api::ExtraRoute> mailApiRoutes(MailGateway& gateway) {
  MailGateway* g = &gateway;
  std::vector<api::ExtraRoute> routes;
  routes.push_back(
      {"GET", "/api/v1/mail/settings", false,
       [g](const std::string&) -> core::Result<std::string> { return settingsJson(*g).dump(); }});
  routes.push_back({"PUT", "/api/v1/mail/settings", true,
                    [g](const std::string& body) -> core::Result<std::string> {
                      auto j = parseBody(body);
                      if (!j) return j.error();
                      std::map<std::string, std::string> changes;
                      for (const auto& [k, v] : j->items()) {
                        if (v.is_string()) {
                          changes[k] = v.get<std::string>();
                        } else if (v.is_boolean()) {
                          changes[k] = v.get<bool>() ? "true" : "false";
                        } else if (v.is_number_integer()) {
                          changes[k] = std::to_string(v.get<long long>());
                        } else if (v.is_array()) {
                          std::string list;
                          for (const auto& item : v) {
                            if (item.is_string())
                              list += (list.empty() ? "" : ",") + item.get<std::string>();
                          }
                          changes[k] = list;
                        } else {
                          return core::makeError("invalid_setting",
                                                 k + " must be a string, number or boolean");
                        }
                      }
                      auto r = g->updateSettings(changes);
                      if (!r) return r.error();
                      return settingsJson(*g).dump();
                    }});
  routes.push_back(
      {"GET", "/api/v1/mail/outbox", false, [g](const std::string&) -> core::Result<std::string> {
         auto list = g->outbox(100);
         if (!list) return list.error();
         Json items = Json::array();
         for (const auto& m : *list) {
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
         return Json{{"mails", items}}.dump();
       }});
  routes.push_back({"POST", "/api/v1/mail/test", true,
                    [g](const std::string& body) -> core::Result<std::string> {
                      auto j = parseBody(body);
                      if (!j) return j.error();
                      const std::string to = j->value("to", "");
                      auto id = g->sendTest(to);
                      if (!id) return id.error();
                      return Json{{"id", *id}, {"state", "pending"}}.dump();
                    }});
  return routes;
}

}  // namespace vfax::mail
