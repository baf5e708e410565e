// GET /api/usage/series: usage over time per provider, for the console's charts, from the data
// plane's counters (lingmo:usageh:<provider>:<YYYY-MM-DDTHH>, kept 8 days, and
// lingmo:usage:<provider>:<YYYY-MM-DD>). UTC buckets, oldest first.
//   ?step=hour&count=24 (1-192)   or   ?step=day&count=30 (1-400)   &provider=<id> (default: all)
#include "api.h"
#include "clock.h"
#include "config/schema.h"
#include "usage/ledger.h"
#include "util/json.h"

namespace lingmo::cp {

void register_usage_routes(Router& r) {
  App& app = r.app();
  r.route("GET", "/api/usage/series", Access::kRead, "", [&app](const Call& c) {
    std::string step = c.req.has_param("step") ? c.req.get_param_value("step") : "hour";
    if (step != "hour" && step != "day") return bad_request("step must be hour or day");
    const long long max = step == "hour" ? 192 : 400;
    long long count = step == "hour" ? 24 : 30;
    if (c.req.has_param("count")) {
      const std::string v = c.req.get_param_value("count");
      char* end = nullptr;
      count = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || count < 1 || count > max)
        return bad_request("count must be 1-" + std::to_string(max) + " for step=" + step);
    }
    std::vector<std::string> ids;
    if (std::string only = c.req.get_param_value("provider"); !only.empty()) {
      ids.push_back(only);
    } else {
      auto providers = app.redis.hgetall(schema::kProviders);
      if (!providers) return storage_error(providers.error());
      for (const auto& [id, json] : providers.value()) ids.push_back(id);
    }
    const int64_t step_ms = step == "hour" ? 3600'000 : 86'400'000;
    const int64_t now = epoch_ms();
    std::vector<std::string> buckets;
    for (long long i = count - 1; i >= 0; --i) {
      int64_t t = now - i * step_ms;
      buckets.push_back(step == "hour" ? usage::utc_hour(t) : usage::utc_day(t));
    }
    std::string body = "{\"step\":" + json::quote(step) + ",\"buckets\":[";
    for (size_t i = 0; i < buckets.size(); ++i) body += (i ? "," : "") + json::quote(buckets[i]);
    body += "],\"providers\":{";
    for (size_t p = 0; p < ids.size(); ++p) {
      // One row per counter field, one value per bucket (0 where nothing was counted).
      std::vector<std::string> rows(usage::kFieldCount);
      for (size_t b = 0; b < buckets.size(); ++b) {
        std::string key = step == "hour" ? schema::hourly_usage_key(ids[p], buckets[b]) : schema::usage_key(ids[p], buckets[b]);
        auto h = app.redis.hgetall(key);
        if (!h) return storage_error(h.error());
        for (int f = 0; f < usage::kFieldCount; ++f) {
          auto it = h.value().find(usage::kFields[f]);
          rows[f] += std::string(b ? "," : "") + (it == h.value().end() ? "0" : std::to_string(std::atoll(it->second.c_str())));
        }
      }
      body += std::string(p ? "," : "") + json::quote(ids[p]) + ":{";
      for (int f = 0; f < usage::kFieldCount; ++f) body += std::string(f ? "," : "") + "\"" + usage::kFields[f] + "\":[" + rows[f] + "]";
      body += "}";
    }
    return ok_raw(body + "}}");
  });
}

}  // namespace lingmo::cp
