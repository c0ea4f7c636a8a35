// /api/v1/faxes: submit (multipart upload), list, show, cancel, documents.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "api/connection_guard.h"
#include "api/query.h"
#include "api/routes.h"
#include "api/upload.h"

namespace vfax::api::detail {

// Reads and discards the rest of a body we refuse, so that the client gets our reply instead of
// a connection reset; at most 1 MiB of it (a chunked body has no announced end), then the
// connection closes instead.
void drain(const httplib::Request& req, httplib::Response& res,
           const httplib::ContentReader& reader) {
  constexpr std::size_t kMaxDrain = 1u << 20;
  std::size_t seen = 0;
  auto sink = [&seen](const char*, size_t n) { return (seen += n) <= kMaxDrain; };
  const bool read = req.is_multipart_form_data()
                        ? reader([](const httplib::MultipartFormData&) { return true; }, sink)
                        : reader(sink);
  ConnectionGuard::handlerStarted();
  if (!read) res.set_header("Connection", "close");
}

// Reads a multipart form of POST /faxes or /faxes/preview into a collector (files staged). On
// failure the reply is written and the answer is null.
std::unique_ptr<MultipartCollector> readForm(Context& ctx, const httplib::Request& req,
                                             httplib::Response& res,
                                             const httplib::ContentReader& reader,
                                             std::vector<std::string> textFields) {
  if (!req.is_multipart_form_data()) {
    drain(req, res, reader);
    replyError(res,
               core::makeError("unsupported_media_type",
                               "send a fax as multipart/form-data with the fields to and file"));
    return nullptr;
  }
  UploadLimits limits;
  limits.maxBytes = ctx.options.maxUploadBytes;
  limits.maxFiles = ctx.options.maxFilesPerRequest;
  limits.textFields = std::move(textFields);
  auto collector = MultipartCollector::create(ctx.options.stagingDir, limits);
  if (!collector) {
    replyError(res, collector.error());
    return nullptr;
  }
  auto& c = **collector;
  const bool read = reader(
      [&c](const httplib::MultipartFormData& part) { return c.onPart(part.name, part.filename); },
      [&c](const char* data, size_t n) { return c.onData(data, n); });
  ConnectionGuard::handlerStarted();  // the body is read: what follows is ours to time
  if (auto done = c.finish(); !done) {
    res.set_header("Connection", "close");  // the rest of the body is still unread
    replyError(res, done.error());
    return nullptr;
  }
  if (!read) {
    res.set_header("Connection", "close");
    if (res.status == 413) {
      replyError(res, core::makeError("payload_too_large",
                                      "the upload is larger than the server accepts"));
    } else {
      replyError(res, core::makeError("bad_request", "the multipart body could not be read"));
    }
    return nullptr;
  }
  return std::move(*collector);
}

namespace {

void submit(Context& ctx, const httplib::Request& req, httplib::Response& res,
            const httplib::ContentReader& reader) {
  auto caller = authorize(ctx, req, Access::Token);
  if (!caller) {
    drain(req, res, reader);
    return replyError(res, caller.error());
  }
  auto c = readForm(ctx, req, res, reader);
  if (!c) return;
  auto request = buildSubmitRequest(c->fields(), c->files());
  if (!request) return replyError(res, request.error());
  const std::string to = request->to;
  const std::string preview = request->previewId;
  auto fax = ctx.service.submitAs(*caller, std::move(*request));
  if (!fax) {
    audit(ctx, *caller, "fax.send_refused", "", "to " + to + ": " + fax.error().code);
    return replyError(res, fax.error());
  }
  audit(ctx, *caller, "fax.send", "fax " + std::to_string(fax->id),
        "to " + fax->number + (preview.empty() ? "" : " (preview " + preview.substr(0, 8) + ")"));
  res.set_header("Location", "/api/v1/faxes/" + std::to_string(fax->id));
  replyJson(res, 201, toJson(*fax));
}

void makePreview(Context& ctx, const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader) {
  auto caller = authorize(ctx, req, Access::Token);
  if (!caller) {
    drain(req, res, reader);
    return replyError(res, caller.error());
  }
  auto c = readForm(ctx, req, res, reader);
  if (!c) return;
  auto request = buildSubmitRequest(c->fields(), c->files(), SubmitForm::Preview);
  if (!request) return replyError(res, request.error());
  auto p = ctx.service.preview(*caller, std::move(*request));
  if (!p) return replyError(res, p.error());
  replyJson(res, 201, {{"id", p->id}, {"pages", p->pages}, {"expires_at", p->expiresAt}});
}

// ?width= of a page image: 100..1728, else the default.
core::Result<int> pageWidth(const httplib::Request& req, int fallback) {
  if (!req.has_param("width")) return fallback;
  const std::string w = req.get_param_value("width");
  auto v = parseId(w);
  if (!v || *v < core::kMinPageWidth || *v > core::kMaxPageWidth) {
    return core::makeError("invalid_request",
                           "width must be a number from " + std::to_string(core::kMinPageWidth) +
                               " to " + std::to_string(core::kMaxPageWidth) + ", got '" + w + "'");
  }
  return static_cast<int>(*v);
}

void sendFile(httplib::Response& res, const std::string& path, const char* type,
              const std::string& filename);

// A page image: revalidated at each use (no-cache + ETag), so that once the session has ended or
// the device is no longer the user's, the browser's copy is not shown again without asking.
void sendPage(const httplib::Request& req, httplib::Response& res, const core::PagePng& png,
              const std::string& filename) {
  std::error_code ec;
  res.set_header("Cache-Control", "private, no-cache");
  if (png.keep) {
    const auto size = std::filesystem::file_size(png.path, ec);
    const auto mtime = std::filesystem::last_write_time(png.path, ec).time_since_epoch().count();
    const std::string etag = "\"" + std::to_string(size) + "-" + std::to_string(mtime) + "\"";
    res.set_header("ETag", etag);
    if (req.get_header_value("If-None-Match") == etag) {
      res.status = 304;
      return;
    }
  }
  sendFile(res, png.path, "image/png", filename);
  if (!png.keep) std::filesystem::remove(png.path, ec);  // open already: the reply still reads it
}

void previewPage(Context& ctx, const httplib::Request& req, httplib::Response& res,
                 const core::Caller& caller) {
  const std::string id = req.matches[1].str();
  const int page = std::stoi(req.matches[2].str());
  auto width = pageWidth(req, ctx.options.previewPageWidth);
  if (!width) return replyError(res, width.error());
  auto png = ctx.service.previewPagePng(caller, id, page, *width);
  if (!png) return replyError(res, png.error());
  sendPage(req, res, *png, "preview-page-" + std::to_string(page) + ".png");
}

void faxPage(Context& ctx, const httplib::Request& req, httplib::Response& res,
             const core::Caller& caller) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such fax"));
  if (auto mine = ctx.service.getFor(caller, *id); !mine) return replyError(res, mine.error());
  const int page = std::stoi(req.matches[2].str());
  auto width = pageWidth(req, ctx.options.thumbnailWidth);
  if (!width) return replyError(res, width.error());
  auto png = ctx.service.pagePng(*id, page, *width);
  if (!png) return replyError(res, png.error());
  sendPage(req, res, *png, "fax-" + std::to_string(*id) + "-page-" + std::to_string(page) + ".png");
}

void list(Context& ctx, const httplib::Request& req, httplib::Response& res,
          const core::Caller& caller) {
  auto query = parseFaxQuery(req.params);
  if (!query) return replyError(res, query.error());
  auto visible = ctx.service.accounts().visibleDevices(caller);
  if (!visible) return replyError(res, visible.error());
  query->deviceIds = std::move(*visible);
  const int limit = query->limit;
  query->limit = limit + 1;  // one more than asked tells whether there is a next page
  auto faxes = ctx.service.list(*query);
  if (!faxes) return replyError(res, faxes.error());
  Json items = Json::array();
  Json next = nullptr;
  for (int i = 0; i < static_cast<int>(faxes->size()); ++i) {
    if (i == limit) {
      next = cursorAfter((*faxes)[i - 1].id);
      break;
    }
    items.push_back(toJson((*faxes)[i]));
  }
  replyJson(res, 200, {{"faxes", std::move(items)}, {"next", std::move(next)}});
}

void show(Context& ctx, const httplib::Request& req, httplib::Response& res,
          const core::Caller& caller) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such fax"));
  auto fax = ctx.service.getFor(caller, *id);
  if (!fax) return replyError(res, fax.error());
  replyJson(res, 200, toJson(*fax));
}

