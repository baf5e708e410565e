#include <catch2/catch.hpp>

#include "test_support.h"

#include <ctime>
#include <optional>
#include <string>

#include "util/duration.h"

namespace duration = lingmo::duration;

namespace {


}  // namespace

TEST_CASE("parse_go reads Go/Google durations", "[duration]") {
  auto [text, ms] = GENERATE(table<std::string, int64_t>({
      {"1s", 1000},
      {"6m0s", 360000},
      {"2m59.56s", 179560},
      {"250ms", 250},
      {"1.5s", 1500},
      {"22s", 22000},
      {"1h", 3600000},
      {"1h2m3s", 3723000},
      {"1m30s", 90000},
      {"0s", 0},
      {"0.5ms", 1},           // rounded to the nearest millisecond
      {"1500us", 2},
      {"20.04466179s", 20045},
      {"  7s ", 7000},        // header values may carry spaces
      {"5", 5000},            // a bare number is seconds
  }));
  CAPTURE(text);
  auto got = duration::parse_go(text);
  REQUIRE(got.has_value());
  CHECK(*got == ms);
}

TEST_CASE("parse_go rejects what is not a duration", "[duration]") {
  auto text = GENERATE(as<std::string>{}, "", "   ", "abc", "5x", "-1s", "s", "1 s", "1.5d", "+3s", "1s-", ".", "..s",
                       "1.2.3s", "ms", std::string(400, '9') + "s", "99999999999h");
  CAPTURE(text);
  std::optional<int64_t> got;
  REQUIRE_NOTHROW(got = duration::parse_go(text));
  CHECK_FALSE(got.has_value());
}

TEST_CASE("parse_retry_after reads delta-seconds and HTTP dates", "[duration]") {
  const int64_t now = epoch_ms(2026, 11, 26, 12, 0, 0);  // Thu, 26 Nov 2026 12:00:00 GMT
  CHECK(duration::parse_retry_after("120", now) == 120000);
  CHECK(duration::parse_retry_after("0", now) == 0);
  CHECK(duration::parse_retry_after(" 5 ", now) == 5000);
  CHECK(duration::parse_retry_after("1.5", now) == 1500);
  // Delta-seconds do not depend on now.
  CHECK(duration::parse_retry_after("120", 0) == 120000);

  CHECK(duration::parse_retry_after("Thu, 26 Nov 2026 12:00:45 GMT", now) == 45000);
  CHECK(duration::parse_retry_after("Fri, 27 Nov 2026 12:00:00 GMT", now) == 86400000);
  CHECK(duration::parse_retry_after("Thu, 26 Nov 2026 12:00:45 GMT", now + 45000) == 0);
  // In the past: wait 0, never a negative wait.
  CHECK(duration::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == 0);
  CHECK(duration::parse_retry_after("Thu, 26 Nov 2026 11:59:59 GMT", now) == 0);
}

TEST_CASE("parse_retry_after rejects garbage", "[duration]") {
  const int64_t now = epoch_ms(2026, 11, 26, 12, 0, 0);
  auto text = GENERATE(as<std::string>{}, "", "soon", "-5", "1e3", "Thu, 99 Foo 2026", "tomorrow at noon", ".", "..",
                       std::string(400, '9'), "99999999999999999999");
  CAPTURE(text);
  std::optional<int64_t> got;
  REQUIRE_NOTHROW(got = duration::parse_retry_after(text, now));
  CHECK_FALSE(got.has_value());
}

TEST_CASE("parse_rfc3339 reads UTC and offset timestamps", "[duration]") {
  CHECK(duration::parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(duration::parse_rfc3339("1970-01-01T00:00:01Z") == 1000);

  const int64_t t = epoch_ms(2026, 11, 26, 12, 0, 0);
  REQUIRE(t == 1795694400000LL);  // cross-check of the helper itself
  CHECK(duration::parse_rfc3339("2026-11-26T12:00:00Z") == t);
  CHECK(duration::parse_rfc3339("2026-11-26T12:00:00z") == t);
  CHECK(duration::parse_rfc3339(" 2026-11-26T12:00:00Z ") == t);
  CHECK(duration::parse_rfc3339("2026-11-26T12:00:00+00:00") == t);
  CHECK(duration::parse_rfc3339("2026-11-26T20:00:00+08:00") == t);
  CHECK(duration::parse_rfc3339("2026-11-26T04:00:00-08:00") == t);
  CHECK(duration::parse_rfc3339("2026-11-26T17:30:00+05:30") == t);
  CHECK(duration::parse_rfc3339("2026-11-27T01:00:00+13:00") == t);  // crosses the date

  CHECK(duration::parse_rfc3339("2026-11-26T12:00:00.250Z") == t + 250);
  CHECK(duration::parse_rfc3339("2026-11-26T12:00:01.5Z") == t + 1500);
  CHECK(duration::parse_rfc3339("2026-11-26T12:00:00.123456789Z") == t + 123);
  CHECK(duration::parse_rfc3339("2026-11-26T20:00:00.5+08:00") == t + 500);

  // Leap years and month ends, against timegm.
  CHECK(duration::parse_rfc3339("2028-02-29T23:59:59Z") == epoch_ms(2028, 2, 29, 23, 59, 59));
  CHECK(duration::parse_rfc3339("2026-12-31T23:59:59Z") == epoch_ms(2026, 12, 31, 23, 59, 59));
  CHECK(duration::parse_rfc3339("2000-03-01T00:00:00Z") == epoch_ms(2000, 3, 1));
  for (int month = 1; month <= 12; ++month) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "2026-%02d-15T06:07:08Z", month);
    CAPTURE(buf);
    CHECK(duration::parse_rfc3339(buf) == epoch_ms(2026, month, 15, 6, 7, 8));
  }
}

TEST_CASE("parse_rfc3339 rejects invalid timestamps", "[duration]") {
  auto text = GENERATE(as<std::string>{}, "", "now", "2026-11-26", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
                       "2026-11-00T00:00:00Z", "2026-11-32T00:00:00Z", "2026-11-26T24:00:00Z", "2026-11-26T12:60:00Z",
                       "2026-11-26T12:00:61Z", "2026-11-26T-1:00:00Z", "2026-11-26T12:-5:00Z", "2026-11-26T12:00:nanZ",
                       "2026-11-26T12:00:00 junk", "2026-11-26T12:00:00+0800x", "Thu, 26 Nov 2026 12:00:00 GMT");
  CAPTURE(text);
  std::optional<int64_t> got;
  REQUIRE_NOTHROW(got = duration::parse_rfc3339(text));
  CHECK_FALSE(got.has_value());
}
