// The request log: one JSON record per client request, written by the data plane to a capped
// Redis list (lingmo:log:requests, newest first) and read by the control plane's GET /api/log/list.
// A record says who asked for what, who answered, what it cost, and why the route went the way it
// did (every attempt and every provider passed over): the "routing explanation" of a row.
// Never holds a secret: keys appear by their public id, vendor errors by their short detail.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "failover/outcome.h"
#include "routing/router.h"
#include "usage/ledger.h"
#include "util/result.h"

namespace lingmo::usage {

inline constexpr const char* kRequestLogKey = "lingmo:log:requests";

struct RequestRecord {
  int64_t ts_ms = 0;          // when the request arrived (epoch ms)
  std::string id;             // the gateway's request id
  std::string key_id;         // public id of the gateway key ("" when the key was refused)
  std::string key_name;
  std::string api;            // chat | messages | count_tokens | responses | embeddings | models
  std::string model;          // as the client asked
  bool stream = false;
  int status = 0;             // HTTP status sent to the client
  std::string provider;       // who answered ("" when nobody did)
  std::string upstream_model; // the vendor's model name
  int64_t latency_ms = 0;     // arrival to the last byte
  int64_t ttfb_ms = -1;       // arrival to the first byte relayed (streams); -1 = none
  Counters usage;             // tokens and cost of every attempt together
  std::string error;          // the error message the client got, if any
  std::vector<failover::AttemptRecord> attempts;
  std::vector<routing::Skip> skipped;
  std::string client_ip;
  std::string user_agent;     // cut to 200 bytes
};

std::string to_json(const RequestRecord& r);
Result<RequestRecord> record_from_json(std::string_view json);

// The route in words, for the log viewer: "served by p2 after p1: HTTP 429 quota_exhausted;
// passed over p3 (parked: quota)".
std::string explain(const RequestRecord& r);

// Filters of the log listing; empty/zero fields match everything.
struct LogFilter {
  int64_t since_ms = 0;
  int64_t until_ms = 0;  // exclusive
  std::string key_id;
  std::string model;
  std::string provider;  // served by, or attempted
  std::string status;    // "200", "4xx", "5xx", "error" (any status >= 400), "ok" (< 400)
  bool matches(const RequestRecord& r) const;
};

// Validates a status filter ("" | "ok" | "error" | "2xx".."5xx" | a 3-digit status).
bool valid_status_filter(std::string_view s);

}  // namespace lingmo::usage
