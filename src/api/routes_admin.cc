// /api/v1 settings, devices, tokens, lines and cleanup. Reading settings, devices and lines takes
// any token; changing them, tokens and cleanup take an admin token.
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

void putSettings(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  auto body = parseObject(req.body, false);
  if (!body) return replyError(res, body.error());
  auto changes = settingsChanges(*body);
  if (!changes) return replyError(res, changes.error());
  auto s = ctx.service.updateSettings(*changes);
  if (!s) return replyError(res, s.error());
  replyJson(res, 200, toJson(*s));
}

void listDevices(Context& ctx, httplib::Response& res) {
  auto devices = ctx.service.devices();
  if (!devices) return replyError(res, devices.error());
  Json items = Json::array();
  for (const auto& d : *devices) items.push_back(toJson(d, ctx.service.effectiveTsi(d)));
  replyJson(res, 200, {{"devices", std::move(items)}});
}

void addDevice(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  auto body = parseObject(req.body, false);
  if (!body) return replyError(res, body.error());
  core::Device d;
  if (auto r = mergeDevice(d, *body); !r) return replyError(res, r.error());
  auto added = ctx.service.addDevice(std::move(d));
  if (!added) return replyError(res, added.error());
  res.set_header("Location", "/api/v1/devices/" + std::to_string(added->id));
  replyDevice(ctx, res, 201, *added);
}

void getDevice(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such device"));
  auto d = ctx.service.device(*id);
  if (!d) return replyError(res, d.error());
  replyDevice(ctx, res, 200, *d);
}

void putDevice(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such device"));
  auto body = parseObject(req.body, false);
  if (!body) return replyError(res, body.error());
  auto d = ctx.service.device(*id);
  if (!d) return replyError(res, d.error());
  if (auto r = mergeDevice(*d, *body); !r) return replyError(res, r.error());
  auto updated = ctx.service.updateDevice(*d);
  if (!updated) return replyError(res, updated.error());
  replyDevice(ctx, res, 200, *updated);
}

void deleteDevice(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such device"));
  if (auto r = ctx.service.removeDevice(*id); !r) return replyError(res, r.error());
  res.status = 204;
}

void listTokens(Context& ctx, httplib::Response& res) {
  auto tokens = ctx.service.tokens();
  if (!tokens) return replyError(res, tokens.error());
  Json items = Json::array();
  for (const auto& t : *tokens) items.push_back(toJson(t));
  replyJson(res, 200, {{"tokens", std::move(items)}});
}

void createToken(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  auto body = parseObject(req.body, false);
  if (!body) return replyError(res, body.error());
  for (const auto& [key, value] : body->items()) {
    if (key != "name" && key != "admin") {
      return replyError(res,
                        core::makeError("unknown_field", "a token has no field '" + key + "'"));
    }
  }
  const Json name = body->value("name", Json(nullptr));
  const Json admin = body->value("admin", Json(false));
  if (!name.is_string())
    return replyError(res, core::makeError("invalid_request", "a token needs a name (string)"));
  if (!admin.is_boolean())
    return replyError(res, core::makeError("invalid_request", "admin must be true or false"));
  auto created = ctx.service.createToken(name.get<std::string>(), admin.get<bool>());
  if (!created) return replyError(res, created.error());
  Json out = toJson(created->token);
  out["secret"] = created->secret;
  replyJson(res, 201, out);
}

void revokeToken(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such token"));
  if (auto r = ctx.service.revokeToken(*id); !r) return replyError(res, r.error());
  res.status = 204;
}

void cleanup(Context& ctx, const httplib::Request& req, httplib::Response& res) {
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
  replyJson(res, 200, {{"deleted", *deleted}});
}

}  // namespace

void addAdminRoutes(httplib::Server& server, Context& ctx) {
  auto any = Access::Token;
  auto admin = Access::Admin;
  server.Get("/api/v1/settings",
             guarded(ctx, any, [&ctx](const auto&, auto& res) { getSettings(ctx, res); }));
  server.Put("/api/v1/settings", guarded(ctx, admin, [&ctx](const auto& req, auto& res) {
               putSettings(ctx, req, res);
             }));

  server.Get("/api/v1/devices",
             guarded(ctx, any, [&ctx](const auto&, auto& res) { listDevices(ctx, res); }));
  server.Post("/api/v1/devices", guarded(ctx, admin, [&ctx](const auto& req, auto& res) {
                addDevice(ctx, req, res);
              }));
  server.Get(R"(/api/v1/devices/(\d+))",
             guarded(ctx, any, [&ctx](const auto& req, auto& res) { getDevice(ctx, req, res); }));
  server.Put(R"(/api/v1/devices/(\d+))",
             guarded(ctx, admin, [&ctx](const auto& req, auto& res) { putDevice(ctx, req, res); }));
  server.Delete(R"(/api/v1/devices/(\d+))", guarded(ctx, admin, [&ctx](const auto& req, auto& res) {
                  deleteDevice(ctx, req, res);
                }));

  server.Get("/api/v1/tokens",
             guarded(ctx, admin, [&ctx](const auto&, auto& res) { listTokens(ctx, res); }));
  server.Post("/api/v1/tokens", guarded(ctx, admin, [&ctx](const auto& req, auto& res) {
                createToken(ctx, req, res);
              }));
  server.Delete(R"(/api/v1/tokens/(\d+))", guarded(ctx, admin, [&ctx](const auto& req, auto& res) {
                  revokeToken(ctx, req, res);
                }));

  server.Get("/api/v1/lines", guarded(ctx, any, [&ctx](const auto&, auto& res) {
               replyJson(res, 200, toJson(ctx.service.lines(), ctx.trunks()));
             }));
  server.Post("/api/v1/maintenance/cleanup",
              guarded(ctx, admin, [&ctx](const auto& req, auto& res) { cleanup(ctx, req, res); }));
}

}  // namespace vfax::api::detail
