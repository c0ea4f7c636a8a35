// Print-to-Fax in the API: releasing a held print job (POST /faxes/{id}/release), and the two
// internal routes vfax-printer calls with the printer secret (X-Vfax-Printer):
//   POST /print/authorize  {username, password, address} | {address}: who printed (HTTP Basic
//                          on the printer), with the login throttling of POST /session
//   POST /print/jobs       multipart: file, format, user | anonymous_device, job_name,
//                          ipp_job_id, address: the job becomes fax job(s) (core::PrintIntake)
// Without the right secret (or with none configured) both answer 404 like a route that does not
// exist, so that they reveal nothing to anyone else on the API's port.
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cstring>
#include <set>

#include "api/errors.h"
#include "api/query.h"
#include "api/routes.h"
#include "api/upload.h"
#include "core/address_match.h"
#include "core/log_safe.h"

namespace vfax::api::detail {

namespace {

void replyUnknownRoute(httplib::Response& res) {
  replyJson(res, 404, errorJson("unknown_route", "there is no such route"));
}

}  // namespace

bool printerSecretOk(const Context& ctx, const httplib::Request& req) {
  const std::string& secret = ctx.options.print.secret;
  if (secret.empty() || !req.has_header("X-Vfax-Printer")) return false;
  const std::string given = req.get_header_value("X-Vfax-Printer");
  if (given.size() != secret.size()) return false;
  return sodium_memcmp(given.data(), secret.data(), secret.size()) == 0;
}

namespace {

// The device of unauthenticated jobs, if set and known.
core::Result<std::optional<core::Device>> anonymousDevice(Context& ctx) {
  const std::string& name = ctx.options.print.anonymousDevice;
  if (name.empty()) return std::optional<core::Device>();
  auto devices = ctx.service.devices();
  if (!devices) return devices.error();
  for (const auto& d : *devices) {
    if (d.extension == name || (name.starts_with("#") && name.substr(1) == std::to_string(d.id))) {
      return std::optional<core::Device>(d);
    }
  }
  spdlog::warn("print: anonymous_device '{}' names no device; unauthenticated jobs are refused",
               core::logSafe(name));
  return std::optional<core::Device>();
}

core::Caller printerCaller(const std::string& address) {
  core::Caller c = core::systemCaller();
  c.username = "printer";
  c.credential = "printer (anonymous)";
  c.source = address;
  return c;
}

core::Result<core::Caller> callerOfUser(Context& ctx, std::int64_t id, const std::string& address) {
  auto u = ctx.service.accounts().user(id);
  if (!u || !u->enabled) return core::makeError("unauthorized", "the user may not print");
  core::Caller c;
  c.userId = u->id;
  c.username = u->username;
  c.email = u->email;
  c.role = u->role;
  c.credential = "printer";
  c.source = address;
  return c;
}

// The device a user's print job goes out with, by the API's rule (their own, else their only
// team device); null when they have none or must choose.
Json defaultDeviceOf(Context& ctx, const core::Caller& caller) {
  auto mine = ctx.service.accounts().devicesOf(caller);
  if (!mine) return nullptr;
  for (const auto& d : *mine) {
    if (d.kind == core::DeviceKind::User && d.owner == caller.userId) return d.id;
  }
  if (mine->size() == 1) return mine->front().id;
  return nullptr;
}

void authorizePrint(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!printerSecretOk(ctx, req)) return replyUnknownRoute(res);
  auto body = parseObject(req.body, false);
  if (!body) return replyError(res, body.error());
  std::string username, password, address;
  bool hasUser = false;
  for (const auto& [key, value] : body->items()) {
    if (!value.is_string()) {
      return replyError(res, core::makeError("invalid_request", key + " must be a string"));
    }
    if (key == "username") {
      username = value.get<std::string>();
      hasUser = true;
    } else if (key == "password") {
      password = value.get<std::string>();
    } else if (key == "address") {
      address = value.get<std::string>();
    } else {
      return replyError(
          res, core::makeError("unknown_field", "unknown field '" + key +
                                                    "' in a print authorization (known: username, "
                                                    "password, address)"));
    }
  }
  if (address.empty()) {
    return replyError(res, core::makeError("invalid_request", "send the client's address"));
  }
  if (!hasUser) {
    auto device = anonymousDevice(ctx);
    if (!device) return replyError(res, device.error());
    if (!*device || !core::addressAllowed(address, ctx.options.print.anonymousAllow)) {
      audit(ctx, printerCaller(address), "print.login_failed", "",
            "unauthenticated job from " + address);
      res.set_header("WWW-Authenticate", "Basic realm=\"vfax\"");
      return replyError(
          res, core::makeError("unauthorized", "this printer needs a username and password"));
    }
    return replyJson(res, 200, {{"user", nullptr}, {"device", (*device)->id}});
  }
  auto& accounts = ctx.service.accounts();
  auto outcome = accounts.checkPassword(username, password, address);
  core::Caller who;
  who.username = username.substr(0, 64);
  who.credential = "printer";
  who.source = address;
  if (!outcome.login) {
    if (outcome.error.code == "too_many_requests") {
      res.set_header("Retry-After", std::to_string(outcome.retryAfterSeconds));
    } else if (outcome.error.code == "unauthorized") {
      audit(ctx, who, "print.login_failed", "user " + who.username);
    }
    return replyError(res, outcome.error);
  }
  const auto& user = outcome.login->user;
  auto caller = callerOfUser(ctx, user.id, address);
  if (!caller) return replyError(res, caller.error());
  audit(ctx, *caller, "print.login", "user " + std::to_string(user.id));
  replyJson(
      res, 200,
      {{"user", user.id}, {"username", user.username}, {"device", defaultDeviceOf(ctx, *caller)}});
}

std::string field(const MultipartCollector& c, const char* name) {
  auto it = c.fields().find(name);
  return it == c.fields().end() ? std::string() : it->second;
}

void printJob(Context& ctx, const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader& reader) {
  if (!printerSecretOk(ctx, req) || ctx.options.printIntake == nullptr) {
    drain(req, res, reader);
    return replyUnknownRoute(res);
  }
  auto c = readForm(
      ctx, req, res, reader,
      {"format", "user", "anonymous_device", "job_name", "ipp_job_id", "address", "copies"});
  if (!c) return;
  core::PrintJob job;
  for (const auto& f : c->files()) job.files.push_back(f.path);
  job.format = field(*c, "format");
  job.jobName = field(*c, "job_name").substr(0, 200);
  job.ippJobId = field(*c, "ipp_job_id").substr(0, 20);
  job.address = field(*c, "address");
  if (job.files.empty()) {
    return replyError(res, core::makeError("no_file", "the print job has no document"));
  }
  const std::string userField = field(*c, "user");
  const std::string anonField = field(*c, "anonymous_device");
  core::Caller caller;
  if (!userField.empty() == !anonField.empty()) {
    return replyError(res,
                      core::makeError("invalid_request", "send either user or anonymous_device"));
  }
  if (!userField.empty()) {
    auto id = parseId(userField);
    if (!id) return replyError(res, core::makeError("unauthorized", "unknown user"));
    auto who = callerOfUser(ctx, *id, job.address);
    if (!who) return replyError(res, who.error());
    caller = *who;
  } else {
    auto device = anonymousDevice(ctx);
    if (!device) return replyError(res, device.error());
    auto id = parseId(anonField);
    if (!*device || !id || *id != (*device)->id ||
        !core::addressAllowed(job.address, ctx.options.print.anonymousAllow)) {
      return replyError(
          res, core::makeError("unauthorized", "this printer needs a username and password"));
    }
    caller = printerCaller(job.address);
    job.anonymousDevice = *id;
  }
  auto out = ctx.options.printIntake->submit(caller, job);
  if (!out) {
    audit(ctx, caller, "print.refused", "",
          "job " + job.ippJobId + " '" + job.jobName + "': " + out.error().code);
    return replyError(res, out.error());
  }
  Json faxes = Json::array();
  std::string ids;
  for (const auto& f : out->faxes) {
    faxes.push_back(toJson(f));
    ids += (ids.empty() ? "fax " : ", ") + std::to_string(f.id);
  }
  audit(ctx, caller, out->held ? "print.held" : "print.send", ids,
        "job " + job.ippJobId + " '" + job.jobName + "'");
  replyJson(res, 201, {{"faxes", std::move(faxes)}, {"held", out->held}});
}

void release(Context& ctx, const httplib::Request& req, httplib::Response& res,
             const core::Caller& caller) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such fax"));
  auto body = parseObject(req.body, false);
  if (!body) return replyError(res, body.error());
  core::ReleaseRequest r;
  for (const auto& [k, v] : body->items()) {
    auto str = [&](const char* name) -> core::Result<std::string> {
      if (!v.is_string())
        return core::makeError("invalid_request", std::string(name) + " must be a string");
      return v.get<std::string>();
    };
    if (k == "to" || k == "subject" || k == "comment" || k == "notify" || k == "tag") {
      if (v.is_null()) continue;
      auto s = str(k.c_str());
      if (!s) return replyError(res, s.error());
      if (k == "to") r.to = *s;
      if (k == "subject") r.subject = s->substr(0, 200);
      if (k == "comment") r.comment = s->substr(0, 2000);
      if (k == "notify") r.notify = *s;
      if (k == "tag") r.tag = s->substr(0, 200);
    } else if (k == "cover") {
      if (!v.is_boolean() && !v.is_null()) {
        return replyError(res, core::makeError("invalid_request", "cover must be true or false"));
      }
      if (v.is_boolean()) r.coverPage = v.get<bool>();
    } else if (k == "priority") {
      if (!v.is_number_integer()) {
        return replyError(res, core::makeError("invalid_request",
                                               "priority must be a whole number from -100 to 100"));
      }
      const auto p = v.get<long long>();
      if (p < -100 || p > 100) {
        return replyError(
            res, core::makeError("invalid_request", "priority must be between -100 and 100"));
      }
      r.priority = static_cast<int>(p);
    } else {
      return replyError(res, core::makeError("unknown_field",
                                             "unknown field '" + k +
                                                 "' (known: to, cover, subject, comment, notify, "
                                                 "tag, priority)"));
    }
  }
  auto fax = ctx.service.release(caller, *id, r);
  if (!fax) {
    audit(ctx, caller, "fax.send_refused", "fax " + std::to_string(*id),
          "release to " + r.to + ": " + fax.error().code);
    return replyError(res, fax.error());
  }
  audit(ctx, caller, "fax.release", "fax " + std::to_string(fax->id), "to " + fax->number);
  replyJson(res, 200, toJson(*fax));
}

}  // namespace

void addPrintRoutes(httplib::Server& server, Context& ctx) {
  server.Post(R"(/api/v1/faxes/(\d+)/release)", guardedAs(ctx, Access::Token, release));
  server.Post("/api/v1/print/authorize",
              [&ctx](const httplib::Request& req, httplib::Response& res) {
                try {
                  authorizePrint(ctx, req, res);
                } catch (const std::exception& ex) {
                  replyError(res, core::makeError("internal", std::string("print: ") + ex.what()));
                }
              });
  server.Post("/api/v1/print/jobs", [&ctx](const httplib::Request& req, httplib::Response& res,
                                           const httplib::ContentReader& reader) {
    try {
      printJob(ctx, req, res, reader);
    } catch (const std::exception& ex) {
      replyError(res, core::makeError("internal", std::string("print job: ") + ex.what()));
    }
  });
}

}  // namespace vfax::api::detail
