// vfax send | list | show | get | cancel | rm | resend
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/format.h"

namespace vfax::cli {

namespace fs = std::filesystem;

namespace {

std::string contentTypeFor(const fs::path& p) {
  std::string ext = p.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".pdf") return "application/pdf";
  if (ext == ".tif" || ext == ".tiff") return "image/tiff";
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".txt") return "text/plain";
  if (ext == ".ps") return "application/postscript";
  if (ext == ".html" || ext == ".htm") return "text/html";
  return "application/octet-stream";
}

Result<std::vector<FilePart>> readFiles(const std::vector<std::string>& paths) {
  std::vector<FilePart> parts;
  for (const auto& path : paths) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      return core::makeError(kUsage, "'" + path + "' is not a file that can be read");
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream data;
    data << in.rdbuf();
    if (!in && !in.eof()) return core::makeError(kUsage, "cannot read '" + path + "'");
    parts.push_back({fs::path(path).filename().string(), data.str(), contentTypeFor(path)});
  }
  return parts;
}

bool isFinalState(const std::string& s) {
  return s == "done" || s == "failed" || s == "canceled" || s == "received";
}

void printFaxLine(const Json& f) {
  std::cout << "fax " << f["id"] << ": " << cell(f["state"]) << ", " << cell(f["pages"]) << "/"
            << cell(f["pages_total"]) << " pages";
  if (f["error"].is_string()) std::cout << " (" << f["error"].get<std::string>() << ")";
  std::cout << '\n';
}

void printFax(const Json& f) {
  const std::vector<std::pair<const char*, std::string>> rows{
      {"id", cell(f["id"])},
      {"direction", cell(f["direction"])},
      {"state", cell(f["state"])},
      {"number", cell(f["number"])},
      {"device", cell(f["device"])},
      {"extension", cell(f["extension"])},
      {"pages", cell(f["pages"]) + " of " + cell(f["pages_total"])},
      {"remote id", cell(f["remote_id"])},
      {"caller id", cell(f["caller_id"])},
      {"tsi", cell(f["tsi"])},
      {"resolution", cell(f["resolution"])},
      {"priority", cell(f["priority"])},
      {"tag", cell(f["tag"])},
      {"notify", cell(f["notify"])},
      {"created", shortTime(f["created_at"])},
      {"updated", shortTime(f["updated_at"])},
      {"attempts", cell(f["attempt_count"])},
      {"next attempt", shortTime(f["next_attempt_at"])},
      {"error", cell(f["error"])},
  };
  for (const auto& [k, v] : rows)
    std::cout << k << std::string(14 - std::string(k).size(), ' ') << v << '\n';
  const Json& attempts = f["attempts"];
  if (!attempts.is_array() || attempts.empty()) return;
  std::cout << '\n';
  std::vector<std::vector<std::string>> table;
  int n = 0;
  for (const auto& a : attempts) {
    // "t38", "audio/PCMA", "t38/PCMA" (switched from audio)
    std::string media = a.contains("media") ? cell(a["media"]) : "-";
    if (a.contains("codec")) media = (media == "-" ? "" : media + "/") + cell(a["codec"]);
    table.push_back({std::to_string(++n), shortTime(a["started_at"]), shortTime(a["ended_at"]),
                     a["outcome"].is_null() ? "running" : cell(a["outcome"]), cell(a["pages"]),
                     cell(a["bit_rate"]),
                     a["ecm"].is_boolean() && a["ecm"].get<bool>() ? "yes" : "no",
                     cell(a["compression"]), media, cell(a["remote_id"]), cell(a["reason"])});
  }
  printTable(std::cout,
             {"#", "STARTED", "ENDED", "OUTCOME", "PAGES", "BPS", "ECM", "CODING", "MEDIA",
              "REMOTE", "REASON"},
             table);
}

struct SendOptions {
  std::string to;
  std::vector<std::string> files;
  std::string device, tag, notify;
  int priority = 0;
  bool priorityGiven = false;
  bool normal = false;
  bool wait = false;
  bool json = false;
  bool cover = false, noCover = false;  // neither: the server's cover_page_default
  std::string subject, comment;
};

