#include "core/accounts.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "core/hex.h"
#include "core/log_safe.h"
#include "core/mail_address.h"

namespace vfax::core {

namespace {

constexpr const char* kKeyMeta = "token_hash_key";  // shared with tokens from before accounts
constexpr std::size_t kMaxThrottleEntries = 10'000;
constexpr Millis kTouchEvery = 60'000;  // one write a minute per token or session is plenty
constexpr Millis kKnownClientFor = 30LL * 24 * 3600 * 1000;
constexpr std::size_t kMaxAuditQueue = 10'000;  // beyond this, entries are counted, not kept

// Throttling key of a client address: IPv6 by its /64 (one host owns a whole /64 and could rotate
// through it), IPv4 and v4-mapped addresses as they are.
std::string throttleSource(const std::string& addr) {
  if (addr.find(':') == std::string::npos || addr.rfind("::ffff:", 0) == 0) return addr;
  unsigned char raw[16];
  if (inet_pton(AF_INET6, addr.c_str(), raw) != 1) return addr;
  char out[64];
  std::snprintf(out, sizeof out, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", raw[0], raw[1], raw[2],
                raw[3], raw[4], raw[5], raw[6], raw[7]);
  return out;
}

// Text from outside (a username typed at login, a number) goes into the audit log without
// control characters, so that it cannot move a terminal's cursor when shown.
std::string printable(std::string s, std::size_t max) {
  if (s.size() > max) s.resize(max);
  for (auto& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return s;
}

std::string randomSecret(const char* prefix, size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string b64(sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(b64.data(), b64.size(), raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  b64.resize(std::strlen(b64.c_str()));
  return prefix + b64;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Result<void> validateUsername(const std::string& u) {
  const bool ok = !u.empty() && u.size() <= 64 && std::isalnum(static_cast<unsigned char>(u[0])) &&
                  std::all_of(u.begin(), u.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                           c == '-' || c == '@';
                  });
  if (!ok) {
    return makeError("invalid_request",
                     "username: 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a "
                     "letter or digit");
  }
  return {};
}

Result<void> validateText(const std::string& field, const std::string& v, size_t max) {
  if (v.size() > max || std::any_of(v.begin(), v.end(),
                                    [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return makeError("invalid_request", field + ": at most " + std::to_string(max) +
                                            " characters, no control characters");
  }
  return {};
}

Result<void> validateEmail(const std::string& e) {
  if (e.empty()) return {};
  return validateMailAddress(e, "email");
}

Error notFoundToken(std::int64_t id) {
  return makeError("not_found", "there is no token " + std::to_string(id));
}

}  // namespace

Caller systemCaller() {
  Caller c;
  c.role = Role::Admin;
  c.username = "vfaxd";
  c.credential = "system";
  return c;
}

Accounts::Accounts(Store& store, const Clock& clock, AccountOptions options)
    : store_(store), clock_(clock), options_(options) {}

Accounts::~Accounts() { stop(); }

Result<void> Accounts::start() {
  if (sodium_init() < 0) return makeError("internal", "libsodium failed to initialise");
  auto key = store_.meta(kKeyMeta);
  if (!key) return key.error();
  if (!*key) {
    unsigned char raw[crypto_generichash_KEYBYTES];
    randombytes_buf(raw, sizeof raw);
    if (auto r = store_.setMeta(kKeyMeta, toHex(raw, sizeof raw)); !r) return r;
    key = store_.meta(kKeyMeta);
    if (!key || !*key) return makeError("storage_error", "cannot store the token key");
  }
  key_.assign(crypto_generichash_KEYBYTES, 0);
  size_t len = 0;
  if (sodium_hex2bin(key_.data(), key_.size(), (*key)->c_str(), (*key)->size(), nullptr, &len,
                     nullptr) != 0 ||
      len != key_.size()) {
    return makeError("storage_error", "the token key in the database is damaged");
  }
  if (dummyHash_.empty()) {
    auto h = hashPassword(randomSecret("", 16));
    if (!h) return h.error();
    dummyHash_ = *h;
  }
  std::lock_guard lock(auditMu_);
  if (!auditRunning_) {
    auditStop_ = false;
    auditRunning_ = true;
    auditThread_ = std::thread([this] { auditLoop(); });
  }
  return {};
}

void Accounts::stop() {
  {
    std::lock_guard lock(auditMu_);
    if (!auditRunning_) return;
    auditStop_ = true;
  }
  auditCv_.notify_all();
  if (auditThread_.joinable()) auditThread_.join();
  std::lock_guard lock(auditMu_);
  auditRunning_ = false;
}

// --- hashing

Result<std::string> Accounts::keyedHash(std::string_view domain, const std::string& secret) const {
  if (key_.empty()) return makeError("unavailable", "vfaxd is starting");
  crypto_generichash_state st;
  crypto_generichash_init(&st, key_.data(), key_.size(), 32);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(domain.data()),
                            domain.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(secret.data()),
                            secret.size());
  unsigned char out[32];
  crypto_generichash_final(&st, out, sizeof out);
  return toHex(out, sizeof out);
}

Result<std::string> Accounts::hashPassword(const std::string& password) {
  char out[crypto_pwhash_STRBYTES];
  if (!hashing_.try_acquire_for(std::chrono::seconds(5))) {
    return makeError("unavailable", "too many password checks at once; try again in a moment");
  }
  const int rc =
      crypto_pwhash_str(out, password.c_str(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE);
  hashing_.release();
  if (rc != 0) return makeError("internal", "not enough memory to hash the password");
  return std::string(out);
}

bool Accounts::verifyPassword(const std::string& hash, const std::string& password) {
  // A flood of logins waits here at most a few seconds: the HTTP workers are not held for long.
  if (!hashing_.try_acquire_for(std::chrono::seconds(5))) return false;
  const bool ok = crypto_pwhash_str_verify(hash.c_str(), password.c_str(), password.size()) == 0;
  hashing_.release();
  return ok;
}

Result<void> Accounts::validatePassword(const std::string& password) {
  if (password.size() < 8 || password.size() > 1024) {
    return makeError("invalid_request", "password: 8 to 1024 characters");
  }
  return {};
}

// --- users

Result<std::vector<User>> Accounts::users() { return store_.listUsers(); }

Result<User> Accounts::user(std::int64_t id) {
  auto u = store_.user(id);
  if (!u) return u.error();
  if (!*u) return makeError("not_found", "there is no user " + std::to_string(id));
  return **u;
}

Result<User> Accounts::builtinAdmin() {
  auto all = store_.listUsers();
  if (!all) return all.error();
  for (const auto& u : *all)
    if (u.builtin) return u;
  return makeError("not_found", "the built-in admin user is missing");
}

Result<User> Accounts::addUser(const NewUser& in) {
  std::lock_guard users(usersMu_);
  if (auto r = validateUsername(in.username); !r) return r.error();
  if (auto r = validateText("name", in.name, 200); !r) return r.error();
  if (auto r = validateEmail(in.email); !r) return r.error();
  User u;
  u.username = in.username;
  u.name = in.name;
  u.email = in.email;
  u.role = in.role;
  u.enabled = in.enabled;
  if (!in.password.empty()) {
    if (auto r = validatePassword(in.password); !r) return r.error();
    auto h = hashPassword(in.password);
    if (!h) return h.error();
    u.passwordHash = *h;
  }
  u.createdAt = u.updatedAt = clock_.now();
  return store_.insertUser(u);
}

Result<void> Accounts::keepOneAdmin(const User& before, const UserChange& change) {
  const bool staysAdmin =
      change.role.value_or(before.role) == Role::Admin && change.enabled.value_or(before.enabled);
  if (before.role != Role::Admin || !before.enabled || staysAdmin) return {};
  auto all = store_.listUsers();
  if (!all) return all.error();
  const auto admins = std::count_if(
      all->begin(), all->end(), [](const User& u) { return u.role == Role::Admin && u.enabled; });
  if (admins <= 1) {
    return makeError(
        "conflict",
        "'" + before.username + "' is the last enabled admin; make another user an admin first");
  }
  return {};
}

Result<User> Accounts::updateUser(const Caller& caller, std::int64_t id, const UserChange& asked) {
  if (!caller.admin() && caller.userId != id) {
    return makeError("not_found", "there is no user " + std::to_string(id));
  }
  // Read, check and write as one step: an admin's disable must not be undone by a concurrent
  // change of the same user (each writes the whole row).
  std::lock_guard users(usersMu_);
  auto found = user(id);
  if (!found) return found.error();
  User u = *found;
  const User before = u;
  UserChange change = asked;
  // Fields sent back unchanged (a GET result) are no change.
  if (change.username == before.username) change.username.reset();
  if (change.role == before.role) change.role.reset();
  if (change.enabled == before.enabled) change.enabled.reset();
  if (!caller.admin() && (change.username || change.role || change.enabled)) {
    return makeError("forbidden", "only an admin can change a username, role or enabled state");
  }
  if (change.username) {
    if (auto r = validateUsername(*change.username); !r) return r.error();
    u.username = *change.username;
  }
  if (change.name) {
    if (auto r = validateText("name", *change.name, 200); !r) return r.error();
    u.name = *change.name;
  }
  if (change.email) {
    if (auto r = validateEmail(*change.email); !r) return r.error();
    u.email = *change.email;
  }
  if (change.role) u.role = *change.role;
  if (change.enabled) u.enabled = *change.enabled;
  if (auto r = keepOneAdmin(before, change); !r) return r.error();
  bool passwordChanged = false;
  if (change.password) {
    if (auto r = validatePassword(*change.password); !r) return r.error();
    // Someone who took over a session must not lock its owner out: users prove the old one.
    if (!caller.admin() || (caller.userId == id && !before.passwordHash.empty())) {
      // Throttled like a login: a stolen session must not become a password oracle.
      const Millis now = clock_.now();
      const std::string who = lower(before.username);
      if (int wait = blockedFor(who, caller.source, now); wait > 0) {
        return makeError("too_many_requests",
                         "too many wrong passwords; try again in " + std::to_string(wait) + " s");
      }
      if (!change.currentPassword || before.passwordHash.empty() ||
          !verifyPassword(before.passwordHash, *change.currentPassword)) {
        if (change.currentPassword) {
          noteFailure(who, caller.source, now);
          record(caller, "password_check_failed", "user " + std::to_string(id));
        }
        return makeError("forbidden",
                         "current_password: give your current password to set a new one");
      }
    }
    auto h = hashPassword(*change.password);
    if (!h) return h.error();
    u.passwordHash = *h;
    passwordChanged = true;
  }
  u.updatedAt = clock_.now();
  if (auto r = store_.updateUser(u); !r) return r.error();
  forgetCachedTokens();
  // A new password or a disabled user ends the sessions elsewhere (not the one that asked).
  if (passwordChanged || (before.enabled && !u.enabled)) {
    std::optional<std::int64_t> keep;
    if (caller.userId == id) keep = caller.sessionId;
    (void)store_.deleteSessionsOfUser(id, keep);
  }
  // An admin who resets someone's password assumes it was lost or stolen: their tokens go too.
  if (passwordChanged && caller.userId != id) {
    if (auto tokens = store_.listTokens(id)) {
      for (const auto& t : *tokens) (void)store_.deleteToken(t.id);
    }
    forgetCachedTokens();
  }
  return u;
}

Result<void> Accounts::removeUser(std::int64_t id) {
  std::lock_guard users(usersMu_);
  auto found = user(id);
  if (!found) return found.error();
  if (found->builtin) {
    return makeError("conflict", "the built-in admin '" + found->username +
                                     "' cannot be deleted; disable it instead");
  }
  UserChange gone;
  gone.enabled = false;
  if (auto r = keepOneAdmin(*found, gone); !r) return r;
  auto r = store_.deleteUser(id);
  forgetCachedTokens();
  if (!r) return r.error();
  if (!*r) return makeError("not_found", "there is no user " + std::to_string(id));
  return {};
}

// --- tokens

Result<NewToken> Accounts::createToken(const Caller& caller, const std::string& name,
                                       std::optional<std::int64_t> forUser, Millis expiresIn) {
  if (name.empty() || name.size() > 100) {
    return makeError("invalid_request", "name: a token needs a name of 1 to 100 characters");
  }
  if (auto r = validateText("name", name, 100); !r) return r.error();
  const std::int64_t owner = forUser.value_or(caller.userId);
  if (owner != caller.userId && !caller.admin()) {
    return makeError("forbidden", "only an admin can create a token for another user");
  }
  auto u = user(owner);
  if (!u) {
    if (u.error().code == "not_found")
      return makeError("invalid_request", "user: there is no user " + std::to_string(owner));
    return u.error();
  }
  const Millis now = clock_.now();
  if (expiresIn < 0) {
    return makeError("invalid_request", "expires_in_days: the expiry must lie in the future");
  }
  const Millis expiresAt = expiresIn == 0 ? 0 : now + std::max<Millis>(expiresIn, 1);
  NewToken t;
  t.secret = randomSecret("vfx_", 24);
  auto hash = keyedHash("", t.secret);
  if (!hash) return hash.error();
  t.token.userId = owner;
  t.token.name = name;
  t.token.hash = *hash;
  t.token.prefix = t.secret.substr(0, 8);
  t.token.createdAt = now;
  t.token.expiresAt = expiresAt;
  auto stored = store_.insertToken(t.token);
  if (!stored) return stored.error();
  t.token = *stored;
  return t;
}

Result<std::vector<ApiToken>> Accounts::tokens(const Caller& caller,
                                               std::optional<std::int64_t> ofUser) {
  if (!caller.admin()) {
    if (ofUser && *ofUser != caller.userId) return std::vector<ApiToken>{};
    return store_.listTokens(caller.userId);
  }
  return store_.listTokens(ofUser);
}

Result<void> Accounts::revokeToken(const Caller& caller, std::int64_t id) {
  auto mine = tokens(caller, std::nullopt);
  if (!mine) return mine.error();
  if (std::none_of(mine->begin(), mine->end(), [id](const ApiToken& t) { return t.id == id; })) {
    return notFoundToken(id);
  }
  auto r = store_.deleteToken(id);
  forgetCachedTokens();
  if (!r) return r.error();
  if (!*r) return notFoundToken(id);
  return {};
}

void Accounts::forgetCachedTokens() {
  {
    std::lock_guard lock(cacheMu_);
    tokenCache_.clear();
    ++cacheGeneration_;
  }
  noteChange();
}

Result<Caller> Accounts::authenticateToken(const std::string& secret, const std::string& source) {
  const auto invalid = makeError("unauthorized", "the API token is not valid");
  if (secret.empty() || secret.size() > 200) return invalid;
  auto hash = keyedHash("", secret);
  if (!hash) return hash.error();
  std::uint64_t generation = 0;
  {
    const Millis now = clock_.now();
    std::lock_guard lock(cacheMu_);
    generation = cacheGeneration_;
    auto it = tokenCache_.find(*hash);
    if (it != tokenCache_.end() && now - it->second.cachedAt < kTouchEvery / 2) {
      if (it->second.expiresAt != 0 && it->second.expiresAt <= now) {
        return makeError("unauthorized", "the API token has expired");
      }
      Caller c = it->second.caller;
      c.source = source;
      return c;
    }
  }
  auto t = store_.tokenByHash(*hash);
  if (!t) return t.error();
  if (!*t) return invalid;
  const Millis now = clock_.now();
  if ((*t)->expiresAt != 0 && (*t)->expiresAt <= now) {
    return makeError("unauthorized", "the API token has expired");
  }
  auto u = store_.user((*t)->userId);
  if (!u) return u.error();
  if (!*u || !(*u)->enabled) return makeError("unauthorized", "the token's user is disabled");
  if (now - (*t)->lastUsedAt > kTouchEvery) (void)store_.touchToken((*t)->id, now);
  Caller c;
  c.userId = (*u)->id;
  c.username = (*u)->username;
  c.email = (*u)->email;
  c.role = (*u)->role;
  c.tokenId = (*t)->id;
  c.credential = "token " + std::to_string((*t)->id) + " (" + (*t)->name + ")";
  {
    std::lock_guard lock(cacheMu_);
    if (generation == cacheGeneration_) {
      if (tokenCache_.size() >= kMaxThrottleEntries) tokenCache_.clear();
      tokenCache_[*hash] = CachedToken{c, (*t)->expiresAt, now};
    }
  }
  c.source = source;
  return c;
}

// --- sessions and throttling

bool Accounts::knownClient(const std::string& user, const std::string& source, Millis now) {
  auto it = knownClients_.find(user + "\n" + source);
  return it != knownClients_.end() && now - it->second < kKnownClientFor;
}

int Accounts::blockedFor(const std::string& user, const std::string& rawSource, Millis now) {
  const std::string source = throttleSource(rawSource);
  std::lock_guard lock(throttleMu_);
  // A user at an address they logged in from before is held only by their own failures there.
  const bool known = knownClient(user, source, now);
  Millis until = 0;
  for (const auto& key : {"u:" + user + "\n" + source, "s:" + source, "n:" + user}) {
    if (known && key[0] != 'u') continue;
    auto it = failures_.find(key);
    if (it == failures_.end()) continue;
    if (now - it->second.first > options_.failureWindow && it->second.blockedUntil <= now) {
      failures_.erase(it);
      continue;
    }
    until = std::max(until, it->second.blockedUntil);
  }
  return until > now ? static_cast<int>((until - now + 999) / 1000) : 0;
}

void Accounts::noteFailure(const std::string& user, const std::string& rawSource, Millis now) {
  const std::string source = throttleSource(rawSource);
  std::lock_guard lock(throttleMu_);
  if (failures_.size() > kMaxThrottleEntries) {
    // Forget the oldest half of what is not blocking anyone now: bounded memory whatever a
    // scanner sends, without freeing a victim's counter by spraying other names.
    std::vector<std::pair<Millis, std::string>> byAge;
    for (const auto& [k, f] : failures_) {
      if (f.blockedUntil <= now) byAge.emplace_back(f.last, k);
    }
    std::sort(byAge.begin(), byAge.end());
    for (size_t i = 0; i < byAge.size() / 2; ++i) failures_.erase(byAge[i].second);
  }
  auto bump = [&](const std::string& key, int allowed, Millis cap) {
    auto& f = failures_[key];
    if (now - f.first > options_.failureWindow && f.blockedUntil <= now) f = Failures{};
    if (f.count == 0) f.first = now;
    f.count += 1;
    f.last = now;
    if (f.count >= allowed) {
      // 1 s after the last allowed failure, doubling with each further one, up to the cap.
      const int over = std::min(f.count - allowed, 20);
      f.blockedUntil = now + std::min<Millis>(1000LL << over, cap);
    }
  };
  bump("u:" + user + "\n" + source, options_.failuresPerUserAndSource, options_.maxBlock);
  bump("s:" + source, options_.failuresPerSource, options_.maxBlock);
  // From anywhere: a distributed guesser is slowed, but the user is never held for long, and
  // not at all at an address they logged in from before.
  bump("n:" + user, options_.failuresPerUser, 60'000);
}

LoginOutcome Accounts::checkPassword(const std::string& username, const std::string& password,
                                     const std::string& source) {
  LoginOutcome out;
  const Millis now = clock_.now();
  const std::string who = lower(username.substr(0, 64));
  if (int wait = blockedFor(who, source, now); wait > 0) {
    out.error = makeError("too_many_requests",
                          "too many failed logins; try again in " + std::to_string(wait) + " s");
    out.retryAfterSeconds = wait;
    return out;
  }
  const auto refused = makeError("unauthorized", "wrong username or password");
  auto u = username.empty() || username.size() > 64 ? Result<std::optional<User>>(std::nullopt)
                                                    : store_.userByName(username);
  if (!u) {
    out.error = u.error();
    return out;
  }
  const bool known = u->has_value() && !(**u).passwordHash.empty();
  // Unknown users cost the same hash, so the time of the answer tells nothing.
  const bool match = verifyPassword(known ? (**u).passwordHash : dummyHash_, password) && known;
  if (!match || !(**u).enabled) {
    noteFailure(who, source, now);
    out.error = refused;
    return out;
  }
  {
    const std::string src = throttleSource(source);
    std::lock_guard lock(throttleMu_);
    failures_.erase("u:" + who + "\n" + src);
    if (knownClients_.size() > kMaxThrottleEntries) {
      for (auto it = knownClients_.begin(); it != knownClients_.end();) {
        it = now - it->second >= kKnownClientFor ? knownClients_.erase(it) : std::next(it);
      }
      if (knownClients_.size() > kMaxThrottleEntries) knownClients_.clear();
    }
    knownClients_[who + "\n" + src] = now;
  }
  Login login;
  login.user = **u;
  out.login = std::move(login);
  return out;
}

LoginOutcome Accounts::login(const std::string& username, const std::string& password,
                             const std::string& source) {
  LoginOutcome out = checkPassword(username, password, source);
  if (!out.login) return out;
  const Millis now = clock_.now();
  Login& login = *out.login;
  login.secret = randomSecret("vfs_", 32);
  auto hash = keyedHash("session\n", login.secret);
  if (!hash) {
    out.error = hash.error();
    out.login.reset();
    return out;
  }
  WebSession s;
  s.userId = login.user.id;
  s.hash = *hash;
  s.createdAt = s.lastSeenAt = now;
  s.expiresAt = now + options_.sessionMax;
  s.source = source;
  auto stored = store_.insertSession(s);
  if (!stored) {
    out.error = stored.error();
    out.login.reset();
    return out;
  }
  login.session = *stored;
  login.csrfToken = csrfToken(login.secret);
  return out;
}

std::string Accounts::csrfToken(const std::string& secret) const {
  auto h = keyedHash("csrf\n", secret);
  return h ? h->substr(0, 40) : std::string();
}

bool Accounts::checkCsrf(const std::string& secret, const std::string& token) const {
  const std::string want = csrfToken(secret);
  return !want.empty() && token.size() == want.size() &&
         sodium_memcmp(want.data(), token.data(), want.size()) == 0;
}

Result<Caller> Accounts::authenticateSession(const std::string& secret, const std::string& source,
                                             bool touch) {
  const auto invalid = makeError("unauthorized", "the session has ended; log in again");
  if (secret.empty() || secret.size() > 200) return invalid;
  auto hash = keyedHash("session\n", secret);
  if (!hash) return hash.error();
  auto s = store_.sessionByHash(*hash);
  if (!s) return s.error();
  if (!*s) return invalid;
  const Millis now = clock_.now();
  if ((*s)->expiresAt <= now || now - (*s)->lastSeenAt > options_.sessionIdle) {
    (void)store_.deleteSession((*s)->id);
    return invalid;
  }
  auto u = store_.user((*s)->userId);
  if (!u) return u.error();
  if (!*u || !(*u)->enabled) return invalid;
  if (touch && now - (*s)->lastSeenAt > kTouchEvery) (void)store_.touchSession((*s)->id, now);
  Caller c;
  c.userId = (*u)->id;
  c.username = (*u)->username;
  c.email = (*u)->email;
  c.role = (*u)->role;
  c.sessionId = (*s)->id;
  c.credential = "session";
  c.source = source;
  return c;
}

Result<void> Accounts::logout(const Caller& caller) {
  if (!caller.sessionId) return {};
  auto r = store_.deleteSession(*caller.sessionId);
  noteChange();  // the session's open streams end at once
  if (!r) return r.error();
  return {};
}

Result<int> Accounts::pruneSessions() {
  const Millis now = clock_.now();
  return store_.pruneSessions(now, now - options_.sessionIdle);
}

// --- visibility

Result<std::vector<Device>> Accounts::devicesOf(const Caller& caller) {
  auto all = store_.listDevices();
  if (!all || caller.admin()) return all;
  std::vector<Device> mine;
  for (auto& d : *all) {
    const bool member =
        std::find(d.members.begin(), d.members.end(), caller.userId) != d.members.end();
    if (d.owner == caller.userId || member) mine.push_back(std::move(d));
  }
  return mine;
}

Result<std::optional<std::vector<std::int64_t>>> Accounts::visibleDevices(const Caller& caller) {
  if (caller.admin()) return std::optional<std::vector<std::int64_t>>();
  auto mine = devicesOf(caller);
  if (!mine) return mine.error();
  std::vector<std::int64_t> ids;
  for (const auto& d : *mine) ids.push_back(d.id);
  return std::optional<std::vector<std::int64_t>>(std::move(ids));
}

// --- audit

void Accounts::record(const Caller& caller, std::string action, std::string target,
                      std::string detail) {
  AuditEntry e;
  e.at = clock_.now();
  if (caller.userId != 0) e.userId = caller.userId;
  e.username = printable(caller.username, 64);
  e.credential = printable(caller.credential, 200);
  e.source = printable(caller.source, 64);
  e.action = std::move(action);
  e.target = printable(std::move(target), 200);
  e.detail = printable(std::move(detail), 500);
  {
    std::lock_guard lock(auditMu_);
    if (auditQueue_.size() >= kMaxAuditQueue) {
      // The disk cannot keep up (or someone floods): count, and say so once in a while.
      if (auditDropped_++ % 1000 == 0) {
        spdlog::error("audit: the log cannot keep up; {} entries dropped so far", auditDropped_);
      }
      return;
    }
    auditQueue_.push_back(std::move(e));
  }
  auditCv_.notify_all();
}

void Accounts::auditLoop() {
  std::unique_lock lock(auditMu_);
  for (;;) {
    auditCv_.wait(lock, [this] { return auditStop_ || !auditQueue_.empty(); });
    if (!auditStop_) {
      // Gather what arrives in the next moment into the same transaction (one fsync).
      auditCv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return auditStop_; });
    }
    std::vector<AuditEntry> batch;
    batch.swap(auditQueue_);
    const bool stopping = auditStop_;
    auditWriting_ = !batch.empty();
    lock.unlock();
    if (!batch.empty()) {
      if (auto r = store_.insertAudit(batch); !r) {
        spdlog::error("audit: {} entries could not be written: {}", batch.size(),
                      logSafe(r.error().message, 600));
      }
    }
    lock.lock();
    auditWriting_ = false;
    auditCv_.notify_all();  // flushAudit() waits for this
    if (stopping && auditQueue_.empty()) return;
  }
}

void Accounts::flushAudit() {
  std::unique_lock lock(auditMu_);
  if (!auditRunning_) return;
  auditCv_.notify_all();
  auditCv_.wait_for(lock, std::chrono::seconds(5),
                    [this] { return auditQueue_.empty() && !auditWriting_; });
}

Result<std::vector<AuditEntry>> Accounts::audit(const AuditQuery& q) {
  flushAudit();
  return store_.listAudit(q);
}

Result<int> Accounts::pruneAudit(Millis cutoff) { return store_.pruneAudit(cutoff); }

}  // namespace vfax::core
