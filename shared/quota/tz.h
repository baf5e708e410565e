// Time zones for quota resets ("1,500 requests per day, resets 00:00 Pacific"): UTC offsets read
// from the system's IANA database (/usr/share/zoneinfo, TZif files) — no process-global TZ
// variable, no locking, safe in any thread. Zones are loaded once and cached by the caller.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"

namespace lingmo::quota {

class TimeZone {
 public:
  // "UTC", "Asia/Shanghai", "America/Los_Angeles", ... from `zoneinfo_dir`.
  static Result<std::shared_ptr<const TimeZone>> load(const std::string& name,
                                                      const std::string& zoneinfo_dir = "/usr/share/zoneinfo");
  static std::shared_ptr<const TimeZone> utc();
  // load() once per process and name: zone files are read from disk the first time only (config
  // reloads and quota parks in an nginx worker then touch no files). Not thread-safe by design:
  // an nginx worker has one thread.
  static Result<std::shared_ptr<const TimeZone>> cached(const std::string& name);

  const std::string& name() const { return name_; }
  int32_t offset_s(int64_t epoch_s) const;  // seconds east of UTC in effect at that instant
  // Start (epoch s) of the local calendar day containing `epoch_s`, and of the next one.
  int64_t day_start(int64_t epoch_s) const;
  int64_t next_day_start(int64_t epoch_s) const;
  // Local civil time fields of an instant.
  struct Civil { int64_t year; int month, day, hour, minute, second, weekday; };  // weekday 0 = Monday
  Civil civil(int64_t epoch_s) const;
  // The instant of a local civil time (the earlier one if ambiguous, shifted forward if skipped).
  int64_t from_civil(int64_t year, int month, int day, int hour = 0, int minute = 0) const;

 private:
  std::string name_;
  std::vector<int64_t> transitions_;   // epoch s, ascending
  std::vector<int32_t> offsets_;       // offset after transitions_[i]
  int32_t initial_offset_ = 0;         // before the first transition
};

}  // namespace lingmo::quota
