#pragma once
// The domain facade the gateways (API, CLI via API, later mail and print) call. It owns the
// scheduler: every change of a fax's state happens on the scheduler thread. Thread-safe.
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/accounts.h"
#include "core/clock.h"
#include "core/documents.h"
#include "core/model.h"
#include "core/number_plan.h"
#include "core/observer.h"
#include "core/previews.h"
#include "core/result.h"
#include "core/settings.h"
#include "core/store.h"
#include "core/telephony.h"

namespace vfax::core {

struct ServiceOptions {
  std::string dataDir;                  // faxes live in dataDir/faxes/<id>/
  std::string defaultInboundExtension;  // unknown extensions go to this device ("" = none)
  int maxCallsPerDestination = 1;       // parallel calls to the same number
  Millis retryBusy = 60'000;            // retry delays by outcome class
  Millis retryNoAnswer = 180'000;
  Millis retryDropped = 120'000;
  Millis retryOther = 300'000;
  // No call placed (OutcomeClass::Unavailable, temporary trunk trouble): no attempt is spent; the
  // job retries after this delay, doubled at each further try up to the max.
  Millis retryUnavailable = 5'000;
  Millis retryUnavailableMax = 300'000;
  int conversionWorkers = 2;
  // Previews (POST /faxes/preview): how long one lives, how many a user keeps, and how many are
  // converted at once (more callers wait for a turn).
  Millis previewTtl = 30 * 60'000;
  int previewsPerUser = 5;
  int previewConversions = 2;
  std::string headerName = "vfax";  // sender name in the page header line
  /// One hour of print_hold_hours in ms. Only tests make it shorter (vfaxd: the environment
  /// variable VFAX_TEST_HOLD_HOUR_MS), so that a held job expires while they wait.
  Millis holdHour = 3'600'000;
  AccountOptions accounts;
};

struct Upload {
  std::string filename;  // as the client named it (for messages only)
  std::string path;      // a staged file; submit() moves it into the fax's folder
};

struct SubmitRequest {
  std::string to;
  std::vector<Upload> files;
  std::optional<std::int64_t> deviceId;
  std::string tag;
  int priority = 0;
  std::string notify;
  bool fine = true;
  std::optional<bool> coverPage;  // unset: the settings' default
  std::string subject;
  std::string comment;
  std::string origin = "api";
  std::optional<std::int64_t> userId;  // who submits (set by submitAs)
  /// Set: send this preview of the caller's (submitAs only; `files` stays empty). Its record
  /// gives every field the client did not name in `fieldsGiven`; the fields that shaped the
  /// pages (device, cover, subject, comment, resolution) must match it when named.
  std::string previewId;
  std::set<std::string> fieldsGiven;
  /// Set: the pages are ready in this folder (fax.tif, document.pdf, preview.png, thumb-N.png),
  /// `readyPages` of them, and are copied, not converted (resend). Internal to core otherwise.
  std::string readyDir;
  int readyPages = 0;
};

/// POST /faxes/{id}/release: what completes a held print job. Unset fields keep the job's.
struct ReleaseRequest {
  std::string to;
  std::optional<bool> coverPage;  // unset: the settings' default
  std::string subject;
  std::string comment;
  std::optional<std::string> notify;
  std::optional<std::string> tag;
  std::optional<int> priority;
};

/// Checks the admin's print_field_patterns (the pattern compiler of documents/); error
/// `invalid_setting` naming the pattern.
using FieldPatternCheck = std::function<Result<void>(const std::vector<std::string>&)>;

/// Widths of page images (GET /faxes/{id}/pages/{n}.png, previews' pages), px.
inline constexpr int kMinPageWidth = 100;
inline constexpr int kMaxPageWidth = 1728;

/// A page image on disk; `keep` false: made for one reply, to be removed once opened.
struct PagePng {
  std::string path;
  bool keep = true;
};

enum class DocumentKind { Pdf, Tiff, Preview };

struct LineStatus {
  int total = 0;
  int reservedInbound = 0;
  int inUse = 0;
  int inbound = 0;
  int outbound = 0;
  int queued = 0;  // jobs queued/waiting/converting
};

/// What GET /numbers/parse and `vfax number` show while a number is typed.
struct NumberCheck {
  std::string input;
  bool valid = false;
  ParsedNumber number;  // e164, dial string, type, formats: when valid
  std::string asYouType;
  bool allowed = false;
  std::string reasonCode;  // invalid_number | destination_not_allowed; empty when allowed
  std::string reason;      // why not, in words
};

class Scheduler;

class Service {
 public:
  Service(Store& store, Documents& documents, Telephony& telephony, const Clock& clock,
          ServiceOptions options);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  /// Before start(): told of every change of a fax's state (not owned).
  void addObserver(FaxObserver* observer);

  /// Recovers after a crash (calls cut by it count as failed attempts; receiving -> failed), then
  /// starts scheduling. Telephony must not be started before this.
  Result<void> start();
  /// Before the telephony stops: no new calls, and calls ended from now on do not count against a
  /// job's attempts (they resume at once after the next start).
  void beginShutdown();
  void stop();

