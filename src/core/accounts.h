#pragma once
// Accounts: users and their passwords, personal API tokens, web sessions, login throttling,
// who may see which device, and the audit log. Thread-safe; the API calls it on every request.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/model.h"
#include "core/result.h"
#include "core/store.h"

namespace vfax::core {

/// Who is asking: the user behind a token or session, and how they came in.
struct Caller {
  std::int64_t userId = 0;
  std::string username;
  std::string email;
  Role role = Role::User;
  std::string credential;  // "token 3 (ci)", "session", "mail", "system"
  std::optional<std::int64_t> tokenId;
  std::optional<std::int64_t> sessionId;
  std::string source;  // client address
  bool admin() const { return role == Role::Admin; }
};

/// The caller for work vfaxd does itself (retention, recovery).
Caller systemCaller();

struct AccountOptions {
  Millis sessionIdle = 8LL * 3600 * 1000;      // logged out after this long without a request
  Millis sessionMax = 7LL * 24 * 3600 * 1000;  // and after this long whatever the activity
  // Failed logins: per user and address, per address, and per user from anywhere.
  int failuresPerUserAndSource = 5;
  int failuresPerSource = 20;
  int failuresPerUser = 100;
  Millis failureWindow = 15LL * 60 * 1000;  // failures older than this are forgotten
  Millis maxBlock = 15LL * 60 * 1000;       // the longest wait after failed logins
};

struct NewUser {
  std::string username;
  std::string password;  // "" = none (cannot log in until one is set)
  Role role = Role::User;
  std::string name;
  std::string email;
  bool enabled = true;
};

struct UserChange {
  std::optional<std::string> username;
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<Role> role;
  std::optional<bool> enabled;
  std::optional<std::string> password;
  std::optional<std::string> currentPassword;  // required when a non-admin changes their own
};

struct NewToken {
  ApiToken token;
  std::string secret;  // shown once
};

struct Login {
  User user;
  WebSession session;
  std::string secret;     // the cookie's value, shown once
  std::string csrfToken;  // sent back in X-CSRF-Token on writes
};

struct LoginOutcome {
  std::optional<Login> login;
  Error error;                // when !login: unauthorized or too_many_requests
  int retryAfterSeconds = 0;  // with too_many_requests
};

class Accounts {
 public:
  Accounts(Store& store, const Clock& clock, AccountOptions options = {});
  ~Accounts();
  Accounts(const Accounts&) = delete;
  Accounts& operator=(const Accounts&) = delete;

  /// Loads (or creates) the hashing key; starts the audit writer.
  Result<void> start();
  /// Writes what the audit log still holds.
  void stop();

  // Users. Validation errors: invalid_request (naming the field), conflict (username taken, the
  // last enabled admin). Non-admins may change only their own name, email and password.
  Result<std::vector<User>> users();
  Result<User> user(std::int64_t id);
  Result<User> addUser(const NewUser& u);
  Result<User> updateUser(const Caller& caller, std::int64_t id, const UserChange& asked);
  Result<void> removeUser(std::int64_t id);
  Result<User> builtinAdmin();

  // Tokens: a caller creates and revokes their own; admins anyone's (forUser). Others' ids: 404.
  // `expiresIn` from now (0: never).
  Result<NewToken> createToken(const Caller& caller, const std::string& name,
                               std::optional<std::int64_t> forUser, Millis expiresIn);
  Result<std::vector<ApiToken>> tokens(const Caller& caller, std::optional<std::int64_t> ofUser);
  Result<void> revokeToken(const Caller& caller, std::int64_t id);
  /// Error `unauthorized` (unknown, expired, user disabled or gone).
  Result<Caller> authenticateToken(const std::string& secret, const std::string& source);