Result<void> send(Client& client, const SendOptions& o) {
  auto parts = readFiles(o.files);  // before any request: a typo in a path costs nothing
  if (!parts) return parts.error();
  std::multimap<std::string, std::string> fields{{"to", o.to}};
  if (!o.device.empty()) fields.emplace("device", o.device);
  if (!o.tag.empty()) fields.emplace("tag", o.tag);
  if (!o.notify.empty()) fields.emplace("notify", o.notify);
  if (o.priorityGiven) fields.emplace("priority", std::to_string(o.priority));
  fields.emplace("resolution", o.normal ? "normal" : "fine");
  if (o.cover || o.noCover) fields.emplace("cover", o.cover ? "true" : "false");
  if (!o.subject.empty()) fields.emplace("subject", o.subject);
  if (!o.comment.empty()) fields.emplace("comment", o.comment);
  auto fax = client.postForm("/api/v1/faxes", fields, *parts);
  if (!fax) return fax.error();
  if (!o.json) {
    std::cout << "fax " << (*fax)["id"] << " " << cell((*fax)["state"]) << " to "
              << cell((*fax)["number"]) << '\n';
  }
  if (!o.wait) {
    if (o.json) std::cout << fax->dump(2) << '\n';
    return {};
  }
  const std::string path = "/api/v1/faxes/" + (*fax)["id"].dump();
  const char* pollEnv = std::getenv("VFAX_POLL_MS");  // tests poll fast
  const int pollMs = pollEnv != nullptr ? std::max(10, std::atoi(pollEnv)) : 2000;
  std::string last = (*fax)["state"].get<std::string>();
  Json current = *fax;
  while (!isFinalState(last)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pollMs));
    auto f = client.get(path);
    if (!f) return f.error();
    current = *f;
    const std::string state = current["state"].get<std::string>();
    if (state != last && !o.json) printFaxLine(current);
    last = state;
  }
  if (o.json) std::cout << current.dump(2) << '\n';
  if (last == "done") return {};
  return core::makeError(
      "fax_" + last,
      "fax " + current["id"].dump() + " " + last +
          (current["error"].is_string() ? ": " + current["error"].get<std::string>() : ""));
}

}  // namespace

