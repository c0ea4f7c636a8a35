#include "core/cron.h"

#include <array>
#include <charconv>
#include <string>
#include <vector>

namespace vfax::core {
namespace {

struct FieldSpec {
  std::string_view name;
  int lo;
  int hi;  // inclusive; day-of-week accepts 7 and folds it onto 0 (Sunday)
  const std::array<std::string_view, 12>* names;  // names[i] is value lo + i
};

constexpr std::array<std::string_view, 12> kMonthNames{"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 12> kDayNames{"sun", "mon", "tue", "wed", "thu",
                                                     "fri", "sat", "",    "",    "",
                                                     "",    ""};

constexpr std::array<FieldSpec, 5> kFields{{
    {"minute", 0, 59, nullptr},
    {"hour", 0, 23, nullptr},
    {"day-of-month", 1, 31, nullptr},
    {"month", 1, 12, &kMonthNames},
    {"day-of-week", 0, 7, &kDayNames},
}};

Error cronError(std::string msg) { return makeError("invalid_cron", std::move(msg)); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Result<int> parseValue(const FieldSpec& f, std::string_view tok) {
  if (f.names != nullptr) {
    const std::string l = lower(tok);
    for (std::size_t i = 0; i < f.names->size(); ++i) {
      if (!(*f.names)[i].empty() && (*f.names)[i] == l) return f.lo + static_cast<int>(i);
    }
  }
  int v = 0;
  auto [ptr, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
  if (tok.empty() || ec != std::errc() || ptr != tok.data() + tok.size()) {
    return cronError(std::string(f.name) + " field has '" + std::string(tok) +
                     "', which is not a number" + (f.names ? " or a name" : ""));
  }
  if (v < f.lo || v > f.hi) {
    return cronError(std::string(f.name) + " value " + std::to_string(v) + " is out of range " +
                     std::to_string(f.lo) + "-" + std::to_string(f.hi));
  }
  return v;
}

// Parses one field ("*/15", "1-5", "mon,wed,fri", "0-30/10", "5/15") into a bit set.
Result<unsigned long long> parseField(const FieldSpec& f, std::string_view text) {
  unsigned long long bits = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item =
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) {
      return cronError(std::string(f.name) + " field '" + std::string(text) +
                       "' has an empty list item");
    }
    std::string_view range = item;
    int step = 1;
    if (const std::size_t slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      const std::string_view st = item.substr(slash + 1);
      auto [ptr, ec] = std::from_chars(st.data(), st.data() + st.size(), step);
      if (st.empty() || ec != std::errc() || ptr != st.data() + st.size() || step < 1 ||
          step > f.hi) {
        return cronError(std::string(f.name) + " field has step '" + std::string(st) +
                         "'; a step must be a number from 1 to " + std::to_string(f.hi));
      }
    }
    int lo = 0;
    int hi = 0;
    if (range == "*") {
      lo = f.lo;
      hi = f.hi;
    } else if (const std::size_t dash = range.find('-'); dash != std::string_view::npos) {
      auto a = parseValue(f, range.substr(0, dash));
      if (!a) return a.error();
      auto b = parseValue(f, range.substr(dash + 1));
      if (!b) return b.error();
      lo = *a;
      hi = *b;
      if (lo > hi) {
        return cronError(std::string(f.name) + " range '" + std::string(range) +
                         "' runs backwards; write the smaller value first");
      }
    } else {
      auto a = parseValue(f, range);
      if (!a) return a.error();
      lo = *a;
      // "5/15" means from 5 to the end in steps of 15, as in cronie.
      hi = item.find('/') != std::string_view::npos ? f.hi : lo;
    }
    for (int v = lo; v <= hi; v += step) bits |= 1ULL << v;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return bits;
}

std::string_view expandMacro(std::string_view expr) {
  if (expr == "@yearly" || expr == "@annually") return "0 0 1 1 *";
  if (expr == "@monthly") return "0 0 1 * *";
  if (expr == "@weekly") return "0 0 * * 0";
  if (expr == "@daily" || expr == "@midnight") return "0 0 * * *";
  if (expr == "@hourly") return "0 * * * *";
  return {};
}

constexpr std::array<int, 13> kMaxDays{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

}  // namespace

Result<CronSchedule> CronSchedule::parse(std::string_view expr) {
  const std::string original(expr);
  while (!expr.empty() && (expr.front() == ' ' || expr.front() == '\t')) expr.remove_prefix(1);
  while (!expr.empty() && (expr.back() == ' ' || expr.back() == '\t')) expr.remove_suffix(1);
  if (expr.empty()) return cronError("the cron expression is empty");
  if (expr.front() == '@') {
    const std::string l = lower(expr);
    const std::string_view expanded = expandMacro(l);
    if (expanded.empty()) {
      return cronError("'" + std::string(expr) +
                       "' is not supported; use @hourly, @daily, @weekly, @monthly, @yearly or "
                       "five fields");
    }
    expr = expanded;
  }

  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < expr.size()) {
    while (i < expr.size() && (expr[i] == ' ' || expr[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < expr.size() && expr[j] != ' ' && expr[j] != '\t') ++j;
    if (j > i) parts.push_back(expr.substr(i, j - i));
    i = j;
  }
  if (parts.size() != kFields.size()) {
    return cronError("a cron expression has 5 fields (minute hour day-of-month month "
                     "day-of-week), got " +
                     std::to_string(parts.size()) + " in '" + original + "'");
  }

  std::array<unsigned long long, 5> bits{};
  for (std::size_t k = 0; k < kFields.size(); ++k) {
    auto r = parseField(kFields[k], parts[k]);
    if (!r) return r.error();
    bits[k] = *r;
  }
  if (bits[4] & (1ULL << 7)) bits[4] = (bits[4] & ~(1ULL << 7)) | 1ULL;  // 7 is Sunday too

  CronSchedule c;
  c.minutes_ = bits[0];
  c.hours_ = static_cast<unsigned>(bits[1]);
  c.days_ = bits[2];
  c.months_ = static_cast<unsigned>(bits[3]);
  c.weekdays_ = static_cast<unsigned>(bits[4]);
  // As in Vixie cron and cronie: a field counts as unrestricted when it starts with '*', so
  // "*/2" in day-of-month still combines with day-of-week by AND, and "1-31" by OR.
  c.domStar_ = parts[2].front() == '*';
  c.dowStar_ = parts[4].front() == '*';

  // With day-of-week unrestricted only the day-of-month decides; reject dates that never come
  // (e.g. 31 in February), so next() always finds a time.
  if (!c.domStar_ && c.dowStar_) {
    bool possible = false;
    for (int m = 1; m <= 12 && !possible; ++m) {
      if (!(c.months_ & (1U << m))) continue;
      for (int d = 1; d <= kMaxDays[m]; ++d) {
        if (c.days_ & (1ULL << d)) {
          possible = true;
          break;
        }
      }
    }
    if (!possible) {
      return cronError("the day-of-month '" + std::string(parts[2]) +
                       "' never occurs in the month(s) '" + std::string(parts[3]) + "'");
    }
  }
  return c;
}

std::time_t CronSchedule::next(std::time_t after) const {
  // Minute and hour steps move in absolute time, day and month steps through mktime(), so that a
  // DST change can neither loop nor skip a whole day: a local time that does not exist (spring
  // forward) is never matched, one that exists twice (fall back) matches the first time.
  std::time_t t = after - ((after % 60) + 60) % 60 + 60;
  // Feb 29 on a given weekday can be up to 28 years away; this bound is far beyond any schedule.
  for (int guard = 0; guard < 1'000'000; ++guard) {
    std::tm lt{};
    localtime_r(&t, &lt);
    const int month = lt.tm_mon + 1;
    auto jumpTo = [&](std::tm target) {
      target.tm_sec = 0;
      target.tm_isdst = -1;
      const std::time_t n = std::mktime(&target);
      t = n > t ? n : t + 60;
    };
    if (!(months_ & (1U << month))) {
      std::tm n = lt;
      n.tm_mon += 1;
      n.tm_mday = 1;
      n.tm_hour = 0;
      n.tm_min = 0;
      jumpTo(n);
      continue;
    }
    const bool domOk = (days_ >> lt.tm_mday) & 1ULL;
    const bool dowOk = (weekdays_ >> lt.tm_wday) & 1U;
    const bool dayOk = (domStar_ || dowStar_) ? (domOk && dowOk) : (domOk || dowOk);
    if (!dayOk) {
      std::tm n = lt;
      n.tm_mday += 1;
      n.tm_hour = 0;
      n.tm_min = 0;
      jumpTo(n);
      continue;
    }
    if (!((hours_ >> lt.tm_hour) & 1U)) {
      t += static_cast<std::time_t>(60 - lt.tm_min) * 60;
      continue;
    }
    if (!((minutes_ >> lt.tm_min) & 1ULL)) {
      t += 60;
      continue;
    }
    return t;
  }
  return static_cast<std::time_t>(-1);
}

}  // namespace vfax::core
