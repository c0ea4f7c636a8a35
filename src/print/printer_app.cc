#include "print/printer_app.h"

#include <ifaddrs.h>
#include <pappl/pappl.h>
#include <signal.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "print/vfaxd_client.h"

namespace fs = std::filesystem;

namespace vfax::print {

namespace {

constexpr const char* kDriverName = "vfax_fax";

// Who a job belongs to, as vfaxd's authorize answered. Jobs carry only the user name PAPPL
// stored from papplClientSetUsername, so the identity is looked up by that name at hand-over.
struct Identity {
  std::string user;    // vfax user id ("" for an anonymous job)
  std::string device;  // the anonymous device's id
  std::string address;
};

// A positive answer for one connection: keep-alive requests of the same print dialog do not
// ask vfaxd again. Keyed by the connection object and its exact Authorization header; a pointer
// reused by a later connection within kCacheSeconds with the very same header and address is the
// same credentials, so nothing is granted that vfaxd did not grant.
struct CachedAuth {
  std::string header;
  std::string address;
  std::string username;
  std::chrono::steady_clock::time_point at;
};
constexpr auto kCacheTtl = std::chrono::seconds(60);

struct App {
  PrinterOptions options;
  VfaxdClient client;
  std::string jobsDir;
  pappl_system_t* system = nullptr;
  std::mutex mu;
  std::map<std::string, Identity> identities;      // by PAPPL user name
  std::map<pappl_client_t*, CachedAuth> sessions;  // per connection

