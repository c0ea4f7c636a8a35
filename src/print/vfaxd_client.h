#pragma once
// vfax-printer's client of vfaxd's two internal routes (POST /api/v1/print/authorize and
// /print/jobs), authenticated by the printer secret in X-Vfax-Printer. Thread-safe: one curl
// handle per call (calls come from PAPPL's client and job threads).
#include <functional>
#include <string>

#include "print/options.h"

namespace vfax::print {

struct PrintJob {
  std::string file;             // path of the document to send
  std::string format;           // MIME type
  std::string user;             // the authenticated user's id, or
  std::string anonymousDevice;  // the device of an anonymous job
  std::string jobName;
  int ippJobId = 0;
  std::string address;  // the printing client's address
  int copies = 1;
};

class VfaxdClient {
 public:
  VfaxdClient(std::string apiUrl, std::string secret);

  /// Basic credentials (username non-empty) or the anonymous path (empty username).
  VfaxdAnswer authorize(const std::string& username, const std::string& password,
                        const std::string& address) const;

  /// Hands a job over and waits for vfaxd's answer (the fax jobs are stored when it is 201).
  /// `canceled` is polled while waiting; true ends the transfer (status 0, "canceled").
  VfaxdAnswer submit(const PrintJob& job, const std::function<bool()>& canceled) const;

 private:
  std::string apiUrl_;
  std::string secretHeader_;
};

}  // namespace vfax::print
