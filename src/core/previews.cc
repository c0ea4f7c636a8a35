#include "core/previews.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "core/hex.h"

namespace vfax::core {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMeta = "meta.json";

bool wellFormedId(const std::string& id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

nlohmann::json toJson(const PreviewRecord& r) {
  return {{"owner", r.owner},
          {"created_at", r.createdAt},
          {"expires_at", r.expiresAt},
          {"pages", r.pages},
          {"to", r.to},
          {"device", r.deviceId ? nlohmann::json(*r.deviceId) : nlohmann::json()},
          {"tag", r.tag},
          {"priority", r.priority},
          {"notify", r.notify},
          {"fine", r.fine},
          {"cover", r.cover},
          {"subject", r.subject},
          {"comment", r.comment}};
}

Error notFound() { return makeError("not_found", "there is no such preview (or it expired)"); }

}  // namespace

Previews::Previews(std::string dir, const Clock& clock, Millis ttl, int perUser)
    : dir_(std::move(dir)), clock_(clock), ttl_(ttl), perUser_(std::max(1, perUser)) {}

std::string Previews::folder(const std::string& id) const { return (fs::path(dir_) / id).string(); }

Result<void> Previews::start() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return makeError("storage_error", "cannot create " + dir_ + ": " + ec.message());
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    if (entry.path().filename().string().rfind("tmp-", 0) == 0) {
      std::error_code rec;
      fs::remove_all(entry.path(), rec);
    }
  }
  removeExpired();
  return {};
}

Result<std::string> Previews::stage() {
  unsigned char rnd[8];
  randombytes_buf(rnd, sizeof rnd);
  const fs::path p = fs::path(dir_) / ("tmp-" + toHex(rnd, sizeof rnd));
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) return makeError("storage_error", "cannot create " + p.string() + ": " + ec.message());
  return p.string();
}

void Previews::discard(const std::string& stagingDir) {
  std::error_code ec;
  fs::remove_all(stagingDir, ec);
}

Result<PreviewRecord> Previews::commit(const std::string& stagingDir, PreviewRecord record) {
  unsigned char rnd[16];
  randombytes_buf(rnd, sizeof rnd);
  record.id = toHex(rnd, sizeof rnd);
  record.createdAt = clock_.now();
  record.expiresAt = record.createdAt + ttl_;
  {
    std::ofstream meta(fs::path(stagingDir) / kMeta, std::ios::binary | std::ios::trunc);
    meta << toJson(record).dump();
    if (!meta.flush()) {
      discard(stagingDir);
      return makeError("storage_error", "cannot write the preview's record");
    }
  }
  std::lock_guard lock(mu_);
  std::error_code ec;
  fs::rename(stagingDir, folder(record.id), ec);
  if (ec) {
    discard(stagingDir);
    return makeError("storage_error", "cannot store the preview: " + ec.message());
  }
  // At most perUser_ per user: the oldest go.
  std::vector<PreviewRecord> mine;
  for (auto& r : all()) {
    if (r.owner == record.owner) mine.push_back(std::move(r));
  }
  std::sort(mine.begin(), mine.end(), [](const PreviewRecord& a, const PreviewRecord& b) {
    return a.createdAt != b.createdAt ? a.createdAt > b.createdAt : a.id > b.id;
  });
  // The new one stays whatever the clock says about the others.
  int kept = 1;
  for (const auto& r : mine) {
    if (r.id == record.id) continue;
    if (++kept > perUser_) fs::remove_all(folder(r.id), ec);
  }
  return record;
}

std::optional<PreviewRecord> Previews::load(const std::string& id) const {
  std::ifstream in(fs::path(folder(id)) / kMeta, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    PreviewRecord r;
    r.id = id;
    r.owner = j.at("owner").get<std::int64_t>();
    r.createdAt = j.at("created_at").get<Millis>();
    r.expiresAt = j.at("expires_at").get<Millis>();
    r.pages = j.at("pages").get<int>();
    r.to = j.at("to").get<std::string>();
    if (!j.at("device").is_null()) r.deviceId = j.at("device").get<std::int64_t>();
    r.tag = j.at("tag").get<std::string>();
    r.priority = j.at("priority").get<int>();
    r.notify = j.at("notify").get<std::string>();
    r.fine = j.at("fine").get<bool>();
    r.cover = j.at("cover").get<bool>();
    r.subject = j.at("subject").get<std::string>();
    r.comment = j.at("comment").get<std::string>();
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // vfax wrote it; a damaged one is as good as gone
  }
}

std::vector<PreviewRecord> Previews::all() const {
  std::vector<PreviewRecord> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!wellFormedId(name)) continue;
    if (auto r = load(name)) out.push_back(std::move(*r));
  }
  return out;
}

Result<PreviewRecord> Previews::get(std::int64_t owner, const std::string& id) {
  if (!wellFormedId(id)) return notFound();
  auto r = load(id);
  if (!r || r->owner != owner) return notFound();
  if (r->expiresAt <= clock_.now()) {
    std::lock_guard lock(mu_);
    std::error_code ec;
    fs::remove_all(folder(id), ec);
    return notFound();
  }
  return *r;
}

Result<PreviewRecord> Previews::take(std::int64_t owner, const std::string& id,
                                     const std::string& to) {
  auto r = get(owner, id);
  if (!r) return r;
  std::lock_guard lock(mu_);
  std::error_code ec;
  fs::rename(folder(id), to, ec);
  if (ec) return notFound();  // taken by a concurrent send, or removed as the owner's oldest
  fs::remove(fs::path(to) / kMeta, ec);
  return r;
}

int Previews::removeExpired() {
  std::lock_guard lock(mu_);
  const Millis now = clock_.now();
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!wellFormedId(name)) continue;
    auto r = load(name);
    // A folder without a readable record is a leftover: it goes too.
    if (!r || r->expiresAt <= now) {
      std::error_code rec;
      fs::remove_all(entry.path(), rec);
      ++removed;
    }
  }
  if (removed > 0) spdlog::debug("previews: removed {} expired", removed);
  return removed;
}

}  // namespace vfax::core
