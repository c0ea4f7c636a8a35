// /api/v1 settings, devices, tokens, lines and cleanup. Settings, device changes and cleanup are
// for admins; users see their own devices and manage their own tokens; lines take any caller.
#include "api/event_streams.h"
#include "api/query.h"
#include "api/routes.h"

namespace vfax::api::detail {

namespace {

void replyDevice(Context& ctx, httplib::Response& res, int status, const core::Device& d) {
  replyJson(res, status, toJson(d, ctx.service.effectiveTsi(d)));
}

void getSettings(Context& ctx, httplib::Response& res) {
  auto s = ctx.service.settings();
  if (!s) return replyError(res, s.error());
  replyJson(res, 200, toJson(*s));
}

void putSettings(Context& ctx, const httplib::Request& req, httplib::Response& res,
                 const core::Caller& caller) {
  auto body = parseObject(req.body, false);
  if (!body) return replyError(res, body.error());
  auto changes = settingsChanges(*body);
  if (!changes) return replyError(res, changes.error());
  auto s = ctx.service.updateSettings(*changes);
  if (!s) return replyError(res, s.error());
  std::string keys;
  for (const auto& [k, v] : *changes) keys += (keys.empty() ? "" : ", ") + k + "=" + v;
  audit(ctx, caller, "settings.update", "settings", keys);
  replyJson(res, 200, toJson(*s));
}

void listDevices(Context& ctx, httplib::Response& res, const core::Caller& caller) {
  auto devices = ctx.service.accounts().devicesOf(caller);
  if (!devices) return replyError(res, devices.error());
  Json items = Json::array();
  for (const auto& d : *devices) items.push_back(toJson(d, ctx.service.effectiveTsi(d)));
  replyJson(res, 200, {{"devices", std::move(items)}});
}

void addDevice(Context& ctx, const httplib::Request& req, httplib::Response& res,
               const core::Caller& caller) {
  auto body = parseObject(req.body, false);
  if (!body) return replyError(res, body.error());
  core::Device d;
  if (auto r = mergeDevice(d, *body); !r) return replyError(res, r.error());
  auto added = ctx.service.addDevice(std::move(d));
  if (!added) return replyError(res, added.error());
  audit(ctx, caller, "device.create", "device " + std::to_string(added->id),
        "extension " + added->extension);
  res.set_header("Location", "/api/v1/devices/" + std::to_string(added->id));
  replyDevice(ctx, res, 201, *added);
}

void getDevice(Context& ctx, const httplib::Request& req, httplib::Response& res,
               const core::Caller& caller) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such device"));
  auto mine = ctx.service.accounts().devicesOf(caller);
  if (!mine) return replyError(res, mine.error());
  for (const auto& d : *mine) {
    if (d.id == *id) return replyDevice(ctx, res, 200, d);
  }
  replyError(res, core::makeError("not_found", "there is no device " + std::to_string(*id)));
}

void putDevice(Context& ctx, const httplib::Request& req, httplib::Response& res,
               const core::Caller& caller) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such device"));
  auto body = parseObject(req.body, false);
  if (!body) return replyError(res, body.error());
  auto d = ctx.service.device(*id);
  if (!d) return replyError(res, d.error());
  if (auto r = mergeDevice(*d, *body); !r) return replyError(res, r.error());
  auto updated = ctx.service.updateDevice(*d);
  if (!updated) return replyError(res, updated.error());
  // The keys only: a body may hold a PIN.
  std::string keys;
  for (const auto& [k, v] : body->items()) keys += (keys.empty() ? "" : ", ") + k;
  audit(ctx, caller, "device.update", "device " + std::to_string(*id), keys);
  replyDevice(ctx, res, 200, *updated);
}

void deleteDevice(Context& ctx, const httplib::Request& req, httplib::Response& res,
                  const core::Caller& caller) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such device"));
  if (auto r = ctx.service.removeDevice(*id); !r) return replyError(res, r.error());
  audit(ctx, caller, "device.delete", "device " + std::to_string(*id));
  res.status = 204;
}

void listTokens(Context& ctx, const httplib::Request& req, httplib::Response& res,
                const core::Caller& caller) {
  std::optional<std::int64_t> user;
  if (req.has_param("user")) {
    user = parseId(req.get_param_value("user"));
    if (!user) return replyError(res, core::makeError("invalid_query", "user must be a user id"));
  }
  auto tokens = ctx.service.accounts().tokens(caller, user);
  if (!tokens) return replyError(res, tokens.error());
  Json items = Json::array();
  for (const auto& t : *tokens) items.push_back(toJson(t));
  replyJson(res, 200, {{"tokens", std::move(items)}});
}

