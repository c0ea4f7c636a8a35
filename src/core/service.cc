#include "core/service.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "core/destination_policy.h"
#include "core/hex.h"
#include "core/number_plan.h"
#include "core/scheduler.h"

namespace vfax::core {

namespace fs = std::filesystem;

namespace {

bool plausibleEmail(std::string_view e) {
  const auto at = e.find('@');
  if (at == std::string_view::npos || at == 0 || at != e.rfind('@') || at + 1 >= e.size()) {
    return false;
  }
  if (e.size() > 254) return false;
  return std::none_of(e.begin(), e.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '<' || c == '>' || c == ',';
  });
}

std::string digitsOnly(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= '0' && c <= '9') out += c;
  }
  return out;
}

// A refused submission leaves nothing behind: its staged uploads go.
Result<Fax> refuse(const SubmitRequest& req, Error e) {
  std::error_code ec;
  for (const auto& u : req.files) fs::remove(u.path, ec);
  return e;
}

Result<void> moveFile(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (!ec) return {};
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) return makeError("storage_error", "cannot store the document: " + ec.message());
  fs::remove(from, ec);
  return {};
}

// The destination as submit() takes it: an own extension typed as it is (internal, always
// allowed), otherwise whatever the number plan reads.
Result<ParsedNumber> resolveDestination(Store& store, const NumberPlan& plan, const Settings& s,
                                        const std::string& to) {
  const std::string digits = digitsOnly(to);
  if (!digits.empty() && digits.size() == to.size()) {
    auto d = store.deviceByExtension(digits);
    if (!d) return d.error();
    if (*d) {
      ParsedNumber p = plan.describe("+" + s.countryCode + s.areaCode + s.baseNumber + digits);
      p.internal = true;
      p.extension = (*d)->extension;
      p.dialString = (*d)->extension;
      return p;
    }
  }
  return plan.parse(to);
}

}  // namespace

Service::Service(Store& store, Documents& documents, Telephony& telephony, const Clock& clock,
                 ServiceOptions options)
    : accounts_(std::make_unique<Accounts>(store, clock, options.accounts)),
      scheduler_(
          std::make_unique<Scheduler>(store, documents, telephony, clock, std::move(options))) {
  telephony.setEvents(scheduler_.get());
}

Service::~Service() { stop(); }

Result<void> Service::start() {
  if (auto r = accounts_->start(); !r) return r;
  return scheduler_->start();
}

void Service::addObserver(FaxObserver* observer) { scheduler_->addObserver(observer); }

void Service::beginShutdown() { scheduler_->beginShutdown(); }

void Service::stop() {
  scheduler_->stop();
  accounts_->stop();
}

// ---------------------------------------------------------------------------------------------
// Faxes