  App(PrinterOptions o) : options(o), client(o.apiUrl, o.secret) {}
};

App* gApp = nullptr;  // raster callbacks carry no user data

pappl_loglevel_t logLevel(const std::string& s) {
  if (s == "debug") return PAPPL_LOGLEVEL_DEBUG;
  if (s == "warn") return PAPPL_LOGLEVEL_WARN;
  if (s == "error") return PAPPL_LOGLEVEL_ERROR;
  return PAPPL_LOGLEVEL_INFO;
}

std::string peerAddress(pappl_client_t* client) {
  char buf[256] = "";
  httpAddrString(httpGetAddress(papplClientGetHTTP(client)), buf, sizeof buf);
  std::string a = buf;
  // libcups writes IPv6 peers as "[v1.::1]"-style or "[::1]"; vfaxd's allow-list holds plain
  // addresses.
  if (a.rfind("[v1.", 0) == 0) a = a.substr(4);
  if (!a.empty() && a.front() == '[') a = a.substr(1);
  if (!a.empty() && a.back() == ']') a.pop_back();
  if (a.rfind("::ffff:", 0) == 0 && a.find('.') != std::string::npos) a = a.substr(7);
  return a;
}

bool printingOperation(ipp_op_t op) {
  switch (op) {
    case IPP_OP_PRINT_JOB:
    case IPP_OP_VALIDATE_JOB:
    case IPP_OP_CREATE_JOB:
    case IPP_OP_SEND_DOCUMENT:
    case IPP_OP_CLOSE_JOB:
    case IPP_OP_GET_JOB_ATTRIBUTES:
    case IPP_OP_GET_JOBS:
    case IPP_OP_CANCEL_JOB:
    case IPP_OP_CANCEL_MY_JOBS:
    // Job subscriptions (print dialogs follow their job): scoped to the job's owner below.
    case IPP_OP_CREATE_JOB_SUBSCRIPTIONS:
    case IPP_OP_GET_NOTIFICATIONS:
    case IPP_OP_RENEW_SUBSCRIPTION:
    case IPP_OP_CANCEL_SUBSCRIPTION:
    case IPP_OP_GET_SUBSCRIPTION_ATTRIBUTES:
      return true;
    default:
      return false;
  }
}

// Only printing operations reach vfaxd; everything else PAPPL would authorize through this
// callback (Disable-Printer, Set-Printer-Attributes, Shutdown-All-Printers, Delete-Printer, the
// web pages) is refused for everyone: the printer is configured by vfaxd, not over IPP.
http_status_t authorize(pappl_client_t* client, const char* /*group*/, gid_t /*gid*/, void* data) {
  App& app = *static_cast<App*>(data);
  // The name of a previous request on this keep-alive connection must never carry over.
  papplClientSetUsername(client, nullptr);
  const ipp_op_t op = papplClientGetOperation(client);
  if (!printingOperation(op)) {
    papplLog(app.system, PAPPL_LOGLEVEL_INFO, "Refused %s from %s: not a printing operation.",
             ippOpString(op), peerAddress(client).c_str());
    return HTTP_STATUS_FORBIDDEN;
  }
  const std::string address = peerAddress(client);
  const char* field = httpGetField(papplClientGetHTTP(client), HTTP_FIELD_AUTHORIZATION);
  const std::string header = field ? field : "";

  std::string username;
  {
    std::lock_guard lock(app.mu);
    auto it = app.sessions.find(client);
    if (it != app.sessions.end() && it->second.header == header && it->second.address == address &&
        std::chrono::steady_clock::now() - it->second.at < kCacheTtl) {
      username = it->second.username;
    }
  }
  if (username.empty()) {
    VfaxdAnswer a;
    Identity id;
    id.address = address;
    if (header.empty() && !app.options.anonymous) {
      a.status = 401;  // no anonymous device: credentials or nothing
    } else if (header.empty()) {
      a = app.client.authorize({}, {}, address);
      if (a.status == 200 && !a.device.empty()) {
        id.device = a.device;
        username = "anon@" + address;  // fixed: requesting-user-name cannot spoof it
      }
    } else {
      auto creds = parseBasicAuthorization(header);
      if (!creds) {
        papplLog(app.system, PAPPL_LOGLEVEL_INFO, "Refused %s from %s: not Basic credentials.",
                 ippOpString(op), address.c_str());
        return HTTP_STATUS_UNAUTHORIZED;
      }
      a = app.client.authorize(creds->username, creds->password, address);
      if (a.status == 200 && !a.user.empty()) {
        id.user = a.user;
        username = a.username.empty() ? creds->username : a.username;
      }
    }
    if (username.empty()) {
      if (a.status == 0) {
        papplLog(app.system, PAPPL_LOGLEVEL_ERROR, "Cannot authorize %s from %s: %s",
                 ippOpString(op), address.c_str(), a.message.c_str());
        return HTTP_STATUS_SERVICE_UNAVAILABLE;
      }
      if (a.status == 404) {
        // The secret did not match or this vfaxd has no print intake: an operator's problem.
        papplLog(app.system, PAPPL_LOGLEVEL_ERROR,
                 "vfaxd answered 404 to POST /api/v1/print/authorize: no print intake, or a "
                 "printer secret it does not know");
        return HTTP_STATUS_SERVICE_UNAVAILABLE;
      }
      papplLog(app.system, PAPPL_LOGLEVEL_INFO, "Refused %s from %s (%s): vfaxd answered %ld.",
               ippOpString(op), address.c_str(), header.empty() ? "no credentials" : "Basic",
               a.status);
      // 429 (login throttling) has no name in libcups: 503 makes clients retry later.
      if (a.status == 429) return HTTP_STATUS_SERVICE_UNAVAILABLE;
      return HTTP_STATUS_UNAUTHORIZED;
    }
    std::lock_guard lock(app.mu);
    app.identities[username] = id;
    app.sessions[client] = {header, address, username, std::chrono::steady_clock::now()};
  }
  papplClientSetUsername(client, username.c_str());
  // A job named by the request belongs to its owner only; PAPPL would otherwise ask this
  // callback again "for the admin group" and get the same yes.
  if (pappl_job_t* job = papplClientGetJob(client)) {
    const char* owner = papplJobGetUsername(job);
    if (owner && username != owner) return HTTP_STATUS_FORBIDDEN;
  }
  return HTTP_STATUS_CONTINUE;
}

bool dropOldSessions(pappl_system_t*, void* data) {
  App& app = *static_cast<App*>(data);
  std::lock_guard lock(app.mu);
  const auto now = std::chrono::steady_clock::now();
  for (auto it = app.sessions.begin(); it != app.sessions.end();) {
    it = now - it->second.at >= kCacheTtl ? app.sessions.erase(it) : std::next(it);
  }
  return true;  // also the 1 s wake-up that makes papplSystemShutdown prompt
}

const char* extensionFor(const std::string& format) {
  if (format == "application/pdf") return ".pdf";
  if (format == "application/postscript") return ".ps";
  if (format == "image/jpeg") return ".jpg";
  if (format == "image/png") return ".png";
  if (format == "image/tiff") return ".tif";
  return ".bin";
}

// Sends `path` to vfaxd and turns the answer into the IPP job's final state. Removes `path`.
bool handOver(App& app, pappl_job_t* job, const std::string& path, const std::string& format) {
  PrintJob pj;
  pj.file = path;
  pj.format = format;
  pj.ippJobId = papplJobGetID(job);
  pj.jobName = papplJobGetName(job) ? papplJobGetName(job) : "";
  const char* owner = papplJobGetUsername(job);
  {
    std::lock_guard lock(app.mu);
    auto it = owner ? app.identities.find(owner) : app.identities.end();
    if (it != app.identities.end()) {
      pj.user = it->second.user;
      pj.anonymousDevice = it->second.device;
      pj.address = it->second.address;
    }
  }
  if (pj.user.empty() && pj.anonymousDevice.empty()) {
    std::error_code ec;
    fs::remove(path, ec);
    papplJobSetMessage(job, "The job has no authenticated owner; print it again.");
    papplJobSetReasons(job, PAPPL_JREASON_ABORTED_BY_SYSTEM, PAPPL_JREASON_NONE);
    return false;
  }
  if (ipp_attribute_t* c = papplJobGetAttribute(job, "copies")) pj.copies = ippGetInteger(c, 0);
  papplLogJob(job, PAPPL_LOGLEVEL_INFO, "Handing %s over to vfaxd (user '%s').", format.c_str(),
              owner);
  const auto answer = app.client.submit(pj, [job] { return papplJobIsCanceled(job); });
  std::error_code ec;
  fs::remove(path, ec);
  if (answer.status == 201 || answer.status == 200) {
    if (answer.held) {
      papplJobSetMessage(job, "Held: choose the recipient on the fax web page.");
    } else {
      papplJobSetMessage(job, "Queued as %d fax job%s.", answer.faxes,
                         answer.faxes == 1 ? "" : "s");
    }
    papplLogJob(job, PAPPL_LOGLEVEL_INFO, "vfaxd stored the job (%d fax job(s)%s).", answer.faxes,
                answer.held ? ", held" : "");
    return true;
  }
  papplJobSetMessage(job, "%s", answer.message.c_str());
  const bool documentError = answer.code == "conversion_failed" || answer.code == "corrupt_file" ||
                             answer.code == "unsupported_type";
  papplJobSetReasons(
      job, documentError ? PAPPL_JREASON_DOCUMENT_FORMAT_ERROR : PAPPL_JREASON_ABORTED_BY_SYSTEM,
      PAPPL_JREASON_NONE);
  papplLogJob(job, PAPPL_LOGLEVEL_WARN, "vfaxd refused the job (%ld %s): %s", answer.status,
              answer.code.c_str(), answer.message.c_str());
  return false;
}

bool tooLarge(App& app, pappl_job_t* job, std::uint64_t bytes) {
  if (bytes <= app.options.maxBytes) return false;
  const auto limit = app.options.maxBytes;
  if (limit >= (1u << 20)) {
    papplJobSetMessage(job, "The document is larger than the fax server accepts (%llu MB).",
                       static_cast<unsigned long long>(limit >> 20));
  } else {
    papplJobSetMessage(job, "The document is larger than the fax server accepts (%llu bytes).",
                       static_cast<unsigned long long>(limit));
  }
  papplJobSetReasons(job, PAPPL_JREASON_DOCUMENT_UNPRINTABLE_ERROR, PAPPL_JREASON_NONE);
  return true;
}

// PDF, PostScript, JPEG, PNG: the document as received goes to vfaxd, whose documents component
// converts it (in its sandboxed child) after scanning it for control fields.
bool documentFilter(pappl_job_t* job, pappl_device_t*, void* data) {
  App& app = *static_cast<App*>(data);
  const std::string format = papplJobGetFormat(job);
  const char* spooled = papplJobGetFilename(job);
  struct stat st {};
  if (!spooled || stat(spooled, &st) != 0) {
    papplJobSetMessage(job, "The spooled document is missing.");
    return false;
  }
  if (tooLarge(app, job, static_cast<std::uint64_t>(st.st_size))) return false;
  // PAPPL deletes its spool file as soon as this returns: ours is a link of its own.
  const std::string path =
      app.jobsDir + "/job-" + std::to_string(papplJobGetID(job)) + extensionFor(format);
  std::error_code ec;
  fs::remove(path, ec);
  if (link(spooled, path.c_str()) != 0) {
    fs::copy_file(spooled, path, ec);
    if (ec) {
      papplJobSetMessage(job, "Cannot keep the document: %s", ec.message().c_str());
      return false;
    }
  }
  return handOver(app, job, path, format);
}

// PWG and Apple raster arrive as lines; they become one multi-page TIFF (G4 for 1-bit pages,
// Deflate for 8-bit grey) that vfaxd converts like any TIFF.
struct RasterJob {
  TIFF* tiff = nullptr;
  std::string path;
  unsigned pages = 0;
  bool failed = false;
};

bool rasterStartJob(pappl_job_t* job, pappl_pr_options_t*, pappl_device_t*) {
  auto* rj = new RasterJob;
  rj->path = gApp->jobsDir + "/job-" + std::to_string(papplJobGetID(job)) + "-raster.tif";
  rj->tiff = TIFFOpen(rj->path.c_str(), "w");
  papplJobSetData(job, rj);
  if (!rj->tiff) {
    papplJobSetMessage(job, "Cannot write the pages: %s", std::strerror(errno));
    rj->failed = true;
    return false;
  }
  return true;
}

bool rasterStartPage(pappl_job_t* job, pappl_pr_options_t* options, pappl_device_t*, unsigned) {
  auto* rj = static_cast<RasterJob*>(papplJobGetData(job));
  if (!rj || !rj->tiff || rj->failed || papplJobIsCanceled(job)) return false;
  const cups_page_header2_t& h = options->header;
  if (h.cupsBitsPerPixel != 1 && h.cupsBitsPerPixel != 8) {
    papplJobSetMessage(job, "Only black-and-white or grey pages can be faxed.");
    papplJobSetReasons(job, PAPPL_JREASON_DOCUMENT_UNPRINTABLE_ERROR, PAPPL_JREASON_NONE);
    rj->failed = true;
    return false;
  }
  TIFF* t = rj->tiff;
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, h.cupsWidth);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, h.cupsHeight);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, h.cupsBitsPerPixel);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(t, TIFFTAG_XRESOLUTION, static_cast<float>(h.HWResolution[0]));
  TIFFSetField(t, TIFFTAG_YRESOLUTION, static_cast<float>(h.HWResolution[1]));
  TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
  TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
  // CUPS_CSPACE_K (black_1, black_8): the value counts ink; W/SW (sgray_8): light.
  const bool ink = h.cupsColorSpace == CUPS_CSPACE_K;
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, ink ? PHOTOMETRIC_MINISWHITE : PHOTOMETRIC_MINISBLACK);
  if (h.cupsBitsPerPixel == 1) {
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
    TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB);
  } else {
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
  }
  TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(t, 0));
  return true;
}

