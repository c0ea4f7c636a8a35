#pragma once
// The mail gateway, put together: settings (config file as the base, changes through the API
// stored with sealed passwords), the outbox worker, the status-mail and fax-to-email observer,
// and the Mail-to-Fax poller. vfaxd constructs it after the Service, registers it as observer
// before Service::start(), and starts it after. It stops in two steps around the service: intake
// first (a poller inside Service::submit finishes that mail while the service still runs), the
// outbox last (it delivers the state mails the service's own stop produced).
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/mail_store.h"
#include "core/observer.h"
#include "core/secrets.h"
#include "core/service.h"
#include "mail/mail_settings.h"
#include "mail/mail_to_fax.h"
#include "mail/outbox.h"
#include "mail/poller.h"

namespace vfax::mail {

struct GatewayOptions {
  std::string dataDir;                        // staging folder and secret.key live here
  std::map<std::string, std::string> config;  // mail setting keys from the config file
};

class MailGateway final : public core::FaxObserver {
 public:
  MailGateway(core::Service& service, core::MailStore& store, const core::Clock& clock,
              GatewayOptions options);
  ~MailGateway() override;
  MailGateway(const MailGateway&) = delete;
  MailGateway& operator=(const MailGateway&) = delete;

  /// Reads the key and the settings. Errors: `invalid_setting` (config file), `storage_error`.
  core::Result<void> init();
  void start();
  /// Stops the Mail-to-Fax poller; returns once no mail is being taken in. Before the service
  /// stops: a mail being processed is submitted in full and removed from the mailbox.
  void stopIntake();
  /// Lets the outbox deliver what is due now (the last state mails) for at most `budget`, then
  /// stops its worker. Whatever is left stays queued in the store for the next start.
  void stopOutbox(std::chrono::milliseconds budget);
  /// Both, with no time for the outbox (destructor, tests).
  void stop();

  void onFaxStateChanged(const core::Fax& fax, core::FaxState previous) override;
  /// Drops delivered/failed outbox mails of that age; the records of processed mails only when
  /// the mailbox deletes what it fetched (otherwise they are what stops a kept mail being faxed
  /// again).
  void onRetentionCleanup(core::Millis cutoff) override;

  MailSettings settings() const;
  /// Masked.
  std::map<std::string, std::string> settingsMap() const;
  /// Validates, stores (passwords sealed), applies at once. Returns the masked settings.
  core::Result<std::map<std::string, std::string>> updateSettings(
      const std::map<std::string, std::string>& changes);
  core::Result<std::vector<core::OutboxMail>> outbox(int limit);
  core::Result<std::int64_t> sendTest(const std::string& to);
  /// Tells `to` that their print job `jobName` was not faxed and why (Print-to-Fax intake).
  void sendPrintRefusal(const std::string& to, const std::string& jobName,
                        const core::Error& reason);
  PollerStatus mailboxStatus() const;
  /// Polls the Mail-to-Fax mailbox now; the round's result.
  PollRound checkMailbox();

  Outbox& outboxWorker() { return *outbox_; }
  MailboxPoller& poller() { return *poller_; }

 private:
  core::Result<void> composeQueued(core::OutboxMail& m);

  core::Service& service_;
  core::MailStore& store_;
  void queueMailsMissedByACrash();
  const core::Clock& clock_;
  GatewayOptions options_;
  std::optional<core::SecretBox> secrets_;
  mutable std::mutex mu_;
  MailSettings settings_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<MailToFax> mailToFax_;
  std::unique_ptr<MailboxPoller> poller_;
};

}  // namespace vfax::mail
