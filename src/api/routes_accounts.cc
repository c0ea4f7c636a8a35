// /api/v1 accounts: the web page's session (log in and out), users, and the audit log.
//   POST   /session        {username, password}: sets the session cookie; answers the user and
//                          the CSRF token that writes made with the cookie must send back
//   GET    /session        who is asking, their devices (and the CSRF token for a cookie)
//   DELETE /session        logs out
//   GET|POST /users, GET|PUT|DELETE /users/{id}   admins; users read and change themselves
//   GET    /audit          admins
#include <string>

#include "api/query.h"
#include "api/routes.h"

namespace vfax::api::detail {

namespace {

core::Error unknownField(const std::string& what, const std::string& key) {
  return core::makeError("unknown_field", what + " has no field '" + key + "'");
}

core::Result<std::string> text(const Json& body, const char* key) {
  const Json& v = body[key];
  if (!v.is_string())
    return core::makeError("invalid_request", std::string(key) + " must be a string");
  return v.get<std::string>();
}

void replyUser(httplib::Response& res, int status, const core::User& u) {
  replyJson(res, status, toJson(u));
}

std::string sessionCookie(Context& ctx, const std::string& value, long long maxAgeSeconds) {
  std::string c = std::string(kSessionCookie) + "=" + value +
                  "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(maxAgeSeconds);
  if (ctx.options.secureCookies) c += "; Secure";
  return c;
}

// Tells the web page, which cannot read the HttpOnly session cookie, that a session may exist, so
// that a visitor who never logged in gets the login form without a refused request. Holds
// nothing secret; the session cookie alone decides.
std::string hintCookie(Context& ctx, long long maxAgeSeconds) {
  std::string c = std::string(kSessionHintCookie) + (maxAgeSeconds > 0 ? "=1" : "=") +
                  "; Path=/; SameSite=Strict; Max-Age=" + std::to_string(maxAgeSeconds);
  if (ctx.options.secureCookies) c += "; Secure";
  return c;
}

void login(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  // Another site must not log a visitor in to an account of its choosing (login CSRF).
  if (req.has_header("Origin") && !sameOriginRequest(req, ctx.options.publicOrigin)) {
    return replyError(res,
                      core::makeError("forbidden", "a login must come from the vfax page itself"));
  }
  auto body = parseObject(req.body, false);
  if (!body) return replyError(res, body.error());
  for (const auto& [key, value] : body->items()) {
    if (key != "username" && key != "password")
      return replyError(res, unknownField("a login", key));
  }
  if (!body->contains("username") || !body->contains("password")) {
    return replyError(res, core::makeError("invalid_request", "send username and password"));
  }
  auto username = text(*body, "username");
  if (!username) return replyError(res, username.error());
  auto password = text(*body, "password");
  if (!password) return replyError(res, password.error());
  auto& accounts = ctx.service.accounts();
  auto outcome = accounts.login(*username, *password, req.remote_addr);
  core::Caller who;
  who.username = username->substr(0, 64);
  who.credential = "password";
  who.source = req.remote_addr;
  if (!outcome.login) {
    if (outcome.error.code == "too_many_requests") {
      // Not audited one by one: a throttled attempt costs the sender nothing, so each would be
      // a free row in the log. The failures that led to it are there.
      res.set_header("Retry-After", std::to_string(outcome.retryAfterSeconds));
    } else if (outcome.error.code == "unauthorized") {
      audit(ctx, who, "login_failed", "user " + who.username);
    }
    return replyError(res, outcome.error);
  }
  const auto& l = *outcome.login;
  who.userId = l.user.id;
  who.username = l.user.username;
  who.sessionId = l.session.id;
  audit(ctx, who, "login", "user " + std::to_string(l.user.id));
  (void)accounts.pruneSessions();
  const long long maxAge = (l.session.expiresAt - l.session.createdAt) / 1000;
  res.set_header("Set-Cookie", sessionCookie(ctx, l.secret, maxAge));
  res.set_header("Set-Cookie", hintCookie(ctx, maxAge));
  res.set_header("Cache-Control", "no-store");
  replyJson(res, 201,
            {{"user", toJson(l.user)},
             {"csrf_token", l.csrfToken},
             {"expires_at", isoTimeOrNull(l.session.expiresAt)}});
}

void whoami(Context& ctx, const httplib::Request& req, httplib::Response& res,
            const core::Caller& caller) {
  auto& accounts = ctx.service.accounts();
  auto u = accounts.user(caller.userId);
  if (!u) return replyError(res, u.error());
  auto devices = accounts.devicesOf(caller);
  if (!devices) return replyError(res, devices.error());
  Json items = Json::array();
  for (const auto& d : *devices) items.push_back(toJson(d, ctx.service.effectiveTsi(d)));
  Json out{{"user", toJson(*u)}, {"credential", caller.credential}, {"devices", std::move(items)}};
  if (caller.sessionId) out["csrf_token"] = accounts.csrfToken(cookieValue(req, kSessionCookie));
  res.set_header("Cache-Control", "no-store");
  replyJson(res, 200, out);
}

void logout(Context& ctx, const httplib::Request&, httplib::Response& res,
            const core::Caller& caller) {
  if (auto r = ctx.service.accounts().logout(caller); !r) return replyError(res, r.error());
  if (caller.sessionId) audit(ctx, caller, "logout", "user " + std::to_string(caller.userId));
  res.set_header("Set-Cookie", sessionCookie(ctx, "", 0));
  res.set_header("Set-Cookie", hintCookie(ctx, 0));
  res.status = 204;
}

core::Result<core::Role> roleField(const Json& body) {
  auto s = text(body, "role");
  if (!s) return s.error();
  auto r = core::roleFromString(*s);
  if (!r) return core::makeError("invalid_request", "role must be admin or user, got '" + *s + "'");
  return *r;
}

void listUsers(Context& ctx, const httplib::Request&, httplib::Response& res, const core::Caller&) {
  auto users = ctx.service.accounts().users();
  if (!users) return replyError(res, users.error());
  Json items = Json::array();
  for (const auto& u : *users) items.push_back(toJson(u));
  replyJson(res, 200, {{"users", std::move(items)}});
}

void addUser(Context& ctx, const httplib::Request& req, httplib::Response& res,
             const core::Caller& caller) {
  auto body = parseObject(req.body, false);
  if (!body) return replyError(res, body.error());
  core::NewUser u;
  for (const auto& [key, value] : body->items()) {
    if (key == "role") {
      auto r = roleField(*body);
      if (!r) return replyError(res, r.error());
      u.role = *r;
    } else if (key == "enabled") {
      if (!value.is_boolean())
        return replyError(res, core::makeError("invalid_request", "enabled must be true or false"));
      u.enabled = value.get<bool>();
    } else if (key == "username" || key == "password" || key == "name" || key == "email") {
      auto s = text(*body, key.c_str());
      if (!s) return replyError(res, s.error());
      (key == "username"   ? u.username
       : key == "password" ? u.password
       : key == "name"     ? u.name
                           : u.email) = *s;
    } else {
      return replyError(res, unknownField("a user", key));
    }
  }
  auto added = ctx.service.accounts().addUser(u);
  if (!added) return replyError(res, added.error());
  audit(ctx, caller, "user.create", "user " + std::to_string(added->id),
        added->username + " (" + std::string(core::toString(added->role)) + ")");
  res.set_header("Location", "/api/v1/users/" + std::to_string(added->id));
  replyUser(res, 201, *added);
}

void getUser(Context& ctx, const httplib::Request& req, httplib::Response& res,
             const core::Caller& caller) {
  auto id = pathId(req);
  if (!id || (!caller.admin() && *id != caller.userId)) {
    return replyError(res, core::makeError("not_found", "there is no such user"));
  }
  auto u = ctx.service.accounts().user(*id);
  if (!u) return replyError(res, u.error());
  replyUser(res, 200, *u);
}

void putUser(Context& ctx, const httplib::Request& req, httplib::Response& res,
             const core::Caller& caller) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such user"));
  auto body = parseObject(req.body, false);
  if (!body) return replyError(res, body.error());
  core::UserChange change;
  std::string changed;
  for (const auto& [key, value] : body->items()) {
    if (key == "id" || key == "builtin" || key == "has_password" || key == "created_at" ||
        key == "updated_at") {
      continue;  // read-only: a GET result can be sent back
    }
    if (key == "role") {
      auto r = roleField(*body);
      if (!r) return replyError(res, r.error());
      change.role = *r;
    } else if (key == "enabled") {
      if (!value.is_boolean())
        return replyError(res, core::makeError("invalid_request", "enabled must be true or false"));
      change.enabled = value.get<bool>();
    } else if (key == "username" || key == "password" || key == "current_password" ||
               key == "name" || key == "email") {
      auto s = text(*body, key.c_str());
      if (!s) return replyError(res, s.error());
      if (key == "username") change.username = *s;
      if (key == "password") change.password = *s;
      if (key == "current_password") change.currentPassword = *s;
      if (key == "name") change.name = *s;
      if (key == "email") change.email = *s;
    } else {
      return replyError(res, unknownField("a user", key));
    }
    if (key != "current_password") changed += (changed.empty() ? "" : ", ") + key;
  }
  auto updated = ctx.service.accounts().updateUser(caller, *id, change);
  if (!updated) return replyError(res, updated.error());
  audit(ctx, caller, change.password ? "user.password" : "user.update",
        "user " + std::to_string(*id), changed);
  replyUser(res, 200, *updated);
}

void deleteUser(Context& ctx, const httplib::Request& req, httplib::Response& res,
                const core::Caller& caller) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such user"));
  if (auto r = ctx.service.accounts().removeUser(*id); !r) return replyError(res, r.error());
  audit(ctx, caller, "user.delete", "user " + std::to_string(*id));
  res.status = 204;
}