bool rasterWriteLine(pappl_job_t* job, pappl_pr_options_t*, pappl_device_t*, unsigned y,
                     const unsigned char* line) {
  auto* rj = static_cast<RasterJob*>(papplJobGetData(job));
  if (!rj || !rj->tiff || rj->failed) return false;
  if (TIFFWriteScanline(rj->tiff, const_cast<unsigned char*>(line), y, 0) < 0) {
    rj->failed = true;
    return false;
  }
  return true;
}

bool rasterEndPage(pappl_job_t* job, pappl_pr_options_t*, pappl_device_t*, unsigned) {
  auto* rj = static_cast<RasterJob*>(papplJobGetData(job));
  if (!rj || !rj->tiff || rj->failed) return false;
  if (!TIFFWriteDirectory(rj->tiff)) {
    rj->failed = true;
    return false;
  }
  ++rj->pages;
  papplJobSetImpressionsCompleted(job, 1);
  struct stat st {};
  if (stat(rj->path.c_str(), &st) == 0 &&
      tooLarge(*gApp, job, static_cast<std::uint64_t>(st.st_size))) {
    rj->failed = true;
    return false;
  }
  return !papplJobIsCanceled(job);
}

bool rasterEndJob(pappl_job_t* job, pappl_pr_options_t*, pappl_device_t*) {
  auto* rj = static_cast<RasterJob*>(papplJobGetData(job));
  papplJobSetData(job, nullptr);
  if (!rj) return false;
  if (rj->tiff) TIFFClose(rj->tiff);
  bool ok = false;
  if (rj->failed || papplJobIsCanceled(job)) {
    std::error_code ec;
    fs::remove(rj->path, ec);
  } else if (rj->pages == 0) {
    papplJobSetMessage(job, "The job has no pages.");
    papplJobSetReasons(job, PAPPL_JREASON_DOCUMENT_FORMAT_ERROR, PAPPL_JREASON_NONE);
    std::error_code ec;
    fs::remove(rj->path, ec);
  } else {
    ok = handOver(*gApp, job, rj->path, "image/tiff");
  }
  delete rj;
  return ok;
}

