// What a vendor's answer does to a provider's standing (ARCHITECTURE decision 5, issue "quota
// engine" item 4): quota exhausted -> parked until the quota comes back; rate limited -> a short
// cooldown honouring the vendor's hint; bad key -> parked until the provider's config changes.
// Overloads, 5xx and timeouts are the circuit breaker's business (failover/circuit.h).
// Also reads rate-limit headers on any answer: a vendor that says "0 requests remaining" is left
// alone until its reset, before it has to refuse anything.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "config/model.h"
#include "failover/outcome.h"

namespace lingmo::failover {

struct PenaltyPolicy {
  int64_t quota_park_ms = 3600'000;        // exhausted and no reset known (e.g. a money balance)
  int64_t quota_reset_ms = 0;              // > 0: when the provider's own quota rules reset (epoch ms)
  int64_t rate_cooldown_ms = 10'000;       // rate limited without a hint
  int64_t rate_cooldown_max_ms = 600'000;  // never trust a hint beyond this
  int64_t auth_park_ms = 365LL * 24 * 3600'000;  // "until the provider is edited" (fingerprint)
};

// The state to record after a failed attempt, or nullopt if the provider keeps its standing.
// Quota exhausted parks until the reset the vendor's error implies (e.g. Gemini per-day: midnight
// Pacific), else until the provider's own quota rules reset (policy.quota_reset_ms), else an hour.
std::optional<config::ProviderState> penalty(Failure f, const Classification& c, const std::string& fingerprint,
                                             int64_t now_ms, const PenaltyPolicy& policy = {});

// Passive observation of rate-limit headers (lower-cased names): x-ratelimit-remaining-requests /
// -tokens with their -reset, anthropic-ratelimit-{requests,tokens}-remaining with -reset (RFC 3339).
std::optional<config::ProviderState> from_rate_headers(const std::map<std::string, std::string>& headers, int64_t now_ms,
                                                       const PenaltyPolicy& policy = {});

// Next reset instant (epoch ms) for a rule like "daily@America/Los_Angeles"; nullopt if unknown.
std::optional<int64_t> next_reset_ms(const std::string& rule, int64_t now_ms);

}  // namespace lingmo::failover
