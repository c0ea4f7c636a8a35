#pragma once
// Reading the Mail-to-Fax mailbox over IMAP or POP3 with libcurl (TLS, STARTTLS or none).
//
// IMAP: new mail is what is UNSEEN, or carries our keyword $VfaxPending. The keyword is set
// before a mail is fetched (fetching marks it \Seen), so a crash after the fetch still finds it
// again; it goes away when the mail is deleted (default) or marked \Seen, which happens only
// after its jobs are stored.
// POP3: every message is new; with delete off, the UIDLs already taken are remembered by the
// caller. DELE takes effect at QUIT, i.e. when the session is closed.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "mail/mail_settings.h"

namespace vfax::mail {

struct MailboxEntry {
  std::string id;   // IMAP UID, or POP3 message number
  std::string uid;  // IMAP UID, or POP3 UIDL: stable across sessions
};

class MailboxSession {
 public:
  virtual ~MailboxSession() = default;
  /// Mails waiting, oldest first. Error `mailbox_error` (connect, TLS, login, protocol).
  virtual core::Result<std::vector<MailboxEntry>> list() = 0;
  virtual core::Result<std::string> fetch(const MailboxEntry& e, size_t maxBytes) = 0;
  /// After the mail's jobs are stored: delete it, or mark it seen.
  virtual core::Result<void> finish(const MailboxEntry& e, bool deleteIt) = 0;
  /// Expunge (IMAP) / QUIT (POP3): make deletions final.
  virtual core::Result<void> close() = 0;
};

std::unique_ptr<MailboxSession> openMailbox(const MailboxSettings& s);

/// Waits for new mail with IMAP IDLE on a connection of its own. libcurl has no IDLE command,
/// so the session is opened in CONNECT_ONLY mode (libcurl logs in, with TLS as configured) and
/// SELECT / IDLE / DONE are spoken over curl_easy_send/recv.
class IdleWatcher {
 public:
  explicit IdleWatcher(const MailboxSettings& s);
  ~IdleWatcher();
  IdleWatcher(const IdleWatcher&) = delete;
  IdleWatcher& operator=(const IdleWatcher&) = delete;

  /// Returns true when the server reported new mail, false on timeout or when `stop` became
  /// true; an error when IDLE is not possible (the caller falls back to polling).
  /// `idling` (optional) is true while the server is in IDLE for us.
  core::Result<bool> wait(int timeoutMs, const std::atomic<bool>& stop,
                          std::atomic<bool>* idling = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vfax::mail