// One fax "printer": what IPP Everywhere clients need (300 dpi grey or black, A4 and Letter,
// PDF preferred), nothing a fax cannot carry (colour, duplex).
bool driverCallback(pappl_system_t*, const char* driverName, const char*, const char*,
                    pappl_pr_driver_data_t* d, ipp_t** attrs, void*) {
  if (std::strcmp(driverName, kDriverName) != 0) return false;
  // PWG 5100.14 attributes PAPPL 1.3.1 does not generate and that are true of a fax: no
  // rendering intents, no back sides, no preferred-attributes document.
  *attrs = ippNew();
  ippAddBoolean(*attrs, IPP_TAG_PRINTER, "preferred-attributes-supported", 0);
  ippAddString(*attrs, IPP_TAG_PRINTER, IPP_CONST_TAG(IPP_TAG_KEYWORD),
               "print-rendering-intent-default", nullptr, "auto");
  ippAddString(*attrs, IPP_TAG_PRINTER, IPP_CONST_TAG(IPP_TAG_KEYWORD),
               "print-rendering-intent-supported", nullptr, "auto");
  ippAddString(*attrs, IPP_TAG_PRINTER, IPP_CONST_TAG(IPP_TAG_KEYWORD),
               "pwg-raster-document-sheet-back", nullptr, "normal");
  d->rstartjob_cb = rasterStartJob;
  d->rstartpage_cb = rasterStartPage;
  d->rwriteline_cb = rasterWriteLine;
  d->rendpage_cb = rasterEndPage;
  d->rendjob_cb = rasterEndJob;
  // Filters are looked up for (format -> driver format) before (format -> image/pwg-raster),
  // and PAPPL registers its own JPEG/PNG -> image/pwg-raster filters that a second registration
  // cannot replace. With image/jpeg as the driver's format, our JPEG and PNG filters (registered
  // to image/jpeg) win; PDF and PostScript use image/pwg-raster, which keeps application/pdf the
  // preferred format. No printfile callback: every format has a filter.
  d->format = "image/jpeg";
  std::snprintf(d->make_and_model, sizeof d->make_and_model, "vfax Fax Printer");
  d->ppm = 10;
  d->ppm_color = 0;
  d->kind = PAPPL_KIND_DOCUMENT;
  d->color_supported = PAPPL_COLOR_MODE_MONOCHROME;
  d->color_default = PAPPL_COLOR_MODE_MONOCHROME;
  d->raster_types = static_cast<pappl_raster_type_t>(PAPPL_PWG_RASTER_TYPE_BLACK_1 |
                                                     PAPPL_PWG_RASTER_TYPE_SGRAY_8);
  d->num_resolution = 1;
  d->x_resolution[0] = d->y_resolution[0] = 300;
  d->x_default = d->y_default = 300;
  d->sides_supported = PAPPL_SIDES_ONE_SIDED;
  d->sides_default = PAPPL_SIDES_ONE_SIDED;
  d->duplex = PAPPL_DUPLEX_NONE;
  d->orient_default = IPP_ORIENT_PORTRAIT;
  // Identify-Printer (IPP Everywhere asks for it): there is no panel; the log shows it.
  d->identify_cb = [](pappl_printer_t* printer, pappl_identify_actions_t, const char* message) {
    papplLogPrinter(printer, PAPPL_LOGLEVEL_INFO, "Identify-Printer: %s",
                    message ? message : "(no message)");
  };
  d->identify_supported = PAPPL_IDENTIFY_ACTIONS_DISPLAY;
  d->identify_default = PAPPL_IDENTIFY_ACTIONS_DISPLAY;
  d->borderless = false;
  d->left_right = 423;  // about 1/6 inch, like a fax machine's print area
  d->bottom_top = 423;
  d->num_media = 2;
  d->media[0] = "iso_a4_210x297mm";
  d->media[1] = "na_letter_8.5x11in";
  d->num_source = 1;
  d->source[0] = "main";
  pappl_media_col_t& m = d->media_default;
  std::snprintf(m.size_name, sizeof m.size_name, "iso_a4_210x297mm");
  m.size_width = 21000;
  m.size_length = 29700;
  m.left_margin = m.right_margin = d->left_right;
  m.top_margin = m.bottom_margin = d->bottom_top;
  std::snprintf(m.source, sizeof m.source, "main");
  std::snprintf(m.type, sizeof m.type, "stationery");
  d->num_type = 1;
  d->type[0] = "stationery";
  d->media_ready[0] = m;
  return true;
}

