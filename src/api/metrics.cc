#include "api/metrics.h"

#include <fmt/format.h>

namespace vfax::api {

namespace {

constexpr core::FaxState kOutStates[] = {
    core::FaxState::Queued,  core::FaxState::Converting, core::FaxState::Waiting,
    core::FaxState::Dialing, core::FaxState::Sending,    core::FaxState::Done,
    core::FaxState::Failed,  core::FaxState::Canceled,   core::FaxState::Held};
constexpr core::FaxState kInStates[] = {core::FaxState::Receiving, core::FaxState::Received,
                                        core::FaxState::Failed};

// A label value as the text format wants it: backslash, double quote and newline escaped.
std::string labelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string renderMetrics(const FaxCounts& counts, const core::LineStatus& lines,
                          const std::vector<core::TrunkStatus>& trunks,
                          const core::MediaStats& media) {
  std::string out;
  out += "# HELP vfax_faxes Faxes stored, by direction and state.\n# TYPE vfax_faxes gauge\n";
  auto series = [&](core::Direction d, core::FaxState s) {
    auto it = counts.find({d, s});
    out += fmt::format("vfax_faxes{{direction=\"{}\",state=\"{}\"}} {}\n", core::toString(d),
                       core::toString(s), it == counts.end() ? 0 : it->second);
  };
  for (auto s : kInStates) series(core::Direction::In, s);
  for (auto s : kOutStates) series(core::Direction::Out, s);
  // Any pair outside the expected sets still shows up rather than being lost.
  for (const auto& [key, n] : counts) {
    const auto& [d, s] = key;
    const bool known = d == core::Direction::In
                           ? (s == core::FaxState::Receiving || s == core::FaxState::Received ||
                              s == core::FaxState::Failed)
                           : (s != core::FaxState::Receiving && s != core::FaxState::Received);
    if (!known) series(d, s);
  }
  out += fmt::format(
      "# HELP vfax_lines_total Virtual fax lines configured.\n# TYPE vfax_lines_total gauge\n"
      "vfax_lines_total {}\n"
      "# HELP vfax_lines_reserved_inbound Lines kept free for inbound calls.\n"
      "# TYPE vfax_lines_reserved_inbound gauge\nvfax_lines_reserved_inbound {}\n"
      "# HELP vfax_lines_in_use Lines carrying a call, by direction.\n# TYPE vfax_lines_in_use "
      "gauge\n"
      "vfax_lines_in_use{{direction=\"in\"}} {}\nvfax_lines_in_use{{direction=\"out\"}} {}\n"
      "# HELP vfax_queue_depth Jobs queued, converting or waiting for a line or retry.\n"
      "# TYPE vfax_queue_depth gauge\nvfax_queue_depth {}\n",
      lines.total, lines.reservedInbound, lines.inbound, lines.outbound, lines.queued);
  if (!trunks.empty()) {
    out +=
        "# HELP vfax_trunk_up 1 when the trunk can place and take calls, 0 when not (see "
        "/healthz for why).\n# TYPE vfax_trunk_up gauge\n";
    for (const auto& t : trunks) {
      out += fmt::format("vfax_trunk_up{{trunk=\"{}\"}} {}\n", labelValue(t.name), t.up ? 1 : 0);
    }
    out += "# HELP vfax_trunk_calls Calls in progress, by trunk.\n# TYPE vfax_trunk_calls gauge\n";
    for (const auto& t : trunks) {
      out += fmt::format("vfax_trunk_calls{{trunk=\"{}\"}} {}\n", labelValue(t.name), t.calls);
    }
  }
  out += fmt::format(
      "# HELP vfax_media_ticks_total 20 ms media ticks of all calls since start.\n"
      "# TYPE vfax_media_ticks_total counter\nvfax_media_ticks_total {}\n"
      "# HELP vfax_media_ticks_late_total Media ticks a whole tick (20 ms) or more late: the far "
      "end heard a gap.\n# TYPE vfax_media_ticks_late_total counter\nvfax_media_ticks_late_total "
      "{}\n"
      "# HELP vfax_media_tick_max_lag_seconds Worst lateness of a media tick since start.\n"
      "# TYPE vfax_media_tick_max_lag_seconds gauge\nvfax_media_tick_max_lag_seconds {:.6f}\n"
      "# HELP vfax_telephony_loop_long_iterations_total Telephony loop iterations that ran 15 ms "
      "or more (the debug log names the slowest handler of each).\n"
      "# TYPE vfax_telephony_loop_long_iterations_total counter\n"
      "vfax_telephony_loop_long_iterations_total {}\n",
      media.ticks, media.lateTicks, static_cast<double>(media.maxLagUs) / 1e6,
      media.longIterations);
  return out;
}

core::Result<FaxCounts> countFaxes(core::Service& service) {
  auto rows = service.countFaxes();
  if (!rows) return rows.error();
  FaxCounts counts;
  for (const auto& c : *rows) counts[{c.direction, c.state}] = c.count;
  return counts;
}

}  // namespace vfax::api
