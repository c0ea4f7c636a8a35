#include "mail/gateway.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <thread>

#include "core/log_safe.h"
#include "mail/address.h"
#include "mail/composer.h"
#include "mail/curl_util.h"
#include "mail/mime_build.h"

namespace fs = std::filesystem;

namespace vfax::mail {

MailGateway::MailGateway(core::Service& service, core::MailStore& store, const core::Clock& clock,
                         GatewayOptions options)
    : service_(service), store_(store), clock_(clock), options_(std::move(options)) {
  initCurl();
  initGMime();
  auto source = [this] { return settings(); };
  outbox_ = std::make_unique<Outbox>(store_, clock_, source,
                                     [this](core::OutboxMail& m) { return composeQueued(m); });
  mailToFax_ = std::make_unique<MailToFax>(service_, store_, *outbox_, clock_,
                                           (fs::path(options_.dataDir) / "mail-staging").string());
  poller_ = std::make_unique<MailboxPoller>(source, *mailToFax_, store_, clock_);
}

MailGateway::~MailGateway() { stop(); }

core::Result<void> MailGateway::init() {
  auto box = core::SecretBox::loadOrCreate((fs::path(options_.dataDir) / "secret.key").string());
  if (!box) return box.error();
  secrets_ = std::move(*box);
  MailSettings s;
  for (const auto& [k, v] : options_.config) {
    if (auto r = assignMailSetting(s, k, v); !r) return r.error();
  }
  auto stored = store_.loadMailSettings();
  if (!stored) return stored.error();
  for (const auto& [k, v] : *stored) {
    std::string value = v;
    if (isSecretKey(k) && !v.empty()) {
      auto open = secrets_->open(v);
      if (!open) {
        spdlog::error("mail: the stored {} cannot be opened ({}); set it again", k,
                      open.error().message);
        continue;
      }
      value = *open;
    }
    if (auto r = assignMailSetting(s, k, value); !r) {
      spdlog::warn("mail: stored setting ignored: {}", core::logSafe(r.error().message, 600));
    }
  }
  if (auto r = validateMailSettings(s); !r) return r;
  std::lock_guard lock(mu_);
  settings_ = std::move(s);
  return {};
}

namespace {

// Said at start and whenever the settings change: a Mail-to-Fax that trusts the From alone, or
// one that can only take PINs, is the administrator's choice but should not go unnoticed.
void warnAboutSenderAuth(const MailSettings& s) {
  if (s.mailbox.server.empty()) return;
  if (s.senderAuth == SenderAuth::None) {
    spdlog::warn(
        "mail: sender_auth = none: Mail-to-Fax believes every From address; anyone who can mail "
        "the mailbox can fax as any device. Set sender_auth to either, pin or "
        "authentication-results.");
  } else if (s.senderAuth == SenderAuth::Either && s.trustedAuthservIds.empty()) {
    spdlog::warn(
        "mail: sender_auth = either but no trusted_authserv_ids: only a device PIN in the subject "
        "authenticates a Mail-to-Fax sender");
  }
}

}  // namespace

void MailGateway::start() {
  queueMailsMissedByACrash();
  outbox_->start();
  poller_->start();
  const auto s = settings();
  warnAboutSenderAuth(s);
  spdlog::info("mail: outbox via {} ({}), mailbox {}",
               s.smtp.host.empty() ? "(no SMTP server)" : s.smtp.host, toString(s.smtp.tls),
               s.mailbox.server.empty()
                   ? "off"
                   : std::string(toString(s.mailbox.protocol)) + "://" + s.mailbox.server);
}

// A fax's state and its mail are two writes: vfaxd killed between them (power, OOM, SIGKILL)
// would lose the mail for good. At start, the faxes of the last hour that reached a state a mail
// reports but have no such mail get it now (older ones are left alone: after a long outage, or
// with status mails switched on since, a flood of old news would help nobody).
void MailGateway::queueMailsMissedByACrash() {
  const MailSettings s = settings();
  auto missed = store_.mailsMissedByACrash(clock_.now() - 3600 * 1000);
  if (!missed) {
    spdlog::error("mail: cannot look for mails a crash left out: {}", missed.error().message);
    return;
  }
  for (auto& m : *missed) {
    if (m.kind == "status" && s.statusMails == StatusMails::Off) continue;
    spdlog::warn(
        "mail: fax {} reached '{}' without its {} mail (vfaxd stopped in between): "
        "queued now",
        m.faxId.value_or(0), m.faxState, m.kind);
    (void)outbox_->enqueue(std::move(m));
  }
}

void MailGateway::stopIntake() {
  if (poller_) poller_->stop();
}

void MailGateway::stopOutbox(std::chrono::milliseconds budget) {
  if (!outbox_) return;
  const auto deadline = std::chrono::steady_clock::now() + budget;
  outbox_->wake();
  // The worker sends due mails one by one; a mail it cannot send now gets a later due time, so
  // this ends as soon as nothing is deliverable, not only when everything was sent.
  while (std::chrono::steady_clock::now() < deadline) {
    auto due = store_.dueMails(clock_.now(), 1);
    if (!due || due->empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  outbox_->stop();
}

void MailGateway::stop() {
  stopIntake();
  stopOutbox(std::chrono::milliseconds(0));
}

MailSettings MailGateway::settings() const {
  std::lock_guard lock(mu_);
  return settings_;
}

std::map<std::string, std::string> MailGateway::settingsMap() const {
  return toMap(settings(), false);
}

core::Result<std::map<std::string, std::string>> MailGateway::updateSettings(
    const std::map<std::string, std::string>& changes) {
  static std::mutex updateMutex;
  std::lock_guard update(updateMutex);
  MailSettings s = settings();
  for (const auto& [k, v] : changes) {
    if (auto r = assignMailSetting(s, k, v); !r) return r.error();
  }
  if (auto r = validateMailSettings(s); !r) return r.error();
  std::map<std::string, std::string> toStore;
  for (const auto& [k, v] : changes)
    toStore[k] = isSecretKey(k) && secrets_ ? secrets_->seal(v) : v;
  if (auto r = store_.saveMailSettings(toStore); !r) return r.error();
  {
    std::lock_guard lock(mu_);
    settings_ = s;
  }
  if (changes.contains("sender_auth") || changes.contains("trusted_authserv_ids") ||
      changes.contains("mailbox_server")) {
    warnAboutSenderAuth(s);
  }
  outbox_->wake();
  poller_->wake();
  return toMap(s, false);
}

core::Result<std::vector<core::OutboxMail>> MailGateway::outbox(int limit) {
  return store_.listOutbox(limit);
}

core::Result<std::int64_t> MailGateway::sendTest(const std::string& to) {
  if (auto r = checkAddress(to, "to"); !r) return r.error();
  const MailSettings s = settings();
  Templates t(s.language, s.templatesDir);
  auto message = buildMessage(composeTest({s, t}, to));
  if (!message) return message.error();
  core::OutboxMail m;
  m.kind = "test";
  m.recipient = to;
  m.subject = "test";
  m.message = std::move(*message);
  return outbox_->enqueue(std::move(m));
}

void MailGateway::sendPrintRefusal(const std::string& to, const std::string& jobName,
                                   const core::Error& reason) {
  const MailSettings s = settings();
  Templates t(s.language, s.templatesDir);
  auto message = buildMessage(composePrintRefused({s, t}, to, jobName, reason.message));
  if (!message) {
    spdlog::error("mail: print refusal to {}: {}", core::logSafe(to), message.error().message);
    return;
  }
  core::OutboxMail m;
  m.kind = "print_refused";
  m.recipient = to;
  m.subject = "print job refused";
  m.message = std::move(*message);
  (void)outbox_->enqueue(std::move(m));
}

PollerStatus MailGateway::mailboxStatus() const { return poller_->status(); }

PollRound MailGateway::checkMailbox() { return poller_->checkNow(); }

void MailGateway::onRetentionCleanup(core::Millis cutoff) {
  const bool processedToo = settings().mailbox.deleteAfterFetch;
  auto n = store_.pruneMail(cutoff, processedToo);
  if (!n) {
    spdlog::error("mail: retention cleanup: {}", n.error().message);
    return;
  }
  spdlog::info("mail: retention cleanup removed {} old mail record(s){}", *n,
               processedToo ? "" : " (records of kept mailbox mails stay)");
}

void MailGateway::onFaxStateChanged(const core::Fax& fax, core::FaxState previous) {
  // On the scheduler thread: only a row goes into the store; the worker composes and sends.
  core::OutboxMail m;
  m.faxId = fax.id;
  m.faxState = std::string(core::toString(fax.state));
  m.previousState = std::string(core::toString(previous));
  if (fax.direction == core::Direction::In) {
    if (fax.state != core::FaxState::Received || previous == core::FaxState::Received ||
        !fax.deviceId)
      return;
    m.kind = "fax_received";
  } else if (previous == core::FaxState::Held && fax.state == core::FaxState::Failed) {
    // A held print job expired: its user is told whatever status_mails says, as nobody else
    // would ever learn that the printed document was not faxed.
    if (fax.notify.empty()) return;
    m.kind = "print_expired";
    m.recipient = fax.notify;
  } else {
    if (fax.notify.empty() || fax.state == core::FaxState::Held) return;
    if (!wantsStatusMail(settings().statusMails, fax.state, previous)) return;
    m.kind = "status";
    m.recipient = fax.notify;
    if (previous == fax.state && !core::isFinal(fax.state)) m.faxState = "queued";
  }
  (void)outbox_->enqueue(std::move(m));
}

core::Result<void> MailGateway::composeQueued(core::OutboxMail& m) {
  if (!m.faxId) return core::makeError("mail_error", "a queued mail without message and fax");
  auto fax = service_.get(*m.faxId);
  if (!fax) return fax.error();
  const MailSettings s = settings();
  Templates t(s.language, s.templatesDir);
  ComposeContext ctx{s, t};
  auto path = [&](core::DocumentKind k) {
    auto p = service_.documentPath(fax->id, k);
    return p ? *p : std::string();
  };
  FaxFiles files{path(core::DocumentKind::Pdf), path(core::DocumentKind::Tiff),
                 path(core::DocumentKind::Preview)};
  core::Result<OutgoingMail> mail =
      core::makeError("mail_error", "unknown kind of mail: " + m.kind);
  if (m.kind == "fax_received") {
    if (!fax->deviceId) return {};  // its device is gone: nobody to tell
    auto device = service_.device(*fax->deviceId);
    if (!device) return device.error();
    if (device->email.empty()) return {};  // nobody to tell
    if (files.pdf.empty() && device->inboundFormat != core::InboundFormat::Tiff) {
      return core::makeError("not_ready",
                             "the PDF of fax " + std::to_string(fax->id) + " is not there yet");
    }
    m.recipient = device->email;
    mail = composeFaxReceived(ctx, *fax, *device, files);
  } else if (m.kind == "print_expired") {
    mail = composePrintExpired(ctx, *fax);
  } else if (m.kind == "status") {
    auto state = core::faxStateFromString(m.faxState);
    mail = composeStatus(ctx, *fax, state.value_or(fax->state), files);
  }
  if (!mail) return mail.error();
  auto message = buildMessage(*mail);
  if (!message) return message.error();
  m.subject = mail->subject;
  m.message = std::move(*message);
  return {};
}

}  // namespace vfax::mail
