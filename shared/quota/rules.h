// Quota rules: what a provider gives for free and when it comes back.
//   {"metric":"requests","window":"day","limit":1500,"tz":"America/Los_Angeles"}
//   {"metric":"total_tokens","window":"oneoff","limit":1000000,"model":"qwen-plus"}
// Metrics: requests, prompt_tokens, completion_tokens, total_tokens, cost (money at the provider's
// prices per 1M tokens; the limit is in currency units, e.g. "cost/oneoff=10" for a ¥10 balance).
// Windows (calendar ones in the rule's IANA time zone, default UTC): minute, hour, 5h (fixed
// five-hour buckets from the epoch: coding plans' rolling windows, approximated), day, week
// (from Monday 00:00), month (from the 1st), oneoff (a grant that never resets).
// A rule with "model" counts only that client model; without, the whole provider.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "quota/tz.h"
#include "util/result.h"

namespace lingmo::quota {

enum class Window { kMinute, kHour, kFiveHours, kDay, kWeek, kMonth, kOneOff };

struct Rule {
  std::string metric;  // requests | prompt_tokens | completion_tokens | total_tokens | cost
  Window window = Window::kDay;
  int64_t limit = 0;   // for cost: millionths of a currency unit
  std::string tz = "UTC";
  std::string model;   // empty = every model of the provider

  // The window an instant falls in: its id (part of the Redis key), start and end (epoch s).
  struct Span { std::string id; int64_t start_s; int64_t end_s; };
  Span span(int64_t now_s, const TimeZone& zone) const;
  std::string describe() const;  // "1500 requests/day (America/Los_Angeles)"
};

const char* window_name(Window w);
Result<Window> parse_window(std::string_view s);
bool valid_metric(std::string_view m);

// Parses the CLI form "requests/day=1500@America/Los_Angeles" or "total_tokens/oneoff=1000000:qwen-plus"
// (zone after '@', model after ':', both optional).
Result<Rule> parse_rule_spec(std::string_view spec);

// The counter field a metric is compared on ("cost" is kept as "cost_micros").
const char* counter_field(const std::string& metric);
// A limit as written (currency units for cost) <-> as counted.
int64_t limit_from_units(const std::string& metric, double units);
double limit_to_units(const std::string& metric, int64_t limit);

// Redis hash for a rule's window: lingmo:quota:<provider>:<rule index>:<window id>.
std::string counter_key(std::string_view provider_id, size_t rule_index, std::string_view window_id);

// Redis hash for a gateway key's budget window: lingmo:keyquota:<key id>:<rule index>:<window id>.
std::string key_budget_key(std::string_view key_id, size_t rule_index, std::string_view window_id);

// The share of a limit at which a provider is passed over (0 < t <= 1), as an integer cap:
// a request is admitted while used + its cost stays within floor(limit * threshold) — with the
// default 0.99 a 1,500-request day admits 1,485 and keeps the rest as a safety margin.
int64_t cap(int64_t limit, double threshold);

}  // namespace lingmo::quota