void createToken(Context& ctx, const httplib::Request& req, httplib::Response& res,
                 const core::Caller& caller) {
  auto body = parseObject(req.body, false);
  if (!body) return replyError(res, body.error());
  for (const auto& [key, value] : body->items()) {
    if (key != "name" && key != "user" && key != "expires_in_days") {
      return replyError(res,
                        core::makeError("unknown_field", "a token has no field '" + key + "'"));
    }
  }
  const Json name = body->value("name", Json(nullptr));
  if (!name.is_string())
    return replyError(res,
                      core::makeError("invalid_request", "name: a token needs a name (string)"));
  std::optional<std::int64_t> user;
  if (body->contains("user")) {
    const Json& u = (*body)["user"];
    if (!u.is_number_integer() || u.get<std::int64_t>() <= 0)
      return replyError(res, core::makeError("invalid_request", "user must be a user id"));
    user = u.get<std::int64_t>();
  }
  core::Millis expiresIn = 0;
  if (body->contains("expires_in_days")) {
    const Json& d = (*body)["expires_in_days"];
    if (!d.is_number() || d.get<double>() <= 0 || d.get<double>() > 3650)
      return replyError(res,
                        core::makeError("invalid_request",
                                        "expires_in_days must be a number of days, 0 < n <= 3650"));
    expiresIn = static_cast<core::Millis>(d.get<double>() * 86'400'000);
  }
  auto created =
      ctx.service.accounts().createToken(caller, name.get<std::string>(), user, expiresIn);
  if (!created) return replyError(res, created.error());
  audit(ctx, caller, "token.create", "token " + std::to_string(created->token.id),
        "for user " + std::to_string(created->token.userId) + ", name " + created->token.name);
  Json out = toJson(created->token);
  out["token"] = created->secret;
  replyJson(res, 201, out);
}

void revokeToken(Context& ctx, const httplib::Request& req, httplib::Response& res,
                 const core::Caller& caller) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such token"));
  if (auto r = ctx.service.accounts().revokeToken(caller, *id); !r) {
    return replyError(res, r.error());
  }
  audit(ctx, caller, "token.revoke", "token " + std::to_string(*id));
  res.status = 204;
}

void cleanup(Context& ctx, const httplib::Request& req, httplib::Response& res,
             const core::Caller& caller) {
  auto body = parseObject(req.body, true);
  if (!body) return replyError(res, body.error());
  std::optional<int> days;
  for (const auto& [key, value] : body->items()) {
    if (key != "older_than_days") {
      return replyError(res,
                        core::makeError("unknown_field",
                                        "cleanup takes only older_than_days, not '" + key + "'"));
    }
    if (!value.is_number_integer() || value.get<long long>() < 0 ||
        value.get<long long>() > 100000) {
      return replyError(res,
                        core::makeError("invalid_request",
                                        "older_than_days must be a whole number of days >= 0"));
    }
    days = value.get<int>();
  }
  auto deleted = ctx.service.cleanup(days);
  if (!deleted) return replyError(res, deleted.error());
  audit(ctx, caller, "cleanup", "faxes",
        "deleted " + std::to_string(*deleted) +
            (days ? ", older than " + std::to_string(*days) + " days" : std::string()));
  replyJson(res, 200, {{"deleted", *deleted}});
}

}  // namespace

void addAdminRoutes(httplib::Server& server, Context& ctx) {
  const auto any = Access::Token;
  const auto admin = Access::Admin;
  server.Get("/api/v1/settings",
             guarded(ctx, admin, [&ctx](const auto&, auto& res) { getSettings(ctx, res); }));
  server.Put("/api/v1/settings", guardedAs(ctx, admin, putSettings));

  server.Get("/api/v1/devices", guardedAs(ctx, any, [&ctx](const auto&, auto& res, const auto& c) {
               listDevices(ctx, res, c);
             }));
  server.Post("/api/v1/devices", guardedAs(ctx, admin, addDevice));
  server.Get(R"(/api/v1/devices/(\d+))", guardedAs(ctx, any, getDevice));
  server.Put(R"(/api/v1/devices/(\d+))", guardedAs(ctx, admin, putDevice));
  server.Delete(R"(/api/v1/devices/(\d+))", guardedAs(ctx, admin, deleteDevice));

  server.Get("/api/v1/tokens", guardedAs(ctx, any, listTokens));
  server.Post("/api/v1/tokens", guardedAs(ctx, any, createToken));
  server.Delete(R"(/api/v1/tokens/(\d+))", guardedAs(ctx, any, revokeToken));

  server.Get("/api/v1/lines", guardedAs(ctx, any, [&ctx](const auto&, auto& res, const auto& c) {
               replyJson(res, 200, linesJson(ctx, c));  // routes_events.cc
             }));
  server.Post("/api/v1/maintenance/cleanup", guardedAs(ctx, admin, cleanup));
}

}  // namespace vfax::api::detail