  // Faxes. What runs on the scheduler thread (submit, cancel, cleanup) answers `unavailable`
  // ("vfaxd is stopping") once stop() has begun, also to callers that were waiting for start().
  // Every way in (API, CLI, mail, print) submits here; the destination policy is checked here
  // and again before each dial.
  Result<Fax> submit(SubmitRequest req);  // error codes: invalid_number, destination_not_allowed,
                                          // unknown_device, no_file, ...
  /// submit() for a person: the device must be one they may use (default: their own), notify
  /// defaults to their e-mail, and the daily page limit applies. Errors as submit(), and
  /// unknown_device for others' devices.
  Result<Fax> submitAs(const Caller& caller, SubmitRequest req);
  /// Reads a number as submit() would and says whether it may be dialled; store errors only.
  Result<NumberCheck> checkNumber(const std::string& input);
  Result<Fax> get(std::int64_t id);
  /// get() if `caller` may see the fax (a device of theirs), else not_found.
  Result<Fax> getFor(const Caller& caller, std::int64_t id);
  Result<std::vector<Fax>> list(const FaxQuery& q);
  Result<Fax> cancel(std::int64_t id);  // error `conflict` when already final
  /// DELETE /faxes/{id}: a fax in a final state goes with its files and attempts (empty answer);
  /// an active job is canceled instead (its record is the answer). An inbound fax still being
  /// received: `conflict`.
  Result<std::optional<Fax>> remove(std::int64_t id);
  /// Sends fax `id` (which `caller` may see) again with the same pages: an outbound fax to its
  /// number or `to`, a received fax forwarded to `to` (required). Errors as submitAs, and
  /// `conflict` when the fax has no pages to send.
  Result<Fax> resend(const Caller& caller, std::int64_t id, const std::string& to);
  /// PNG of page `page` (from 1) of fax `id`, `width` px wide, rendered on first use and kept
  /// next to the fax (widths 200, 860 and 1728; others are made for one reply and `keep` is
  /// false: the caller removes the file once it is open). not_found beyond the last page;
  /// not_ready before the document exists.
  Result<PagePng> pagePng(std::int64_t id, int page, int width);

  /// Print-to-Fax: converts the files as submitAs() would and stores the job `held` (no number
  /// yet; `to` is ignored): pages ready, never dialled until release(). Errors as submitAs.
  Result<Fax> hold(const Caller& caller, SubmitRequest req);
  /// Completes held job `id` (which `caller` may see) and queues it: the destination policy and
  /// the daily page limit apply as in submitAs. `conflict` when it is not held.
  Result<Fax> release(const Caller& caller, std::int64_t id, const ReleaseRequest& r);

  /// Converts what submitAs() would queue, without queuing it: the same checks (a `to` is
  /// optional), the same converter and limits. Errors as submitAs.
  Result<PreviewRecord> preview(const Caller& caller, SubmitRequest req);
  /// PNG of a page of the caller's preview (not_found for anyone else's, or after it expired).
  Result<PagePng> previewPagePng(const Caller& caller, const std::string& id, int page, int width);
  Result<std::string> documentPath(std::int64_t id, DocumentKind kind);  // not_found / not_ready

  // Settings.
  /// Before start(): how print_field_patterns are checked beyond their shape (unset: not).
  void setFieldPatternCheck(FieldPatternCheck check) { patternCheck_ = std::move(check); }
  Result<Settings> settings();
  Result<Settings> updateSettings(const std::map<std::string, std::string>& changes);

  // Devices (validated: extension digits and unique, email, TSI limits).
  Result<std::vector<Device>> devices();
  Result<Device> device(std::int64_t id);
  Result<Device> addDevice(Device d);
  Result<Device> updateDevice(Device d);
  Result<void> removeDevice(std::int64_t id);
  std::string effectiveTsi(const Device& d);  // its own, or the default from the number plan

  // Lines, maintenance.
  LineStatus lines();
  Result<std::vector<FaxCount>> countFaxes();
  Result<int> cleanup(std::optional<int> olderThanDays);  // returns faxes deleted

  /// Users, tokens, sessions, who sees what, the audit log. Started by start().
  Accounts& accounts() { return *accounts_; }

 private:
  Result<void> chooseDevice(const Caller& caller, SubmitRequest& req);
  Result<Fax> draft(const SubmitRequest& req, std::vector<std::string>* types, bool needNumber);
  Result<void> fromPreview(const Caller& caller, SubmitRequest& req);
  Result<PagePng> renderCached(const std::string& dir, int pages, int page, int width);
  Result<Fax> storeStaged(const Fax& fax, const std::filesystem::path& staging);
  /// Moves `files` into `dir` and converts them (with `fax`'s cover page) to fax.tif,
  /// document.pdf and preview.png there, at most previewConversions at once. Returns the pages.
  /// `userId` (non-zero: a preview) may have one such conversion at a time (else
  /// too_many_requests); print jobs (0) only share the common limit.
  Result<int> convertInto(std::int64_t userId, const Fax& fax, const std::vector<Upload>& files,
                          const std::vector<std::string>& types, const std::string& dir);

  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<Previews> previews_;
  std::unique_ptr<Scheduler> scheduler_;
  std::mutex previewMutex_;
  std::condition_variable previewCv_;
  int previewsRunning_ = 0;
  int previewsWaiting_ = 0;
  std::set<std::int64_t> previewUsers_;  // users with a preview running or waiting
  bool stopping_ = false;                // Service::stop(): waiting previews give up
  // Page renders (renderCached): the files being rendered now, and how many renders run.
  std::mutex renderMutex_;
  std::condition_variable renderCv_;
  std::set<std::string> rendering_;
  int rendersRunning_ = 0;
  FieldPatternCheck patternCheck_;
};

}  // namespace vfax::core