void cancel(Context& ctx, const httplib::Request& req, httplib::Response& res,
            const core::Caller& caller) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such fax"));
  if (auto mine = ctx.service.getFor(caller, *id); !mine) return replyError(res, mine.error());
  auto fax = ctx.service.cancel(*id);
  if (!fax) return replyError(res, fax.error());
  audit(ctx, caller, "fax.cancel", "fax " + std::to_string(*id));
  replyJson(res, 200, toJson(*fax));
}

// DELETE: a final fax goes (204); an active job is canceled, as DELETE always did (200, the fax).
void remove(Context& ctx, const httplib::Request& req, httplib::Response& res,
            const core::Caller& caller) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such fax"));
  auto mine = ctx.service.getFor(caller, *id);
  if (!mine) return replyError(res, mine.error());
  auto r = ctx.service.remove(*id);
  if (!r) return replyError(res, r.error());
  if (*r) {
    audit(ctx, caller, "fax.cancel", "fax " + std::to_string(*id));
    return replyJson(res, 200, toJson(**r));
  }
  audit(ctx, caller, "fax.delete", "fax " + std::to_string(*id),
        std::string(core::toString(mine->direction)) + ", " +
            std::string(core::toString(mine->state)) + ", " + mine->number);
  res.status = 204;
}

