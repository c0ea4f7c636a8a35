// GET /api/v1/events (Server-Sent Events) and the live calls of GET /api/v1/lines.
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>

#include "api/credentials.h"
#include "api/event_streams.h"
#include "core/log_safe.h"

namespace vfax::api::detail {

namespace {

using Clock = std::chrono::steady_clock;

const char* phaseName(core::CallPhase p) {
  switch (p) {
    case core::CallPhase::Dialing:
      return "dialing";
    case core::CallPhase::Training:
      return "training";
    case core::CallPhase::Sending:
      return "sending";
    case core::CallPhase::Receiving:
      return "receiving";
    case core::CallPhase::Ending:
      return "ending";
  }
  return "ending";
}

// One call of /lines. `page` is the page under way while the call trains or moves pages (pages
// done + 1, never beyond the total), else the pages done.
// What a call's JSON needs of its fax (device, pages) does not change while the call is up: the
// lines poller keeps it for the calls in progress instead of reading the store twice a second.
using FaxCache = std::map<std::int64_t, core::Fax>;

Json callJson(const core::CallStatus& c, const std::optional<core::Fax>& fax) {
  std::optional<int> total;
  if (fax && fax->pagesTotal > 0 && fax->direction == core::Direction::Out) {
    total = fax->pagesTotal;
  }
  int page = c.pages;
  if (c.phase == core::CallPhase::Training || c.phase == core::CallPhase::Sending ||
      c.phase == core::CallPhase::Receiving) {
    page = c.pages + 1;
    if (total && page > *total) page = *total;
  }
  Json j = {
      {"fax", c.faxId},
      {"direction", c.direction == core::Direction::In ? "in" : "out"},
      {"number", c.number},
      {"device", fax && fax->deviceId ? Json(*fax->deviceId) : Json(nullptr)},
      {"trunk", c.trunk},
      {"phase", phaseName(c.phase)},
      {"page", page},
      {"pages_done", c.pages},
      {"pages_total", total ? Json(*total) : Json(nullptr)},
      {"bit_rate", c.bitRate > 0 ? Json(c.bitRate) : Json(nullptr)},
      {"ecm", c.ecm},
      {"media", std::string(core::toString(c.media))},
      {"started_at", c.startedAt},
  };
  if (!c.codec.empty()) j["codec"] = c.codec;
  return j;
}

Json linesWithCalls(Context& ctx, const Visibility& v, FaxCache* cache) {
  Json out = toJson(ctx.service.lines(), ctx.trunks());
  addSipLines(out, ctx, v.all);
  Json calls = Json::array();
  if (ctx.options.telephony) {
    FaxCache seen;
    for (const auto& c : ctx.options.telephony->callStatus()) {
      std::optional<core::Fax> fax;
      if (cache) {
        if (auto it = cache->find(c.faxId); it != cache->end()) fax = it->second;
      }
      if (!fax) {
        if (auto f = ctx.service.get(c.faxId)) fax = std::move(*f);
      }
      if (fax && cache) seen.emplace(c.faxId, *fax);
      if (!v.sees(fax ? fax->deviceId : std::nullopt)) continue;
      calls.push_back(callJson(c, fax));
    }
    if (cache) *cache = std::move(seen);  // only the faxes of calls still up
  }
  out["calls"] = std::move(calls);
  return out;
}

core::Result<Visibility> visibilityOf(Context& ctx, const core::Caller& caller) {
  auto devices = ctx.service.accounts().visibleDevices(caller);
  if (!devices) return devices.error();
  Visibility v;
  if (!*devices) {
    v.all = true;
  } else {
    v.devices = std::move(**devices);
  }
  return v;
}

// One open stream: its subscription and what it needs to check the caller again.
struct Stream {
  Context& ctx;
  std::shared_ptr<EventSubscription> sub;
  std::string bearer;  // the credential it was opened with: a token, or a session cookie
  std::string cookie;
  std::string source;
  std::string username;
  std::uint64_t nextId = 1;
  bool started = false;
  Clock::time_point lastWrite = Clock::now();
  Clock::time_point lastCheck = Clock::now();
  std::uint64_t changesSeen = ctx.service.accounts().changeCount();

  bool write(httplib::DataSink& sink, const std::string& text) {
    lastWrite = Clock::now();
    return sink.write(text.data(), text.size());
  }

  // The session or token may have ended, or the user's devices changed.
  bool recheck() {
    lastCheck = Clock::now();
    auto& accounts = ctx.service.accounts();
    changesSeen = accounts.changeCount();
    // An open page is no activity: the session's idle time runs on (it is renewed by requests).
    auto caller = bearer.empty() ? accounts.authenticateSession(cookie, source, /*touch=*/false)
                                 : accounts.authenticateToken(bearer, source);
    if (!caller) {
      if (caller.error().code == "unauthorized") {
        spdlog::info("api: event stream of '{}' ended: {}", core::logSafe(username),
                     core::logSafe(caller.error().message, 400));
        return false;
      }
      return true;  // a store hiccup does not end the stream; checked again next time
    }
    if (auto v = visibilityOf(ctx, *caller)) sub->setVisibility(std::move(*v));
    return true;
  }

