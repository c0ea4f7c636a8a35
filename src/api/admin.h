#pragma once
// What the API needs of the mail gateway and of the IAX2 and SIP trunks' administration: small
// typed interfaces, so that api/ holds the HTTP/JSON mapping and depends on neither component (app/
// plugs them in). The components validate and apply; their errors are domain errors
// (invalid_setting, invalid_request, not_found, conflict, storage_error) mapped by errors.cc.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/mail_store.h"
#include "core/model.h"
#include "core/result.h"

namespace vfax::api {

// ---- /api/v1/mail ----------------------------------------------------------------------------

struct MailboxStatus {
  std::string lastError;  // empty: the last round worked
  core::Millis lastPollAt = 0;
  int mailsTaken = 0;
  bool idle = false;  // an IMAP IDLE connection is up
};

/// One poll of the Mail-to-Fax mailbox asked for by an admin (POST /mail/check).
struct MailCheck {
  bool ok = false;
  std::string error;  // in words, when not ok
  int fetched = 0;    // mails taken in by this poll
};

class MailAdmin {
 public:
  virtual ~MailAdmin() = default;
  /// Every mail setting by its key (smtp_host, mailbox_user, language, ...), passwords masked.
  virtual std::map<std::string, std::string> settings() const = 0;
  virtual MailboxStatus mailboxStatus() const = 0;
  /// Values as text ("true", "587", "a.test,b.test"); all or nothing. Errors: invalid_setting,
  /// storage_error.
  virtual core::Result<void> updateSettings(const std::map<std::string, std::string>& changes) = 0;
  /// The latest `limit` mails of the outbox, newest first.
  virtual core::Result<std::vector<core::OutboxMail>> outbox(int limit) = 0;
  /// Queues a test mail to `to`; its outbox id. Error invalid_request.
  virtual core::Result<std::int64_t> sendTest(const std::string& to) = 0;
  /// Polls the mailbox now and waits for the round. Error `conflict` when no mailbox is set.
  virtual core::Result<MailCheck> checkMailbox() = 0;
};

// ---- /api/v1/trunks/iax2 ---------------------------------------------------------------------

struct Iax2Peer {
  std::string name;
  std::string secret;  // masked when shown
  std::string host;    // static address; empty: the peer registers
  int port = 4569;
  std::string username;
  bool trunk = false;  // send voice in IAX2 trunk frames
  bool trunkTimestamps = true;
  bool callTokenRequired = true;  // `calltoken`: "required" | "optional"
};

struct Iax2Registration {
  std::string server;
  int port = 4569;
  std::string username;
  std::string secret;  // masked when shown
  int refreshSeconds = 60;
  bool trunk = false;
  bool trunkTimestamps = true;
};

/// `keepSecret`: the request gave no secret; the stored one stays.
struct Iax2PeerInput {
  Iax2Peer peer;
  bool keepSecret = false;
  bool keepCallToken = false;  // no "calltoken": an existing peer keeps its own
};

struct Iax2RegistrationInput {
  Iax2Registration registration;
  bool keepSecret = false;
};

/// Unset fields stay; peers and registrations, when set, replace the API's lists.
struct Iax2Update {
  std::optional<std::string> bind;
  std::optional<std::string> outbound;
  std::optional<std::string> codecs;
  std::optional<std::vector<Iax2PeerInput>> peers;
  std::optional<std::vector<Iax2RegistrationInput>> registrations;
};

struct Iax2PeerState {
  Iax2Peer peer;
  bool fromApi = false;  // false: from the config file
  bool registered = false;
  std::optional<std::string> address;
  bool weakSecret = false;  // stored before the 12-character minimum
};

struct Iax2RegistrationState {
  Iax2Registration registration;
  bool registered = false;
  std::optional<std::string> lastError;
};

/// While the trunk runs.
struct Iax2Runtime {
  std::string bound;
  int calls = 0;
  std::uint64_t framesIn = 0;
  std::uint64_t framesOut = 0;
  std::uint64_t dropped = 0;
  std::uint64_t retransmits = 0;
  std::uint64_t authFailures = 0;
  std::uint64_t trunkFramesIn = 0;
  std::uint64_t trunkFramesOut = 0;
  std::uint64_t trunkDropped = 0;
  std::uint64_t callTokensSent = 0;
  std::uint64_t pongsSent = 0;
  std::uint64_t unprovenDropped = 0;
};

struct Iax2State {
  bool running = false;
  std::string bind;
  std::string outbound;
  std::string codecs;
  std::optional<Iax2Runtime> runtime;
  std::vector<Iax2PeerState> peers;
  std::vector<Iax2RegistrationState> registrations;
};

class Iax2TrunkAdmin {
 public:
  virtual ~Iax2TrunkAdmin() = default;
  virtual Iax2State state() const = 0;
  virtual core::Result<Iax2State> update(const Iax2Update& change) = 0;
  /// Adds or replaces one peer.
  virtual core::Result<Iax2State> addPeer(const Iax2PeerInput& peer) = 0;
  /// Errors: not_found, conflict (a peer of the config file).
  virtual core::Result<Iax2State> removePeer(const std::string& name) = 0;
};

// ---- /api/v1/trunks/sip -----------------------------------------------------------------------

/// Settings of the SIP trunk by the config file's keys ([sip], [[sip.peer]], [[sip.register]];
/// docs/vfaxd.example.toml), values in text: numbers in decimal, booleans "true"/"false", lists
/// (listen, match) one item a line. The API checks the JSON types (routes_trunks_sip.cc); the
/// component checks the values.
using SipFields = std::map<std::string, std::string>;

/// A peer or registration as shown: its fields (secret masked), where it is defined, and the
/// running trunk's view of it (registered, registrar, last_error, expires_at for a
/// registration; reachable, last_error for a peer), empty while unknown.
struct SipEntryState {
  SipFields fields;
  bool fromApi = false;
  SipFields status;
};

/// While the trunk runs.
struct SipRuntime {
  std::vector<std::string> listening;
  std::string error;  // why it is not running
  int calls = 0;
  std::map<std::string, std::uint64_t> stats;  // invites_in, auth_failures, t38_switches, ...
};

struct SipState {
  bool running = false;
  SipFields settings;
  std::optional<SipRuntime> runtime;
  std::vector<SipEntryState> peers;
  std::vector<SipEntryState> registrations;
};

/// A change: `settings` holds the general keys to change (the rest stay); peers and
/// registrations, when set, replace the API's lists. A peer or registration without "secret"
/// keeps the stored one of its name.
struct SipUpdate {
  SipFields settings;
  std::optional<std::vector<SipFields>> peers;
  std::optional<std::vector<SipFields>> registrations;
};

/// The running trunk as GET /lines shows it.
struct SipRegistrationLine {
  std::string name;
  bool registered = false;
  std::string registrar;
  std::string lastError;
};
struct SipLineState {
  bool up = false;
  std::string reason;
  int calls = 0;
  std::vector<SipRegistrationLine> registrations;
};

class SipTrunkAdmin {
 public:
  virtual ~SipTrunkAdmin() = default;
  virtual SipState state() const = 0;
  virtual core::Result<SipState> update(const SipUpdate& change) = 0;
  /// Adds or replaces one API peer / registration.
  virtual core::Result<SipState> addPeer(const SipFields& peer) = 0;
  virtual core::Result<SipState> addRegistration(const SipFields& registration) = 0;
  /// Errors: not_found, conflict (one of the config file, or the outbound route).
  virtual core::Result<SipState> removePeer(const std::string& name) = 0;
  virtual core::Result<SipState> removeRegistration(const std::string& name) = 0;
  /// The running trunk's state and registrations (nullopt: no SIP trunk runs). /lines calls it.
  virtual std::optional<SipLineState> lineState() const = 0;
};

}  // namespace vfax::api
