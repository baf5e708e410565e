#include <catch2/catch.hpp>

#include "test_support.h"

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "quota/tz.h"

using lingmo::quota::TimeZone;

namespace {

using Zone = std::shared_ptr<const TimeZone>;

// Epoch seconds of a UTC civil time (computed by the C library, see test_support.h).
int64_t utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) {
  return epoch_ms(year, month, day, hour, minute, second) / 1000;
}

Zone load(const std::string& name) {
  auto z = TimeZone::load(name);
  INFO("zone " << name << ": " << (z ? std::string("ok") : z.error()));
  REQUIRE(z);
  return z.value();
}

std::string iso(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool same_date(const TimeZone::Civil& a, const TimeZone::Civil& b) {
  return a.year == b.year && a.month == b.month && a.day == b.day;
}

std::string describe(const TimeZone::Civil& c) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02d %02d:%02d:%02d wd%d", static_cast<long long>(c.year), c.month, c.day,
                c.hour, c.minute, c.second, c.weekday);
  return buf;
}

// A scratch directory for hand-made zone files, removed afterwards.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/lingmo_tz_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    for (const auto& f : files) std::remove((path + "/" + f).c_str());
    rmdir(path.c_str());
  }
  void write(const std::string& name, const std::string& bytes) {
    std::ofstream(path + "/" + name, std::ios::binary) << bytes;
    files.push_back(name);
  }
  std::vector<std::string> files;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("utc() and the UTC aliases have offset 0", "[tz]") {
  auto z = TimeZone::utc();
  REQUIRE(z);
  CHECK(z->name() == "UTC");
  for (int64_t t : {int64_t{0}, utc(2026, 1, 15), utc(2026, 7, 15), utc(2038, 6, 1), int64_t{-86400 * 365}})
    CHECK(z->offset_s(t) == 0);
  for (const char* alias : {"UTC", "Etc/UTC", "Z"}) {
    CAPTURE(alias);
    auto a = load(alias);
    CHECK(a->offset_s(utc(2026, 7, 15)) == 0);
    CHECK(a->next_day_start(utc(2026, 7, 15, 13)) == utc(2026, 7, 16));
  }
}

TEST_CASE("Asia/Shanghai is UTC+8 all year", "[tz]") {
  auto z = load("Asia/Shanghai");
  CHECK(z->name() == "Asia/Shanghai");
  for (int month = 1; month <= 12; ++month) {
    CAPTURE(month);
    CHECK(z->offset_s(utc(2026, month, 1)) == 28800);
    CHECK(z->offset_s(utc(2026, month, 15, 18, 30)) == 28800);
  }
  CHECK(z->offset_s(utc(2000, 6, 1)) == 28800);
  CHECK(z->offset_s(utc(2036, 6, 1)) == 28800);
  // Local midnight is 16:00 UTC the day before.
  CHECK(z->day_start(utc(2026, 11, 26, 12)) == utc(2026, 11, 25, 16));
  CHECK(z->next_day_start(utc(2026, 11, 26, 12)) == utc(2026, 11, 26, 16));
  CHECK(z->next_day_start(utc(2026, 11, 26, 15, 59, 59)) == utc(2026, 11, 26, 16));
  CHECK(z->next_day_start(utc(2026, 11, 26, 16)) == utc(2026, 11, 27, 16));
}

TEST_CASE("America/Los_Angeles: PST in winter, PDT in summer", "[tz]") {
  auto z = load("America/Los_Angeles");
  CHECK(z->offset_s(utc(2026, 1, 15, 12)) == -28800);
  CHECK(z->offset_s(utc(2026, 7, 15, 12)) == -25200);
  CHECK(z->offset_s(utc(2026, 12, 25)) == -28800);
  // 2026-03-08 02:00 PST -> 03:00 PDT (10:00 UTC); 2026-11-01 02:00 PDT -> 01:00 PST (09:00 UTC).
  CHECK(z->offset_s(utc(2026, 3, 8, 9, 59, 59)) == -28800);
  CHECK(z->offset_s(utc(2026, 3, 8, 10)) == -25200);
  CHECK(z->offset_s(utc(2026, 11, 1, 8, 59, 59)) == -25200);
  CHECK(z->offset_s(utc(2026, 11, 1, 9)) == -28800);
}