void addFaxCommands(CLI::App& app, Action& action) {
  {
    auto o = std::make_shared<SendOptions>();
    auto* cmd = app.add_subcommand("send", "Send a fax");
    cmd->add_option("-t,--to", o->to, "Number to fax to (as dialled, or an extension)")->required();
    cmd->add_option("files", o->files,
                    "Documents (PDF, PostScript, TIFF, PNG, JPEG, GIF, text, HTML, office)")
        ->required();
    cmd->add_option("--device", o->device, "Sending device id");
    cmd->add_option("--tag", o->tag, "Free text to find the fax by");
    auto* prio = cmd->add_option("--priority", o->priority, "Priority -100..100 (higher first)");
    cmd->add_option("--notify", o->notify, "E-mail address told of every state change");
    cmd->add_flag("--normal", o->normal, "Normal resolution (204x98) instead of fine");
    auto* cover = cmd->add_flag("--cover", o->cover, "Put a cover page first");
    cmd->add_flag("--no-cover", o->noCover, "No cover page, whatever the server's default")
        ->excludes(cover);
    cmd->add_option("--subject", o->subject, "Subject (on the cover page)");
    cmd->add_option("--comment", o->comment, "Comment (on the cover page)");
    cmd->add_flag("--wait", o->wait, "Wait until the fax is final; exit 0 only when done");
    cmd->add_flag("--json", o->json, "Print the fax's JSON (with --wait: its final state)");
    cmd->callback([o, prio, &action] {
      o->priorityGiven = prio->count() > 0;
      action = [o](Client& c) { return send(c, *o); };
    });
  }
  {
    struct ListOptions {
      bool in = false, out = false, json = false, held = false;
      std::string state, search, since, until;
      int limit = 50;
    };
    auto o = std::make_shared<ListOptions>();
    auto* cmd = app.add_subcommand("list", "List faxes, newest first");
    auto* in = cmd->add_flag("--in", o->in, "Received faxes only");
    cmd->add_flag("--out", o->out, "Sent faxes only")->excludes(in);
    auto* state =
        cmd->add_option("--state", o->state, "State(s), comma-separated (e.g. failed,canceled)");
    cmd->add_flag("--held", o->held,
                  "Held print jobs only (waiting for a number: vfax release ID -t NUMBER)")
        ->excludes(in)
        ->excludes(state);
    cmd->add_option("-s,--search", o->search,
                    "Only faxes whose number or remote id contains TEXT (any case)");
    cmd->add_option("--since", o->since,
                    "Created at or after: a date (2026-12-01), an ISO 8601 time or ms");
    cmd->add_option("--until", o->until, "Created before (a date: up to the end of that day)");
    cmd->add_option("--limit", o->limit, "At most this many (1-500)")->check(CLI::Range(1, 500));
    cmd->add_flag("--json", o->json, "Print the API's JSON");
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        std::multimap<std::string, std::string> params{{"limit", std::to_string(o->limit)}};
        if (!o->search.empty()) params.emplace("q", o->search);
        if (!o->since.empty()) params.emplace("since", o->since);
        if (!o->until.empty()) params.emplace("until", o->until);
        if (o->in) params.emplace("direction", "in");
        if (o->out) params.emplace("direction", "out");
        if (!o->state.empty()) params.emplace("state", o->state);
        if (o->held) params.emplace("state", "held");
        auto r = c.get("/api/v1/faxes", params);
        if (!r) return r.error();
        if (o->json) {
          std::cout << r->dump(2) << '\n';
          return {};
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& f : (*r)["faxes"]) {
          rows.push_back({cell(f["id"]), cell(f["direction"]), cell(f["state"]), cell(f["number"]),
                          cell(f["pages"]) + "/" + cell(f["pages_total"]),
                          shortTime(f["created_at"]), cell(f["remote_id"]), cell(f["tag"])});
        }
        printTable(std::cout, {"ID", "DIR", "STATE", "NUMBER", "PAGES", "CREATED", "REMOTE", "TAG"},
                   rows);
        if (!(*r)["next"].is_null()) std::cerr << "(more faxes: raise --limit)\n";
        return {};
      };
    });
  }
  {
    struct ShowOptions {
      long long id = 0;
      bool json = false;
    };
    auto o = std::make_shared<ShowOptions>();
    auto* cmd = app.add_subcommand("show", "Show one fax with every attempt");
    cmd->add_option("id", o->id, "Fax id")->required();
    cmd->add_flag("--json", o->json, "Print the API's JSON");
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        auto r = c.get("/api/v1/faxes/" + std::to_string(o->id));
        if (!r) return r.error();
        if (o->json) {
          std::cout << r->dump(2) << '\n';
        } else {
          printFax(*r);
        }
        return {};
      };
    });
  }
  {
    struct GetOptions {
      long long id = 0;
      std::string output;
      bool tiff = false, preview = false;
    };
    auto o = std::make_shared<GetOptions>();
    auto* cmd = app.add_subcommand("get", "Download a fax as PDF (default), TIFF or PNG preview");
    cmd->add_option("id", o->id, "Fax id")->required();
    cmd->add_option("-o,--output", o->output, "Output file ('-' for standard output)");
    auto* tiff = cmd->add_flag("--tiff", o->tiff, "The fax TIFF");
    cmd->add_flag("--preview", o->preview, "A PNG preview of the first page")->excludes(tiff);
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        const std::string id = std::to_string(o->id);
        const std::string doc = o->tiff      ? "document.tiff"
                                : o->preview ? "preview.png"
                                             : "document.pdf";
        std::string out = o->output;
        if (out.empty())
          out = "fax-" + id + (o->tiff ? ".tiff" : o->preview ? "-preview.png" : ".pdf");
        auto data = c.download("/api/v1/faxes/" + id + "/" + doc);
        if (!data) return data.error();
        if (out == "-") {
          std::cout.write(data->data(), static_cast<std::streamsize>(data->size()));
          return {};
        }
        const std::string tmp = out + ".part";
        {
          std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
          f.write(data->data(), static_cast<std::streamsize>(data->size()));
          if (!f) return core::makeError("local_file", "cannot write '" + tmp + "'");
        }
        std::error_code ec;
        fs::rename(tmp, out, ec);
        if (ec) return core::makeError("local_file", "cannot write '" + out + "': " + ec.message());
        std::cerr << "saved " << out << " (" << data->size() << " bytes)\n";
        return {};
      };
    });
  }
  {
    auto id = std::make_shared<long long>(0);
    auto json = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("cancel", "Cancel a fax job that is not final yet");
    cmd->add_option("id", *id, "Fax id")->required();
    cmd->add_flag("--json", *json, "Print the fax's JSON");
    cmd->callback([id, json, &action] {
      action = [id, json](Client& c) -> Result<void> {
        auto r = c.post("/api/v1/faxes/" + std::to_string(*id) + "/cancel", Json::object());
        if (!r) return r.error();
        if (*json) {
          std::cout << r->dump(2) << '\n';
        } else {
          printFaxLine(*r);
        }
        return {};
      };
    });
  }
  {
    auto ids = std::make_shared<std::vector<long long>>();
    auto* cmd = app.add_subcommand(
        "rm", "Delete faxes with their documents (a job that is not final is canceled instead)");
    cmd->add_option("ids", *ids, "Fax id(s)")->required();
    cmd->callback([ids, &action] {
      action = [ids](Client& c) -> Result<void> {
        for (long long id : *ids) {
          auto r = c.del("/api/v1/faxes/" + std::to_string(id));
          if (!r) return r.error();
          if (r->is_null()) {
            std::cout << "fax " << id << " deleted\n";
          } else {
            std::cout << "fax " << id << " was not final: ";
            printFaxLine(*r);
          }
        }
        return {};
      };
    });
  }
  {
    struct ResendOptions {
      long long id = 0;
      std::string to;
      bool json = false;
    };
    auto o = std::make_shared<ResendOptions>();
    auto* cmd = app.add_subcommand(
        "resend", "Send a fax again with the same pages (a received fax: forward it with -t)");
    cmd->add_option("id", o->id, "Fax id")->required();
    cmd->add_option("-t,--to", o->to, "Number to send to (default: the fax's own number)");
    cmd->add_flag("--json", o->json, "Print the new fax's JSON");
    cmd->callback([o, &action] {
      action = [o](Client& c) -> Result<void> {
        Json body = Json::object();
        if (!o->to.empty()) body["to"] = o->to;
        auto r = c.post("/api/v1/faxes/" + std::to_string(o->id) + "/resend", body);
        if (!r) return r.error();
        if (o->json) {
          std::cout << r->dump(2) << '\n';
        } else {
          std::cout << "fax " << (*r)["id"] << " " << cell((*r)["state"]) << " to "
                    << cell((*r)["number"]) << '\n';
        }
        return {};
      };
    });
  }
  {
    struct ReleaseOptions {
      long long id = 0;
      std::string to, subject, comment, notify, tag;
      int priority = 0;
      bool cover = false, noCover = false, json = false;
    };
    auto o = std::make_shared<ReleaseOptions>();
    auto* cmd =
        app.add_subcommand("release", "Send a held print job (vfax list --held) to a number");
    cmd->add_option("id", o->id, "Fax id of the held job")->required();
    cmd->add_option("-t,--to", o->to, "Number to fax to (as dialled, or an extension)")->required();
    auto* cover = cmd->add_flag("--cover", o->cover, "Put a cover page first");
    cmd->add_flag("--no-cover", o->noCover, "No cover page, whatever the server's default")
        ->excludes(cover);
    cmd->add_option("--subject", o->subject, "Subject (on the cover page)");
    cmd->add_option("--comment", o->comment, "Comment (on the cover page)");
    auto* notify =
        cmd->add_option("--notify", o->notify, "E-mail address told of every state change");
    auto* tag = cmd->add_option("--tag", o->tag, "Free text to find the fax by");
    auto* prio = cmd->add_option("--priority", o->priority, "Priority -100..100 (higher first)");
    cmd->add_flag("--json", o->json, "Print the fax's JSON");
    cmd->callback([o, &action, notify, tag, prio] {
      const bool hasNotify = notify->count() > 0, hasTag = tag->count() > 0,
                 hasPrio = prio->count() > 0;
      action = [o, hasNotify, hasTag, hasPrio](Client& c) -> Result<void> {
        Json body = {{"to", o->to}};
        if (o->cover) body["cover"] = true;
        if (o->noCover) body["cover"] = false;
        if (!o->subject.empty()) body["subject"] = o->subject;
        if (!o->comment.empty()) body["comment"] = o->comment;
        if (hasNotify) body["notify"] = o->notify;
        if (hasTag) body["tag"] = o->tag;
        if (hasPrio) body["priority"] = o->priority;
        auto r = c.post("/api/v1/faxes/" + std::to_string(o->id) + "/release", body);
        if (!r) return r.error();
        if (o->json) {
          std::cout << r->dump(2) << '\n';
        } else {
          std::cout << "fax " << (*r)["id"] << " " << cell((*r)["state"]) << " to "
                    << cell((*r)["number"]) << '\n';
        }
        return {};
      };
    });
  }
}

}  // namespace vfax::cli
