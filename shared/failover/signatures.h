// The vendor's own word: classifies a vendor error answer (status, body, headers) with the data
// table shared/vendors/error_signatures.json (compiled in; docs/ERROR_SIGNATURES.md), and reads
// the retry hints vendors give (Retry-After, x-ratelimit-reset-*, Gemini RetryInfo).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace lingmo::failover {

enum class ErrorClass { kAuth, kQuota, kRateLimited, kOverloaded, kNotFound, kClient };
const char* class_name(ErrorClass c);

// The fields of an error body that signatures match on (every vendor shape flattened).
struct ErrorFields {
  std::string type, code, message, google_status, reason, detail_code;
  std::vector<std::string> quota_ids;
  int64_t retry_delay_ms = -1;  // google.rpc.RetryInfo
};
ErrorFields extract_fields(std::string_view body);

struct Classification {
  ErrorClass cls = ErrorClass::kClient;
  std::string note;             // which signature matched ("status fallback" otherwise)
  std::string reset;            // e.g. "daily@America/Los_Angeles"; empty = use the quota rule
  int64_t retry_after_ms = -1;  // from headers or body; -1 = none given
  std::string message;          // the vendor's message, truncated, safe to show
};

class SignatureTable {
 public:
  static Result<SignatureTable> parse(std::string_view json);
  static const SignatureTable& builtin();  // the compiled-in table

  // `headers`: lower-cased response header names -> values.
  Classification classify(long status, std::string_view body, const std::map<std::string, std::string>& headers,
                          std::string_view vendor, int64_t now_ms) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string note, vendor, reset;
    long status = 0;
    ErrorClass cls = ErrorClass::kClient;
    std::map<std::string, std::vector<std::string>> match;  // field -> alternatives (lower-cased)
  };
  std::vector<Entry> entries_;
};

// Milliseconds to wait according to the response headers, or -1.
int64_t retry_hint_ms(const std::map<std::string, std::string>& headers, int64_t now_ms);

}  // namespace lingmo::failover