TEST_CASE("civil() gives local fields of an instant", "[tz]") {
  const int64_t t = utc(2026, 7, 4, 19, 30, 45);  // a Saturday in UTC
  auto la = load("America/Los_Angeles")->civil(t);
  INFO(describe(la));
  CHECK(la.year == 2026);
  CHECK(la.month == 7);
  CHECK(la.day == 4);
  CHECK(la.hour == 12);
  CHECK(la.minute == 30);
  CHECK(la.second == 45);
  CHECK(la.weekday == 5);  // Saturday (0 = Monday)

  auto sh = load("Asia/Shanghai")->civil(t);
  INFO(describe(sh));
  CHECK((sh.year == 2026 && sh.month == 7 && sh.day == 5 && sh.hour == 3 && sh.minute == 30 && sh.second == 45));
  CHECK(sh.weekday == 6);  // Sunday

  // Across the year boundary: 2026-01-01T05:00Z is still New Year's Eve (a Wednesday) in LA.
  auto eve = load("America/Los_Angeles")->civil(utc(2026, 1, 1, 5));
  INFO(describe(eve));
  CHECK((eve.year == 2025 && eve.month == 12 && eve.day == 31 && eve.hour == 21));
  CHECK(eve.weekday == 2);

  auto epoch = TimeZone::utc()->civil(0);
  CHECK((epoch.year == 1970 && epoch.month == 1 && epoch.day == 1 && epoch.hour == 0 && epoch.weekday == 3));
  auto before = TimeZone::utc()->civil(-1);  // 1969-12-31 23:59:59, a Wednesday
  CHECK((before.year == 1969 && before.month == 12 && before.day == 31 && before.hour == 23 && before.minute == 59 &&
         before.second == 59 && before.weekday == 2));
  auto leap = TimeZone::utc()->civil(utc(2028, 2, 29, 10));
  CHECK((leap.month == 2 && leap.day == 29 && leap.weekday == 1));  // a Tuesday

  // The weekday agrees with the C library for every day of 2026.
  auto u = TimeZone::utc();
  for (int64_t d = utc(2026, 1, 1); d < utc(2027, 1, 1); d += 86400) {
    std::time_t tt = static_cast<std::time_t>(d);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    auto c = u->civil(d + 3600);
    if (c.weekday != (tm.tm_wday + 6) % 7 || c.day != tm.tm_mday || c.month != tm.tm_mon + 1) {
      FAIL_CHECK("civil() disagrees with gmtime on " << iso(d) << ": " << describe(c));
      break;
    }
  }
}

TEST_CASE("next_day_start in Los Angeles is the next local midnight", "[tz]") {
  auto z = load("America/Los_Angeles");
  // Winter: midnight PST = 08:00 UTC.
  CHECK(z->day_start(utc(2026, 1, 15, 20)) == utc(2026, 1, 15, 8));
  CHECK(z->next_day_start(utc(2026, 1, 15, 20)) == utc(2026, 1, 16, 8));
  CHECK(z->next_day_start(utc(2026, 1, 16, 7, 59, 59)) == utc(2026, 1, 16, 8));  // 23:59:59 local
  CHECK(z->next_day_start(utc(2026, 1, 16, 8)) == utc(2026, 1, 17, 8));          // exactly midnight
  CHECK(z->day_start(utc(2026, 1, 16, 8)) == utc(2026, 1, 16, 8));
  CHECK(z->next_day_start(utc(2026, 1, 16, 2)) == utc(2026, 1, 16, 8));  // 18:00 the day before, local
  // Summer: midnight PDT = 07:00 UTC.
  CHECK(z->day_start(utc(2026, 7, 15, 20)) == utc(2026, 7, 15, 7));
  CHECK(z->next_day_start(utc(2026, 7, 15, 20)) == utc(2026, 7, 16, 7));
  // Month and year ends.
  CHECK(z->next_day_start(utc(2026, 2, 28, 20)) == utc(2026, 3, 1, 8));
  CHECK(z->next_day_start(utc(2026, 12, 31, 20)) == utc(2027, 1, 1, 8));
  CHECK(z->next_day_start(utc(2027, 1, 1, 7)) == utc(2027, 1, 1, 8));  // 23:00 on New Year's Eve
}

TEST_CASE("Los Angeles DST switch days are 23 h and 25 h long", "[tz]") {
  auto z = load("America/Los_Angeles");
  // 2026-03-08: starts 00:00 PST (08:00 UTC), the next day starts 00:00 PDT (07:00 UTC next day).
  for (int64_t t : {utc(2026, 3, 8, 8), utc(2026, 3, 8, 9, 30), utc(2026, 3, 8, 10), utc(2026, 3, 8, 20),
                    utc(2026, 3, 9, 6, 59, 59)}) {
    CAPTURE(iso(t));
    CHECK(z->day_start(t) == utc(2026, 3, 8, 8));
    CHECK(z->next_day_start(t) == utc(2026, 3, 9, 7));
  }
  CHECK(z->next_day_start(utc(2026, 3, 8, 8)) - z->day_start(utc(2026, 3, 8, 8)) == 23 * 3600);
  CHECK(z->next_day_start(utc(2026, 3, 7, 20)) == utc(2026, 3, 8, 8));

  // 2026-11-01: starts 00:00 PDT (07:00 UTC), 01:00-02:00 happens twice, the next day starts 08:00 UTC.
  for (int64_t t : {utc(2026, 11, 1, 7), utc(2026, 11, 1, 8, 30), utc(2026, 11, 1, 9, 30), utc(2026, 11, 1, 20),
                    utc(2026, 11, 2, 7, 59, 59)}) {
    CAPTURE(iso(t));
    CHECK(z->day_start(t) == utc(2026, 11, 1, 7));
    CHECK(z->next_day_start(t) == utc(2026, 11, 2, 8));
  }
  CHECK(z->next_day_start(utc(2026, 11, 1, 7)) - z->day_start(utc(2026, 11, 1, 7)) == 25 * 3600);
  CHECK(z->next_day_start(utc(2026, 10, 31, 20)) == utc(2026, 11, 1, 7));
}

