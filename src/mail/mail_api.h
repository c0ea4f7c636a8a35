#pragma once
// The gateway's REST routes, handed to the API server as api::ExtraRoute:
//   GET  /api/v1/mail/settings   any token: the settings, passwords masked, and mailbox status
//   PUT  /api/v1/mail/settings   admin: {"key": value, ...} -> the settings
//   GET  /api/v1/mail/outbox     any token: the latest 100 queued mails with state and last error
//   POST /api/v1/mail/test       admin: {"to": "address"} queues a test mail
#include <vector>

#include "api/http_server.h"
#include "mail/gateway.h"

namespace vfax::mail {

std::vector<api::ExtraRoute> mailApiRoutes(MailGateway& gateway);

}  // namespace vfax::mail
