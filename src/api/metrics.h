#pragma once
// GET /metrics: Prometheus text exposition format (version 0.0.4).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "core/service.h"
#include "core/telephony.h"

namespace vfax::api {

using FaxCounts = std::map<std::pair<core::Direction, core::FaxState>, long long>;

/// Renders the gauges. Every direction/state pair that can occur is written (0 when absent), so
/// that series do not appear and vanish. Each trunk adds vfax_trunk_up{trunk} (1 or 0) and
/// vfax_trunk_calls{trunk}. Media pacing: vfax_media_ticks_total, vfax_media_ticks_late_total
/// (a whole 20 ms tick or more behind) and vfax_media_tick_max_lag_seconds since start.
std::string renderMetrics(const FaxCounts& counts, const core::LineStatus& lines,
                          const std::vector<core::TrunkStatus>& trunks = {},
                          const core::MediaStats& media = {});

/// Counts the stored faxes by direction and state by paging through Service::list (without
/// attempts). Cost grows with the faxes kept (bounded by the retention days).
core::Result<FaxCounts> countFaxes(core::Service& service);

}  // namespace vfax::api
