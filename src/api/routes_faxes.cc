// /api/v1/faxes: submit (multipart upload), list, show, cancel, documents.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "api/query.h"
#include "api/routes.h"
#include "api/upload.h"

namespace vfax::api::detail {

namespace {

// Reads and discards the rest of a body we refuse, so that the client gets our reply instead of
// a connection reset. Only called for bodies within the size limit.
void drain(const httplib::Request& req, const httplib::ContentReader& reader) {
  if (req.is_multipart_form_data()) {
    reader([](const httplib::MultipartFormData&) { return true; },
           [](const char*, size_t) { return true; });
  } else {
    reader([](const char*, size_t) { return true; });
  }
}

void submit(Context& ctx, const httplib::Request& req, httplib::Response& res,
            const httplib::ContentReader& reader) {
  auto caller = authorize(ctx, req, Access::Token);
  if (!caller) {
    drain(req, reader);
    return replyError(res, caller.error());
  }
  if (!req.is_multipart_form_data()) {
    drain(req, reader);
    return replyError(
        res, core::makeError("unsupported_media_type",
                             "send a fax as multipart/form-data with the fields to and file"));
  }
  UploadLimits limits;
  limits.maxBytes = ctx.options.maxUploadBytes;
  limits.maxFiles = ctx.options.maxFilesPerRequest;
  auto collector = MultipartCollector::create(ctx.options.stagingDir, limits);
  if (!collector) return replyError(res, collector.error());
  auto& c = **collector;
  const bool read = reader(
      [&c](const httplib::MultipartFormData& part) { return c.onPart(part.name, part.filename); },
      [&c](const char* data, size_t n) { return c.onData(data, n); });
  if (auto done = c.finish(); !done) {
    res.set_header("Connection", "close");  // the rest of the body is still unread
    return replyError(res, done.error());
  }
  if (!read) {
    res.set_header("Connection", "close");
    if (res.status == 413) {
      return replyError(res, core::makeError("payload_too_large",
                                             "the upload is larger than the server accepts"));
    }
    return replyError(res, core::makeError("bad_request", "the multipart body could not be read"));
  }
  auto request = buildSubmitRequest(c.fields(), c.files());
  if (!request) return replyError(res, request.error());
  const std::string to = request->to;
  auto fax = ctx.service.submitAs(*caller, std::move(*request));
  if (!fax) {
    audit(ctx, *caller, "fax.send_refused", "", "to " + to + ": " + fax.error().code);
    return replyError(res, fax.error());
  }
  audit(ctx, *caller, "fax.send", "fax " + std::to_string(fax->id), "to " + fax->number);
  res.set_header("Location", "/api/v1/faxes/" + std::to_string(fax->id));
  replyJson(res, 201, toJson(*fax));
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
  } else if (which == "page") {
    kind = core::DocumentKind::Preview;
    type = "image/png";
  } else {
    filename += ".pdf";
  }
  auto path = ctx.service.documentPath(*id, kind);
  if (!path) return replyError(res, path.error());
  if (which == "page") {
    // Thumbnails sit beside the preview (documents writes thumb-N.png for the first pages).
    const std::string n = req.matches[3].str();
    *path = (std::filesystem::path(*path).parent_path() / ("thumb-" + n + ".png")).string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*path, ec)) {
      return replyError(res, core::makeError("not_found", "there is no thumbnail of page " + n +
                                                              " (only the first pages have one)"));
    }
    filename += "-page-" + n + ".png";
  }
  auto file = std::make_shared<std::ifstream>(*path, std::ios::binary);
  file->seekg(0, std::ios::end);
  const std::streamoff size = file->tellg();
  file->seekg(0);
  if (!*file || size < 0) {
    return replyError(res, core::makeError("storage_error", "cannot read " + *path));
  }
  // Thumbnails and previews are looked at, not taken: only downloads of the fax are audited.
  if (which == "document.pdf" || which == "document.tiff") {
    audit(ctx, caller, "fax.download", "fax " + std::to_string(*id), which);
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
  server.Delete(R"(/api/v1/faxes/(\d+))", guardedAs(ctx, Access::Token, cancel));
  server.Get(R"(/api/v1/faxes/(\d+)/(document\.pdf|document\.tiff|preview\.png))",
             guardedAs(ctx, Access::Token, document));
  server.Get(R"(/api/v1/faxes/(\d+)/(page)s/([1-9]\d{0,3})\.png)",
             guardedAs(ctx, Access::Token, document));
}

}  // namespace vfax::api::detail