Result<Fax> Service::submit(SubmitRequest req) {
  auto fail = [&req](Error e) { return refuse(req, std::move(e)); };
  auto& store = scheduler_->store();
  if (req.files.empty()) return fail(makeError("no_file", "attach at least one document to fax"));
  std::vector<std::string> types;
  for (const auto& u : req.files) {
    std::error_code ec;
    const auto size = fs::file_size(u.path, ec);
    if (ec || size == 0) {
      return fail(makeError("empty_file", "the file '" + u.filename + "' is empty"));
    }
    auto type = scheduler_->documents().sniff(u.path);
    if (!type) {
      return fail(makeError(type.error().code, "'" + u.filename + "': " + type.error().message));
    }
    types.push_back(*type);
  }
  if (req.priority < -100 || req.priority > 100) {
    return fail(makeError("invalid_request", "priority must be between -100 and 100"));
  }
  if (!req.notify.empty() && !plausibleEmail(req.notify)) {
    return fail(
        makeError("invalid_request", "notify must be an e-mail address, got '" + req.notify + "'"));
  }
  std::optional<Device> device;
  if (req.deviceId) {
    auto d = store.device(*req.deviceId);
    if (!d) return fail(d.error());
    if (!*d) {
      return fail(
          makeError("unknown_device", "there is no device " + std::to_string(*req.deviceId)));
    }
    device = **d;
  }

  // The daily page limit of the user who submits (API, CLI, web; Mail-to-Fax: the device's
  // owner): pages of their jobs since local midnight. Pages are known once a job is converted.
  const int limit = scheduler_->currentSettings().dailyPageLimit;
  if (limit > 0 && req.userId) {
    const Millis midnight = startOfLocalDay(scheduler_->clock().now());
    auto used = store.pagesSubmittedSince(*req.userId, midnight);
    if (!used) return fail(used.error());
    if (*used >= limit) {
      return fail(
          makeError("destination_not_allowed", "the daily page limit of " + std::to_string(limit) +
                                                   " pages is reached (" + std::to_string(*used) +
                                                   " sent today; setting daily_page_limit)"));
    }
  }

  const Settings settings = scheduler_->currentSettings();
  const NumberPlan plan(settings);  // the same settings for the number and the policy
  const Millis now = scheduler_->clock().now();
  Fax fax;
  fax.direction = Direction::Out;
  fax.state = FaxState::Queued;
  fax.createdAt = now;
  fax.updatedAt = now;
  fax.priority = req.priority;
  fax.tag = req.tag;
  fax.notify = req.notify;
  fax.fine = req.fine;
  fax.coverPage = req.coverPage.value_or(settings.coverPageDefault);
  fax.subject = req.subject;
  fax.comment = req.comment;
  fax.origin = req.origin;
  fax.userId = req.userId;
  fax.deviceId = device ? std::optional<std::int64_t>(device->id) : std::nullopt;
  fax.tsi = device ? effectiveTsi(*device) : plan.defaultTsi("");

  // An own extension typed as it is is internal; anything else must be a valid number that the
  // destination policy allows.
  auto dest = resolveDestination(store, plan, settings, req.to);
  if (!dest) return fail(dest.error());
  if (auto allowed = checkDestination(*dest, settings); !allowed) {
    spdlog::warn("refused a fax to {} (from {}): {}", dest->e164, req.origin,
                 allowed.error().message);
    return fail(allowed.error());
  }
  if (dest->internal) fax.extension = dest->extension;
  fax.number = dest->e164;
  fax.dialString = dest->dialString;

  // Stage the documents next to the records, then insert, then give the folder its id: a crash in
  // between leaves either a tmp- folder (removed at start) or a job whose recovery sees no files.
  const fs::path faxes = fs::path(scheduler_->options().dataDir) / "faxes";
  unsigned char rnd[8];
  randombytes_buf(rnd, sizeof rnd);
  const fs::path staging = faxes / ("tmp-" + toHex(rnd, sizeof rnd));
  std::error_code ec;
  fs::create_directories(staging, ec);
  if (ec)
    return fail(
        makeError("storage_error", "cannot create " + staging.string() + ": " + ec.message()));
  for (size_t i = 0; i < req.files.size(); ++i) {
    const std::string name = "source-" + std::to_string(i + 1) + "." + types[i];
    if (auto r = moveFile(req.files[i].path, (staging / name).string()); !r) {
      fs::remove_all(staging, ec);
      return fail(r.error());
    }
    fax.sourceFiles.push_back(name);
  }
  // Inserted here, not on the scheduler thread: concurrent submits then share the store's group
  // commit, and the scheduler thread stays free for dispatch. Dispatch only sees a job once
  // track() ran, after its folder is in place. A stop that begins after this check finds the job
  // in the store at the next start (it is accepted, so it is kept).
  if (!scheduler_->accepting()) {
    fs::remove_all(staging, ec);
    return makeError("unavailable", "vfaxd is stopping");
  }
  auto stored = store.insertFax(fax);
  if (!stored) {
    fs::remove_all(staging, ec);
    return stored.error();
  }
  fs::rename(staging, faxes / std::to_string(stored->id), ec);
  if (ec) {
    spdlog::error("fax {}: cannot move its documents in place: {}", stored->id, ec.message());
    (void)store.deleteFax(stored->id);
    fs::remove_all(staging, ec);
    return makeError("storage_error", "the documents could not be stored");
  }
  spdlog::info("fax {}: queued to {} ({} file(s))", stored->id, stored->number, req.files.size());
  scheduler_->post([this, job = *stored] {
    scheduler_->track(job);
    scheduler_->notifyCreated(job.id);
  });
  scheduler_->kick();
  return *stored;
}

