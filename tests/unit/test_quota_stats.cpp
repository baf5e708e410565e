#include <catch2/catch.hpp>

#include "quota/stats.h"

using namespace lingmo::quota;

namespace {
constexpr int64_t kNow = 1'800'000'000'000;
constexpr int64_t kMin = 60'000;
}  // namespace

TEST_CASE("quota stat: percent, cap and reset", "[quota-stats]") {
  auto s = rule_stat(750, 1500, 0.99, {}, kNow, kNow + 3600'000);
  CHECK(s.percent == Approx(50.0));
  CHECK(s.cap == 1485);
  CHECK(s.resets_ms == kNow + 3600'000);
  CHECK(s.burn_per_hour == -1);  // no history: no pace, no forecast
  CHECK(s.reaches_cap_ms == -1);
}

TEST_CASE("quota stat: burn rate over the last hour and the time to the switch threshold", "[quota-stats]") {
  // 100 used 30 minutes ago, 600 now: 1000 an hour; 885 left to the cap of 1485: 53.1 minutes.
  std::vector<Sample> samples{{kNow - 30 * kMin, 100}, {kNow - 2 * kMin, 590}, {kNow - 90 * kMin, 0}};
  auto s = rule_stat(600, 1500, 0.99, samples, kNow, kNow + 10 * 3600'000LL);
  CHECK(s.burn_per_hour == Approx(1000.0));
  CHECK(s.reaches_cap_ms == kNow + 885 * 3600);
}

TEST_CASE("quota stat: no forecast past the reset, immediate when over the cap", "[quota-stats]") {
  std::vector<Sample> samples{{kNow - 60 * kMin, 0}};
  auto slow = rule_stat(10, 1500, 0.99, samples, kNow, kNow + 3600'000);  // 10/h: years to go, resets in an hour
  CHECK(slow.burn_per_hour == Approx(10.0));
  CHECK(slow.reaches_cap_ms == -1);
  auto over = rule_stat(1490, 1500, 0.99, samples, kNow, kNow + 3600'000);
  CHECK(over.reaches_cap_ms == 0);
  // A reading above the current count belongs to an earlier window: not a base for the pace.
  auto reset = rule_stat(5, 1500, 0.99, {{kNow - 20 * kMin, 900}}, kNow, kNow + 3600'000);
  CHECK(reset.burn_per_hour == -1);
  // One-off grants never reset: any positive pace gives a date.
  auto grant = rule_stat(100, 1000, 1.0, {{kNow - 10 * kMin, 0}}, kNow, 0);
  CHECK(grant.reaches_cap_ms == kNow + 90 * kMin);
}