// Our certificate and key under every name libcups may look them up by: the system's host name,
// this host's names, and the reverse names of its addresses (libcups picks the name from the
// Host: of an upgrade or the address the client reached; numeric addresses use the system name).
void installCertificate(const PrinterOptions& o, const std::string& dir,
                        const std::string& systemName) {
  std::set<std::string> names = {systemName, "localhost"};
  char host[256] = "";
  if (gethostname(host, sizeof host) == 0 && host[0]) names.insert(host);
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* i = list; i; i = i->ifa_next) {
      if (!i->ifa_addr) continue;
      const int family = i->ifa_addr->sa_family;
      if (family != AF_INET && family != AF_INET6) continue;
      http_addr_t addr{};
      std::memcpy(&addr, i->ifa_addr,
                  family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
      char name[256] = "";
      // An address without a name comes back numeric: libcups never looks a file up by it.
      if (httpAddrLookup(&addr, name, sizeof name) && name[0] && !std::isdigit(name[0]) &&
          name[0] != '[' && !std::strchr(name, ':')) {
        names.insert(name);
      }
    }
    freeifaddrs(list);
  }
  for (const auto& n : names) {
    std::error_code ec;
    fs::copy_file(o.tlsCert, dir + "/" + n + ".crt", fs::copy_options::overwrite_existing, ec);
    fs::copy_file(o.tlsKey, dir + "/" + n + ".key", fs::copy_options::overwrite_existing, ec);
    fs::permissions(dir + "/" + n + ".key", fs::perms::owner_read | fs::perms::owner_write, ec);
  }
}

}  // namespace