Result<Fax> Service::submitAs(const Caller& caller, SubmitRequest req) {
  auto discard = [&req](Error e) { return refuse(req, std::move(e)); };
  req.userId = caller.userId != 0 ? std::optional<std::int64_t>(caller.userId) : std::nullopt;
  if (req.notify.empty()) req.notify = caller.email;
  if (!caller.admin()) {
    auto mine = accounts_->devicesOf(caller);
    if (!mine) return discard(mine.error());
    if (req.deviceId) {
      // Someone else's device is as unknown as one that does not exist: ids leak nothing.
      if (std::none_of(mine->begin(), mine->end(),
                       [&](const Device& d) { return d.id == *req.deviceId; })) {
        return discard(makeError(
            "unknown_device",
            "there is no device " + std::to_string(*req.deviceId) + " that you may send with"));
      }
    } else {
      // Default: the user's own device, else their only team device.
      auto own = std::find_if(mine->begin(), mine->end(), [&](const Device& d) {
        return d.kind == DeviceKind::User && d.owner == caller.userId;
      });
      if (own != mine->end()) {
        req.deviceId = own->id;
      } else if (mine->size() == 1) {
        req.deviceId = mine->front().id;
      } else if (mine->empty()) {
        return discard(
            makeError("forbidden", "you have no fax device to send with; ask an admin for one"));
      } else {
        return discard(makeError("invalid_request",
                                 "device: you may send with several team devices; name one"));
      }
    }
  }
  return submit(std::move(req));
}

Result<Fax> Service::getFor(const Caller& caller, std::int64_t id) {
  auto f = get(id);
  if (!f || caller.admin()) return f;
  auto visible = accounts_->visibleDevices(caller);
  if (!visible) return visible.error();
  const auto& ids = **visible;
  if (!f->deviceId || std::find(ids.begin(), ids.end(), *f->deviceId) == ids.end()) {
    return makeError("not_found", "there is no fax " + std::to_string(id));
  }
  return f;
}

Result<NumberCheck> Service::checkNumber(const std::string& input) {
  const Settings settings = scheduler_->currentSettings();
  const NumberPlan plan(settings);
  NumberCheck c;
  c.input = input;
  c.asYouType = plan.asYouType(input);
  auto dest = resolveDestination(scheduler_->store(), plan, settings, input);
  if (!dest) {
    if (dest.error().code != "invalid_number") return dest.error();
    c.reasonCode = dest.error().code;
    c.reason = dest.error().message;
    return c;
  }
  c.valid = true;
  c.number = *dest;
  if (auto allowed = checkDestination(*dest, settings); !allowed) {
    c.reasonCode = allowed.error().code;
    c.reason = allowed.error().message;
  } else {
    c.allowed = true;
  }
  return c;
}

Result<Fax> Service::get(std::int64_t id) {
  auto f = scheduler_->store().fax(id);
  if (!f) return f.error();
  if (!*f) return makeError("not_found", "there is no fax " + std::to_string(id));
  return **f;
}

Result<std::vector<Fax>> Service::list(const FaxQuery& q) {
  return scheduler_->store().listFaxes(q);
}

Result<Fax> Service::cancel(std::int64_t id) {
  if (auto f = get(id); !f) return f;
  return scheduler_->call<Fax>([this, id] { return scheduler_->cancelJob(id); });
}

Result<std::string> Service::documentPath(std::int64_t id, DocumentKind kind) {
  auto fax = get(id);
  if (!fax) return fax.error();
  const char* name = kind == DocumentKind::Pdf    ? "document.pdf"
                     : kind == DocumentKind::Tiff ? "fax.tif"
                                                  : "preview.png";
  const std::string path = scheduler_->faxDir(id) + "/" + name;
  std::error_code ec;
  if (fs::exists(path, ec) && (fax->state != FaxState::Receiving || kind == DocumentKind::Tiff)) {
    return path;
  }
  if (!isFinal(fax->state) || fax->state == FaxState::Receiving) {
    return makeError("not_ready", "fax " + std::to_string(id) + " is " +
                                      std::string(toString(fax->state)) +
                                      "; its document is not ready yet");
  }
  return makeError("not_found", "fax " + std::to_string(id) + " has no " + name);
}

