// GET /api/log/list: the request log the data plane writes (usage/request_log.h), newest first,
// with filters and pagination. Each entry is the stored record plus `explain`, the route in words.
//   ?since=&until= (epoch ms)  &key= (key id)  &model=  &provider= (served or attempted)
//   &status= (ok | error | 2xx..5xx | a status)  &offset=0 &limit=50 (max 500)
#include <algorithm>
#include <utility>
#include <vector>

#include "api.h"
#include "usage/request_log.h"
#include "util/json.h"

namespace lingmo::cp {
namespace {

constexpr long long kScanChunk = 500;

bool read_int(const httplib::Request& req, const char* k, long long& out, long long min, long long max) {
  if (!req.has_param(k)) return true;
  const std::string v = req.get_param_value(k);
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < min || n > max) return false;
  out = n;
  return true;
}

}  // namespace

void register_log_routes(Router& r) {
  App& app = r.app();
  r.route("GET", "/api/log/list", Access::kRead, "", [&app](const Call& c) {
    usage::LogFilter f;
    long long since = 0, until = 0, offset = 0, limit = 50;
    if (!read_int(c.req, "since", since, 0, INT64_MAX) || !read_int(c.req, "until", until, 0, INT64_MAX))
      return bad_request("since and until are epoch milliseconds");
    if (!read_int(c.req, "offset", offset, 0, 10'000'000) || !read_int(c.req, "limit", limit, 1, 500))
      return bad_request("offset must be >= 0 and limit between 1 and 500");
    f.since_ms = since;
    f.until_ms = until;
    f.key_id = c.req.get_param_value("key");
    f.model = c.req.get_param_value("model");
    f.provider = c.req.get_param_value("provider");
    f.status = c.req.get_param_value("status");
    if (!usage::valid_status_filter(f.status)) return bad_request("status must be ok, error, 2xx..5xx or a 3-digit status");

    // The list is capped by the data plane (lingmo_request_log_size), so a full scan is bounded;
    // it is read in chunks to keep each Redis reply small. Newest first, so a `since` filter can
    // stop the scan once records are clearly older (workers push their batches up to a few
    // seconds apart, so the order is only nearly chronological: a minute of slack).
    // Workers push their records in batches, so the list is only nearly in time order: matches
    // are collected and sorted by arrival time (newest first) before the page is cut.
    std::vector<std::pair<int64_t, std::string>> matched;
    bool older = false;
    for (long long start = 0; !older; start += kScanChunk) {
      auto chunk = app.redis.run({"LRANGE", usage::kRequestLogKey, std::to_string(start), std::to_string(start + kScanChunk - 1)});
      if (!chunk) return storage_error(chunk.error());
      const redisReply* rep = chunk.value().get();
      if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) break;
      for (size_t i = 0; i < rep->elements; ++i) {
        const redisReply* e = rep->element[i];
        if (e->type != REDIS_REPLY_STRING) continue;
        std::string_view raw(e->str, e->len);
        auto rec = usage::record_from_json(raw);
        if (!rec) continue;
        if (f.since_ms && rec.value().ts_ms < f.since_ms - 60'000) {
          older = true;
          break;
        }
        if (!f.matches(rec.value())) continue;
        // The stored object with one more member: its explanation.
        matched.emplace_back(rec.value().ts_ms, std::string(raw.substr(0, raw.size() - 1)) + ",\"explain\":" +
                                                   json::quote(usage::explain(rec.value())) + "}");
      }
      if (rep->elements < static_cast<size_t>(kScanChunk)) break;
    }
    std::stable_sort(matched.begin(), matched.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    size_t total = matched.size();
    std::string items;
    for (size_t i = static_cast<size_t>(offset); i < total && i < static_cast<size_t>(offset + limit); ++i)
      items += (items.empty() ? "" : ",") + matched[i].second;
    return ok_raw("{\"total\":" + std::to_string(total) + ",\"offset\":" + std::to_string(offset) + ",\"limit\":" +
                  std::to_string(limit) + ",\"items\":[" + items + "]}");
  });
}

}  // namespace lingmo::cp
