#include "core/print_intake.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>

#include "core/hex.h"
#include "core/log_safe.h"

namespace vfax::core {

namespace fs = std::filesystem;

int priorityFromField(int p) {
  p = std::clamp(p, 0, 255);
  return std::clamp((127 - p) * 100 / 128, -100, 100);
}

PrintIntake::PrintIntake(Service& service, PrintDocuments& documents, std::string stagingDir)
    : service_(service), documents_(documents), stagingDir_(std::move(stagingDir)) {}

Result<PrintOutcome> PrintIntake::submit(const Caller& caller, const PrintJob& job) {
  std::error_code ec;
  std::string notify = caller.email;
  if (job.anonymousDevice) {
    if (auto d = service_.device(*job.anonymousDevice)) notify = d->email;
  }
  unsigned char rnd[8];
  randombytes_buf(rnd, sizeof rnd);
  const fs::path dir = fs::path(stagingDir_) / ("job-" + toHex(rnd, sizeof rnd));
  fs::create_directories(dir, ec);
  Result<PrintOutcome> out =
      ec ? Result<PrintOutcome>(
               makeError("storage_error", "cannot stage the print job: " + ec.message()))
         : process(caller, job, dir.string(), notify);
  fs::remove_all(dir, ec);
  for (const auto& f : job.files) fs::remove(f, ec);
  if (!out) {
    spdlog::warn("print job {} ('{}') of {} from {}: refused: {}: {}", job.ippJobId,
                 logSafe(job.jobName), logSafe(caller.username), logSafe(job.address),
                 out.error().code, logSafe(out.error().message, 600));
    if (refusalMail_ && !notify.empty()) refusalMail_(notify, job.jobName, out.error());
    return out;
  }
  spdlog::info("print job {} ('{}') of {} from {}: {} fax job(s){}", job.ippJobId,
               logSafe(job.jobName), logSafe(caller.username), logSafe(job.address),
               out->faxes.size(), out->held ? ", held" : "");
  return out;
}

Result<PrintOutcome> PrintIntake::process(const Caller& caller, const PrintJob& job,
                                          const std::string& dirName, const std::string& notify) {
  const fs::path dir = dirName;
  if (job.files.empty()) return makeError("no_file", "the print job has no document");
  auto settings = service_.settings();
  if (!settings) return settings.error();
  const std::string displayName = job.jobName.empty() ? "print job" : job.jobName;

  PrintScanResult scan;
  if (job.files.size() == 1) {
    const std::string redacted = (dir / "redacted.pdf").string();
    auto scanned = documents_.scan(job.files.front(), settings->printFieldPatterns, redacted);
    if (!scanned && scanned.error().code == "bad_pattern") {
      // The admin's patterns were checked when they were set; should the compiler now disagree,
      // the job is still read with the built-in dialects.
      spdlog::error("print_field_patterns: {}; reading the job without them",
                    logSafe(scanned.error().message, 600));
      scanned = documents_.scan(job.files.front(), {}, redacted);
    }
    if (!scanned) return scanned.error();
    scan = std::move(*scanned);
    for (const auto& w : scan.warnings)
      spdlog::warn("print job {}: {}", job.ippJobId, logSafe(w, 600));
  } else {
    scan.faxable.clear();  // raster pages: no text, no fields
  }

  auto stage = [&](const std::string& from, const std::string& name) -> Result<Upload> {
    std::error_code ec;
    const fs::path to = dir / name;
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec) return makeError("storage_error", "cannot stage the print job: " + ec.message());
    return Upload{displayName, to.string()};
  };

  const bool useFields = settings->printToFaxMode != PrintToFaxMode::Client;
  if (!useFields || scan.plan.empty()) {
    if (settings->printToFaxMode == PrintToFaxMode::Fields) {
      std::string msg =
          "the document names no fax number (a control field such as @@+FAX:number@@), and "
          "this printer only faxes documents that do (print_to_fax_mode 'fields')";
      if (!scan.problems.empty()) msg += "; unusable: " + scan.problems.front();
      if (!scan.hasText && job.files.size() == 1) {
        msg += "; the job has no text (an image or raster job)";
      }
      return makeError("no_number", msg);
    }
    SubmitRequest req;
    req.origin = "print";
    req.deviceId = job.anonymousDevice;
    req.notify = notify;
    if (job.files.size() == 1) {
      auto up = stage(scan.faxable.empty() ? job.files.front() : scan.faxable, "held-1.src");
      if (!up) return up.error();
      req.files.push_back(*up);
    } else {
      for (std::size_t i = 0; i < job.files.size(); ++i) {
        auto up = stage(job.files[i], "held-" + std::to_string(i + 1) + ".src");
        if (!up) return up.error();
        req.files.push_back(*up);
      }
    }
    auto held = service_.hold(caller, std::move(req));
    if (!held) return held.error();
    return PrintOutcome{{*held}, true};
  }

  // Every number first, so that a job is stored whole or not at all.
  for (const auto& item : scan.plan) {
    auto check = service_.checkNumber(item.number);
    if (!check) return check.error();
    if (!check->valid || !check->allowed) {
      return makeError(check->reasonCode, "the fax number '" + item.number + "' (page " +
                                              std::to_string(item.firstPage) +
                                              "): " + check->reason);
    }
  }
  const std::string faxable = scan.faxable.empty() ? job.files.front() : scan.faxable;
  std::map<int, std::string> letters;  // letter -> its pages as a file
  PrintOutcome out;
  auto undo = [&] {
    for (const auto& f : out.faxes) {
      (void)service_.remove(f.id);  // cancels the job,
      (void)service_.remove(f.id);  // then deletes it with its files
    }
  };
  int n = 0;
  for (const auto& item : scan.plan) {
    std::string source = faxable;
    const bool whole = item.firstPage <= 1 && (scan.pages <= 0 || item.lastPage >= scan.pages);
    if (!whole && scan.hasText) {
      auto it = letters.find(item.letter);
      if (it == letters.end()) {
        const std::string path =
            (dir / ("letter-" + std::to_string(item.letter) + ".pdf")).string();
        auto pages = documents_.extractPages(faxable, path, item.firstPage, item.lastPage);
        if (!pages) {
          undo();
          return pages.error();
        }
        it = letters.emplace(item.letter, path).first;
      }
      source = it->second;
    }
    auto up = stage(source, "fax-" + std::to_string(++n) + ".src");
    if (!up) {
      undo();
      return up.error();
    }
    SubmitRequest req;
    req.to = item.number;
    req.files.push_back(*up);
    req.origin = "print";
    req.deviceId = job.anonymousDevice;
    req.tag = item.tag;
    req.notify = item.notify.empty() ? notify : item.notify;
    if (item.priority >= 0) req.priority = priorityFromField(item.priority);
    auto fax = service_.submitAs(caller, std::move(req));
    if (!fax) {
      undo();
      return fax.error();
    }
    out.faxes.push_back(*fax);
  }
  return out;
}

}  // namespace vfax::core