void listAudit(Context& ctx, const httplib::Request& req, httplib::Response& res,
               const core::Caller&) {
  core::AuditQuery q;
  for (const auto& [key, value] : req.params) {
    if (key == "before") {
      auto id = parseId(value);
      if (!id)
        return replyError(res, core::makeError("invalid_query", "before must be an entry id"));
      q.beforeId = *id;
    } else if (key == "limit") {
      auto n = parseId(value);
      if (!n || *n > 1000)
        return replyError(res, core::makeError("invalid_query", "limit must be 1 to 1000"));
      q.limit = static_cast<int>(*n);
    } else if (key == "user") {
      auto id = parseId(value);
      if (!id) return replyError(res, core::makeError("invalid_query", "user must be a user id"));
      q.userId = *id;
    } else if (key == "action") {
      if (value.size() > 64)
        return replyError(res, core::makeError("invalid_query", "action is too long"));
      q.action = value;
    } else {
      return replyError(
          res, core::makeError("invalid_query", "the audit log has no filter '" + key + "'"));
    }
  }
  const int limit = q.limit;
  q.limit = limit + 1;
  auto entries = ctx.service.accounts().audit(q);
  if (!entries) return replyError(res, entries.error());
  Json items = Json::array();
  Json next = nullptr;
  for (int i = 0; i < static_cast<int>(entries->size()); ++i) {
    if (i == limit) {
      next = std::to_string((*entries)[i - 1].id);
      break;
    }
    items.push_back(toJson((*entries)[i]));
  }
  replyJson(res, 200, {{"entries", std::move(items)}, {"next", std::move(next)}});
}

}  // namespace

void addAccountRoutes(httplib::Server& server, Context& ctx) {
  const auto any = Access::Token;
  const auto admin = Access::Admin;
  server.Post("/api/v1/session", guarded(ctx, Access::Public, [&ctx](const auto& req, auto& res) {
                login(ctx, req, res);
              }));
  server.Get("/api/v1/session", guardedAs(ctx, any, whoami));
  server.Delete("/api/v1/session", guardedAs(ctx, any, logout));

  server.Get("/api/v1/users", guardedAs(ctx, admin, listUsers));
  server.Post("/api/v1/users", guardedAs(ctx, admin, addUser));
  server.Get(R"(/api/v1/users/(\d+))", guardedAs(ctx, any, getUser));
  server.Put(R"(/api/v1/users/(\d+))", guardedAs(ctx, any, putUser));
  server.Delete(R"(/api/v1/users/(\d+))", guardedAs(ctx, admin, deleteUser));

  server.Get("/api/v1/audit", guardedAs(ctx, admin, listAudit));
}

}  // namespace vfax::api::detail