void resend(Context& ctx, const httplib::Request& req, httplib::Response& res,
            const core::Caller& caller) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such fax"));
  auto body = Json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return replyError(res, core::makeError("invalid_json", "the body must be a JSON object"));
  }
  std::string to;
  for (const auto& [k, v] : body.items()) {
    if (k != "to") {
      return replyError(
          res, core::makeError("invalid_request", "unknown field '" + k + "' (known: to)"));
    }
    if (!v.is_null() && !v.is_string()) {
      return replyError(res, core::makeError("invalid_number", "to must be a string"));
    }
    if (v.is_string()) to = v.get<std::string>();
  }
  auto fax = ctx.service.resend(caller, *id, to);
  if (!fax) {
    audit(ctx, caller, "fax.send_refused", "fax " + std::to_string(*id),
          "resend to " + to + ": " + fax.error().code);
    return replyError(res, fax.error());
  }
  audit(ctx, caller, "fax.resend", "fax " + std::to_string(fax->id),
        "fax " + std::to_string(*id) + " again to " + fax->number);
  res.set_header("Location", "/api/v1/faxes/" + std::to_string(fax->id));
  replyJson(res, 201, toJson(*fax));
}

void document(Context& ctx, const httplib::Request& req, httplib::Response& res,
              const core::Caller& caller) {
  auto id = pathId(req);
  if (!id) return replyError(res, core::makeError("not_found", "there is no such fax"));
  if (auto mine = ctx.service.getFor(caller, *id); !mine) return replyError(res, mine.error());
  const std::string which = req.matches[2].str();
  core::DocumentKind kind = core::DocumentKind::Pdf;
  const char* type = "application/pdf";
  std::string filename = "fax-" + std::to_string(*id);
  if (which == "document.tiff") {
    kind = core::DocumentKind::Tiff;
    type = "image/tiff";
    filename += ".tiff";
  } else if (which == "preview.png") {
    kind = core::DocumentKind::Preview;
    type = "image/png";
    filename += "-preview.png";
  } else {
    filename += ".pdf";
  }
  auto path = ctx.service.documentPath(*id, kind);
  if (!path) return replyError(res, path.error());
  // Thumbnails and previews are looked at, not taken: only downloads of the fax are audited.
  if (which == "document.pdf" || which == "document.tiff") {
    audit(ctx, caller, "fax.download", "fax " + std::to_string(*id), which);
  }
  res.set_header("Cache-Control", "private, no-store");
  sendFile(res, *path, type, filename);
}

void sendFile(httplib::Response& res, const std::string& path, const char* type,
              const std::string& filename) {
  auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
  file->seekg(0, std::ios::end);
  const std::streamoff size = file->tellg();
  file->seekg(0);
  if (!*file || size < 0) {
    return replyError(res, core::makeError("storage_error", "cannot read " + path));
  }
  res.set_header("Content-Disposition", "inline; filename=\"" + filename + "\"");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content_provider(static_cast<size_t>(size), type,
                           [file](size_t offset, size_t length, httplib::DataSink& sink) {
                             char buf[64 * 1024];
                             file->seekg(static_cast<std::streamoff>(offset));
                             const auto want =
                                 static_cast<std::streamsize>(std::min(length, sizeof buf));
                             file->read(buf, want);
                             const std::streamsize got = file->gcount();
                             if (got <= 0)
                               return false;  // the file shrank under us: end the response early
                             return sink.write(buf, static_cast<size_t>(got));
                           });
}

}  // namespace

void addFaxRoutes(httplib::Server& server, Context& ctx) {
  server.Post("/api/v1/faxes", [&ctx](const httplib::Request& req, httplib::Response& res,
                                      const httplib::ContentReader& reader) {
    try {
      submit(ctx, req, res, reader);
    } catch (const std::exception& ex) {
      replyError(res, core::makeError("internal", std::string("upload: ") + ex.what()));
    }
  });
  server.Get("/api/v1/faxes", guardedAs(ctx, Access::Token, list));
  server.Get(R"(/api/v1/faxes/(\d+))", guardedAs(ctx, Access::Token, show));
  server.Delete(R"(/api/v1/faxes/(\d+))", guardedAs(ctx, Access::Token, remove));
  server.Post(R"(/api/v1/faxes/(\d+)/cancel)", guardedAs(ctx, Access::Token, cancel));
  server.Post(R"(/api/v1/faxes/(\d+)/resend)", guardedAs(ctx, Access::Token, resend));
  server.Post("/api/v1/faxes/preview", [&ctx](const httplib::Request& req, httplib::Response& res,
                                              const httplib::ContentReader& reader) {
    try {
      makePreview(ctx, req, res, reader);
    } catch (const std::exception& ex) {
      replyError(res, core::makeError("internal", std::string("preview: ") + ex.what()));
    }
  });
  server.Get(R"(/api/v1/previews/([0-9a-f]{32})/pages/([1-9]\d{0,3})\.png)",
             guardedAs(ctx, Access::Token, previewPage));
  server.Get(R"(/api/v1/faxes/(\d+)/(document\.pdf|document\.tiff|preview\.png))",
             guardedAs(ctx, Access::Token, document));
  server.Get(R"(/api/v1/faxes/(\d+)/pages/([1-9]\d{0,3})\.png)",
             guardedAs(ctx, Access::Token, faxPage));
}

}  // namespace vfax::api::detail