  // httplib calls this again and again on the connection's worker thread while it returns true.
  // Each call waits at most a second, so that a stop is seen at once (the hub wakes it) and the
  // keep-alive and the credential check run on time.
  bool pump(httplib::DataSink& sink) {
    if (!started) {
      started = true;
      return write(sink, "retry: " + std::to_string(kRetryMs) + "\n\n");
    }
    auto events = sub->wait(std::chrono::milliseconds(1000));
    if (sub->closed()) return false;  // vfaxd stops, or the client fell too far behind
    for (const auto& e : events) {
      std::string text =
          "id: " + std::to_string(nextId++) + "\nevent: " + e.name + "\ndata: " + e.data + "\n\n";
      if (!write(sink, text)) return false;
    }
    const auto now = Clock::now();
    // At once after a logout or a change of users, tokens or devices; else now and then (expiry).
    const bool changed = ctx.service.accounts().changeCount() != changesSeen;
    if ((changed || now - lastCheck >= std::chrono::seconds(kRecheckSeconds)) && !recheck())
      return false;
    if (now - lastWrite >= std::chrono::seconds(kKeepAliveSeconds)) {
      if (!write(sink, ": keep-alive\n\n")) return false;
    }
    return true;
  }
};

void getEvents(Context& ctx, EventHub& hub, const httplib::Request& req, httplib::Response& res,
               const core::Caller& caller) {
  auto v = visibilityOf(ctx, caller);
  if (!v) return replyError(res, v.error());
  auto sub = hub.subscribe(caller.userId, std::move(*v));
  if (!sub) {
    if (sub.error().code == "too_many_streams") res.set_header("Retry-After", "30");
    return replyError(res, sub.error());
  }
  auto stream =
      std::make_shared<Stream>(Stream{.ctx = ctx,
                                      .sub = std::move(*sub),
                                      .bearer = bearerToken(req.get_header_value("Authorization")),
                                      .cookie = cookieValue(req, kSessionCookie),
                                      .source = req.remote_addr,
                                      .username = caller.username});
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // a reverse proxy must not hold events back
  res.set_chunked_content_provider(
      "text/event-stream",
      [stream](std::size_t, httplib::DataSink& sink) { return stream->pump(sink); },
      [stream](bool) { stream->sub->close(); });
}

}  // namespace

Json linesJson(Context& ctx, const core::Caller& caller) {
  auto v = visibilityOf(ctx, caller);
  return linesWithCalls(ctx, v ? *v : Visibility{}, nullptr);
}

Json allLinesJson(Context& ctx, std::map<std::int64_t, core::Fax>* cache) {
  return linesWithCalls(ctx, Visibility{.all = true, .devices = {}}, cache);
}

void EventStreams::start() {
  hub_.reopen();
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  poller_ = std::thread([this] { pollLines(); });
}

void EventStreams::stop() {
  hub_.close();  // every stream's wait returns now, and its worker thread ends the response
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

// Publishes the lines snapshot when a call changed (telephony's version) or a fax changed (the
// queue counts), at most every kLinesIntervalMs, and only when the JSON differs from the last.
void EventStreams::pollLines() {
  std::uint64_t seenCalls = ~0ull, seenFaxes = ~0ull;
  auto lastRefresh = Clock::now();
  std::string last;
  FaxCache faxes;
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait_for(lock, std::chrono::milliseconds(kLinesIntervalMs), [this] { return stopping_; });
    if (stopping_) return;
    if (hub_.streams() == 0) {
      seenCalls = seenFaxes = ~0ull;  // a new stream starts from what is then
      continue;
    }
    const std::uint64_t calls =
        ctx_.options.telephony ? ctx_.options.telephony->callStatusVersion() : 0;
    const std::uint64_t changes = hub_.faxChanges();
    const auto now = Clock::now();
    if (calls == seenCalls && changes == seenFaxes &&
        now - lastRefresh < std::chrono::seconds(kLinesRefreshSeconds)) {
      continue;
    }
    seenCalls = calls;
    seenFaxes = changes;
    lastRefresh = now;
    lock.unlock();
    try {
      Json lines = allLinesJson(ctx_, &faxes);
      std::string text = lines.dump(-1, ' ', false, Json::error_handler_t::replace);
      if (text != last) {
        last = std::move(text);
        hub_.publishLines(std::move(lines));
      }
    } catch (const std::exception& ex) {
      spdlog::warn("api: lines for the event streams: {}", ex.what());
    }
    lock.lock();
  }
}

void addEventRoutes(httplib::Server& server, Context& ctx, EventStreams& streams) {
  server.Get("/api/v1/events",
             guardedAs(ctx, Access::Token,
                       [&ctx, &streams](const httplib::Request& req, httplib::Response& res,
                                        const core::Caller& c) {
                         getEvents(ctx, streams.hub(), req, res, c);
                       }));
}

}  // namespace vfax::api::detail