int runPrinter(const PrinterOptions& o) {
  App app(o);
  gApp = &app;
  std::error_code ec;
  const fs::path spool(o.spoolDir);
  fs::create_directories(spool, ec);
  // Jobs do not survive a restart of the printer (PAPPL keeps them in memory): files left by a
  // crash are stale.
  fs::remove_all(spool / "ipp", ec);
  fs::remove_all(spool / "jobs", ec);
  fs::create_directories(spool / "jobs", ec);
  fs::permissions(spool, fs::perms::owner_all, ec);
  fs::permissions(spool / "jobs", fs::perms::owner_all, ec);
  if (ec) {
    std::fprintf(stderr, "vfax-printer: cannot prepare the spool folder %s: %s\n",
                 o.spoolDir.c_str(), ec.message().c_str());
    return 1;
  }
  app.jobsDir = (spool / "jobs").string();

  pappl_system_t* sys =
      papplSystemCreate(PAPPL_SOPTIONS_NONE, o.name.c_str(), o.port, "_print",
                        (spool / "ipp").c_str(), "-", logLevel(o.logLevel), nullptr, false);
  if (!sys) {
    std::fprintf(stderr, "vfax-printer: cannot create the printer system: %s\n",
                 std::strerror(errno));
    return 1;
  }
  app.system = sys;

  // TLS: the same port serves ipp and ipps (and HTTP Upgrade). Without a configured certificate
  // a self-signed one is made on the first TLS connection, in the printer's own keystore (never
  // in /etc/cups/ssl or ~/.cups). libcups keeps these settings process-wide.
  const std::string tlsDir =
      o.tlsDir.empty() ? (spool.parent_path() / "print-tls").string() : o.tlsDir;
  fs::create_directories(tlsDir, ec);
  fs::permissions(tlsDir, fs::perms::owner_all, ec);
  char hostName[256] = "";
  papplSystemGetHostName(sys, hostName, sizeof hostName);
  if (!o.tlsCert.empty()) {
    if (!fs::exists(o.tlsCert) || !fs::exists(o.tlsKey)) {
      std::fprintf(stderr, "vfax-printer: TLS certificate %s or key %s cannot be read\n",
                   o.tlsCert.c_str(), o.tlsKey.c_str());
      return 1;
    }
    installCertificate(o, tlsDir, hostName);
  }
  cupsSetServerCredentials(tlsDir.c_str(), hostName, o.tlsCert.empty() ? 1 : 0);

  if (!papplSystemAddListeners(sys, o.listenAddress.c_str())) {
    std::fprintf(stderr, "vfax-printer: cannot listen on %s port %d: %s\n", o.listenAddress.c_str(),
                 o.port, std::strerror(errno));
    return 1;
  }
  papplSystemSetDNSSDName(sys, nullptr);  // the printer is announced, not the system
  papplSystemSetMaxLogSize(sys, 0);       // stderr: vfaxd's log rotates
  papplSystemSetAuthCallback(sys, "Basic", authorize, &app);
  papplSystemAddTimerCallback(sys, 0, 1, dropOldSessions, &app);
  pappl_pr_driver_t driver = {kDriverName, "vfax Fax Printer", nullptr, nullptr};
  papplSystemSetPrinterDrivers(sys, 1, &driver, nullptr, nullptr, driverCallback, &app);
  for (const char* format :
       {"application/pdf", "application/postscript", "image/jpeg", "image/png"}) {
    const bool image = std::strncmp(format, "image/", 6) == 0;
    papplSystemAddMIMEFilter(sys, format, image ? "image/jpeg" : "image/pwg-raster", documentFilter,
                             &app);
  }

  pappl_printer_t* printer =
      papplPrinterCreate(sys, 0, o.name.c_str(), kDriverName, nullptr, "file:///dev/null");
  if (!printer) {
    std::fprintf(stderr, "vfax-printer: cannot create the printer: %s\n", std::strerror(errno));
    return 1;
  }
  papplPrinterSetDNSSDName(printer, o.dnssd ? o.name.c_str() : nullptr);
  papplPrinterSetMaxActiveJobs(printer, 0);  // a job waiting for vfaxd must not make others busy
  papplPrinterSetLocation(printer, "vfax");

  const pid_t self = getpid();
  std::thread loop([sys, self] {
    papplSystemRun(sys);
    kill(self, SIGUSR1);  // tells main the loop is over, whatever the reason
  });
  papplLog(sys, PAPPL_LOGLEVEL_INFO, "vfax-printer: ready on ipp://%s:%d/ipp/print",
           o.listenAddress == "*" ? hostName : o.listenAddress.c_str(), o.port);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  int sig = 0;
  for (;;) {
    sigwait(&set, &sig);
    if (sig != SIGHUP) break;  // the log is stderr: nothing to reopen
  }
  if (sig == SIGUSR1) {
    loop.join();
    papplLog(sys, PAPPL_LOGLEVEL_ERROR, "vfax-printer: the printer loop ended by itself");
    return 1;
  }
  papplLog(sys, PAPPL_LOGLEVEL_INFO, "vfax-printer: stopping");
  papplSystemShutdown(sys);
  loop.join();
  // No papplSystemDelete: client and job threads may still run (PAPPL does not join them); the
  // process ends here anyway.
  return 0;
}

}  // namespace vfax::print
