// Quota statistics for the control plane (GET /api/quota/stat, alerts, the UI's gauges): how much
// of a rule's window is used, how fast it is burning, and when it will reach the switch threshold
// at that pace. Pure: the caller reads the counters and the samples from Redis.
#pragma once
#include <cstdint>
#include <vector>

namespace lingmo::quota {

struct Sample {
  int64_t ts_ms = 0;
  int64_t used = 0;  // the window's counter at ts_ms (same window as now)
};

struct RuleStat {
  int64_t used = 0;
  int64_t limit = 0;
  int64_t cap = 0;            // where the provider is switched away (limit x threshold)
  double percent = 0;         // used / limit x 100
  double burn_per_hour = -1;  // counted units per hour over the last hour; -1 = not enough history
  int64_t reaches_cap_ms = -1;  // epoch ms when `cap` is reached at that pace; 0 = already; -1 = not before the reset / unknown
  int64_t resets_ms = 0;      // epoch ms of the window's end; 0 = never (one-off grants)
};

// `samples`: earlier readings of the same window, any order. A burn rate needs a reading at
// least kMinSpanMs old (within the last hour); the oldest such reading in the hour is used.
inline constexpr int64_t kMinSpanMs = 5 * 60 * 1000;
RuleStat rule_stat(int64_t used, int64_t limit, double threshold, const std::vector<Sample>& samples, int64_t now_ms,
                   int64_t window_end_ms);

}  // namespace lingmo::quota
