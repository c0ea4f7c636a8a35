// /api/v1/numbers/parse?to=NUMBER (any token): how vfax reads a number while it is typed, and
// whether the destination policy lets it be dialled. Always 200 for a number, valid or not: the
// answer says why not; a missing `to` is 400.
#include "api/routes.h"

namespace vfax::api::detail {

namespace {

constexpr std::size_t kMaxInput = 100;

void parseNumber(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  for (const auto& [key, value] : req.params) {
    if (key != "to") {
      return replyError(res, core::makeError("invalid_query", "unknown parameter '" + key +
                                                                  "'; the only one is to"));
    }
  }
  if (req.params.count("to") != 1) {
    return replyError(res, core::makeError("invalid_query", "give the number once as ?to=NUMBER"));
  }
  const std::string to = req.get_param_value("to");
  if (to.size() > kMaxInput) {
    return replyError(
        res, core::makeError("invalid_number", "a fax number has at most " +
                                                   std::to_string(kMaxInput) + " characters"));
  }
  auto check = ctx.service.checkNumber(to);
  if (!check) return replyError(res, check.error());
  replyJson(res, 200, toJson(*check));
}

}  // namespace

void addNumberRoutes(httplib::Server& server, Context& ctx) {
  server.Get("/api/v1/numbers/parse",
             guarded(ctx, Access::Token,
                     [&ctx](const auto& req, auto& res) { parseNumber(ctx, req, res); }));
}

}  // namespace vfax::api::detail
