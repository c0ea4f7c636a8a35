#pragma once
// The domain records: faxes (both directions), attempts, devices, API tokens.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vfax::core {

using Millis = std::int64_t;  // Unix time in milliseconds

enum class Direction { In, Out };

/// Job states (outbound) and inbound states share one enum because they share the JSON `state`.
enum class FaxState {
  Queued,
  Converting,
  Waiting,
  Dialing,
  Sending,
  Done,
  Failed,
  Canceled,
  Receiving,
  Received,
  /// Outbound, from Print-to-Fax: its pages are ready but it has no number yet. Never dialled;
  /// released (number given: queued), deleted, or failed once print_hold_hours have passed.
  Held,
};

/// How a call ended, as the scheduler needs it to decide on retries.
enum class OutcomeClass {
  Ok,
  Busy,
  NoAnswer,
  Dropped,       // call or fax session cut in the middle (incl. a crash of vfaxd)
  Refused,       // remote refused the fax (no fax receiver, DCN, rejected page)
  Incompatible,  // no common modem / resolution / compression
  LocalError,    // our side: document, file, configuration, no trunk
  Canceled,
  /// Temporary trunk trouble: no call was placed (peer unreachable or not registered yet, trunk
  /// not bound or stopping, local congestion, a host name still resolving). Retried with its own
  /// back-off; spends no send attempt.
  Unavailable,
};

/// One call's result. `code` is the source code (spandsp T30_ERR_*, or a trunk hangup cause) for
/// support; `reason` is readable text.
struct CallOutcome {
  OutcomeClass cls = OutcomeClass::LocalError;
  int code = 0;
  std::string reason;
};

/// One call of a fax (outbound attempt or the single inbound call).
/// What a call's fax data went over: G.711 audio (through the fax modems) or T.38 packets.
enum class FaxMedia { Audio, T38 };

struct Attempt {
  std::int64_t id = 0;
  std::int64_t faxId = 0;
  Millis startedAt = 0;
  Millis endedAt = 0;  // 0 while running
  OutcomeClass outcome = OutcomeClass::Ok;
  bool finished = false;
  int code = 0;
  std::string reason;
  int bitRate = 0;
  bool ecm = false;
  std::string compression;  // "T.4 1D", "T.4 2D", "T.6"
  int pages = 0;            // pages confirmed in this call
  std::string remoteId;
  FaxMedia media = FaxMedia::Audio;  // what the fax data went over in the end
  std::string codec;                 // the audio codec the trunk negotiated ("PCMA"), or empty
};

struct Fax {
  std::int64_t id = 0;
  Direction direction = Direction::Out;
  FaxState state = FaxState::Queued;
  std::string number;      // E.164 (+4989123456) where known; inbound: caller number
  std::string dialString;  // outbound: what the PBX gets
  std::string extension;   // inbound: dialled extension; outbound: internal target extension if any
  std::optional<std::int64_t> deviceId;
  int pages = 0;       // confirmed (out) / received (in)
  int pagesTotal = 0;  // pages of the document (out) / received (in)
  std::string remoteId;
  Millis createdAt = 0;
  Millis updatedAt = 0;
  std::vector<Attempt> attempts;  // filled by the store on read
  std::string error;              // set when failed
  // Outbound job fields.
  int priority = 0;  // higher first
  std::string tag;
  std::string notify;
  int attemptCount = 0;
  Millis nextAttemptAt = 0;
  std::string tsi;
  bool fine = true;
  std::vector<std::string> sourceFiles;  // names under the fax folder, in order
  std::string callerId;                  // inbound: caller id name/number from the trunk
  bool coverPage = false;                // outbound: a cover page goes first
  std::string subject;                   // cover page / mail subject
  std::string comment;                   // cover page text
  std::string origin;                    // where the job came from: api, mail, print
  std::optional<std::int64_t> userId;    // outbound: who submitted it (unset: vfaxd itself)
};

/// A job whose only source file is this name was queued with its fax pages ready (a preview
/// sent, a fax sent again): its fax.tif is its own and it is never converted. Converted sources are
/// named source-N.TYPE, so the name cannot clash.
inline constexpr const char* kReadySource = "fax.tif";

enum class DeviceKind { User, Team };
enum class InboundFormat { Pdf, Tiff, Inline };

struct Device {
  std::int64_t id = 0;
  DeviceKind kind = DeviceKind::User;
  std::string name;
  std::string email;
  std::string extension;
  std::string tsi;  // empty: derived from settings
  InboundFormat inboundFormat = InboundFormat::Pdf;
  std::optional<std::int64_t> owner;  // kind user: the user it belongs to (unset: admins only)
  std::vector<std::int64_t> members;  // kind team: its members, ascending
  std::string pinHash;  // Mail-to-Fax PIN, argon2id (core/pin.h); empty: none. Never shown.
};

enum class Role { Admin, User };

/// A person (or a system, e.g. a monitoring scraper) that uses vfax. The password is stored only
/// as an argon2id hash (libsodium's crypto_pwhash_str format); empty: cannot log in with one.
struct User {
  std::int64_t id = 0;
  std::string username;  // unique, case-insensitive
  std::string name;      // display name
  std::string email;
  Role role = Role::User;
  bool enabled = true;
  bool builtin = false;  // the bootstrap admin: cannot be deleted
  std::string passwordHash;
  Millis createdAt = 0;
  Millis updatedAt = 0;
};

/// A personal API token. It carries exactly its user's rights.
struct ApiToken {
  std::int64_t id = 0;
  std::int64_t userId = 0;
  std::string name;
  std::string hash;    // hex of a keyed BLAKE2b of the secret; the secret itself is never stored
  std::string prefix;  // first characters of the secret, to recognise it in lists
  Millis createdAt = 0;
  Millis lastUsedAt = 0;
  Millis expiresAt = 0;  // 0: never
};

/// A web page login. Only a keyed hash of the cookie's secret is stored.
struct WebSession {
  std::int64_t id = 0;
  std::int64_t userId = 0;
  std::string hash;
  Millis createdAt = 0;
  Millis lastSeenAt = 0;
  Millis expiresAt = 0;  // absolute end, whatever the activity
  std::string source;    // address it logged in from
};

/// One row of the audit log: who did what, when, from where.
struct AuditEntry {
  std::int64_t id = 0;
  Millis at = 0;
  std::optional<std::int64_t> userId;
  std::string username;    // as it was then (the user may be gone)
  std::string credential;  // "token 3 (ci)", "session", "mail", "system", ...
  std::string source;      // client address, or "" for vfaxd itself
  std::string action;      // login, login_failed, fax.send, device.update, ...
  std::string target;      // "fax 12", "user 3", ...
  std::string detail;      // short, no secrets
};

std::string_view toString(Direction d);
std::string_view toString(FaxState s);
std::string_view toString(OutcomeClass c);
std::string_view toString(DeviceKind k);
std::string_view toString(InboundFormat f);
std::string_view toString(Role r);
std::string_view toString(FaxMedia m);
std::optional<FaxMedia> faxMediaFromString(std::string_view s);
std::optional<Role> roleFromString(std::string_view s);
std::optional<Direction> directionFromString(std::string_view s);
std::optional<FaxState> faxStateFromString(std::string_view s);
std::optional<OutcomeClass> outcomeClassFromString(std::string_view s);
std::optional<DeviceKind> deviceKindFromString(std::string_view s);
std::optional<InboundFormat> inboundFormatFromString(std::string_view s);

bool isFinal(FaxState s);  // done, failed, canceled, received (not held)

}  // namespace vfax::core
