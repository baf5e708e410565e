// Admission against a provider's quota rules, atomically in Redis (ARCHITECTURE decision 5).
// Before an attempt, one Lua script checks every applicable rule's window counter and, only if all
// stay within their cap (limit x threshold), adds the request's estimated cost to all of them: a
// reservation. When the attempt ends, the difference between what the vendor reported and the
// estimate is sent as a correction through the usage ledger (idempotent, batched). So counters
// are exact once requests finish, and concurrent requests on any number of workers and nginx
// nodes can never admit more than the cap between them: overshoot is bounded by the estimate's
// error, not by concurrency (docs/QUOTA.md).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/snapshot.h"
#include "usage/ledger.h"

namespace lingmo::quota {

// What one attempt is expected to cost (reserved) or did cost (actual).
using Cost = usage::Counters;

struct PlanItem {
  std::string key;      // counter hash of the rule's current window
  std::string metric;   // counter field compared with the cap (cost -> cost_micros)
  int64_t cap = 0;
  int64_t ttl_s = 0;    // 0 = never expires (one-off grants)
  int64_t window_end_ms = 0;
  std::string describe; // "1500 requests/day (America/Los_Angeles)"
};

struct Plan {
  std::vector<PlanItem> items;
  Cost estimate;
  bool empty() const { return items.empty(); }
};

// The rules of `p` that apply to `client_model`, with their current windows. Empty if none.
Plan plan(const config::RuntimeProvider& p, std::string_view client_model, const Cost& estimate, int64_t now_ms,
          double global_threshold);

// The budgets of gateway key `k` (config::GatewayKey::budgets) with their current windows. The
// caps are the limits themselves: a key has no next provider to switch to. The estimate's cost is
// unknown before a provider is chosen, so cost budgets are checked on what was already spent.
Plan key_plan(const config::GatewayKey& k, const Cost& estimate, int64_t now_ms);

// EVAL arguments of the admission script. Reply: 0 = admitted (reserved), i > 0 = rule i is full.
std::vector<std::string> admit_args(const Plan& plan);
extern const char* const kAdmitScript;

// The estimate for a chat request: prompt ~ body bytes / 4, completion = max_tokens (or
// max_completion_tokens) if given, else `default_completion`.
Cost estimate_chat(size_t body_bytes, int64_t max_tokens, int64_t default_completion = 512);

// What to add to each reserved counter when the attempt ended: actual - estimate. A failed
// attempt (nothing delivered) refunds the request and the estimate.
Cost correction(const Cost& estimate, const Cost& actual, bool delivered);

}  // namespace lingmo::quota