// ---------------------------------------------------------------------------------------------
// Settings

Result<Settings> Service::settings() { return scheduler_->currentSettings(); }

Result<Settings> Service::updateSettings(const std::map<std::string, std::string>& changes) {
  static std::mutex updateMutex;
  std::lock_guard lock(updateMutex);
  Settings s = scheduler_->currentSettings();
  if (auto r = applyChanges(s, changes); !r) return r.error();
  if (auto r = scheduler_->store().saveSettings(s); !r) return r.error();
  scheduler_->settingsChanged(s);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Devices

namespace {

Result<void> validateDevice(const Device& d) {
  if (d.name.empty() || d.name.size() > 100) {
    return makeError("invalid_device", "a device needs a name of 1 to 100 characters");
  }
  if (!plausibleEmail(d.email)) {
    return makeError("invalid_device", "'" + d.email + "' is not an e-mail address");
  }
  if (!isValidExtension(d.extension)) {
    return makeError("invalid_device",
                     "the extension must be 1 to 15 digits, got '" + d.extension + "'");
  }
  if (!d.tsi.empty()) {
    if (auto r = validateTsi(d.tsi); !r) return makeError("invalid_device", r.error().message);
  }
  return {};
}

// Who a device belongs to: a user device has at most an owner, a team device members; each of
// them an existing user.
Result<void> validateOwners(Store& store, Device& d) {
  if (d.kind == DeviceKind::User && !d.members.empty()) {
    return makeError("invalid_device", "members: a user device has an owner, not members");
  }
  if (d.kind == DeviceKind::Team && d.owner) {
    return makeError("invalid_device", "owner: a team device has members, not an owner");
  }
  std::sort(d.members.begin(), d.members.end());
  d.members.erase(std::unique(d.members.begin(), d.members.end()), d.members.end());
  if (d.members.size() > 1000) return makeError("invalid_device", "members: at most 1000");
  std::vector<std::int64_t> ids = d.members;
  if (d.owner) ids.push_back(*d.owner);
  for (auto id : ids) {
    auto u = store.user(id);
    if (!u) return u.error();
    if (!*u) return makeError("invalid_device", "there is no user " + std::to_string(id));
  }
  return {};
}

}  // namespace

Result<std::vector<Device>> Service::devices() { return scheduler_->store().listDevices(); }

Result<Device> Service::device(std::int64_t id) {
  auto d = scheduler_->store().device(id);
  if (!d) return d.error();
  if (!*d) return makeError("not_found", "there is no device " + std::to_string(id));
  return **d;
}

Result<Device> Service::addDevice(Device d) {
  if (auto r = validateDevice(d); !r) return r.error();
  if (auto r = validateOwners(scheduler_->store(), d); !r) return r.error();
  return scheduler_->store().insertDevice(d);
}

Result<Device> Service::updateDevice(Device d) {
  if (auto r = device(d.id); !r) return r;
  if (auto r = validateDevice(d); !r) return r.error();
  if (auto r = validateOwners(scheduler_->store(), d); !r) return r.error();
  if (auto r = scheduler_->store().updateDevice(d); !r) return r.error();
  return device(d.id);
}

Result<void> Service::removeDevice(std::int64_t id) {
  auto r = scheduler_->store().deleteDevice(id);
  if (!r) return r.error();
  if (!*r) return makeError("not_found", "there is no device " + std::to_string(id));
  return {};
}

std::string Service::effectiveTsi(const Device& d) {
  return d.tsi.empty() ? scheduler_->numberPlan().defaultTsi(d.extension) : d.tsi;
}

// ---------------------------------------------------------------------------------------------
// Lines and maintenance

LineStatus Service::lines() { return scheduler_->lineStatus(); }

Result<std::vector<FaxCount>> Service::countFaxes() { return scheduler_->store().countFaxes(); }

Result<int> Service::cleanup(std::optional<int> olderThanDays) {
  return scheduler_->call<int>(
      [this, olderThanDays] { return scheduler_->cleanupNow(olderThanDays); });
}

}  // namespace vfax::core