TEST_CASE("a skipped local midnight: the day starts at the end of the gap", "[tz]") {
  // Santiago, 2026-09-06: 00:00 -04 does not exist, clocks jump to 01:00 -03 (04:00 UTC).
  auto z = load("America/Santiago");
  CHECK(z->next_day_start(utc(2026, 9, 5, 12)) == utc(2026, 9, 6, 4));
  CHECK(z->next_day_start(utc(2026, 9, 6, 3, 30)) == utc(2026, 9, 6, 4));  // 23:30 on the 5th
  CHECK(z->day_start(utc(2026, 9, 6, 12)) == utc(2026, 9, 6, 4));
  CHECK(z->next_day_start(utc(2026, 9, 6, 12)) - z->day_start(utc(2026, 9, 6, 12)) == 23 * 3600);
  CHECK(z->from_civil(2026, 9, 6) == utc(2026, 9, 6, 4));
  CHECK(z->from_civil(2026, 9, 6, 0, 30) == utc(2026, 9, 6, 4, 30));  // skipped: 01:30 -03
}

TEST_CASE("from_civil: the earlier instant of a repeated time, east and west of Greenwich", "[tz]") {
  // Berlin, 2026-10-25: 03:00 CEST -> 02:00 CET at 01:00 UTC; 02:30 happens at 00:30 and 01:30 UTC.
  auto berlin = load("Europe/Berlin");
  CHECK(berlin->from_civil(2026, 10, 25, 2, 30) == utc(2026, 10, 25, 0, 30));
  CHECK(berlin->from_civil(2026, 10, 25, 3, 30) == utc(2026, 10, 25, 2, 30));
  CHECK(berlin->from_civil(2026, 3, 29, 2, 30) == utc(2026, 3, 29, 1, 30));  // skipped: 03:30 CEST
  CHECK(berlin->from_civil(2026, 3, 29, 1, 30) == utc(2026, 3, 29, 0, 30));
  CHECK(berlin->from_civil(2026, 3, 29, 3, 0) == utc(2026, 3, 29, 1, 0));
  auto la = load("America/Los_Angeles");
  CHECK(la->from_civil(2026, 11, 1, 1, 30) == utc(2026, 11, 1, 8, 30));
  CHECK(la->from_civil(2026, 11, 1, 2, 0) == utc(2026, 11, 1, 10, 0));
}

TEST_CASE("day_start <= t < next_day_start, hourly over a year", "[tz]") {
  auto name = GENERATE(as<std::string>{}, "UTC", "Asia/Shanghai", "America/Los_Angeles", "Europe/Berlin",
                       "Australia/Sydney", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe",
                       // These three skip local midnight when DST starts (00:00 -> 01:00).
                       "America/Santiago", "America/Havana", "Atlantic/Azores");
  auto z = load(name);
  CAPTURE(name);
  int failures = 0;
  auto fail = [&](int64_t t, const std::string& what) {
    if (++failures <= 5) FAIL_CHECK(name << " at " << iso(t) << ": " << what);
  };
  for (int64_t t0 = utc(2026, 1, 1); t0 < utc(2027, 1, 1); t0 += 3600) {
    for (int64_t t : {t0, t0 + 1799}) {
      const int64_t start = z->day_start(t), next = z->next_day_start(t);
      const auto cv = z->civil(t);
      if (!(start <= t && t < next)) {
        fail(t, "day_start " + iso(start) + ", next_day_start " + iso(next));
        continue;
      }
      // start is the first instant of t's local date; next is the first instant of the following date.
      if (!same_date(z->civil(start), cv)) fail(t, "day_start is on " + describe(z->civil(start)));
      if (same_date(z->civil(start - 1), cv)) fail(t, "the second before day_start is on the same date");
      if (!same_date(z->civil(next - 1), cv)) fail(t, "the second before next_day_start is " + describe(z->civil(next - 1)));
      if (same_date(z->civil(next), cv)) fail(t, "next_day_start is still on the same date");
      if (next - start < 22 * 3600 || next - start > 26 * 3600) fail(t, "day length " + std::to_string(next - start));
      if (z->next_day_start(next - 1) != next || z->day_start(next) != next) fail(t, "not idempotent at the boundary");
    }
  }
  CHECK(failures == 0);
}