  /// Checks a username and password with the same throttling as login(), without a session
  /// (the printer's HTTP Basic authentication). The outcome's login holds only the user.
  LoginOutcome checkPassword(const std::string& username, const std::string& password,
                             const std::string& source);
  // Web sessions.
  LoginOutcome login(const std::string& username, const std::string& password,
                     const std::string& source);
  /// `touch` false: only checks (a live event stream must not keep an idle session alive).
  Result<Caller> authenticateSession(const std::string& secret, const std::string& source,
                                     bool touch = true);
  /// True when `token` is the CSRF token of the session whose cookie is `secret`.
  bool checkCsrf(const std::string& secret, const std::string& token) const;
  std::string csrfToken(const std::string& secret) const;
  Result<void> logout(const Caller& caller);
  Result<int> pruneSessions();

  /// The devices `caller` may see and use: every device for admins (nullopt), else those they
  /// own or are members of.
  Result<std::optional<std::vector<std::int64_t>>> visibleDevices(const Caller& caller);
  Result<std::vector<Device>> devicesOf(const Caller& caller);

  // Audit log. record() never blocks on the disk: entries are written in batches within a
  // fraction of a second (and at stop).
  void record(const Caller& caller, std::string action, std::string target,
              std::string detail = {});
  Result<std::vector<AuditEntry>> audit(const AuditQuery& q);
  Result<int> pruneAudit(Millis cutoff);
  void flushAudit();

  /// Password rules: 8 to 1024 characters. Error invalid_request.
  static Result<void> validatePassword(const std::string& password);

  /// Grows with every change that can end a credential or change what a user sees (logout,
  /// users, tokens, devices): open event streams check their caller again when it moves.
  std::uint64_t changeCount() const { return changes_.load(std::memory_order_relaxed); }
  void noteChange() { changes_.fetch_add(1, std::memory_order_relaxed); }

 private:
  struct Failures {
    int count = 0;
    Millis first = 0;  // the window runs from the first failure, not the last
    Millis last = 0;
    Millis blockedUntil = 0;
  };
  Result<std::string> keyedHash(std::string_view domain, const std::string& secret) const;
  Result<std::string> hashPassword(const std::string& password);
  bool verifyPassword(const std::string& hash, const std::string& password);
  Result<void> keepOneAdmin(const User& before, const UserChange& change);
  int blockedFor(const std::string& user, const std::string& source, Millis now);
  bool knownClient(const std::string& user, const std::string& source, Millis now);
  void noteFailure(const std::string& user, const std::string& source, Millis now);
  void auditLoop();

  Store& store_;
  const Clock& clock_;
  AccountOptions options_;
  std::vector<unsigned char> key_;  // BLAKE2b key for token and session hashes
  std::string dummyHash_;           // verified for unknown users, so timing tells nothing

  std::counting_semaphore<2> hashing_{2};  // argon2id takes 64 MiB each: at most two at once

  std::mutex throttleMu_;
  std::map<std::string, Failures> failures_;  // "u:NAME\nSRC", "s:SRC", "n:NAME"
  // "NAME\nSRC" -> last successful login: a user at an address they logged in from before is
  // held only by their own failures there, not by those of others (shared NAT, a guesser).
  std::map<std::string, Millis> knownClients_;
  std::mutex usersMu_;
  // Tokens already checked, by hash: every API request authenticates, and two store reads each
  // would queue behind the commits of submits. Cleared whenever a user or token changes (all such
  // changes go through this class), so a revoke or disable takes effect at once.
  struct CachedToken {
    Caller caller;
    Millis expiresAt = 0;
    Millis cachedAt = 0;
  };
  std::mutex cacheMu_;
  std::unordered_map<std::string, CachedToken> tokenCache_;
  std::atomic<std::uint64_t> changes_{0};
  std::uint64_t cacheGeneration_ = 0;  // a lookup that began before a change caches nothing
  void forgetCachedTokens();  // one read-modify-write of a user at a time (disable vs. self-update)
  std::uint64_t auditDropped_ = 0;

  std::mutex auditMu_;
  std::condition_variable auditCv_;
  std::vector<AuditEntry> auditQueue_;
  bool auditStop_ = false;
  bool auditWriting_ = false;
  bool auditRunning_ = false;
  std::thread auditThread_;
};

}  // namespace vfax::core
