#include "quota/stats.h"

#include <cmath>

#include "quota/rules.h"

namespace lingmo::quota {

RuleStat rule_stat(int64_t used, int64_t limit, double threshold, const std::vector<Sample>& samples, int64_t now_ms,
                   int64_t window_end_ms) {
  RuleStat s;
  s.used = used;
  s.limit = limit;
  s.cap = cap(limit, threshold);
  s.percent = limit > 0 ? 100.0 * static_cast<double>(used) / static_cast<double>(limit) : 0;
  s.resets_ms = window_end_ms;
  const Sample* base = nullptr;
  for (const auto& x : samples) {
    int64_t age = now_ms - x.ts_ms;
    if (age < kMinSpanMs || age > 3600 * 1000 || x.used > used) continue;  // too fresh, too old, or another window
    if (!base || x.ts_ms < base->ts_ms) base = &x;
  }
  if (base) s.burn_per_hour = static_cast<double>(used - base->used) * 3600000.0 / static_cast<double>(now_ms - base->ts_ms);
  if (used >= s.cap) {
    s.reaches_cap_ms = 0;
  } else if (s.burn_per_hour > 0) {
    double ms = static_cast<double>(s.cap - used) / s.burn_per_hour * 3600000.0;
    int64_t at = now_ms + static_cast<int64_t>(std::ceil(ms));
    if (ms < 1e15 && (window_end_ms == 0 || at < window_end_ms)) s.reaches_cap_ms = at;
  }
  return s;
}

}  // namespace lingmo::quota
