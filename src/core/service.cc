#include "core/service.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "core/destination_policy.h"
#include "core/hex.h"
#include "core/log_safe.h"
#include "core/mail_address.h"
#include "core/number_plan.h"
#include "core/scheduler.h"

namespace vfax::core {

namespace fs = std::filesystem;

namespace {

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
      previews_(std::make_unique<Previews>((fs::path(options.dataDir) / "previews").string(), clock,
                                           options.previewTtl, options.previewsPerUser)),
      scheduler_(
          std::make_unique<Scheduler>(store, documents, telephony, clock, std::move(options))) {
  telephony.setEvents(scheduler_.get());
}

Service::~Service() { stop(); }

Result<void> Service::start() {
  if (auto r = accounts_->start(); !r) return r;
  if (auto r = previews_->start(); !r) return r;
  // Expired previews also go while nobody asks for one.
  scheduler_->setHousekeeping([this] { previews_->removeExpired(); });
  return scheduler_->start();
}

void Service::addObserver(FaxObserver* observer) { scheduler_->addObserver(observer); }

void Service::beginShutdown() { scheduler_->beginShutdown(); }

void Service::stop() {
  {
    // Previews waiting for their turn give up: vfaxd's stop does not wait for them.
    std::lock_guard lock(previewMutex_);
    stopping_ = true;
  }
  previewCv_.notify_all();
  scheduler_->stop();
  accounts_->stop();
}

// ---------------------------------------------------------------------------------------------
// Faxes

// What submit() checks and the record it would queue (no id, no files yet): the documents' types
// into `types`, the device, the daily page limit, and the destination (when `needNumber` or a
// `to` is given).
Result<Fax> Service::draft(const SubmitRequest& req, std::vector<std::string>* types,
                           bool needNumber) {
  auto& store = scheduler_->store();
  for (const auto& u : req.files) {
    std::error_code ec;
    const auto size = fs::file_size(u.path, ec);
    if (ec || size == 0) {
      return makeError("empty_file", "the file '" + u.filename + "' is empty");
    }
    auto type = scheduler_->documents().sniff(u.path);
    if (!type) {
      return makeError(type.error().code, "'" + u.filename + "': " + type.error().message);
    }
    types->push_back(*type);
  }
  if (req.priority < -100 || req.priority > 100) {
    return makeError("invalid_request", "priority must be between -100 and 100");
  }
  if (!req.notify.empty()) {
    if (auto r = validateMailAddress(req.notify, "notify"); !r) return r.error();
  }
  std::optional<Device> device;
  if (req.deviceId) {
    auto d = store.device(*req.deviceId);
    if (!d) return d.error();
    if (!*d)
      return makeError("unknown_device", "there is no device " + std::to_string(*req.deviceId));
    device = **d;
  }

  // The daily page limit of the user who submits (API, CLI, web; Mail-to-Fax: the device's
  // owner): pages of their jobs since local midnight. Pages are known once a job is converted.
  const int limit = scheduler_->currentSettings().dailyPageLimit;
  if (limit > 0 && req.userId) {
    const Millis midnight = startOfLocalDay(scheduler_->clock().now());
    auto used = store.pagesSubmittedSince(*req.userId, midnight);
    if (!used) return used.error();
    if (*used >= limit) {
      return makeError("destination_not_allowed",
                       "the daily page limit of " + std::to_string(limit) + " pages is reached (" +
                           std::to_string(*used) + " sent today; setting daily_page_limit)");
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
  if (!needNumber && req.to.find_first_not_of(" \t") == std::string::npos) return fax;
  auto dest = resolveDestination(store, plan, settings, req.to);
  if (!dest) return dest.error();
  if (auto allowed = checkDestination(*dest, settings); !allowed) {
    spdlog::warn("refused a fax to {} (from {}): {}", logSafe(dest->e164), logSafe(req.origin),
                 logSafe(allowed.error().message, 600));
    return allowed.error();
  }
  if (dest->internal) fax.extension = dest->extension;
  fax.number = dest->e164;
  fax.dialString = dest->dialString;
  return fax;
}

Result<Fax> Service::submit(SubmitRequest req) {
  auto fail = [&req](Error e) { return refuse(req, std::move(e)); };
  const bool ready = !req.readyDir.empty() || !req.previewId.empty();
  if (ready && !req.files.empty()) {
    return fail(makeError("invalid_request", "send either files or a preview, not both"));
  }
  if (!ready && req.files.empty()) {
    return fail(makeError("no_file", "attach at least one document to fax"));
  }
  // Stopping: say so before any document is looked at (the converters are being ended, so a
  // look now would fail with their error rather than this one).
  if (!scheduler_->accepting()) return fail(makeError("unavailable", "vfaxd is stopping"));
  std::vector<std::string> types;
  auto drafted = draft(req, &types, /*needNumber=*/true);
  if (!drafted) return fail(drafted.error());
  Fax fax = std::move(*drafted);

  // Stage the documents next to the records, then insert, then give the folder its id: a crash in
  // between leaves either a tmp- folder (removed at start) or a job whose recovery sees no files.
  const fs::path faxes = fs::path(scheduler_->options().dataDir) / "faxes";
  unsigned char rnd[8];
  randombytes_buf(rnd, sizeof rnd);
  const fs::path staging = faxes / ("tmp-" + toHex(rnd, sizeof rnd));
  std::error_code ec;
  if (!req.previewId.empty()) {
    // The preview's folder becomes the job's: its pages are sent as they were seen.
    auto taken = previews_->take(req.userId.value_or(0), req.previewId, staging.string());
    if (!taken) return taken.error();
    fax.pagesTotal = taken->pages;
    fax.sourceFiles = {kReadySource};
  } else if (!req.readyDir.empty()) {
    fs::create_directories(staging, ec);
    for (const auto& entry : fs::directory_iterator(req.readyDir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name == "fax.tif" || name == "document.pdf" || name == "preview.png" ||
          name.rfind("thumb-", 0) == 0) {
        std::error_code cec;
        fs::copy_file(entry.path(), staging / name, fs::copy_options::overwrite_existing, cec);
        if (cec && name == "fax.tif") ec = cec;
      }
    }
    if (ec) {
      fs::remove_all(staging, ec);
      return makeError("storage_error", "cannot copy the pages to send again");
    }
    fax.pagesTotal = req.readyPages;
    fax.sourceFiles = {kReadySource};
  } else {
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
  }
  // Inserted here, not on the scheduler thread: concurrent submits then share the store's group
  // commit, and the scheduler thread stays free for dispatch. Dispatch only sees a job once
  // track() ran, after its folder is in place. A stop that begins after this check finds the job
  // in the store at the next start (it is accepted, so it is kept).
  auto stored = storeStaged(fax, staging);
  if (!stored) return stored.error();
  spdlog::info("fax {}: queued to {} ({})", stored->id, logSafe(stored->number),
               ready ? std::to_string(stored->pagesTotal) + " page(s) ready"
                     : std::to_string(req.files.size()) + " file(s)");
  scheduler_->post([this, job = *stored] {
    scheduler_->track(job);
    scheduler_->notifyCreated(job.id);
  });
  scheduler_->kick();
  return *stored;
}

// The device a person sends with: one they may use (default: their own device, else their only
// team device). Admins may name any device, or none.
Result<void> Service::chooseDevice(const Caller& caller, SubmitRequest& req) {
  if (caller.admin()) return {};
  auto mine = accounts_->devicesOf(caller);
  if (!mine) return mine.error();
  if (req.deviceId) {
    // Someone else's device is as unknown as one that does not exist: ids leak nothing.
    if (std::none_of(mine->begin(), mine->end(),
                     [&](const Device& d) { return d.id == *req.deviceId; })) {
      return makeError("unknown_device", "there is no device " + std::to_string(*req.deviceId) +
                                             " that you may send with");
    }
    return {};
  }
  auto own = std::find_if(mine->begin(), mine->end(), [&](const Device& d) {
    return d.kind == DeviceKind::User && d.owner == caller.userId;
  });
  if (own != mine->end()) {
    req.deviceId = own->id;
  } else if (mine->size() == 1) {
    req.deviceId = mine->front().id;
  } else if (mine->empty()) {
    return makeError("forbidden", "you have no fax device to send with; ask an admin for one");
  } else {
    return makeError("invalid_request", "device: you may send with several team devices; name one");
  }
  return {};
}

// POST /faxes preview=ID: the preview's record gives what the client did not name; what shaped
// the pages must not change (the pages would not show it).
Result<void> Service::fromPreview(const Caller& caller, SubmitRequest& req) {
  auto p = previews_->get(caller.userId, req.previewId);
  if (!p) return p.error();
  auto given = [&req](const char* f) { return req.fieldsGiven.contains(f); };
  auto differs = [](const char* f, const std::string& shown) {
    return makeError("invalid_request",
                     std::string(f) + " differs from the preview's (" +
                         (shown.empty() ? "none" : shown) +
                         "): its pages show it; make a new preview to change it");
  };
  if (given("device") && req.deviceId != p->deviceId) {
    return differs("device", p->deviceId ? std::to_string(*p->deviceId) : "");
  }
  if (given("resolution") && req.fine != p->fine)
    return differs("resolution", p->fine ? "fine" : "normal");
  if (given("cover") && req.coverPage && *req.coverPage != p->cover) {
    return differs("cover", p->cover ? "true" : "false");
  }
  if (given("subject") && req.subject != p->subject) return differs("subject", p->subject);
  if (given("comment") && req.comment != p->comment) return differs("comment", p->comment);
  const bool toGiven = req.to.find_first_not_of(" \t") != std::string::npos;
  if (!toGiven) {
    req.to = p->to;
  } else if (p->cover && !p->to.empty() && req.to != p->to) {
    return differs("to", p->to);  // the cover page names the recipient's number
  }
  if (req.to.find_first_not_of(" \t") == std::string::npos) {
    return makeError("invalid_number", "give the number to fax to in the field 'to'");
  }
  req.deviceId = p->deviceId;
  req.fine = p->fine;
  req.coverPage = p->cover;
  req.subject = p->subject;
  req.comment = p->comment;
  if (!given("tag")) req.tag = p->tag;
  if (!given("priority")) req.priority = p->priority;
  if (!given("notify")) req.notify = p->notify;
  return {};
}

Result<Fax> Service::submitAs(const Caller& caller, SubmitRequest req) {
  auto discard = [&req](Error e) { return refuse(req, std::move(e)); };
  req.userId = caller.userId != 0 ? std::optional<std::int64_t>(caller.userId) : std::nullopt;
  if (!req.previewId.empty()) {
    if (!req.files.empty()) {
      return discard(makeError("invalid_request", "send either files or a preview, not both"));
    }
    if (auto r = fromPreview(caller, req); !r) return r.error();
  }
  if (req.notify.empty()) req.notify = caller.email;
  if (auto r = chooseDevice(caller, req); !r) return discard(r.error());
  return submit(std::move(req));
}

// ---------------------------------------------------------------------------------------------
// Previews and pages

Result<PreviewRecord> Service::preview(const Caller& caller, SubmitRequest req) {
  auto discard = [&req](Error e) {
    return Result<PreviewRecord>(refuse(req, std::move(e)).error());
  };
  req.userId = caller.userId != 0 ? std::optional<std::int64_t>(caller.userId) : std::nullopt;
  if (req.files.empty())
    return discard(makeError("no_file", "attach at least one document to fax"));
  if (req.notify.empty()) req.notify = caller.email;
  if (auto r = chooseDevice(caller, req); !r) return discard(r.error());
  std::vector<std::string> types;
  auto fax = draft(req, &types, /*needNumber=*/false);
  if (!fax) return discard(fax.error());
  previews_->removeExpired();
  auto staging = previews_->stage();
  if (!staging) return discard(staging.error());
  const fs::path dir = *staging;
  auto pages = convertInto(caller.userId, *fax, req.files, types, dir.string());
  if (!pages) {
    previews_->discard(dir.string());
    return discard(pages.error());
  }
  PreviewRecord record;
  record.owner = caller.userId;
  record.pages = *pages;
  record.to = req.to;
  record.deviceId = fax->deviceId;
  record.tag = fax->tag;
  record.priority = fax->priority;
  record.notify = req.notify;
  record.fine = fax->fine;
  record.cover = fax->coverPage;
  record.subject = fax->subject;
  record.comment = fax->comment;
  return previews_->commit(dir.string(), std::move(record));
}

Result<int> Service::convertInto(std::int64_t userId, const Fax& fax,
                                 const std::vector<Upload>& files,
                                 const std::vector<std::string>& types,
                                 const std::string& dirName) {
  const fs::path dir = dirName;
  ConvertRequest conv;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string name = "source-" + std::to_string(i + 1) + "." + types[i];
    if (auto r = moveFile(files[i].path, (dir / name).string()); !r) return r.error();
    conv.inputs.push_back((dir / name).string());
  }
  conv.outputTiff = (dir / "fax.tif").string();
  conv.fine = fax.fine;
  if (fax.coverPage) {
    std::string sender = scheduler_->options().headerName;
    if (fax.deviceId) {
      if (auto d = scheduler_->store().device(*fax.deviceId); d && *d) sender = (*d)->name;
    }
    scheduler_->documents().fillCoverPage(
        fax, sender, scheduler_->currentSettings(), scheduler_->clock().now(),
        (fs::path(scheduler_->options().dataDir) / "templates").string(), &conv);
  }
  // Conversions are costly: at most previewConversions at once, the others wait their turn (like
  // jobs waiting for a conversion worker). Only a few wait, on HTTP threads; beyond that the caller
  // is told to come back, so that previews never tie up every thread of the API.
  // One conversion at a time per user (a preview or a print job), so one user cannot take every
  // turn.
  {
    const int limit = std::max(1, scheduler_->options().previewConversions);
    std::unique_lock lock(previewMutex_);
    const char* refusal = nullptr;
    if (userId != 0 && previewUsers_.contains(userId)) {
      refusal = "too_many_requests";
    } else if (stopping_ || previewsRunning_ + previewsWaiting_ >= 3 * limit) {
      refusal = "unavailable";
    }
    if (refusal) {
      lock.unlock();
      std::error_code ec;
      for (const auto& in : conv.inputs) fs::remove(in, ec);
      return makeError(refusal,
                       std::string(refusal) == "too_many_requests"
                           ? "a conversion of yours is under way; wait for it"
                           : "too many documents are being converted right now; try again");
    }
    if (userId != 0) previewUsers_.insert(userId);
    ++previewsWaiting_;
    previewCv_.wait(lock, [this, limit] { return stopping_ || previewsRunning_ < limit; });
    --previewsWaiting_;
    if (stopping_) {
      previewUsers_.erase(userId);
      lock.unlock();
      std::error_code ec;
      for (const auto& in : conv.inputs) fs::remove(in, ec);
      return makeError("unavailable", "vfaxd is stopping");
    }
    ++previewsRunning_;
  }
  // The turn is given back however the conversion ends (an exception included).
  struct Turn {
    Service* self;
    std::int64_t user;
    ~Turn() {
      {
        std::lock_guard lock(self->previewMutex_);
        --self->previewsRunning_;
        self->previewUsers_.erase(user);
      }
      self->previewCv_.notify_all();
    }
  };
  Result<int> pages = makeError("conversion_failed", "no pages");
  Result<int> pdf = makeError("conversion_failed", "no pages");
  {
    Turn turn{this, userId};
    pages = scheduler_->documents().toFax(conv);
    if (pages) {
      pdf = scheduler_->documents().faxToPdf(conv.outputTiff, (dir / "document.pdf").string(),
                                             (dir / "preview.png").string());
    }
  }
  std::error_code ec;
  for (const auto& in : conv.inputs) fs::remove(in, ec);  // the pages are what is kept
  if (!pages || !pdf) return pages ? pdf.error() : pages.error();
  if (*pages <= 0) return makeError("conversion_failed", "the documents have no pages");
  return *pages;
}

// Stores `fax` and moves its folder, prepared in `staging`, to faxes/ID: the record first, so that
// a crash leaves at most a folder nothing shows; the staging folder is gone either way.
Result<Fax> Service::storeStaged(const Fax& fax, const fs::path& staging) {
  std::error_code ec;
  if (!scheduler_->accepting()) {
    fs::remove_all(staging, ec);
    return makeError("unavailable", "vfaxd is stopping");
  }
  auto stored = scheduler_->store().insertFax(fax);
  if (!stored) {
    fs::remove_all(staging, ec);
    return stored.error();
  }
  fs::rename(staging, fs::path(scheduler_->faxDir(stored->id)), ec);
  if (ec) {
    spdlog::error("fax {}: cannot move its documents in place: {}", stored->id, ec.message());
    (void)scheduler_->store().deleteFax(stored->id);
    fs::remove_all(staging, ec);
    return makeError("storage_error", "the documents could not be stored");
  }
  return stored;
}

Result<Fax> Service::hold(const Caller& caller, SubmitRequest req) {
  auto discard = [&req](Error e) { return refuse(req, std::move(e)); };
  req.userId = caller.userId != 0 ? std::optional<std::int64_t>(caller.userId) : std::nullopt;
  req.to.clear();
  if (req.files.empty())
    return discard(makeError("no_file", "attach at least one document to fax"));
  if (req.notify.empty()) req.notify = caller.email;
  if (auto r = chooseDevice(caller, req); !r) return discard(r.error());
  std::vector<std::string> types;
  auto drafted = draft(req, &types, /*needNumber=*/false);
  if (!drafted) return discard(drafted.error());
  Fax fax = std::move(*drafted);
  fax.state = FaxState::Held;
  // Converted now, so that the user sees the pages they complete, and a broken document is
  // refused while the print dialog still waits for the answer.
  fax.coverPage = false;
  const fs::path faxes = fs::path(scheduler_->options().dataDir) / "faxes";
  unsigned char rnd[8];
  randombytes_buf(rnd, sizeof rnd);
  const fs::path staging = faxes / ("tmp-" + toHex(rnd, sizeof rnd));
  std::error_code ec;
  fs::create_directories(staging, ec);
  if (ec) {
    return discard(
        makeError("storage_error", "cannot create " + staging.string() + ": " + ec.message()));
  }
  // A print job waits for its turn like any other; only previews are one per user.
  auto pages = convertInto(0, fax, req.files, types, staging.string());
  if (!pages) {
    fs::remove_all(staging, ec);
    return discard(pages.error());
  }
  fax.pagesTotal = *pages;
  fax.sourceFiles = {kReadySource};
  auto stored = storeStaged(fax, staging);
  if (!stored) return stored.error();
  spdlog::info("fax {}: held for its user ({} page(s), from {})", stored->id, stored->pagesTotal,
               logSafe(stored->origin));
  scheduler_->post([this, job = *stored] { scheduler_->notifyCreated(job.id); });
  scheduler_->kick();  // the expiry check learns of it
  return *stored;
}

Result<Fax> Service::release(const Caller& caller, std::int64_t id, const ReleaseRequest& r) {
  auto held = getFor(caller, id);
  if (!held) return held.error();
  if (held->state != FaxState::Held) {
    return makeError("conflict", "fax " + std::to_string(id) + " is " +
                                     std::string(toString(held->state)) +
                                     "; only a held print job can be released");
  }
  if (r.to.find_first_not_of(" \t") == std::string::npos) {
    return makeError("invalid_number", "give the number to fax to in the field 'to'");
  }
  SubmitRequest req;
  req.to = r.to;
  req.deviceId = held->deviceId;
  req.userId = caller.userId != 0 ? std::optional<std::int64_t>(caller.userId) : held->userId;
  req.fine = held->fine;
  req.coverPage = r.coverPage;
  req.subject = r.subject;
  req.comment = r.comment;
  req.notify = r.notify.value_or(held->notify);
  req.tag = r.tag.value_or(held->tag);
  req.priority = r.priority.value_or(held->priority);
  req.origin = held->origin;
  std::vector<std::string> types;
  auto drafted = draft(req, &types, /*needNumber=*/true);
  if (!drafted) return drafted.error();
  return scheduler_->call<Fax>(
      [this, id, fax = std::move(*drafted)] { return scheduler_->releaseHeld(id, fax); });
}

// Page images come in three widths: the list's thumbnail, the page view and the full fax width.
// A width asked for is rounded up to the next of them, so each page is rendered at most three
// times; the two small ones are kept with the fax, the full width (about 300 KB a page) is rendered
// for the one reply, so that walking every page cannot fill the disk.
static constexpr int kRenderWidths[] = {200, 860, kMaxPageWidth};
static constexpr int kMaxRendersAtOnce = 4;

Result<PagePng> Service::renderCached(const std::string& dir, int pages, int page, int width) {
  if (page < 1 || (pages > 0 && page > pages)) {
    return makeError("not_found", "there is no page " + std::to_string(page) + " (" +
                                      std::to_string(pages) + " page(s))");
  }
  if (width < kMinPageWidth || width > kMaxPageWidth) {
    return makeError("invalid_request", "width must be from " + std::to_string(kMinPageWidth) +
                                            " to " + std::to_string(kMaxPageWidth));
  }
  for (int w : kRenderWidths) {
    if (width <= w) {
      width = w;
      break;
    }
  }
  const bool keep = width != kMaxPageWidth;
  const std::string key = dir + "/page-" + std::to_string(page) + "-w" + std::to_string(width);
  const fs::path png = key + ".png";
  std::error_code ec;
  if (keep && fs::is_regular_file(png, ec)) return PagePng{png.string(), true};
  const fs::path pdf = fs::path(dir) / "document.pdf";
  if (!fs::is_regular_file(pdf, ec)) {
    return makeError("not_found", "there is no document to show");
  }
  {
    // The same page asked for twice (a team looking at one fax) is rendered once: the second
    // request waits for the first. Beyond a few renders at once the caller comes back later, so
    // that renders never hold every thread of the API.
    std::unique_lock lock(renderMutex_);
    renderCv_.wait_for(lock, std::chrono::seconds(30), [&] { return !rendering_.contains(key); });
    if (keep && fs::is_regular_file(png, ec)) return PagePng{png.string(), true};
    if (rendering_.contains(key) || rendersRunning_ >= kMaxRendersAtOnce) {
      return makeError("unavailable", "the server is busy showing pages; try again in a moment");
    }
    rendering_.insert(key);
    ++rendersRunning_;
  }
  struct Done {
    Service* self;
    const std::string& key;
    ~Done() {
      {
        std::lock_guard lock(self->renderMutex_);
        self->rendering_.erase(key);
        --self->rendersRunning_;
      }
      self->renderCv_.notify_all();
    }
  } done{this, key};
  // Written beside and renamed into place: nobody is ever served half a PNG, and a crash leaves
  // no broken page behind.
  unsigned char rnd[8];
  randombytes_buf(rnd, sizeof rnd);
  const fs::path tmp = key + ".tmp-" + toHex(rnd, sizeof rnd) + ".png";
  auto n = scheduler_->documents().renderPage(pdf.string(), page - 1, width, tmp.string());
  if (!n) {
    fs::remove(tmp, ec);
    return n.error();
  }
  const fs::path out = keep ? png : fs::path(key + ".once-" + toHex(rnd, sizeof rnd) + ".png");
  fs::rename(tmp, out, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return makeError("storage_error", "the page image could not be stored");
  }
  return PagePng{out.string(), keep};
}

Result<PagePng> Service::pagePng(std::int64_t id, int page, int width) {
  auto fax = get(id);
  if (!fax) return fax.error();
  if (fax->state == FaxState::Receiving || (!isFinal(fax->state) && fax->pagesTotal == 0)) {
    return makeError("not_ready", "fax " + std::to_string(id) + " is " +
                                      std::string(toString(fax->state)) +
                                      "; its pages are not ready yet");
  }
  if (fax->pagesTotal == 0) {
    return makeError("not_found", "fax " + std::to_string(id) + " has no pages");
  }
  return renderCached(scheduler_->faxDir(id), fax->pagesTotal, page, width);
}

Result<PagePng> Service::previewPagePng(const Caller& caller, const std::string& id, int page,
                                        int width) {
  auto p = previews_->get(caller.userId, id);
  if (!p) return p.error();
  return renderCached(previews_->folder(id), p->pages, page, width);
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

Result<std::optional<Fax>> Service::remove(std::int64_t id) {
  if (auto f = get(id); !f) return f.error();
  return scheduler_->call<std::optional<Fax>>([this, id] { return scheduler_->removeFax(id); });
}

Result<Fax> Service::resend(const Caller& caller, std::int64_t id, const std::string& to) {
  auto fax = getFor(caller, id);
  if (!fax) return fax.error();
  const bool toGiven = to.find_first_not_of(" \t") != std::string::npos;
  if (fax->direction == Direction::In && !toGiven) {
    return makeError("invalid_number", "give the number to forward the received fax to in 'to'");
  }
  const std::string dir = scheduler_->faxDir(id);
  std::error_code ec;
  if (fax->state == FaxState::Receiving || fax->pagesTotal <= 0 ||
      !fs::is_regular_file(dir + "/fax.tif", ec) ||
      !fs::is_regular_file(dir + "/document.pdf", ec)) {
    return makeError("conflict", "fax " + std::to_string(id) + " has no pages to send" +
                                     (isFinal(fax->state) ? "" : " yet"));
  }
  SubmitRequest req;
  req.to = toGiven ? to : fax->number;
  // Outbound: the same number as dialled before, typed as the number plan reads it.
  if (!toGiven && !fax->extension.empty()) req.to = fax->extension;
  req.deviceId = fax->deviceId;
  req.fine = fax->fine;
  req.coverPage = fax->direction == Direction::Out ? fax->coverPage : false;
  req.subject = fax->subject;
  req.comment = fax->comment;
  req.tag = fax->tag;
  req.priority = fax->priority;
  req.origin = "resend";
  req.readyDir = dir;
  req.readyPages = fax->pagesTotal;
  if (fax->direction == Direction::In && !caller.admin()) req.deviceId.reset();
  return submitAs(caller, std::move(req));
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
  if (patternCheck_ && changes.contains("print_field_patterns")) {
    if (auto r = patternCheck_(s.printFieldPatterns); !r) return r.error();
  }
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
  if (auto r = validateMailAddress(d.email, "email"); !r) {
    return makeError("invalid_device", r.error().message);
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
  auto added = scheduler_->store().insertDevice(d);
  accounts_->noteChange();  // who sees which faxes may have changed
  return added;
}

Result<Device> Service::updateDevice(Device d) {
  if (auto r = device(d.id); !r) return r;
  if (auto r = validateDevice(d); !r) return r.error();
  if (auto r = validateOwners(scheduler_->store(), d); !r) return r.error();
  auto updated = scheduler_->store().updateDevice(d);
  accounts_->noteChange();
  if (!updated) return updated.error();
  return device(d.id);
}

Result<void> Service::removeDevice(std::int64_t id) {
  auto r = scheduler_->store().deleteDevice(id);
  accounts_->noteChange();
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
