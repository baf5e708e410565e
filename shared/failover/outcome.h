// What happened to one attempt at one vendor, whether the next candidate should be tried
// (ARCHITECTURE decision 4), and the client-facing error when every candidate failed.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "failover/signatures.h"
#include "openai/errors.h"
#include "routing/router.h"

namespace lingmo::failover {

enum class Failure {
  kNone,
  kConnect,           // DNS, TCP, TLS or proxy failure
  kFirstByteTimeout,  // nothing received within the first-byte timeout
  kIdleTimeout,       // the response stalled between chunks
  kRateLimited,       // 429 (transient)
  kQuotaExhausted,    // 429 insufficient_quota, 402 and friends
  kAuth,              // 401 / 403: the vendor rejected our key
  kServer,            // 5xx (and 404: vendor lacks the model)
  kMalformed,         // unparsable body or stream
  kInterrupted,       // connection lost while receiving
  kClientError,       // 400 / 413 / 422: the request itself is bad; other vendors would refuse too
};

const char* failure_name(Failure f);

// Worth trying the next candidate? (Only asked while nothing has reached the client.)
bool should_failover(Failure f);

// Classifies a completed HTTP exchange with a non-2xx status from its status and error body,
// through the vendor error-signature table (failover/signatures.h).
Failure classify_http(long status, std::string_view body);
Failure from_class(ErrorClass c);

struct AttemptRecord {
  std::string provider_id;
  std::string upstream_model;
  Failure failure = Failure::kNone;
  long status = 0;       // HTTP status, 0 if none
  std::string detail;    // short reason, safe to show the client (no secrets)
};

std::string describe(const AttemptRecord& a);  // "p1 (model): HTTP 429 insufficient_quota"

// The error for the client when no attempt succeeded. `tried` may be empty (nothing usable).
openai::ApiError final_error(std::string_view model, const std::vector<AttemptRecord>& tried,
                             const std::vector<routing::Skip>& skipped, bool attempts_capped);

// Compact per-attempt trail for the X-LingMo-Attempts header: "p1=429;p2=connect;p3=ok".
std::string attempts_header(const std::vector<AttemptRecord>& tried, bool last_ok);

}  // namespace lingmo::failover
