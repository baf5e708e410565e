// The daily digest: alert rules with event "digest" send, once per local day at or after their
// "at" time ("HH:MM" in "tz", default UTC), one message that sums up the last 24 h: usage per
// provider (lingmo:usage:<provider>:<UTC day>), quota windows near or over their limit, parked
// providers, and the alert deliveries by event. De-duplicated per rule and local date with SET NX
// (lingmo:alert:fired:<rule>:digest:<local date>), so replicas and restarts send it once.
#pragma once
#include <cstdint>
#include <string>

#include "alerts/message.h"
#include "quota/tz.h"
#include "redis_pool.h"

namespace lingmo::cp {

class Dispatcher;

inline constexpr const char* kDigestDefaultAt = "09:00";

// "HH:MM" (00:00 to 23:59) as minutes after midnight; -1 when malformed.
int digest_minute(const std::string& at);

// The digest as of `now_ms`, its times shown in `zone`. Sections that Redis could not give are
// marked as such rather than left out silently.
alerts::Event build_digest(RedisPool& redis, int64_t now_ms, const quota::TimeZone& zone);

// Sends the digest of every enabled digest rule that is due and not yet sent for its local date.
// Runs after each quota sampling, under the sampler's lease (one replica at a time).
void send_due_digests(RedisPool& redis, Dispatcher& dispatcher, int64_t now_ms) noexcept;

}  // namespace lingmo::cp