TEST_CASE("from_civil round-trips with civil", "[tz]") {
  auto name = GENERATE(as<std::string>{}, "UTC", "Asia/Shanghai", "America/Los_Angeles");
  auto z = load(name);
  CAPTURE(name);
  int failures = 0;
  for (int64_t t = utc(2026, 1, 1, 0, 0, 17); t < utc(2027, 1, 1); t += 3600) {
    auto c = z->civil(t);
    int64_t back = z->from_civil(c.year, c.month, c.day, c.hour, c.minute) + c.second;
    // The one repeated hour in LA (01:00-02:00 PST on 2026-11-01) maps back to its earlier (PDT) twin.
    bool repeated = name == "America/Los_Angeles" && t >= utc(2026, 11, 1, 9) && t < utc(2026, 11, 1, 10);
    if (back != (repeated ? t - 3600 : t) && ++failures <= 5)
      FAIL_CHECK(name << " " << describe(c) << " from " << iso(t) << " came back as " << iso(back));
  }
  CHECK(failures == 0);

  if (name == "America/Los_Angeles") {
    CHECK(z->from_civil(2026, 1, 15) == utc(2026, 1, 15, 8));
    CHECK(z->from_civil(2026, 7, 15, 12, 30) == utc(2026, 7, 15, 19, 30));
    CHECK(z->from_civil(2026, 11, 1, 1, 30) == utc(2026, 11, 1, 8, 30));  // ambiguous: the earlier one
    CHECK(z->from_civil(2026, 3, 8, 2, 30) == utc(2026, 3, 8, 10, 30));   // skipped: shifted forward to 03:30 PDT
    CHECK(z->from_civil(2026, 13, 1) == utc(2027, 1, 1, 8));              // month 13 = January next year
    CHECK(z->from_civil(2026, 19, 1) == utc(2027, 7, 1, 7));
  }
  if (name == "Asia/Shanghai") CHECK(z->from_civil(2026, 11, 27) == utc(2026, 11, 26, 16));
}

TEST_CASE("TimeZone::load rejects unknown and unsafe names", "[tz]") {
  auto name = GENERATE(as<std::string>{}, "", "Mars/Olympus_Mons", "America/Nowhere", "../etc/passwd", "/etc/passwd",
                       "America/../../../etc/passwd", "..", "Asia/Shanghai\n", "Asia Shanghai", "zone.tab", "America",
                       std::string(100, 'A'));
  CAPTURE(name);
  auto z = TimeZone::load(name);
  CHECK_FALSE(z);
  if (!z) CHECK_FALSE(z.error().empty());
}

TEST_CASE("TimeZone::load rejects files that are not (whole) TZif files", "[tz]") {
  TempDir dir;
  dir.write("Text", "This is not a zone file, it is just some text that is long enough to pass the size check.\n");
  dir.write("Short", "TZif2");
  const std::string la = read_file("/usr/share/zoneinfo/America/Los_Angeles");
  REQUIRE(la.size() > 200);
  dir.write("Cut", la.substr(0, la.size() / 2));
  dir.write("Whole", la);
  // A v1 header whose typecnt (0x2AAAAAAB) times 6 wraps around in 32 bits.
  std::string header = "TZif" + std::string(16, '\0');
  header += std::string(12, '\0') + std::string(4, '\0') + std::string("\x2A\xAA\xAA\xAB", 4) + std::string(4, '\0');
  dir.write("Huge", header + std::string(64, '\0'));

  for (const char* name : {"Text", "Short", "Cut", "Huge", "Missing"}) {
    CAPTURE(name);
    auto z = TimeZone::load(name, dir.path);
    CHECK_FALSE(z);
  }
  auto whole = TimeZone::load("Whole", dir.path);
  REQUIRE(whole);
  CHECK(whole.value()->offset_s(utc(2026, 7, 15)) == -25200);
}

TEST_CASE("cached() loads a zone once and remembers failures too", "[tz]") {
  auto a = TimeZone::cached("Asia/Shanghai");
  auto b = TimeZone::cached("Asia/Shanghai");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a.value().get() == b.value().get());  // the same object: no second file read
  CHECK_FALSE(TimeZone::cached("Mars/Olympus_Mons"));
  CHECK_FALSE(TimeZone::cached("Mars/Olympus_Mons"));
}
